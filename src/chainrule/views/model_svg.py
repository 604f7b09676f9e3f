"""Feature maps drawn as grids: the worked window of a convolution or a pooling layer.

A convolution: the input map with the window of the worked output outlined, the kernel, and the
output map with that output outlined (input ⋆ kernel → output). Pooling: the input map with the
window outlined and, for max pooling, the winner in bold. Drawn with views.svg's Drawing (lines
and words), so HTML shows the SVG and LaTeX draws the same picture (views.picture).
"""

from __future__ import annotations

import re

from chainrule.record.model_step import ModelStepRecord
from chainrule.record.model_types import OpDetail, OpInfo, Sum, Window
from chainrule.views.numbers import fmt
from chainrule.views.svg import Drawing, Label, Line, to_svg

CELL = 56  # a grid cell, in SVG units: room for −0.0123 at font size 12
TOP = 40  # room for a grid's title above it
GAP = 50  # between two grids, room for ⋆ or →
_INDEX = re.compile(r"\[([0-9,]+)\](?:#[0-9]+)?\Z")


def _index(name: str) -> tuple[int, ...]:
    """The 0-based index of an element's name (z_c[1,2,3]#2 → (0, 1, 2))."""
    m = _INDEX.search(name)
    return tuple(int(i) - 1 for i in m.group(1).split(",")) if m else ()


def _grid(
    d: Drawing, x0: float, rows: list[list[str]], title: str, marked: set[tuple[int, int]], bold: set[tuple[int, int]]
) -> float:
    """A grid of words at x0 with its title above, the marked cells outlined thick together, the bold ones’
    words in bold. Returns its right edge."""
    height, width = len(rows), max(len(r) for r in rows)
    d.labels.append(Label(x0, TOP - 14, title, 13, "start", True))
    for i in range(height + 1):
        d.lines.append(Line(x0, TOP + i * CELL, x0 + width * CELL, TOP + i * CELL, 1.0, False))
    for j in range(width + 1):
        d.lines.append(Line(x0 + j * CELL, TOP, x0 + j * CELL, TOP + height * CELL, 1.0, False))
    if marked:  # the window as one thick outline around the cells it covers
        top, left = TOP + min(i for i, _ in marked) * CELL, x0 + min(j for _, j in marked) * CELL
        bottom, right = TOP + (max(i for i, _ in marked) + 1) * CELL, x0 + (max(j for _, j in marked) + 1) * CELL
        for x1, y1, x2, y2 in (
            (left, top, right, top),
            (left, bottom, right, bottom),
            (left, top, left, bottom),
            (right, top, right, bottom),
        ):
            d.lines.append(Line(x1, y1, x2, y2, 3.5, False))
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            d.labels.append(Label(x0 + (j + 0.5) * CELL, TOP + (i + 0.62) * CELL, text, 12, "middle", (i, j) in bold))
    return x0 + width * CELL


def _map(
    values: dict[str, float], prefix: str, channel: tuple[int, ...], size: tuple[int, ...], suffix: str, digits: int
) -> list[list[str]]:
    lead = ",".join(str(c + 1) for c in channel)
    return [
        [
            fmt(values.get(f"{prefix}[{lead + ',' if lead else ''}{i + 1},{j + 1}]{suffix}", float("nan")), digits)
            for j in range(size[1])
        ]
        for i in range(size[0])
    ]


def conv_svg(record: ModelStepRecord, info: OpInfo, worked: Sum, digits: int) -> str:
    """The worked output's window on its input's first channel, the kernel slice it uses, the output map."""
    v, suffix = record.values, record.suffix(0)
    out = _index(worked.name)
    first = next((t for t in worked.terms), None)
    if first is None or len(out) != 3 or len(info.in_shape) != 3:
        return ""
    channel = _index(first.right)[0]
    window = {(_index(t.right)[1], _index(t.right)[2]) for t in worked.terms if _index(t.right)[0] == channel}
    kernel = info.tensors["weight"]
    kh, kw = info.tensor_shapes[kernel][2:]
    height = TOP + max(info.in_shape[1], kh, info.out_shape[1]) * CELL + 20
    d = Drawing(0, 0, "the worked window")  # fixed words: svg.to_svg writes the title into an attribute
    x = _grid(
        d,
        10,
        _map(v, info.input_name, (channel,), info.in_shape[1:], suffix, digits),
        f"{info.input_name}, channel {channel + 1}",
        window,
        set(),
    )
    d.labels.append(Label(x + GAP / 2, TOP + CELL, "*", 22))
    rows = [
        [fmt(v[f"{kernel}[{out[0] + 1},{channel + 1},{p + 1},{q + 1}]"], digits) for q in range(kw)] for p in range(kh)
    ]
    x = _grid(d, x + GAP, rows, f"{kernel}[{out[0] + 1},{channel + 1},·,·]", set(), set())
    d.labels.append(Label(x + GAP / 2, TOP + CELL, "→", 22))
    x = _grid(
        d,
        x + GAP,
        _map(v, f"z_{info.name}", (out[0],), info.out_shape[1:], suffix, digits),
        f"z_{info.name}, channel {out[0] + 1}",
        {(out[1], out[2])},
        set(),
    )
    return to_svg(Drawing(int(x + 10), height, d.title, d.lines, d.circles, d.labels))


def pool_svg(record: ModelStepRecord, info: OpInfo, window: Window, digits: int) -> str:
    """The worked window on its input map (the winner in bold for max pooling) and the output map."""
    v, suffix = record.values, record.suffix(0)
    out = _index(window.name)
    cells = [_index(n) for n in window.inputs]
    if len(out) != 3 or not cells:
        return ""
    marked = {(c[1], c[2]) for c in cells}
    bold = {(cells[window.winner][1], cells[window.winner][2])} if window.winner >= 0 else set()
    height = TOP + max(info.in_shape[1], info.out_shape[1]) * CELL + 20
    d = Drawing(0, 0, "the worked window")
    x = _grid(
        d,
        10,
        _map(v, info.input_name, (out[0],), info.in_shape[1:], suffix, digits),
        f"{info.input_name}, channel {out[0] + 1}",
        marked,
        bold,
    )
    d.labels.append(Label(x + GAP / 2, TOP + CELL, "→", 22))
    x = _grid(
        d,
        x + GAP,
        _map(v, f"z_{info.name}", (out[0],), info.out_shape[1:], suffix, digits),
        f"z_{info.name}, channel {out[0] + 1}",
        {(out[1], out[2])},
        set(),
    )
    return to_svg(Drawing(int(x + 10), height, d.title, d.lines, d.circles, d.labels))


def window_figure_svg(record: ModelStepRecord, info: OpInfo, detail: OpDetail, digits: int) -> str:
    """The drawing for a conv or pooling layer's worked window ('' for any other layer)."""
    if info.kind == "conv2d" and detail.forward:
        return conv_svg(record, info, max(detail.forward, key=lambda f: len(f.terms)), digits)
    if info.kind in ("maxpool2d", "avgpool2d") and detail.windows:
        return pool_svg(record, info, detail.windows[0], digits)
    return ""
