"""scikit-learn's estimator checks (`check_estimator`) for `SGDClassifier` and `SGDRegressor`.

The default parameters and three other configurations (a multinomial one among them) run
in the default suite (~10 s);
more configurations, the Hogwild! driver among them, are marked slow.
"""
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import parallel_sgd as psgd

# What scikit-learn 1.9 declares for its own SGDClassifier and SGDRegressor
# (sklearn/utils/_test_common/instance_generator.py, PER_ESTIMATOR_XFAIL_CHECKS), no more:
# one SGD pass over repeated rows is not one pass with doubled weights.
SGD_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data":
        "sample_weight is not equivalent to removing/repeating samples.",
    "check_sample_weight_equivalence_on_sparse_data":
        "sample_weight is not equivalent to removing/repeating samples.",
}

# Two Hogwild! threads interleave differently on every run, so two fits on the same
# data differ (the estimator's `non_deterministic` tag says so); these checks compare
# two fits. Only for the Hogwild! configurations below.
NOT_REPEATABLE = {
    name: "two Hogwild! threads interleave differently on every run"
    for name in ("check_classifier_data_not_an_array", "check_regressor_data_not_an_array",
                 "check_supervised_y_2d", "check_fit_idempotent", "check_regressors_int",
                 "check_class_weight_balanced_linear_classifier",
                 "check_sample_weights_invariance(kind=ones)")
}


def expected_failures(estimator):
    if estimator.__sklearn_tags__().non_deterministic:
        return {**SGD_EXPECTED_FAILURES, **NOT_REPEATABLE}
    return SGD_EXPECTED_FAILURES


@parametrize_with_checks([
    psgd.SGDClassifier(random_state=0),
    psgd.SGDRegressor(random_state=0),
    psgd.SGDClassifier(loss="log_loss", average=True, n_workers=2, random_state=0),
    psgd.SGDRegressor(average=10, optimizer="adam", learning_rate="inverse_sqrt",
                      penalty="elasticnet", random_state=0),
    psgd.SGDClassifier(loss="log_loss", multi_class="multinomial", random_state=0),
], expected_failed_checks=expected_failures)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks([
    psgd.SGDClassifier(penalty="l1", shuffle=False, optimizer="momentum", random_state=0),
    psgd.SGDClassifier(loss="squared_hinge", optimizer="adam", learning_rate="inverse_sqrt",
                       eta0=0.01, batch_size=4, n_workers=2, random_state=0),
    psgd.SGDClassifier(driver="hogwild", n_workers=2, penalty="elasticnet", random_state=0),
    psgd.SGDRegressor(driver="hogwild", n_workers=2, penalty="l1", random_state=0),
    psgd.SGDRegressor(learning_rate="constant", eta0=0.01, optimizer="adagrad", batch_size=3,
                      random_state=0),
    psgd.SGDClassifier(multi_class="multinomial", driver="hogwild", n_workers=2,
                       penalty="elasticnet", random_state=0),
], expected_failed_checks=expected_failures)
def test_sklearn_compatible_estimator_more_configurations(estimator, check):
    check(estimator)
