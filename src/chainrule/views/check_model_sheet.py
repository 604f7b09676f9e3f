"""The worksheet and answer key of a shaped network's exercise (check/model_exercise.py), in Markdown:
the layers, the given numbers, what to find (with room to write) and the key. Nothing is computed here."""

from __future__ import annotations

from chainrule.check.exercise import written
from chainrule.check.model_exercise import ModelExercise
from chainrule.views.escape import markdown


def _layers(ex: ModelExercise) -> list[str]:
    shapes = ex.model.shapes()
    rows = ["| layer | type | activation | output shape |", "| :--- | :--- | :--- | :--- |"]
    for op, shape in zip(ex.model.ops, shapes[1:], strict=True):
        size = " × ".join(str(n) for n in shape)
        rows.append(f"| {markdown(op.name)} | {op.kind} | {markdown(op.activation.name)} | {size} |")
    return rows


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
        *[f"- {markdown(n)} = {written(ex.values[n], 2)}" for n in ex.given],
        "",
        "## To find",
        "",
        *[f"- {markdown(n)} = ____________" for n in ex.asked],
    ]
    return "\n".join(lines) + "\n"


def render_key(ex: ModelExercise) -> str:
    """The answer key: every asked number to the asked decimals, in the order they are computed."""
    key = ex.key()
    rows = ["| value | answer |", "| :--- | ---: |", *[f"| {markdown(n)} | {key[n]} |" for n in ex.asked]]
    return "\n".join([f"# Answer key: {markdown(ex.model.title)}", "", f"Exercise {ex.ident}.", "", *rows]) + "\n"
