"""The notebook's step-through widget: the page's steps, Next/Back, edits worked again by the engine;
the example notebook executes in a kernel."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.io import netfile
from chainrule.record.step import explain_step
from chainrule.views.widget import StepWidget, steps_of, with_values
from chainrule.web.steps import steps as page_steps
from conftest import EXAMPLES, ROOT
from helpers import CASES, random_document

sys.path.insert(0, str(ROOT / "scripts"))
import make_notebook


@pytest.mark.parametrize("case", CASES[::3], ids=[f"{loss}-{out}" for loss, out in CASES[::3]])
def test_the_widget_steps_are_the_pages(case: tuple[str, str]) -> None:
    """The same parts in the same order: a neuron, the loss, the δs, each gradient, the update."""
    net = netfile.from_dict(random_document(np.random.default_rng(len(case[1])), *case))
    record = explain_step(net)
    ours, page = steps_of(record), page_steps(record)
    assert len(ours) == len(page)
    assert [s.get("param") for s in page if "param" in s] == [
        s["title"][len("Backward: ∂L/∂") :] for s in ours if s["phase"] == "gradient"
    ]
    assert all("http" not in s["html"] for s in ours)  # MathML in place: nothing fetched


def test_no_cdn_in_the_widget() -> None:
    assert "http" not in StepWidget._esm and "import " not in StepWidget._esm.replace("export default", "")


REFERENCE_WIDGET = StepWidget(netfile.load())  # one, reset for each example: making one works a step


@given(st.lists(st.sampled_from(["next", "back"]), max_size=40))
def test_next_and_back_move_the_index_within_the_steps(moves: list[str]) -> None:
    widget = REFERENCE_WIDGET
    widget.index = expected = 0
    for move in moves:
        getattr(widget, move)()
        expected = min(expected + 1, len(widget.steps) - 1) if move == "next" else max(expected - 1, 0)
        assert widget.index == expected
        assert widget.step == widget.steps[expected]


def test_an_edit_works_the_step_again_with_the_engine() -> None:
    widget = StepWidget(netfile.load())
    assert widget.values["w5"] == 0.4 and widget.values["learning_rate"] == 0.5
    widget.index = 5
    widget.edit("w5", 0.5)
    widget.edit("x1", 0.2)
    widget.edit("learning_rate", 0.1)
    expected = explain_step(with_values(netfile.load(), {"w5": 0.5, "x1": 0.2, "learning_rate": 0.1}))
    assert widget.error == "" and widget.record.values == expected.values
    assert widget.index == 5 and widget.steps == steps_of(expected)
    before = widget.record
    widget.edit("learning_rate", -1.0)
    assert "learning_rate: expected a number > 0" in widget.error and widget.record is before
    assert widget.values["learning_rate"] == 0.1  # the form goes back to the values of the step shown
    widget.values = {**widget.values, "nonsense": 1.0}
    assert "nonsense: expected a value the widget shows" in widget.error


def test_editing_leaves_the_given_network_alone() -> None:
    net = netfile.load()
    StepWidget(net).edit("w1", 9.0)
    assert net.parameters()["w1"] == 0.15


def test_the_stepper_notebook_is_current_and_executes() -> None:
    import nbformat
    from nbclient import NotebookClient

    path = EXAMPLES / "step-through.ipynb"
    assert json.loads(path.read_text()) == make_notebook.stepper_notebook()
    nb = nbformat.reads(path.read_text(), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [c["outputs"] for c in nb.cells if c["cell_type"] == "code"]
    assert "application/vnd.jupyter.widget-view+json" in outputs[0][0]["data"]
    assert outputs[1][0]["text"] == "3 of 13 - Forward: neuron out\n"
    assert float(outputs[2][0]["text"]) == explain_step(with_values(netfile.load(), {"w5": 0.5})).values["dL/dw5"]


def test_the_widget_shows_the_network_with_its_values_and_follows_an_edit() -> None:
    widget = StepWidget(netfile.load())
    assert widget.picture.startswith("<svg") and "w5 = 0.4" in widget.picture and "0.7514" in widget.picture
    widget.edit("w5", 0.1)
    assert "w5 = 0.1" in widget.picture and "0.7514" not in widget.picture
