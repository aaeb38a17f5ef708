"""LLVM atomics for Numba: a spinlock (the ``locking="global"`` Hogwild baseline), the
acquire/release loads and stores of the Hogwild team's spin hand-off, and the
floating-point add that threads sharing a vector make without losing a write.

Numba has no CPU atomics (numba issue 2988), so a compare-and-swap, a release
store and an acquire load are lowered to LLVM's ``cmpxchg``, ``store atomic`` and
``load atomic`` directly.
"""
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._jit import overload_options


def _element_pointer(context, builder, signature, args):
    ary, idx = args[0], args[1]
    aryty = signature.args[0]
    handle = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, handle, [idx], wraparound=False)


@intrinsic
def compare_and_swap(typingctx, array, index, expected, new):
    """Atomically: if ``array[index] == expected`` set it to ``new``; returns the old value."""
    sig = array.dtype(array, index, array.dtype, array.dtype)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        pair = builder.cmpxchg(ptr, args[2], args[3], "acq_rel", "monotonic")
        return builder.extract_value(pair, 0)

    return sig, codegen


@intrinsic
def release_store(typingctx, array, index, value):
    """``array[index] = value`` with release ordering (publishes the writes before it)."""
    sig = types.void(array, index, array.dtype)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        store = builder.store_atomic(args[2], ptr, "release", 8)
        del store
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _atomic_fadd(typingctx, array, index, value):
    sig = types.void(array, index, array.dtype)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        builder.atomic_rmw("fadd", ptr, args[2], "monotonic")
        return context.get_dummy_value()

    return sig, codegen


def atomic_add(array, index, value):
    """``array[index] += value`` as one atomic step (LLVM ``atomicrmw fadd``, a
    compare-and-swap loop on x86): no write of another thread is lost."""
    array[index] += value


@overload(atomic_add, **overload_options())
def _atomic_add(array, index, value):
    return lambda array, index, value: _atomic_fadd(array, index, value)


def acquire(lock):
    """Spin until ``lock[0]`` is taken (no-op when ``lock`` is None)."""


def release(lock):
    """Free ``lock[0]`` (no-op when ``lock`` is None)."""


@overload(acquire, **overload_options())
def _acquire(lock):
    if isinstance(lock, types.NoneType):
        return lambda lock: None

    def spin(lock):
        while compare_and_swap(lock, 0, 0, 1) != 0:
            pass
    return spin


@overload(release, **overload_options())
def _release(lock):
    if isinstance(lock, types.NoneType):
        return lambda lock: None
    return lambda lock: release_store(lock, 0, 0)


@intrinsic
def acquire_load(typingctx, array, index):
    """``array[index]`` read with acquire ordering (sees what a release store published)."""
    sig = array.dtype(array, index)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def spin_pause(typingctx):
    """A spin-wait hint (x86 ``pause``; nothing elsewhere): a spinning core yields
    resources to its sibling and leaves the loop without a memory-order flush."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if PAUSE is not None:
            fnty = ir.FunctionType(ir.VoidType(), [])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, PAUSE), [])
        return context.get_dummy_value()

    return sig, codegen


PAUSE = "llvm.x86.sse2.pause" if platform.machine().lower() in ("x86_64", "amd64") else None


@intrinsic
def yield_cpu(typingctx):
    """Offer this core to another runnable thread (``sched_yield``; ``SwitchToThread`` on
    Windows): a waiter that yields takes only CPU time nobody else wants."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        builder.call(cgutils.get_or_insert_function(builder.module, fnty, YIELD), [])
        return context.get_dummy_value()

    return sig, codegen


YIELD = "SwitchToThread" if platform.system() == "Windows" else "sched_yield"
