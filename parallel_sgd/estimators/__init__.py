"""scikit-learn compatible estimators: `SGDClassifier` (one-vs-rest over parallel
workers for several classes) and `SGDRegressor`, on every driver."""
from ._classifier import SGDClassifier
from ._regressor import SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
