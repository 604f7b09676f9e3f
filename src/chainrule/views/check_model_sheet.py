"""The worksheet and answer key of a shaped network's exercise (check/model_exercise.py), in Markdown:
the layers, the given numbers, what to find (with room to write) and the key. Nothing is computed here."""

from __future__ import annotations

import numpy as np

from chainrule.check.model_exercise import ModelExercise
from chainrule.views.escape import markdown
from chainrule.views.numbers import fmt


def _layers(ex: ModelExercise) -> list[str]:
    shapes = ex.model.shapes()
    rows = ["| layer | type | activation | output shape |", "| :--- | :--- | :--- | :--- |"]
    for op, shape in zip(ex.model.ops, shapes[1:], strict=True):
        size = " × ".join(str(n) for n in shape)
        rows.append(f"| {markdown(op.name)} | {op.kind} | {markdown(op.activation.name)} | {size} |")
    return rows


def _grid(name: str, array: np.ndarray) -> list[str]:
    """A given tensor as the paper draws it: its rows as lines of numbers, one block per leading index."""
    size = " × ".join(str(n) for n in array.shape)
    flat = array.reshape(-1, array.shape[-1]) if array.ndim > 1 else array.reshape(1, -1)
    rows = [" ".join(f"{fmt(float(v), 2):>6}" for v in row) for row in flat]
    return [f"**{markdown(name)}** ({size}):", "", "```", *rows, "```", ""]


def _given(ex: ModelExercise) -> list[str]:
    m = ex.model
    lines: list[str] = []
    for k in range(m.x.shape[0]):
        end = "" if m.x.shape[0] == 1 else f" (example {k + 1})"
        lines += _grid(m.input_name + end, m.x[k]) + _grid(f"y_{m.ops[-1].name}{end}", m.y[k])
    for name, tensor in m.parameters().items():
        lines += _grid(name, tensor)
    return lines


def render_worksheet(ex: ModelExercise) -> str:
    """The student's sheet: the network, the given numbers, and a blank for each number to find."""
    m = ex.model
    size = " × ".join(str(n) for n in m.input_shape)
    lines = [
        f"# {markdown(m.title)}",
        "",
        f"Exercise {ex.ident}. Work one update of plain gradient descent (learning rate "
        f"{m.training.learning_rate:g}, loss {markdown(m.loss.name.replace('_', ' '))}) on the example below, "
        f"every number to {ex.digits} decimal places. Input shape: {size}.",
        "",
        *_layers(ex),
        "",
        "## Given",
        "",
        "Each block lists a tensor's rows (the last index across; a feature map's rows channel by channel).",
        "",
        *_given(ex),
        "",
        "## To find",
        "",
        *[f"- {markdown(n)} = ____________" for n in ex.asked],
    ]
    return "\n".join(lines) + "\n"


def render_key(ex: ModelExercise) -> str:
    """The answer key: every asked number to the asked decimals, in the order they are computed."""
    key = ex.key()
    rows = [
        "| value | answer |",
        "| :--- | ---: |",
        *[f"| {markdown(n)} | {key[n].replace('-', '−')} |" for n in ex.asked],
    ]
    return "\n".join([f"# Answer key: {markdown(ex.model.title)}", "", f"Exercise {ex.ident}.", "", *rows]) + "\n"
