"""Losses: values and derivatives against the definitions, finite differences, stability."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallel_sgd.maths.losses import LOSSES, get_loss

from . import reference as ref

pytestmark = pytest.mark.kernel  # also run as plain Python in CI (NUMBA_DISABLE_JIT=1)

NAMES = sorted(LOSSES)


@pytest.mark.parametrize("name", NAMES)
def test_values_and_derivatives_match_the_definitions(name):
    loss = get_loss(name)
    p = np.linspace(-5, 5, 101)
    for y in (-1.0, 1.0, 0.3) if name == "squared_error" else (-1.0, 1.0):
        np.testing.assert_allclose(loss.value(p, y), ref.loss_value(name, p, y), rtol=1e-14)
        np.testing.assert_allclose(loss.deriv(p, y), ref.loss_deriv(name, p, y), rtol=1e-14,
                                   atol=1e-300)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NAMES), p=st.floats(-30, 30), y=st.sampled_from([-1.0, 1.0]))
def test_derivative_matches_finite_differences(name, p, y):
    loss = get_loss(name)
    h = 1e-6
    kinks = {"hinge": [1.0], "squared_hinge": [1.0], "modified_huber": [1.0, -1.0]}
    if any(abs(y * p - k) < 2 * h for k in kinks.get(name, [])):
        return  # not differentiable (hinge) or only once (the others) at a kink
    numeric = (loss.value(p + h, y) - loss.value(p - h, y)) / (2 * h)
    assert loss.deriv(p, y) == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_stable_for_huge_predictions(name):
    loss = get_loss(name)
    p = np.array([-1e300, -1e200, -1e20, 1e20, 1e200, 1e300])
    for y in (-1.0, 1.0):
        values, derivs = loss.value(p, y), loss.deriv(p, y)
        assert not np.isnan(values).any() and not np.isnan(derivs).any()
        assert np.isfinite(derivs).all()
        assert (values >= 0).all()
    if name == "log_loss":
        assert loss.value(1e300, 1.0) == 0.0
        assert loss.value(-1e300, 1.0) == 1e300
        assert loss.deriv(-1e300, 1.0) == -1.0


def test_log_loss_is_accurate_in_both_tails():
    loss = get_loss("log_loss")
    assert loss.value(40.0, 1.0) == pytest.approx(math.exp(-40.0), rel=1e-15)
    assert loss.value(-40.0, 1.0) == pytest.approx(40.0 + math.exp(-40.0), rel=1e-15)
    assert loss.deriv(40.0, 1.0) == pytest.approx(-math.exp(-40.0), rel=1e-14)


@pytest.mark.parametrize("name", [n for n in NAMES if LOSSES[n].is_smooth])
def test_smoothness_constant_bounds_the_derivative_slope(name):
    loss = get_loss(name)
    p = np.linspace(-6, 6, 2001)
    for y in (-1.0, 1.0):
        slopes = np.abs(np.diff(loss.deriv(p, y)) / np.diff(p))
        assert slopes.max() <= loss.smoothness * (1 + 1e-9)
        assert slopes.max() >= 0.9 * loss.smoothness  # the constant is tight


def test_hinge_is_not_smooth_and_subgradient_is_zero_at_the_kink():
    hinge = get_loss("hinge")
    assert not hinge.is_smooth
    assert hinge.deriv(1.0, 1.0) == 0.0 and hinge.deriv(0.999, 1.0) == -1.0


def test_unknown_loss_lists_known_ones():
    with pytest.raises(ValueError, match="unknown loss 'logistic'.*hinge.*log_loss"):
        get_loss("logistic")
