"""`Problem`: a Dataset, a loss and a penalty -- the objective every driver minimizes.

    P(w, b) = (1/n) sum_i s_i l(x_i.w + b, y_i)
              + alpha*(1 - l1_ratio)/2*||w||^2 + alpha*l1_ratio*||w||_1

This is scikit-learn's SGD convention: ``alpha`` means the same thing in both,
and liblinear's ``C`` is ``1/(n*alpha)``. The intercept is never penalized.
Binary labels may be any two values; they become -1 (the smaller) and +1 inside.
"""
import copy
import hashlib
from functools import cached_property

import numpy as np

from ..data.dataset import Dataset
from ..errors import DataError
from ..kernels.linalg import data_arrays, margins, rmatvec
from ..kernels.rows import row_norms_sq
from ..maths.losses import get_loss
from ..maths.penalties import Penalty


def encode_binary_labels(y, classes, loss_name):
    """Map labels to +-1 given ``classes`` (``classes[1]`` is +1); unknown labels are an error."""
    y = np.asarray(y)
    known = np.isin(y, classes)
    if not known.all():
        bad = y[~known][0].item()
        raise DataError(
            f"label {bad!r} is not one of the two classes {classes.tolist()} the {loss_name} "
            f"problem was built with"
        )
    return np.where(y == classes[1], 1.0, -1.0)


def binary_classes(y, loss_name):
    """The two sorted label values of ``y``; a DataError if there are not exactly two."""
    classes = np.unique(y)
    if classes.size != 2:
        shown = ", ".join(repr(c) for c in classes[:10].tolist())
        more = ", ..." if classes.size > 10 else ""
        raise DataError(
            f"loss {loss_name!r} needs binary labels (exactly two classes); "
            f"y holds {classes.size}: [{shown}{more}]"
        )
    return classes


class LinearProblem:
    """What every problem of a linear model on a :class:`Dataset` shares: its sizes, its
    penalty's strength, its rows' norms and the data a model is scored on."""

    def __init__(self, data, alpha, l1_ratio):
        if not isinstance(data, Dataset):
            raise TypeError(f"data must be a psgd.Dataset, got {type(data).__name__}")
        self.data = data
        self.penalty = Penalty(alpha, l1_ratio)

    @property
    def alpha(self):
        return self.penalty.alpha

    @property
    def l1_ratio(self):
        return self.penalty.l1_ratio

    @property
    def n_samples(self):
        return self.data.n_samples

    @property
    def n_features(self):
        return self.data.n_features

    @cached_property
    def row_norms_sq(self):
        """``||x_i||^2`` for every row (float64): from the Dataset's check of a sparse
        ``X`` where it made them, else one pass."""
        if self.data.scanned_row_norms is not None:
            return self.data.scanned_row_norms
        X, indices, indptr = data_arrays(self.data.X)
        return row_norms_sq(X, indices, indptr, np.empty(self.n_samples))

    ROW_CONSTANTS = ("row_norms_sq", "fingerprint")  # cached properties that follow rows

    def with_rows_permuted(self, order, data=None):
        """This problem on its rows in ``order`` (a permutation of all of them): the same
        objective and optimum, the data stored in that order (``shuffle="once"``);
        ``data``, if given, is ``self.data.permuted(order)`` already."""
        other = copy.copy(self)
        other.data = self.data.permuted(order) if data is None else data
        other.y = self.y[order]
        for name in self.ROW_CONSTANTS:
            other.__dict__.pop(name, None)
        return other

    def _design(self, X):
        """The matrix ``X`` stands for (a Dataset's; None: the training rows), after
        checking its width."""
        if X is None:
            return self.data.X
        if isinstance(X, Dataset):
            X = X.X
        if X.shape[1] != self.n_features:
            raise DataError(
                f"data has {X.shape[1]} features but the problem has {self.n_features}; "
                f"load it with n_features={self.n_features}"
            )
        return X


