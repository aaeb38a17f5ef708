"""The update rules as the kernels apply them: one coordinate's change per call.

A rule is a :class:`~.args.Rule` (its code and hyper-parameters) with a state
array of shape ``(n_slots, d + 1)``, the last column for the intercept. The
rules themselves -- their names, defaults and how a sparse row advances them --
are described in :mod:`parallel_sgd.model.optimizers`.
"""
import math

from .._jit import jit

SGD = 0
MOMENTUM = 1
ADAGRAD = 2
RMSPROP = 3
ADAM = 4


@jit
def bias_corrections(rule, t):
    """Per-step factors of the rule at global step ``t`` (0-based): Adam's bias corrections."""
    if rule.code == ADAM:
        return 1.0 / (1.0 - rule.beta1 ** (t + 1)), 1.0 / (1.0 - rule.beta2 ** (t + 1))
    return 1.0, 1.0


@jit
def rule_delta(rule, state, j, g, step):
    """The change of coordinate ``j`` for gradient ``g``; updates ``state``. ``step`` is a
    :class:`~.args.StepSize`: the step size and its :func:`bias_corrections`."""
    code, eta = rule.code, step.eta
    if code == SGD:
        return -eta * g
    if code == MOMENTUM:
        v = rule.beta1 * state[0, j] + g
        state[0, j] = v
        return -eta * v
    if code == ADAGRAD:
        acc = state[0, j] + g * g
        state[0, j] = acc
        return -eta * g / (math.sqrt(acc) + rule.eps)
    if code == RMSPROP:
        acc = rule.beta1 * state[0, j] + (1.0 - rule.beta1) * g * g
        state[0, j] = acc
        return -eta * g / (math.sqrt(acc) + rule.eps)
    # ADAM
    m = rule.beta1 * state[0, j] + (1.0 - rule.beta1) * g
    s = rule.beta2 * state[1, j] + (1.0 - rule.beta2) * g * g
    state[0, j] = m
    state[1, j] = s
    return -eta * (m * step.c1) / (math.sqrt(s * step.c2) + rule.eps)
