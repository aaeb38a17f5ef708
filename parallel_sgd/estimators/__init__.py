"""scikit-learn compatible estimators: `SGDClassifier` (one-vs-rest over parallel
workers for several classes) and `SGDRegressor`, on every driver; `SVMRank`."""
from ._classifier import SGDClassifier
from ._ranking import SVMRank
from ._regressor import SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor", "SVMRank"]
