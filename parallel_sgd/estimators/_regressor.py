"""`SGDRegressor`: regularized least squares trained by parallel SGD."""
import numpy as np
from sklearn.base import RegressorMixin

from ..model.problem import Problem
from ._base import BaseSGD, shared_params


class SGDRegressor(RegressorMixin, BaseSGD):
    """Linear regression (least squares, ridge, lasso, elastic net) trained by parallel SGD.

    Minimizes

        P(w, b) = (1/n) sum_i s_i (x_i.w + b - y_i)^2 / 2 + alpha*(1 - l1_ratio)/2*||w||^2
                  + alpha*l1_ratio*||w||_1

    scikit-learn's ``SGDRegressor`` objective for ``loss="squared_error"``. The
    parameters are those of :class:`SGDClassifier` less ``class_weight`` and
    ``multi_class``. The default schedule is ``optimal`` with its first step capped
    at the largest stable one, ``1/L_max`` (scikit-learn's default, ``invscaling``
    with ``power_t=0.25``, is not offered; its ``optimal`` step diverges on
    unscaled data).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int
    t_ : float
    n_features_in_, feature_names_in_
    """

    _losses = ("squared_error",)

    def __init__(self, loss="squared_error", *, penalty="l2", alpha=1e-4, l1_ratio=0.15,
                 fit_intercept=True, max_iter=1000, tol=1e-3, shuffle=True,
                 learning_rate="optimal", eta0=None, optimizer="sgd", driver="sync",
                 n_workers=1, batch_size=1, n_iter_no_change=5, warm_start=False,
                 average=False, random_state=None):
        super().__init__(**shared_params(locals()))

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model on ``X`` (dense or any scipy.sparse format) and targets ``y``."""
        penalty = self._check_params()
        X, y = self._validate(X, y, reset=True, y_numeric=True)
        if coef_init is None and self.warm_start and hasattr(self, "coef_"):
            coef_init, intercept_init = self.coef_, self.intercept_
        self._eta0 = None
        start = self._starting_point(coef_init, intercept_init, X.shape[1])
        self._fit_problem(X, y, sample_weight, penalty, start, partial=False)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X, y``, continuing from the previous call (serial kernel)."""
        penalty = self._check_params()
        first = not hasattr(self, "coef_")
        X, y = self._validate(X, y, reset=first, y_numeric=True)
        if first:
            self._eta0, self._states = None, None
            start = None
        elif self._states is not None:
            start = self._states[0]
        else:
            start = (self.coef_, self.intercept_[0])
        self._fit_problem(X, y, sample_weight, penalty, start, partial=True)
        return self

    def _starting_point(self, coef_init, intercept_init, n_features):
        if coef_init is None and intercept_init is None:
            return None
        coef = np.zeros(n_features) if coef_init is None else \
            np.asarray(coef_init, dtype=np.float64).reshape(-1)
        if coef.shape != (n_features,):
            raise ValueError(f"coef_init must have shape ({n_features},), got "
                             f"{np.shape(coef_init)}")
        intercept = 0.0 if intercept_init is None else float(np.ravel(intercept_init)[0])
        return coef, intercept

    def _fit_problem(self, X, y, sample_weight, penalty, start, partial):
        weights = self._sample_weight(sample_weight, y.shape[0])
        data = self._dataset(X, np.asarray(y, dtype=np.float64), weights)
        problem = Problem(data, self.loss, *penalty, fit_intercept=self.fit_intercept)
        results = self._train([problem], self._seeds(1), [start], self._fit_options(X, partial))
        self.coef_ = results[0].coef
        self.intercept_ = np.array([results[0].intercept])
        self._finish(results, partial)

    def predict(self, X):
        """Predicted targets ``X coef_ + intercept_``."""
        return self._decision(X)
