"""`psgd.SGDClassifier(multi_class="multinomial")`: softmax and Crammer-Singer models,
their shapes and probabilities, partial_fit, errors, and accuracy against scikit-learn's
`LogisticRegression` (multinomial, lbfgs) and `LinearSVC(multi_class="crammer_singer")`
at the same regularization (C = 1 / (n alpha))."""
import warnings

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

import parallel_sgd as psgd

ALPHA = 1e-4


def blobs(n_classes=4, n=400, seed=0):
    return make_classification(n, 10, n_informative=6, n_classes=n_classes,
                               n_clusters_per_class=1, class_sep=2.0, random_state=seed)


def quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(*args, **kwargs)


def multinomial(loss="log_loss", **options):
    options = {"random_state": 0, **options}
    return psgd.SGDClassifier(loss=loss, multi_class="multinomial", alpha=ALPHA, **options)


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_shapes_scores_and_probabilities(loss):
    X, y = blobs()
    model = quietly(multinomial(loss), X, y)
    assert model.coef_.shape == (4, 10) and model.intercept_.shape == (4,)
    scores = model.decision_function(X)
    np.testing.assert_allclose(scores, X @ model.coef_.T + model.intercept_, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), model.classes_[scores.argmax(axis=1)])
    assert model.score(X, y) > 0.8
    if loss == "log_loss":
        np.testing.assert_allclose(model.predict_proba(X), softmax(scores, axis=1), rtol=1e-12)
    else:
        assert not hasattr(model, "predict_proba")


def test_two_classes_give_the_difference_of_the_two_models():
    """As in scikit-learn's LogisticRegression: coef_ (1, d), class 1 against class 0."""
    X, y = blobs(n_classes=2)
    model = quietly(multinomial(), X, np.array(["no", "yes"])[y])
    assert model.coef_.shape == (1, 10) and model.intercept_.shape == (1,)
    scores = model.decision_function(X)
    assert scores.shape == (400,)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(scores), rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.where(scores > 0, "yes", "no"))
    warm = multinomial(warm_start=True, max_iter=1, tol=None)
    quietly(warm, X, y, coef_init=model.coef_, intercept_init=model.intercept_)
    assert warm.score(X, y) > 0.8


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_partial_fit_continues_where_fit_would(loss):
    """Two partial_fit passes in file order are the two epochs of one fit, step for step.

    Compared to 1e-13, not bit for bit: in one test order (the whole of
    tests/test_multiclass.py first) the first partial_fit sequence of the process
    came out a few ulps (1e-14 relative) off softmax's fit, while a second one in the
    same process matched it exactly; the cause is not found (the kernel signatures
    are the same). The hinge runs always matched bit for bit."""
    X, y = blobs()
    fitted = quietly(multinomial(loss, shuffle=False, tol=None, max_iter=2), X, y)
    streamed = multinomial(loss, shuffle=False)
    streamed.partial_fit(X, y, classes=np.unique(y))
    streamed.partial_fit(X, y)
    scale = np.abs(fitted.coef_).max()
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(streamed.intercept_, fitted.intercept_, rtol=0, atol=1e-13 * scale)
    assert streamed.t_ == fitted.t_ == 2 * len(y) + 1


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_hogwild_and_sparse_input(loss):
    import scipy.sparse as sp
    X, y = blobs()
    model = quietly(multinomial(loss, driver="hogwild", n_workers=2), sp.csr_matrix(X), y)
    assert model.coef_.shape == (4, 10)
    assert model.score(X, y) > 0.8


@pytest.mark.parametrize("options,message", [
    (dict(multi_class="crammer_singer"), "multi_class must be one of ovr, multinomial"),
    (dict(multi_class="multinomial", loss="modified_huber"), "needs loss 'log_loss'"),
    (dict(multi_class="multinomial", loss="squared_hinge"), "needs loss 'log_loss'"),
    (dict(multi_class="multinomial", optimizer="adam"), "does not support optimizer"),
    (dict(multi_class="multinomial", average=True), "does not support average"),
    (dict(multi_class="multinomial", batch_size=8), "does not support batch_size"),
    (dict(multi_class="multinomial", driver="svrg"), "does not support driver"),
])
def test_bad_configurations_fail_clearly(options, message):
    X, y = blobs()
    with pytest.raises(ValueError, match=message):
        psgd.SGDClassifier(**options).fit(X, y)
    with pytest.raises(ValueError, match=message):
        psgd.SGDClassifier(**options).partial_fit(X, y, classes=np.unique(y))


# -- accuracy against scikit-learn at the same regularization ------------------------------
def load(shared_data, name):
    if name == "letter":
        train = psgd.load_svmlight(shared_data / "letter.scale.gz", n_features=16)
        test = psgd.load_svmlight(shared_data / "letter.scale.t.gz", n_features=16)
    elif name == "usps01":
        train = psgd.load_svmlight(shared_data / "usps01.train.gz", n_features=256)
        test = psgd.load_svmlight(shared_data / "usps01.test.gz", n_features=256)
    else:  # news20 has no test file: a fixed 80/20 split
        train, test = psgd.load_svmlight(shared_data / "news20.gz").split(0.2, random_state=0)
    return train.X, train.y, test.X, test.y


# epochs (tol=None): the last iterate of SGD at alpha=1e-4 still moves by a point or two
# at 30 epochs (Crammer-Singer on letter, softmax on usps01), and news20's optimal steps
# start far too large (its rows' squared norms reach 2e5)
EPOCHS = 100
# usps01's rows have squared norms up to 157: the default first step alpha**-0.25 = 10 is
# 800 times the largest stable one, and softmax SGD was still at a relative suboptimality
# of 6e-2 (sync) and 0.35 (Hogwild) after 100 epochs; eta0=0.1 gets there in 10-30
OPTIONS = {"usps01": dict(eta0=0.1)}


def sklearn_reference(loss, X, y):
    C = 1.0 / (X.shape[0] * ALPHA)
    if loss == "log_loss":
        return LogisticRegression(C=C, max_iter=2000)
    return LinearSVC(C=C, multi_class="crammer_singer", max_iter=5000)


def check_accuracy(shared_data, name, loss):
    """The median test accuracy of three seeds (SGD's last iterate moves by about a
    point from seed to seed on letter) within one point of scikit-learn's, or above."""
    X, y, Xt, yt = load(shared_data, name)
    theirs = quietly(sklearn_reference(loss, X, y), X, y).score(Xt, yt)
    for driver, workers in [("sync", 1), ("hogwild", 2)]:
        accuracy = np.median([
            quietly(multinomial(loss, driver=driver, n_workers=workers, tol=None,
                                max_iter=EPOCHS, random_state=seed,
                                **OPTIONS.get(name, {})), X, y).score(Xt, yt)
            for seed in range(3)])
        assert accuracy >= theirs - 0.01, (name, loss, driver, accuracy, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["letter", "usps01", "news20"])
@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_accuracy_within_a_point_of_sklearn(shared_data, name, loss):
    check_accuracy(shared_data, name, loss)
