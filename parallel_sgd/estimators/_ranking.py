"""`SVMRank`: a linear ranking function trained by SGD on pairs sampled within queries."""
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data.dataset import Dataset, as_design_matrix
from ..drivers import fit
from ..model.ranking import RankingProblem, check_queries, ndcg_at_k
from ._base import VALIDATION, _int_at_least, _writeable


class SVMRank(BaseEstimator):
    """SVM-Rank (Joachims 2002) by stochastic gradient steps on sampled pairs.

    Minimizes ``(1/|Pairs|) sum max(0, 1 - (x_i - x_j).w) + alpha/2 ||w||^2`` over the
    pairs of rows of one query with ``y_i > y_j``, through ``psgd.fit`` on a
    :class:`parallel_sgd.model.ranking.RankingProblem`. Every step draws one pair
    uniformly (see :class:`parallel_sgd.model.ranking.PairSampler`); pairs never cross
    queries and are never all built.

    Parameters
    ----------
    alpha : float > 0
    max_iter : int
        Epochs; an epoch is ``n_samples`` pair steps.
    learning_rate, eta0 :
        As in :class:`SGDClassifier` (``optimal``: Pegasos' ``1/(alpha (t0 + t))``).
    average : bool or int
        Average the iterates (from the ``average``-th step on).
    ndcg_k : int
        ``score`` is the mean NDCG@``ndcg_k`` over queries.
    random_state : int, RandomState or None
    """

    def __init__(self, alpha=1e-4, *, max_iter=10, learning_rate="optimal", eta0=None,
                 average=False, ndcg_k=10, random_state=None):
        self.alpha = alpha
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.average = average
        self.ndcg_k = ndcg_k
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, qid=None):
        """Fit on ``X`` (dense or sparse), relevance labels ``y`` and query ids ``qid``."""
        if not (np.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(f"alpha must be a number > 0, got {self.alpha!r}")
        _int_at_least("max_iter", self.max_iter, 1)
        X, y = validate_data(self, X, y, y_numeric=True, reset=True, **VALIDATION)
        X = _writeable(as_design_matrix(X))
        qid = check_queries(y, qid, X.shape[0])
        problem = RankingProblem(Dataset(X, y, qid=qid), float(self.alpha))
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        # one checkpoint, at the end: the trace's exact objective is not needed to train
        result = fit(problem, driver="sync", n_epochs=self.max_iter, eval_every=self.max_iter,
                     learning_rate=self.learning_rate, eta0=self.eta0, random_state=seed,
                     average=self.average)
        self.coef_ = result.coef
        self.n_iter_ = self.max_iter
        self.t_ = float(result.state.steps + 1)
        self.n_pairs_ = problem.n_pairs
        self.objective_ = result.objective
        return self

    def decision_function(self, X):
        """Scores ``X coef_``: rank the rows of a query by decreasing score."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, **VALIDATION)
        return np.asarray(X @ self.coef_, dtype=np.float64).ravel()

    predict = decision_function

    def score(self, X, y, qid=None):
        """Mean NDCG@``ndcg_k`` over the queries of ``X`` (those with a relevant row)."""
        qid = check_queries(y, qid, np.shape(X)[0])
        return ndcg_at_k(y, self.decision_function(X), qid, k=self.ndcg_k)
