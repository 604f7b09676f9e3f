"""Pictures of a training run: the loss curves and, for two inputs, the decision boundary over the data.

Matplotlib is imported here only (the `plot` extra), so the rest of chainrule starts without it.
The plot shows a `TrainResult`; the only computing it does is asking the trained network for its
outputs over a grid, through the engine's own forward pass.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.plots.formats import save_figure
from chainrule.train.trainer import TrainResult

# Colours picked to read apart for most kinds of colour blindness, and in grey.
CLASS_COLOURS = ["#1f77b4", "#e8710a", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChainruleError("--plot: needs matplotlib; install it with pip install 'chainrule[plot]'") from None
    return plt


def plot_training(
    result: TrainResult,
    path: str | os.PathLike[str],
    x: np.ndarray,
    y: np.ndarray,
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
) -> None:
    """Save the loss curves (with the decision boundary beside them when the inputs are 2-D)."""
    plt = _pyplot()
    two_d = x.shape[1] == 2
    fig, axes = plt.subplots(1, 2 if two_d else 1, figsize=(11.5 if two_d else 6.5, 5), layout="constrained")
    axes = np.atleast_1d(axes)
    if two_d:
        _boundary(axes[0], result, x, y, x_val, y_val)
    _losses(axes[-1], result)
    title = result.network.title or "chainrule train"
    fig.suptitle(title, fontsize=13, fontweight="bold")
    try:
        save_figure(fig, path, dpi=130)
    finally:
        plt.close(fig)


def _losses(ax: Any, result: TrainResult) -> None:
    """Training and validation loss per epoch, on a log scale when they span decades."""
    h = result.history
    epochs = [r.epoch for r in h]
    loss = [r.loss for r in h]
    running = any(r.measured == "running" for r in h)  # the epochs' own forward passes, as the history says
    label = "training loss (running)" if running else "training loss"
    ax.plot(epochs, loss, color=CLASS_COLOURS[0], lw=2, label=label)
    if h and h[0].val_loss is not None:
        ax.plot(epochs, [r.val_loss for r in h], color=CLASS_COLOURS[1], lw=2, label="validation loss")
    positive = [v for v in loss if v > 0]
    if positive and max(positive) / min(positive) > 30:
        ax.set_yscale("log")
    if result.best_epoch is not None:
        ax.axvline(result.best_epoch, color="#888888", ls="--", lw=1, label=f"best (epoch {result.best_epoch})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean over examples)")
    final = result.final
    if final is not None:
        text = f"epoch {final.epoch}: loss {final.loss:.4g}" + (" (running)" if final.measured == "running" else "")
        if final.accuracy is not None:
            text += f"\naccuracy {final.accuracy:.1%}"
        if final.val_accuracy is not None:
            text += f"\nvalidation accuracy {final.val_accuracy:.1%}"
        ax.text(0.97, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=10,
                bbox={"boxstyle": "round", "fc": "white", "ec": "#cccccc"})  # fmt: skip
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _boundary(
    ax: Any,
    result: TrainResult,
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray | None,
    y_val: np.ndarray | None,
) -> None:
    """The network's output over the plane (shaded by class and confidence) with the data on top."""
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    net = result.network
    pad = 0.1 * (x.max(axis=0) - x.min(axis=0)) + 1e-9
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    out = net.forward(np.column_stack([g1.ravel(), g2.ravel()])).output
    k = out.shape[1]
    if k == 1:
        surface = out[:, 0].reshape(g1.shape)
        cut = net.loss.threshold
        cmap = LinearSegmentedColormap.from_list("two", [CLASS_COLOURS[0], "#ffffff", CLASS_COLOURS[1]])
        span = max(abs(surface.min() - cut), abs(surface.max() - cut), 1e-9)
        ax.imshow(surface, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap=cmap, vmin=cut - span,
                  vmax=cut + span, alpha=0.55, interpolation="bilinear", aspect="auto")  # fmt: skip
        ax.contour(g1, g2, surface, levels=[cut], colors="#222222", linewidths=1.5)
    else:
        label = np.argmax(out, axis=1).reshape(g1.shape)
        ax.contourf(g1, g2, label, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(CLASS_COLOURS[:k]), alpha=0.3)
        # Each class's region edge is where its output meets the largest other one: smooth, unlike the labels.
        for c in range(k):
            margin = out[:, c] - np.max(np.delete(out, c, axis=1), axis=1)
            if margin.min() < 0 < margin.max():
                ax.contour(g1, g2, margin.reshape(g1.shape), levels=[0.0], colors="#222222", linewidths=1.2)
    _points(ax, net, x, y, x_val, y_val)
    names = net.input_names
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal" if 0.5 < (hi[1] - lo[1]) / (hi[0] - lo[0]) < 2 else "auto")
    ax.set_title("Decision boundary" if net.loss.classifies else "Output")


def _points(
    ax: Any, net: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray | None, y_val: np.ndarray | None
) -> None:
    """The examples, coloured by class (named as in the data when known); validation ones as diamonds."""
    names = net.data.classes if net.data is not None and net.data.classes else []
    train_cls = net.loss.classes(y)
    val_cls = net.loss.classes(y_val) if x_val is not None and y_val is not None else None
    count = max(int(train_cls.max()) + 1, 2)
    for c in range(count):
        colour = CLASS_COLOURS[c % len(CLASS_COLOURS)]
        label = names[c] if c < len(names) else f"class {c}"
        pick = train_cls == c
        ax.scatter(x[pick, 0], x[pick, 1], color=colour, s=22, edgecolors="white", linewidths=0.6, label=label,
                   zorder=3)  # fmt: skip
        if val_cls is not None and x_val is not None:
            pick = val_cls == c
            ax.scatter(x_val[pick, 0], x_val[pick, 1], color=colour, s=30, marker="D", edgecolors="#222222",
                       linewidths=0.7, label=f"{label} (validation)", zorder=3)  # fmt: skip
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
