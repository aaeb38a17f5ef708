"""`SGDClassifier`: linear classifiers trained by parallel SGD, one-vs-rest or
multinomial (softmax, Crammer-Singer) for K > 2."""
import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ..model.multinomial import MultinomialProblem
from ._base import BaseSGD, SignedProblem, shared_params

CLASSIFICATION_LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge")
PROBABILISTIC_LOSSES = ("log_loss", "modified_huber")
MULTI_CLASS = ("ovr", "multinomial")
MULTINOMIAL_LOSSES = {"log_loss": "softmax", "hinge": "multiclass_hinge"}


class SGDClassifier(ClassifierMixin, BaseSGD):
    """Linear classifier (SVM, logistic regression, ...) trained by parallel SGD.

    With ``multi_class="ovr"`` it minimizes, for each binary problem (class ``k``
    against the rest when there are more than two classes),

        P(w, b) = (1/n) sum_i s_i l(x_i.w + b, y_i) + alpha*(1 - l1_ratio)/2*||w||^2
                  + alpha*l1_ratio*||w||_1

    with ``y_i`` in {-1, +1} and ``s_i`` the sample weight times the class weight:
    scikit-learn's ``SGDClassifier`` objective, so its parameters mean the same here.
    With ``multi_class="multinomial"`` it trains one model of K scores
    ``x_i W + b`` (W is d x K) on the same objective with a multiclass loss:
    ``log_loss`` becomes the softmax cross-entropy (multinomial logistic
    regression), ``hinge`` the Crammer-Singer multiclass hinge
    ``max(0, 1 + max_{k != y} p_k - p_y)``, and ``||W||`` the Frobenius norm.

    Parameters
    ----------
    loss : {"hinge", "log_loss", "modified_huber", "squared_hinge"}
    penalty : {"l2", "l1", "elasticnet"} or None
    alpha : float
        Penalty strength (also sets the ``optimal`` schedule).
    l1_ratio : float in [0, 1]
        L1 share of the penalty, used with ``penalty="elasticnet"``.
    fit_intercept : bool
    max_iter : int
        Epochs (passes over the data) at most.
    tol : float or None
        Stop when the training objective at the end of an epoch has not fallen
        below ``best - tol`` for ``n_iter_no_change`` epochs in a row (None: run
        ``max_iter`` epochs). The objective is evaluated exactly, with the solver
        clock paused.
    shuffle : {True, "once", "blocks", False}
        The row order (:mod:`parallel_sgd.drivers.orders`): a new permutation every
        epoch; one permutation at set-up, then that order; a random order of
        cache-sized blocks of rows, shuffled within each; or the stored order.
    learning_rate : {"optimal", "constant", "inverse", "inverse_sqrt", "exponential"}
        See :mod:`parallel_sgd.model.schedules`.
    eta0 : float or None
        First step; None picks scikit-learn's for ``optimal`` and ``1/L_max`` else.
    optimizer : {"sgd", "momentum", "adagrad", "rmsprop", "adam"}
    driver : {"sync", "hogwild"}
        With ``"sync"`` the binary problems of a multiclass fit are trained side by
        side on ``n_workers`` threads; with ``"hogwild"`` one after the other, each
        by ``n_workers`` lock-free workers. A multinomial model is trained serially
        (``"sync"``) or by ``n_workers`` lock-free workers (``"hogwild"``).
    n_workers : int
    batch_size : int
        Rows per update (sync driver).
    n_iter_no_change : int
    class_weight : dict, "balanced" or None
        Multiplies each row's weight by its class's weight (in every binary problem).
    warm_start : bool
        Start ``fit`` from the previous solution (the schedule starts afresh).
    average : bool or int
        Return the average of the iterates (averaged SGD), from the first step
        (``True``) or from the ``average``-th step on; sync driver, ``batch_size=1``.
    multi_class : {"ovr", "multinomial"}
        One-vs-rest, or one multinomial model (``loss`` ``log_loss`` or ``hinge``;
        optimizer ``sgd``, ``batch_size=1``, no averaging). With two classes a
        multinomial model's ``coef_`` is the difference of the two classes' weights,
        shape (1, n_features), as in scikit-learn's ``LogisticRegression``.
    random_state : int, RandomState or None
        Seeds the row orders.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        (multinomial: the transpose of W)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray
    n_iter_ : int
        Epochs run (the most over the binary problems).
    t_ : float
        Steps taken plus one (scikit-learn's convention).
    n_features_in_, feature_names_in_
    """

    _losses = CLASSIFICATION_LOSSES

    def __init__(self, loss="hinge", *, penalty="l2", alpha=1e-4, l1_ratio=0.15,
                 fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True,
                 learning_rate="optimal", eta0=None, optimizer="sgd", driver="sync",
                 n_workers=1, batch_size=1, n_iter_no_change=5, class_weight=None,
                 warm_start=False, average=False, multi_class="ovr", random_state=None):
        super().__init__(**shared_params(locals()))
        self.class_weight = class_weight
        self.multi_class = multi_class

    # -- fitting --------------------------------------------------------------------
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model on ``X`` (dense or any scipy.sparse format) and labels ``y``."""
        penalty = self._check_params()
        self._check_multi_class()
        X, y = self._validate(X, y, reset=True)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(f"the classifier needs samples of at least 2 classes, got 1 "
                             f"class: {classes.tolist()}")
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            if not np.array_equal(classes, self.classes_):
                raise ValueError(f"warm_start: y holds the classes {classes.tolist()}, the "
                                 f"previous fit {self.classes_.tolist()}")
            coef_init, intercept_init = self.coef_, self.intercept_
        self.classes_ = classes
        self._eta0 = None
        weights = self._row_weights(y, sample_weight, self.class_weight)
        if self.multi_class == "multinomial":
            start = self._multinomial_start(coef_init, intercept_init, X.shape[1])
            self._fit_multinomial(X, y, weights, penalty, start, partial=False)
            return self
        starts = self._starting_points(coef_init, intercept_init, X.shape[1])
        self._fit_binary_problems(X, y, weights, penalty, starts, partial=False)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over ``X, y``, continuing from the previous call (``classes`` on the
        first). Runs the serial kernel; with several classes, the binary problems train
        side by side on ``n_workers`` threads."""
        penalty = self._check_params()
        self._check_multi_class()
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(classes)
            if self.classes_.size < 2:
                raise ValueError(f"classes must hold at least 2 classes, got "
                                 f"{self.classes_.tolist()}")
            self._eta0, self._states = None, None
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.unique(classes).tolist()} is not the same as on "
                             f"the first call to partial_fit: {self.classes_.tolist()}")
        if self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported by partial_fit (it "
                             "depends on the whole data); pass "
                             "compute_class_weight('balanced', classes=classes, y=y) as a dict")
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"label {y[unknown][0].item()!r} is not one of the classes "
                             f"{self.classes_.tolist()} given on the first call")
        weights = self._row_weights(y, sample_weight, self.class_weight)
        if self.multi_class == "multinomial":
            states = getattr(self, "_states", None)
            start = states[0] if states is not None else (
                None if first else self._multinomial_start(self.coef_, self.intercept_,
                                                           X.shape[1]))
            self._fit_multinomial(X, y, weights, penalty, start, partial=True)
            return self
        starts = self._states if getattr(self, "_states", None) is not None else (
            self._starting_points(None, None, X.shape[1]) if first else
            self._starting_points(self.coef_, self.intercept_, X.shape[1]))
        self._fit_binary_problems(X, y, weights, penalty, starts, partial=True)
        return self

    def _row_weights(self, y, sample_weight, class_weight):
        weights = self._sample_weight(sample_weight, y.shape[0])
        if class_weight is None:
            return weights
        per_class = compute_class_weight(class_weight, classes=self.classes_, y=y)
        scale = per_class[np.searchsorted(self.classes_, y)]
        return scale if weights is None else weights * scale

    def _starting_points(self, coef_init, intercept_init, n_features):
        """One ``(coef, intercept)`` (or None) per binary problem."""
        n_models = 1 if self.classes_.size == 2 else self.classes_.size
        if coef_init is None and intercept_init is None:
            return [None] * n_models
        coef, intercept = _initial_weights(coef_init, intercept_init, n_models, n_features)
        return [(coef[k], float(intercept[k])) for k in range(n_models)]

    def _check_multi_class(self):
        """Refuse an unknown ``multi_class`` and what the multinomial models cannot do."""
        if not isinstance(self.multi_class, str) or self.multi_class not in MULTI_CLASS:
            raise ValueError(f"multi_class must be one of {', '.join(MULTI_CLASS)}, got "
                             f"{self.multi_class!r}")
        if self.multi_class == "ovr":
            return
        if self.loss not in MULTINOMIAL_LOSSES:
            raise ValueError(f"multi_class='multinomial' needs loss 'log_loss' (softmax) or "
                             f"'hinge' (Crammer-Singer), got loss={self.loss!r}")
        refused = [(self.optimizer != "sgd", f"optimizer={self.optimizer!r} (only 'sgd')"),
                   (self.batch_size != 1, f"batch_size={self.batch_size} (only 1)"),
                   (bool(self.average), f"average={self.average!r} (no averaging)"),
                   (self.driver not in ("sync", "hogwild"),
                    f"driver={self.driver!r} (only 'sync' and 'hogwild')")]
        for bad, what in refused:
            if bad:
                raise ValueError(f"multi_class='multinomial' does not support {what}")

    def _multinomial_start(self, coef_init, intercept_init, n_features):
        """``(W, b)`` (d x K, K) from scikit-learn-shaped starting weights, or None.

        With two classes the one row of weights ``c`` (class 1 against class 0)
        starts W at ``[-c/2, c/2]``, which gives the same scores' difference."""
        if coef_init is None and intercept_init is None:
            return None
        K = self.classes_.size
        coef, intercept = _initial_weights(coef_init, intercept_init, 1 if K == 2 else K,
                                           n_features)
        if K == 2:
            return np.column_stack([-coef[0] / 2, coef[0] / 2]), \
                np.array([-intercept[0] / 2, intercept[0] / 2])
        return np.ascontiguousarray(coef.T), intercept

    def _fit_multinomial(self, X, y, weights, penalty, start, partial):
        problem = MultinomialProblem(self._dataset(X, y, weights), MULTINOMIAL_LOSSES[self.loss],
                                     *penalty, self.fit_intercept, classes=self.classes_)
        # no damping of the intercepts' steps on sparse data (binary models take 0.01,
        # as scikit-learn does): damped, the softmax model converges far more slowly
        # (BENCHMARKS.md, Estimators)
        options = dict(self._fit_options(X, partial), intercept_rate=1.0)
        results = self._train([problem], self._seeds(1), [start], options)
        W, b = results[0].coef, np.asarray(results[0].intercept)
        if self.classes_.size == 2:  # scores' difference: class 1 against class 0
            self.coef_ = (W[:, 1] - W[:, 0])[None, :]
            self.intercept_ = np.array([b[1] - b[0]])
        else:
            self.coef_ = np.ascontiguousarray(W.T)
            self.intercept_ = b.copy()
        self._finish(results, partial)

    def _fit_binary_problems(self, X, y, weights, penalty, starts, partial):
        data = self._dataset(X, y, weights)
        positives = self.classes_[1:] if self.classes_.size == 2 else self.classes_
        problems = []
        for label in positives:
            problems.append(SignedProblem(data, np.where(y == label, 1.0, -1.0), self.loss,
                                          *penalty, self.fit_intercept,
                                          sibling=problems[0] if problems else None))
        results = self._train(problems, self._seeds(len(problems)), starts,
                              self._fit_options(X, partial))
        self.coef_ = np.array([r.coef for r in results])
        self.intercept_ = np.array([r.intercept for r in results])
        self._finish(results, partial)

    # -- predicting -----------------------------------------------------------------
    def decision_function(self, X):
        """Scores ``X coef_^T + intercept_``: shape (n,) for two classes, (n, K) otherwise."""
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    def _proba_available(self):
        if self.loss not in PROBABILISTIC_LOSSES:
            raise AttributeError(f"probability estimates are not available for "
                                 f"loss={self.loss!r}; use one of {PROBABILISTIC_LOSSES}")
        return True

    @available_if(_proba_available)
    def predict_proba(self, X):
        """Class probabilities: the logistic function of the scores (``log_loss``) or
        ``(clip(score, -1, 1) + 1) / 2`` (``modified_huber``, Zadrozny and Elkan 2002);
        one-vs-rest probabilities are normalized to sum to 1, as scikit-learn does.
        A multinomial model's are the softmax of its K scores."""
        scores = self.decision_function(X)
        if self.multi_class == "multinomial" and scores.ndim == 2:
            return softmax(scores, axis=1)
        if self.loss == "log_loss":
            p = expit(scores)
        else:
            p = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if scores.ndim == 1:
            return np.column_stack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        uniform = total[:, 0] == 0
        p[uniform] = 1.0
        total[uniform] = p.shape[1]
        return p / total

    @available_if(_proba_available)
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


def _initial_weights(coef_init, intercept_init, rows, n_features):
    """``coef_init`` (rows, n_features) and ``intercept_init`` (rows,) as float64 arrays
    (zeros where None), or a ValueError naming the expected shape."""
    coef = np.zeros((rows, n_features)) if coef_init is None else \
        np.asarray(coef_init, dtype=np.float64)
    if coef.size == rows * n_features:  # e.g. a flat (n_features,) for one binary model
        coef = coef.reshape(rows, n_features)
    if coef.shape != (rows, n_features):
        raise ValueError(f"coef_init must have shape ({rows}, {n_features}), got "
                         f"{np.shape(coef_init)}")
    intercept = np.zeros(rows) if intercept_init is None else \
        np.asarray(intercept_init, dtype=np.float64).reshape(-1)
    if intercept.shape != (rows,):
        raise ValueError(f"intercept_init must have shape ({rows},), got "
                         f"{np.shape(intercept_init)}")
    return coef, intercept
