"""`MultinomialProblem`: one linear model with K scores per example (softmax, Crammer-Singer).

    P(W, b) = (1/n) sum_i s_i l(x_i W + b, y_i)
              + alpha*(1 - l1_ratio)/2*||W||_F^2 + alpha*l1_ratio*||W||_1

``W`` is d x K, ``b`` holds K unpenalized intercepts, ``y_i`` is the index of the
row's class in ``classes`` and ``l`` a loss of :mod:`parallel_sgd.maths.multiclass_losses`.
It is a :class:`~parallel_sgd.model.problem.Problem` for everything computed from the
data alone (row norms, column counts, fingerprint); the model methods take and
return ``W`` (d, K) and ``b`` (K,).
"""
import numpy as np

from ..data.dataset import Dataset
from ..errors import DataError
from ..kernels.linalg import data_arrays
from ..kernels.multiclass import multiclass_scores, rmatmul
from ..maths.multiclass_losses import get_multiclass_loss
from .problem import LinearProblem, Problem


class MultinomialProblem(Problem):
    """Regularized multiclass risk of a linear model with one score per class.

    Parameters
    ----------
    data : Dataset
        Labels may be any values; there must be at least two classes.
    loss : {"softmax", "multiclass_hinge"}
        ``log_loss`` and ``hinge`` are accepted as the same models' names.
    alpha : float >= 0
    l1_ratio : float in [0, 1]
    fit_intercept : bool
    classes : array-like, optional
        All the class labels, sorted or not (default: those in ``data.y``); columns
        of ``W`` follow their sorted order.
    """

    def __init__(self, data, loss="softmax", alpha=1e-4, l1_ratio=0.0, fit_intercept=True,
                 classes=None):
        LinearProblem.__init__(self, data, alpha, l1_ratio)
        self.loss = get_multiclass_loss(loss)
        self.fit_intercept = bool(fit_intercept)
        self.classes = np.unique(data.y if classes is None else np.asarray(classes))
        if self.classes.size < 2:
            raise DataError(f"a multinomial problem needs at least 2 classes, got "
                            f"{self.classes.tolist()}")
        self.y = self.encode_targets(data)

    @property
    def n_classes(self):
        return self.classes.size

    def __repr__(self):
        return (f"MultinomialProblem({self.data!r}, loss={self.loss.name!r}, "
                f"n_classes={self.n_classes}, alpha={self.alpha:g}, "
                f"l1_ratio={self.l1_ratio:g}, fit_intercept={self.fit_intercept})")

    def encode_targets(self, data):
        """``data.y`` as int64 class indices; labels not in ``classes`` are a DataError."""
        y = np.asarray(data.y if isinstance(data, Dataset) else data)
        known = np.isin(y, self.classes)
        if not known.all():
            raise DataError(f"label {y[~known][0].item()!r} is not one of the classes "
                            f"{self.classes.tolist()} the problem was built with")
        return np.searchsorted(self.classes, y).astype(np.int64)

    # -- the model ------------------------------------------------------------------
    def _weights(self, W, b):
        shape = (self.n_features, self.n_classes)
        W = np.ascontiguousarray(W, dtype=np.float64)
        if W.shape != shape:
            raise ValueError(f"W must have shape {shape}, got {W.shape}")
        b = np.zeros(self.n_classes) if b is None or not self.fit_intercept else \
            np.broadcast_to(np.asarray(b, dtype=np.float64), (self.n_classes,)).copy()
        return W, b

    def decision_function(self, W, b=None, X=None):
        """Scores ``X W + b`` (n, K) for ``X`` (a matrix or Dataset; default: the training data)."""
        W, b = self._weights(W, b)
        X = self._design(X)
        values, indices, indptr = data_arrays(X)
        return multiclass_scores(values, indices, indptr, W, b, np.empty((X.shape[0], b.size)))

    def predict(self, W, b=None, X=None):
        """The class of the highest score."""
        return self.classes[self.decision_function(W, b, X).argmax(axis=1)]

    def _risk_and_residual(self, W, b):
        values, grads = self.loss.value_and_grad(self.decision_function(W, b), self.y)
        weights = self.data.sample_weight
        if weights is not None:
            values = values * weights
            grads *= weights[:, None]
        return float(np.mean(values)), grads / self.n_samples

    def objective(self, W, b=None):
        """``P(W, b)`` as in the module docstring."""
        W, b = self._weights(W, b)
        return self._risk_and_residual(W, b)[0] + self.penalty.value(W)

    def loss_gradient(self, W, b=None):
        """Gradient of the data term alone: ``(dR/dW (d, K), dR/db (K,))``."""
        W, b = self._weights(W, b)
        R = self._risk_and_residual(W, b)[1]
        values, indices, indptr = data_arrays(self.data.X)
        gb = R.sum(axis=0) if self.fit_intercept else np.zeros(self.n_classes)
        return rmatmul(values, indices, indptr, R, self.n_features), gb

    def gradient(self, W, b=None):
        """``(dP/dW, dP/db)``; the L1 part is the subgradient ``l1*sign(W)``, 0 at 0."""
        gw, gb = self.loss_gradient(W, b)
        return gw + self.penalty.gradient(self._weights(W, b)[0]), gb

    def hessian_product(self, W, b, VW, vb=None):
        """Generalized Hessian of the smooth part times ``(VW, vb)``: ``(d, K)`` and ``(K,)``.

        For softmax, row i's Hessian in its scores is ``diag(p_i) - p_i p_i^T`` (``p_i``
        its class probabilities, ``dl/dscores + onehot(y_i)``); the hinge is piecewise
        linear, so its generalized Hessian is zero and only the L2 term remains.
        """
        VW = self._weights(VW, vb)[0]
        hw = self.penalty.l2 * VW
        hb = np.zeros(self.n_classes)
        if self.loss.is_smooth:
            probabilities = self.loss.value_and_grad(self.decision_function(W, b), self.y)[1]
            probabilities[np.arange(self.n_samples), self.y] += 1.0
            U = self.decision_function(VW, vb)  # the direction's change of every score
            R = probabilities * (U - (probabilities * U).sum(axis=1, keepdims=True))
            if self.data.sample_weight is not None:
                R *= self.data.sample_weight[:, None]
            R /= self.n_samples
            values, indices, indptr = data_arrays(self.data.X)
            hw = hw + rmatmul(values, indices, indptr, R, self.n_features)
            if self.fit_intercept:
                hb = R.sum(axis=0)
        return hw, hb

    def metric(self, W, b, data):
        """Accuracy of ``(W, b)`` on ``data``."""
        target = self.encode_targets(data)
        return float(np.mean(self.decision_function(W, b, data).argmax(axis=1) == target))

    @property
    def metric_name(self):
        return "accuracy"
