"""GD, momentum, Adagrad, RMSProp and Adam on two 2-D functions, trajectories over contours.

The update rules are the library's own (:mod:`parallel_sgd.model.optimizers`): each
step feeds the full gradient of a 2-D function, coordinate by coordinate, to
the same ``rule_delta`` the SGD kernels call. The functions: a badly
conditioned quadratic (condition number 50, rotated by 30 degrees) and
Rosenbrock's banana ``(1 - x)^2 + 100 (y - x^2)^2``, which is not convex.

Usage::

    python examples/optimizers_2d.py [--quick] [--out optimizers_2d.png]
"""
import argparse

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from parallel_sgd.benchmark.plots import save_figure
from parallel_sgd.kernels.args import StepSize
from parallel_sgd.kernels.rules import bias_corrections, rule_delta
from parallel_sgd.model.optimizers import get_optimizer

ANGLE = np.pi / 6
ROTATION = np.array([[np.cos(ANGLE), -np.sin(ANGLE)], [np.sin(ANGLE), np.cos(ANGLE)]])
HESSIAN = ROTATION @ np.diag([1.0, 50.0]) @ ROTATION.T


def quadratic(p):
    return 0.5 * p @ HESSIAN @ p, HESSIAN @ p


def rosenbrock(p):
    x, y = p
    value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return value, np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


#: function, start, minimum value, view box, step size per rule
PROBLEMS = {
    "ill-conditioned quadratic (kappa = 50)": (
        quadratic, np.array([-4.0, 3.0]), 0.0, (-5, 5, -5, 5),
        {"sgd": 0.035, "momentum": 0.006, "adagrad": 1.5, "rmsprop": 0.02, "adam": 0.3}),
    "Rosenbrock (non-convex)": (
        rosenbrock, np.array([-1.5, 2.0]), 0.0, (-2, 2, -1, 3),
        {"sgd": 1.5e-3, "momentum": 2e-4, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.05}),
}
LABELS = {"sgd": "GD", "momentum": "momentum", "adagrad": "Adagrad", "rmsprop": "RMSProp",
          "adam": "Adam"}


def trajectory(function, start, rule_name, eta, n_steps):
    """Points visited by ``rule_name`` with step ``eta`` from ``start``."""
    rule = get_optimizer(rule_name)
    kernel_rule, state = rule.kernel_rule(), rule.init_state(2)
    point, path = start.copy(), [start.copy()]
    for t in range(n_steps):
        _, grad = function(point)
        step = StepSize(eta, *bias_corrections(kernel_rule, t))
        for j in range(2):
            point[j] += rule_delta(kernel_rule, state, j, grad[j], step)
        path.append(point.copy())
        if not np.all(np.isfinite(point)) or np.abs(point).max() > 1e6:
            break
    return np.array(path)


def draw(n_steps):
    figure = Figure(figsize=(12, 9), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2)
    for column, (title, (function, start, f_min, box, etas)) in enumerate(PROBLEMS.items()):
        xs, ys = np.meshgrid(np.linspace(box[0], box[1], 200), np.linspace(box[2], box[3], 200))
        zs = np.vectorize(lambda a, b: function(np.array([a, b]))[0])(xs, ys)
        top, bottom = axes[0, column], axes[1, column]
        top.contour(xs, ys, zs, levels=np.geomspace(zs.min() + 1e-3, zs.max(), 25), cmap="Greys",
                    linewidths=0.6)
        for name, eta in etas.items():
            path = trajectory(function, start, name, eta, n_steps)
            label = f"{LABELS[name]} (eta={eta:g})"
            top.plot(path[:, 0], path[:, 1], marker=".", markersize=2, linewidth=1, label=label)
            gaps = [max(function(p)[0] - f_min, 1e-16) for p in path]
            bottom.semilogy(gaps, label=label)
        top.plot(*({"Rosenbrock (non-convex)": (1, 1)}.get(title, (0, 0))), "k*", markersize=12)
        top.set_xlim(box[0], box[1])
        top.set_ylim(box[2], box[3])
        top.set_title(title)
        top.legend(fontsize="small", loc="lower right")
        bottom.set_xlabel("step")
        bottom.set_ylabel("f(x) - f*")
        bottom.grid(True, alpha=0.3)
    figure.suptitle(f"Update rules of parallel_sgd.model.optimizers, full gradients, {n_steps} steps")
    figure.tight_layout()
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (for tests)")
    parser.add_argument("--out", default="optimizers_2d.png")
    args = parser.parse_args(argv)
    save_figure(draw(100 if args.quick else 1500), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
