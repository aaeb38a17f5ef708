"""A linear SVM trained by stochastic subgradient descent on a 2-D toy set.

Two Gaussian blobs, hinge loss with L2 (``P(w, b) = mean(max(0, 1 - y (x.w + b)))
+ alpha/2 ||w||^2``), trained with ``psgd.fit`` (serial SGD with Bottou's
``1 / (alpha (t0 + t))`` steps, i.e. Pegasos-style subgradient steps). The
figure draws the decision boundary ``x.w + b = 0``, the margins ``x.w + b = +-1``,
the support vectors (points on or inside the margin) and, dashed in grey, the
exact optimum from ``psgd.reference_optimum`` (dual coordinate descent).

Usage::

    python examples/svm_subgradient.py [--quick] [--out svm_subgradient.png]
"""
import argparse

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import parallel_sgd as psgd
from parallel_sgd.benchmark.plots import save_figure


def toy_data(n_samples, random_state=0):
    """Two overlapping Gaussian blobs with labels -1 and +1."""
    rng = np.random.default_rng(random_state)
    y = np.where(np.arange(n_samples) % 2 == 0, 1.0, -1.0)
    X = rng.normal(scale=0.8, size=(n_samples, 2)) + np.outer(y, [1.0, 0.7])
    return psgd.Dataset(X, y)


def draw_line(axes, w, b, level, box, **style):
    """The line ``x.w + b = level`` across the box."""
    xs = np.array(box[:2])
    if abs(w[1]) > 1e-12:
        axes.plot(xs, (level - b - w[0] * xs) / w[1], **style)
    else:
        axes.axvline((level - b) / w[0], **style)


def draw(data, result, optimum, alpha):
    figure = Figure(figsize=(12, 5), dpi=100)
    FigureCanvasAgg(figure)
    scatter, curve = figure.subplots(1, 2)
    X, y = data.X, data.y
    w, b = result.coef, result.intercept
    margins = y * (X @ w + b)
    support = margins <= 1.0 + 1e-2
    box = (X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
    for label, color in ((1.0, "#1f77b4"), (-1.0, "#d62728")):
        rows = y == label
        scatter.scatter(X[rows, 0], X[rows, 1], s=14, color=color, label=f"y = {label:+g}")
    scatter.scatter(X[support, 0], X[support, 1], s=70, facecolors="none", edgecolors="k",
                    label=f"support vectors ({support.sum()})")
    draw_line(scatter, w, b, 0.0, box, color="k", label="SGD boundary")
    draw_line(scatter, w, b, 1.0, box, color="k", linestyle="--", linewidth=0.8,
              label="margins (x.w + b = +-1)")
    draw_line(scatter, w, b, -1.0, box, color="k", linestyle="--", linewidth=0.8)
    draw_line(scatter, optimum.coef, optimum.intercept, 0.0, box, color="0.5", linestyle=":",
              label="exact optimum")
    scatter.set_xlim(box[0], box[1])
    scatter.set_ylim(box[2], box[3])
    scatter.set_title(f"linear SVM, hinge + L2 (alpha={alpha:g}), {len(y)} points")
    scatter.legend(fontsize="small", loc="upper left")
    epochs = [row["epoch"] for row in result.trace]
    gaps = [max(row["relative_suboptimality"], 1e-16) for row in result.trace]
    curve.semilogy(epochs, gaps, marker=".")
    curve.set_xlabel("passes over the data")
    curve.set_ylabel("relative suboptimality (P - P*) / P*")
    curve.set_title("stochastic subgradient descent")
    curve.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and passes")
    parser.add_argument("--out", default="svm_subgradient.png")
    parser.add_argument("--alpha", type=float, default=0.01)
    args = parser.parse_args(argv)
    data = toy_data(80 if args.quick else 300)
    problem = psgd.Problem(data, loss="hinge", alpha=args.alpha)
    optimum = psgd.reference_optimum(problem)
    result = psgd.fit(problem, driver="sync", n_epochs=20 if args.quick else 200,
                      learning_rate="optimal", eval_every=1.0, optimum=optimum)
    save_figure(draw(data, result, optimum, args.alpha), args.out)
    print(f"objective {result.objective:.6f} (optimum {optimum.objective:.6f}); "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
