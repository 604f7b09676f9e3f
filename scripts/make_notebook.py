"""Write the example notebooks: examples/worked-example.ipynb (its code cells run here, their
outputs stored as Jupyter would) and examples/step-through.ipynb (the step-through widget, stored
without outputs: a widget lives in a running kernel).

    .venv/bin/python scripts/make_notebook.py

tests/test_notebook.py runs the first one's cells and checks the stored outputs are still what they
give; tests/test_widget.py executes the second in a kernel (nbclient + ipykernel).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NOTEBOOK = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples" / "worked-example.ipynb"
STEPPER = NOTEBOOK.with_name("step-through.ipynb")

CELLS: list[tuple[str, str]] = [
    ("markdown", "# chainrule in a notebook\n\nA network and a step display as rendered math and tables."),
    (
        "code",
        "from chainrule.io import netfile\nfrom chainrule.record.step import explain_step\n\nnet = netfile.load()  # the built-in reference example\nnet",
    ),
    ("code", 'step = explain_step(net)  # one update, every number recorded\nstep.values["dL/dw5"]'),
    ("code", "step  # the worked example: forward pass, loss, every gradient's chain, the update"),
    ("code", "after = net.updated(net.backward(net.forward(net.x), net.y))  # a new network; net is unchanged\nafter"),
]


def outputs(cells: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
    """Run the code cells in one namespace; each cell's last expression becomes its output."""
    import ast

    import chainrule.views.notebook  # noqa: F401  (Jupyter registers the display hooks on `import chainrule`)

    namespace: dict[str, Any] = {}
    result = []
    count = 0
    for kind, source in cells:
        if kind != "code":
            result.append([])
            continue
        count += 1
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is None:
            result.append([])
            continue
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        data: dict[str, Any] = {
            "text/plain": repr(value) if not hasattr(value, "_repr_html_") else f"<{type(value).__name__}>"
        }
        for method, mime in (("_repr_html_", "text/html"), ("_repr_markdown_", "text/markdown")):
            if hasattr(value, method):
                data[mime] = getattr(value, method)()
        result.append([{"output_type": "execute_result", "execution_count": count, "data": data, "metadata": {}}])
    return result


STEPPER_CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        "# Step through a backpropagation step\n\nNext and Back walk the worked example part by part: each "
        "neuron's forward pass, the loss, every gradient's chain, the update. Open *Edit values* to change a "
        "weight, an input or the learning rate: the step is worked again. Needs `pip install 'chainrule[notebook]'`.",
    ),
    (
        "code",
        "from chainrule.io import netfile\nfrom chainrule.views.widget import StepWidget\n\n"
        "stepper = StepWidget(netfile.load())  # the built-in reference example\nstepper",
    ),
    ("markdown", "The widget is also driven from Python: the same state the buttons move."),
    # Code as `ruff format` writes it (it formats notebooks too), so the stored notebook stays current.
    (
        "code",
        'stepper.next()\nstepper.next()\nprint(stepper.index + 1, "of", len(stepper.steps), "-", stepper.step["title"])',
    ),
    ("code", 'stepper.edit("w5", 0.5)  # a new w5: the step is recorded again\nprint(stepper.record.values["dL/dw5"])'),
]


def stepper_notebook() -> dict[str, Any]:
    """The widget notebook, without outputs."""
    cells = [
        {"cell_type": kind, "id": f"cell-{i}", "metadata": {}, "source": source.splitlines(keepends=True)}
        | ({"execution_count": None, "outputs": []} if kind == "code" else {})
        for i, (kind, source) in enumerate(STEPPER_CELLS)
    ]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook() -> dict[str, Any]:
    cells = []
    count = 0
    for (kind, source), out in zip(CELLS, outputs(CELLS), strict=True):
        cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            count += 1
            cell |= {"execution_count": count, "outputs": out}
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


if __name__ == "__main__":
    NOTEBOOK.write_text(json.dumps(notebook(), indent=1, ensure_ascii=False) + "\n")
    STEPPER.write_text(json.dumps(stepper_notebook(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {NOTEBOOK} and {STEPPER}")
