"""``psgd predict``: predictions of a saved model (and its accuracy or RMSE on stderr)."""
import json
import sys

import numpy as np

from .._files import atomic_write
from ..errors import DataError
from .common import CliError, load_data


def add_parser(sub):
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("--model", required=True)
    predict.add_argument("--data", required=True)
    predict.add_argument("--out", default=None, help="write predictions here (default: stdout)")


def load_model(path):
    """``(coef, intercept, classes, config)`` of a model file written by ``psgd train``."""
    try:
        with np.load(path, allow_pickle=False) as model:
            return (model["coef"], float(model["intercept"]), model["classes"],
                    json.loads(str(model["config"])))
    except FileNotFoundError:
        raise CliError(f"no such model file: {path}") from None
    except (OSError, KeyError, ValueError) as exc:
        raise CliError(f"{path} is not a psgd model file ({exc})") from None


def run(args, out):
    coef, intercept, classes, config = load_model(args.model)
    data = load_data(args.data, n_features=coef.shape[0])
    if data.n_features != coef.shape[0]:
        raise DataError(f"{args.data} has {data.n_features} features, the model {coef.shape[0]}")
    scores = np.asarray(data.X @ coef).ravel() + intercept
    if classes.size:
        predictions = classes[(scores > 0).astype(np.intp)]
        metric = ("accuracy", float(np.mean(predictions == data.y))) \
            if np.isin(data.y, classes).all() else None
    else:
        predictions = scores
        metric = ("rmse", float(np.sqrt(np.mean((scores - data.y) ** 2))))
    text = "\n".join(f"{value:.10g}" for value in predictions) + "\n"
    if args.out:
        with atomic_write(args.out) as handle:
            handle.write(text)
    else:
        out.write(text)
    if metric is not None:
        print(f"{metric[0]}: {metric[1]:.6g}", file=sys.stderr)
    return 0
