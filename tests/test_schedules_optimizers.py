"""Step-size schedules and update-rule factories."""
import numpy as np
import pytest

from parallel_sgd.maths.losses import get_loss
from parallel_sgd.model import schedules
from parallel_sgd.model.optimizers import OPTIMIZERS, adam, get_optimizer, momentum, rmsprop

from . import reference as ref

T = np.arange(0, 1000, 37)


@pytest.mark.parametrize("name", ["constant", "inverse", "inverse_sqrt", "optimal", "exponential"])
def test_schedules_follow_their_formulas(name):
    sched = schedules.make_schedule(name, 0.5, 1e-3, get_loss("log_loss"), 4.0)
    for epoch in (0, 3):
        want = ref.schedule_rates(name, T, 0.5, alpha=1e-3, beta=0.9, epoch=epoch)
        np.testing.assert_allclose(sched(T, epoch), want, rtol=1e-14)
    assert sched.rate(0) == pytest.approx(0.5)


@pytest.mark.parametrize("alpha", [1e-2, 1e-5])
@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber", "squared_error"])
def test_optimal_matches_scikit_learn(alpha, loss):
    """scikit-learn: eta = 1 / (alpha * (optimal_init + t - 1)), t counted from 1."""
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    initial_eta0 = typw / max(1.0, float(ref.loss_deriv(loss, -typw, 1.0)))
    optimal_init = 1.0 / (initial_eta0 * alpha)
    sklearn_rates = 1.0 / (alpha * (optimal_init + (T + 1) - 1))
    sched = schedules.make_schedule("optimal", None, alpha, get_loss(loss), 1e-3)
    np.testing.assert_allclose(sched(T), sklearn_rates, rtol=1e-14)


@pytest.mark.parametrize("loss,capped", [("squared_error", True), ("squared_hinge", True),
                                         ("log_loss", False), ("hinge", False)])
def test_optimal_first_step_is_capped_where_the_derivative_is_unbounded(loss, capped):
    sched = schedules.make_schedule("optimal", None, 1e-4, get_loss(loss), 50.0)
    assert sched.rate(0) == pytest.approx(1 / 50.0 if capped else 1e-4 ** -0.25)


def test_default_eta0_is_the_stable_step():
    sched = schedules.make_schedule("constant", None, 1e-4, get_loss("log_loss"), 8.0)
    assert sched.eta0 == 1 / 8.0


def test_exponential_beta_can_be_given():
    sched = schedules.make_schedule(("exponential", 0.5), 1.0, 0.0, get_loss("hinge"), 1.0)
    assert sched.rate(0, epoch=2) == 0.25


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="cosine", eta0=1.0), "unknown learning_rate 'cosine'.*constant.*optimal"),
    (dict(name="constant", eta0=-1.0), "eta0 must be"),
    (dict(name="constant", eta0=float("nan")), "eta0 must be"),
    (dict(name="inverse", eta0=1.0, alpha=0.0), "alpha"),
    (dict(name="optimal", eta0=None, alpha=0.0), "alpha"),
    (dict(name=("exponential", 1.5), eta0=1.0), "beta"),
])
def test_bad_schedule_arguments(kwargs, match):
    kwargs = {"alpha": 1e-4, **kwargs}
    with pytest.raises(ValueError, match=match):
        schedules.make_schedule(kwargs["name"], kwargs["eta0"], kwargs["alpha"],
                                get_loss("log_loss"), 1.0)


def test_update_rules_registry_and_state_shapes():
    for name in OPTIMIZERS:
        rule = get_optimizer(name)
        assert rule.name == name
        assert rule.init_state(7).shape == (rule.n_slots, 8)
    assert get_optimizer(adam(beta1=0.5)).hyper[0] == 0.5


@pytest.mark.parametrize("factory,kwargs,match", [
    (momentum, dict(beta=1.0), "beta"),
    (rmsprop, dict(rho=-0.1), "rho"),
    (adam, dict(beta2=1.0), "beta2"),
    (adam, dict(eps=0.0), "eps"),
])
def test_bad_update_rule_arguments(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_unknown_optimizer_lists_known_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'.*adagrad.*adam"):
        get_optimizer("lbfgs")