class Problem(LinearProblem):
    """Regularized empirical risk on a :class:`Dataset`.

    Parameters
    ----------
    data : Dataset
    loss : str or Loss
        ``squared_error``, ``log_loss``, ``hinge``, ``squared_hinge`` or ``modified_huber``.
    alpha : float >= 0
        Penalty strength.
    l1_ratio : float in [0, 1]
        Elastic-net mixing: 0 is L2, 1 is L1.
    fit_intercept : bool
        Whether the model has an (unpenalized) intercept ``b``.
    """

    def __init__(self, data, loss="log_loss", alpha=1e-4, l1_ratio=0.0, fit_intercept=True):
        super().__init__(data, alpha, l1_ratio)
        self.loss = get_loss(loss)
        self.fit_intercept = bool(fit_intercept)
        if self.loss.classification:
            self.classes = binary_classes(data.y, self.loss.name)
            self.y = encode_binary_labels(data.y, self.classes, self.loss.name)
        else:
            if data.y.dtype.kind not in "biuf":
                raise DataError(f"loss {self.loss.name!r} needs numeric targets, got {data.y.dtype}")
            self.classes = None
            self.y = np.ascontiguousarray(data.y, dtype=np.float64)

    def __repr__(self):
        return (
            f"Problem({self.data!r}, loss={self.loss.name!r}, alpha={self.alpha:g}, "
            f"l1_ratio={self.l1_ratio:g}, fit_intercept={self.fit_intercept})"
        )

    # -- data-derived constants ----------------------------------------------------
    @cached_property
    def max_smoothness(self):
        """``L_max``: bound on the smoothness of every per-example objective term.

        ``smoothness(loss) * s_i * (||x_i||^2 + 1 if fit_intercept) + alpha*(1-l1_ratio)``;
        hinge (not smooth) counts as 1, the scale of its subgradient.
        """
        smooth = self.loss.smoothness if self.loss.is_smooth else 1.0
        norms = self.row_norms_sq + (1.0 if self.fit_intercept else 0.0)
        if self.data.sample_weight is not None:
            norms = norms * self.data.sample_weight
        return float(smooth * norms.max() + self.penalty.l2)

    @cached_property
    def column_counts(self):
        """``d_j``: the number of rows where feature ``j`` is non-zero."""
        return self.data.column_counts

    @cached_property
    def penalty_weights(self):
        """``n / d_j`` (1 where ``d_j = 0``): reweights the penalty on touched coordinates."""
        counts = self.column_counts
        return np.where(counts > 0, self.n_samples / np.maximum(counts, 1), 1.0)

    @cached_property
    def fingerprint(self):
        """A sha256 of the data and the objective's definition, for caching optima."""
        h = hashlib.sha256()
        X = self.data.X
        for part in data_arrays(X):
            if part is not None:
                h.update(np.ascontiguousarray(part).tobytes())
        h.update(repr((X.shape, str(X.dtype), self.data.is_sparse)).encode())
        h.update(self.y.tobytes())
        if self.data.sample_weight is not None:
            h.update(self.data.sample_weight.tobytes())
        h.update(repr((self.loss.name, self.alpha, self.l1_ratio, self.fit_intercept)).encode())
        return h.hexdigest()

    # -- the model ------------------------------------------------------------------
    def _weights(self, w, b):
        w = np.ascontiguousarray(w, dtype=np.float64)
        if w.shape != (self.n_features,):
            raise ValueError(f"w must have shape ({self.n_features},), got {w.shape}")
        return w, (float(b) if self.fit_intercept else 0.0)

    def decision_function(self, w, b=0.0, X=None):
        """``X w + b`` (float64) for ``X`` (a matrix or Dataset; default: the training data)."""
        w, b = self._weights(w, b)
        X = self._design(X)
        values, indices, indptr = data_arrays(X)
        return margins(values, indices, indptr, w, b, np.empty(X.shape[0]))

    def predict(self, w, b=0.0, X=None):
        """Class labels (classification) or predicted values (regression)."""
        scores = self.decision_function(w, b, X)
        if self.classes is None:
            return scores
        return self.classes[(scores > 0).astype(np.intp)]

    def objective(self, w, b=0.0, margins=None):
        """``P(w, b)`` as defined in the module docstring; ``margins``, if given, must be
        ``X w + b`` (computed elsewhere, e.g. by a driver's own workers)."""
        w, b = self._weights(w, b)
        if margins is None and not w.any():
            margins = np.full(self.n_samples, b)  # the usual start: no pass over X
        elif margins is None:
            margins = self.decision_function(w, b)
        losses = self.loss.value(margins, self.y)
        weights = self.data.sample_weight
        risk = np.mean(losses if weights is None else weights * losses)
        return float(risk + self.penalty.value(w))

    def _residual(self, w, b):
        r = self.loss.deriv(self.decision_function(w, b), self.y)
        if self.data.sample_weight is not None:
            r *= self.data.sample_weight
        return r / self.n_samples

    def gradient(self, w, b=0.0):
        """``(dP/dw, dP/db)``; the L1 part is the subgradient ``l1*sign(w)``, 0 at 0."""
        w, b = self._weights(w, b)
        r = self._residual(w, b)
        values, indices, indptr = data_arrays(self.data.X)
        gw = rmatvec(values, indices, indptr, r, self.n_features) + self.penalty.gradient(w)
        gb = float(r.sum()) if self.fit_intercept else 0.0
        return gw, gb

    def loss_gradient(self, w, b=0.0):
        """Gradient of the data term alone, ``((1/n) X^T (s*l'), (1/n) sum s*l')``."""
        w, b = self._weights(w, b)
        r = self._residual(w, b)
        values, indices, indptr = data_arrays(self.data.X)
        gb = float(r.sum()) if self.fit_intercept else 0.0
        return rmatvec(values, indices, indptr, r, self.n_features), gb

    def hessian_product(self, w, b, vw, vb=0.0):
        """Generalized Hessian of the smooth part times ``(vw, vb)`` (for Newton steps)."""
        w, b = self._weights(w, b)
        values, indices, indptr = data_arrays(self.data.X)
        scores = self.decision_function(w, b)
        curv = self.loss.curvature(scores, self.y)
        if self.data.sample_weight is not None:
            curv *= self.data.sample_weight
        vb = float(vb) if self.fit_intercept else 0.0
        xv = margins(values, indices, indptr, np.ascontiguousarray(vw, dtype=np.float64), vb,
                     np.empty(self.n_samples))
        r = curv * xv / self.n_samples
        hw = rmatvec(values, indices, indptr, r, self.n_features) + self.penalty.l2 * np.asarray(vw)
        hb = float(r.sum()) if self.fit_intercept else 0.0
        return hw, hb

    def encode_targets(self, data):
        """``data.y`` in the problem's internal form (+-1 labels or float targets)."""
        if self.classes is None:
            return np.asarray(data.y, dtype=np.float64)
        return encode_binary_labels(data.y, self.classes, self.loss.name)

    def metric(self, w, b, data):
        """Accuracy (classification) or RMSE (regression) of ``(w, b)`` on ``data``."""
        scores = self.decision_function(w, b, data)
        target = self.encode_targets(data)
        if self.classes is None:
            return float(np.sqrt(np.mean((scores - target) ** 2)))
        return float(np.mean(np.where(scores > 0, 1.0, -1.0) == target))

    @property
    def metric_name(self):
        return "rmse" if self.classes is None else "accuracy"
