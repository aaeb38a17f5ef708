"""Update rules: sgd, momentum, adagrad, rmsprop, adam.

A rule is a frozen :class:`UpdateRule` (name, kernel code, hyper-parameters)
whose ``init_state(n_features, dtype)`` returns its state: an array of shape
``(n_slots, n_features + 1)``, the last column for the intercept. Kernels take
it as a :class:`~parallel_sgd.kernels.args.Rule` and call
:func:`parallel_sgd.kernels.rules.rule_delta` per coordinate with that
coordinate's gradient.

Sparse rows touch only the row's coordinates (and the intercept). A coordinate's
state therefore advances only on the steps whose row has a non-zero in it:

* momentum keeps its velocity frozen between touches ("lazy" momentum): an
  untouched coordinate neither decays its velocity nor keeps moving along it;
* adam's first and second moments of an untouched coordinate are neither decayed
  nor applied, while the bias correction uses the *global* step count (the
  LazyAdam semantics of TensorFlow Addons and PyTorch's SparseAdam);
* adagrad and rmsprop accumulate squared gradients of touched coordinates only.

On dense data every coordinate with a non-zero value is touched, so the rules
are the textbook ones whenever the data has no zeros.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..errors import check_choice
from ..kernels.args import Rule
from ..kernels.rules import ADAGRAD, ADAM, MOMENTUM, RMSPROP, SGD


@dataclass(frozen=True)
class UpdateRule:
    """An update rule: ``hyper = (beta1, beta2, eps)`` with the meanings its factory gives.

    ``state_is_sum`` says whether the state is a running sum (Adagrad) rather than a
    moving average; parallel drivers combine workers' states accordingly.
    ``lock_free_safe`` says whether the Hogwild! driver may run it.
    """

    name: str
    code: int
    n_slots: int
    hyper: tuple = (0.0, 0.0, 0.0)
    lock_free_safe: bool = True
    state_is_sum: bool = False

    def init_state(self, n_features, dtype=np.float64):
        """Zeroed state, ``(n_slots, n_features + 1)``; the last column is the intercept's."""
        return np.zeros((self.n_slots, n_features + 1), dtype=dtype)

    def kernel_rule(self):
        """The rule as the kernels take it (:class:`~parallel_sgd.kernels.args.Rule`)."""
        return Rule(self.code, *map(float, self.hyper))


def _fraction(name, value, closed_low=True):
    value = float(value)
    ok = (0.0 <= value < 1.0) if closed_low else (0.0 < value < 1.0)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def _eps(value):
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {value!r}")
    return value


def sgd():
    """Plain SGD: ``w -= eta * g``."""
    return UpdateRule("sgd", SGD, 0)


def momentum(beta=0.9):
    """Heavy ball in PyTorch's form: ``v = beta * v + g``, ``w -= eta * v``."""
    return UpdateRule("momentum", MOMENTUM, 1, (_fraction("beta", beta), 0.0, 0.0))


def adagrad(eps=1e-8):
    """Adagrad (Duchi et al. 2011): ``G += g^2``, ``w -= eta * g / (sqrt(G) + eps)``."""
    return UpdateRule("adagrad", ADAGRAD, 1, (0.0, 0.0, _eps(eps)), state_is_sum=True)


def rmsprop(rho=0.9, eps=1e-8):
    """RMSProp (Tieleman & Hinton 2012): ``E = rho*E + (1-rho)*g^2``, ``w -= eta*g/(sqrt(E)+eps)``."""
    return UpdateRule("rmsprop", RMSPROP, 1, (_fraction("rho", rho), 0.0, _eps(eps)))


def adam(beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015) with bias correction by the global step count."""
    return UpdateRule(
        "adam", ADAM, 2, (_fraction("beta1", beta1), _fraction("beta2", beta2), _eps(eps))
    )


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "adagrad": adagrad, "rmsprop": rmsprop, "adam": adam}


def get_optimizer(optimizer):
    """The :class:`UpdateRule` named ``optimizer`` with default hyper-parameters (or itself)."""
    if isinstance(optimizer, UpdateRule):
        return optimizer
    return OPTIMIZERS[check_choice("optimizer", optimizer, OPTIMIZERS)]()
