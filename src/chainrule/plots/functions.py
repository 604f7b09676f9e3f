"""Figures of activations and their derivatives: one panel each, or all overlaid.

The curves come from ``catalogue.curve`` (the engine's own value and derivative functions); this
module only draws them. matplotlib is imported here, lazily, and only when a figure is asked
for: it is the optional ``plot`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.engine.catalogue import activation, curve
from chainrule.errors import ChainruleError
from chainrule.plots.formats import plot_format, save_figure

SAMPLES = 801  # enough that a kink (ReLU at 0) and a step are drawn sharp at this range
# The z axis matplotlib can lay out ticks for, with room to spare: beyond about 1e300 its tick
# arithmetic overflows, and a range narrower than float64's resolution around z has no ticks.
Z_MOST = 1e12
WIDTH_LEAST = 1e-9


def check_range(z_range: tuple[float, float]) -> None:
    """Refuse a z axis that cannot be drawn: LOW < HIGH, both within ±Z_MOST, at least WIDTH_LEAST apart."""
    low, high = z_range
    drawable = -Z_MOST <= low < high <= Z_MOST and high - low >= WIDTH_LEAST * max(1.0, abs(low), abs(high))
    if not drawable:
        raise ChainruleError(
            f"--range {low:g},{high:g}: expected LOW < HIGH within ±{Z_MOST:g}, "
            f"at least {WIDTH_LEAST:g} of their size apart, e.g. --range=-6,6"
        )


def _label(name: str, alpha: float | None) -> str:
    """A panel title: the name, α where it takes one, and for softmax the slice that is drawn."""
    act = activation(name)
    if not act.elementwise:
        return "softmax((z, 0))₁"
    return f"{act.name} (α = {alpha:g})" if alpha is not None else act.name


def broken(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The curve with a gap at each jump, so a step or ReLU′ is not drawn with a false vertical line.

    A jump is a change between neighbouring samples ten times the changes beside it, and more
    than a twentieth of the curve's span: a smooth curve, however coarsely sampled, has neither.
    """
    dy = np.abs(np.diff(y))
    if dy.size < 3:
        return z, y
    beside = np.maximum(np.r_[dy[1], dy[:-1]], np.r_[dy[1:], dy[-2]])
    span = float(np.max(y) - np.min(y))
    jumps = np.flatnonzero((dy > 10.0 * beside) & (dy > 0.05 * span)) + 1
    return np.insert(z, jumps, np.nan), np.insert(y, jumps, np.nan)


def _style(ax: Any, z_range: tuple[float, float]) -> None:
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.axvline(0.0, color="0.6", lw=0.6)
    ax.grid(True, color="0.92", lw=0.6)
    ax.set_xlim(*z_range)
    ax.set_xlabel("z")


def _draw(
    ax: Any, name: str, z: np.ndarray, alpha: float | None, colours: tuple[str, str], marks: np.ndarray, title: bool
) -> None:
    """One function on one set of axes: f solid, f′ dashed, the user's z as dots on both."""
    label = _label(name, alpha)
    a, d = curve(name, z, alpha)
    ax.plot(*broken(z, a), color=colours[0], lw=2.0, label=label)
    ax.plot(*broken(z, d), color=colours[1], lw=1.6, ls="--", label=f"{label}: derivative")
    if marks.size:
        ma, md = curve(name, marks, alpha)
        ax.plot(marks, ma, "o", color=colours[0], ms=4.5)
        ax.plot(marks, md, "o", color=colours[1], ms=4.5, mfc="white")
    if title:
        ax.set_title(label)


def build_figure(
    names: Sequence[str],
    z_range: tuple[float, float] = (-5.0, 5.0),
    overlay: bool = False,
    alpha: float | None = None,
    marks: Sequence[float] = (),
) -> Any:
    """A matplotlib Figure: f solid, f′ dashed, axes labelled, one panel each or overlaid.

    ``marks`` are the user's z, drawn as dots on both curves (filled on f, open on f′).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ChainruleError("--plot needs matplotlib: pip install 'chainrule[plot]'") from None

    check_range(z_range)
    z = np.linspace(z_range[0], z_range[1], SAMPLES)
    # α applies to the functions that take one; the others ignore it.
    alphas = {n: (alpha if alpha is not None else act.alpha) if (act := activation(n)).alpha is not None else None
              for n in names}  # fmt: skip
    n = 1 if overlay else len(names)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.6 * cols + (1.8 if overlay else 0.0), 3.0 * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    inside = np.asarray([m for m in marks if z_range[0] <= m <= z_range[1]], dtype=np.float64)
    for i, name in enumerate(names):
        colours = (f"C{i % 10}",) * 2 if overlay else ("C0", "C3")
        _draw(axes[0 if overlay else i], name, z, alphas[name], colours, inside, title=not overlay)
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_visible(False)
            continue
        _style(ax, z_range)
        if i % cols == 0:
            ax.set_ylabel("f(z) and f′(z)")
    if overlay:
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize="small")
    fig.suptitle("Activation f(z), solid; its derivative f′(z), dashed", fontsize="large")
    return fig


def write_figure(
    path: Path,
    names: Sequence[str],
    z_range: tuple[float, float] = (-5.0, 5.0),
    overlay: bool = False,
    alpha: float | None = None,
    marks: Sequence[float] = (),
) -> None:
    """Draw the figure and write it atomically, in the format of the file's suffix (plots.formats)."""
    plot_format(path)  # before drawing
    fig = build_figure(names, z_range=z_range, overlay=overlay, alpha=alpha, marks=marks)
    save_figure(fig, path, dpi=110)
