"""A spinlock from LLVM atomics, for the ``locking="global"`` Hogwild baseline.

Numba has no CPU atomics (numba issue 2988), so a compare-and-swap and a
release store are lowered to LLVM's ``cmpxchg`` and ``store atomic`` directly.
"""
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
