"""``psgd train``: fit one model with one driver and save it."""
import json

import numpy as np

from .._files import atomic_write
from ..drivers import DRIVERS, fit
from .common import add_fit_args, add_problem_args, fit_kwargs, load_data, problem_of


def add_parser(sub):
    train = sub.add_parser("train", help="train one model and save it")
    train.add_argument("--data", required=True)
    add_problem_args(train)
    train.add_argument("--driver", default="sync", choices=sorted(DRIVERS))
    add_fit_args(train)
    train.add_argument("--model-out", required=True)


def run(args, out):
    problem = problem_of(load_data(args.data), args)
    result = fit(problem, driver=args.driver, **fit_kwargs(args))
    config = dict(loss=args.loss, alpha=args.alpha, l1_ratio=args.l1_ratio,
                  fit_intercept=problem.fit_intercept, data=args.data, **result.config)
    classes = problem.classes if problem.classes is not None else np.array([])
    with atomic_write(args.model_out, "wb") as handle:
        np.savez(handle, coef=result.coef, intercept=result.intercept, classes=classes,
                 config=json.dumps(config))
    print(f"trained {args.driver} in {result.time_s:.3g}s: objective {result.objective:.8g}; "
          f"model saved to {args.model_out}", file=out)
    return 0
