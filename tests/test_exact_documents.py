"""Exact where the paper is exact, in what a reader sees: no document shows float noise (5.551e−17)
for a value that is 0 on paper, in any format or form; the update θ − η·∂L/∂θ is exact too; and
the 2-1-1 ReLU example reads z = 0, ∂L/∂w1 = 0 with the convention named, and says where float64
training sees the other side of the kink."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.io import netfile
from chainrule.record.exact import short
from chainrule.record.forms import in_form
from chainrule.record.optimizer_graph import change_names
from chainrule.record.step import StepRecord, explain_step, explain_steps
from chainrule.views import html, latex, markdown, text
from chainrule.views.story import story
from chainrule.views.story_matrix import matrix_story
from test_exact import EXACT_CASES, _cancelling_network, _exact_gradients, _fraction

# A power of ten from 10⁻¹⁵ to 10⁻¹⁹ as each format writes one: what float noise around 0 looks like.
NOISE = re.compile(r"e[−-]1[5-9]\b|×10⁻¹[5-9]|10\^\{[−-]1[5-9]\}|<mo>[−-]</mo><mn>1[5-9]</mn>")
# Each example writes a network in four formats and three forms (~0.5 s): fewer than the profile's 200.
FEW = settings(max_examples=25, deadline=None)


def _documents(records: list[StepRecord]) -> dict[str, str]:
    """Every way `explain` shows the records: each format of the story, the matrix form, the path and delta forms."""
    blocks = story(records, 4, None, figures=False)
    matrix = matrix_story(records, 4)
    return {
        "text": text.plain_text(text.render_records(records), width=200),
        "markdown": markdown.render_blocks(blocks),
        "latex": latex.render_blocks(blocks),
        "html": html.render_blocks(blocks),
        "matrix text": text.plain_text(text.render_blocks(matrix), width=200),
        "matrix latex": latex.render_blocks(matrix),
    }


@FEW
@given(st.integers(0, 2**32 - 1))
def test_no_document_shows_float_noise_where_every_value_is_exact_on_paper(seed: int) -> None:
    """Networks of tenths whose chosen sums cancel to 0 on the first example (carrying activations,
    squared errors: every value of the step is a short decimal on paper)."""
    net, _ = _cancelling_network(seed, EXACT_CASES)
    records = explain_steps(net, 0, 1)
    shown = _documents(records)
    for form in ("paths", "delta"):
        shown[form] = text.plain_text(text.render_records(in_form(net, records, 0, form)), width=200)
    for name, doc in shown.items():
        noise = NOISE.search(doc)
        assert noise is None, (name, doc[max(0, noise.start() - 120) : noise.end()])


@given(st.integers(0, 2**32 - 1))
def test_every_parameter_moves_by_the_exact_update_where_its_gradient_is_a_short_decimal(seed: int) -> None:
    net, exact_z = _cancelling_network(seed, EXACT_CASES)
    rec = explain_step(net)
    grads = _exact_gradients(net, exact_z)
    eta = _fraction(net.training.learning_rate)
    for p, old in net.parameters().items():
        g = grads.get(f"dL/d{p}")  # (a PReLU's α: not in the exact reference)
        if g is None or _fraction(float(g)) != g or not short(float(g)):  # past 15 digits: float64's, as recorded
            continue
        assert rec.values[f"{p}_new"] == float(_fraction(old) - eta * g), (p, rec.values[f"{p}_new"])
        if f"d{p}" in change_names(net):  # the change Δθ = −η·∂L/∂θ, by its name d<θ>
            assert rec.values[f"d{p}"] == float(-eta * g), p


def _one_by_one(weight: float, target: float) -> StepRecord:
    doc = {
        "inputs": 1,
        "loss": "half_squared_error",
        "layers": [{"units": 1, "activation": "identity", "weights": [[weight]], "bias": 0.0}],
        "examples": [{"x": [1], "y": [target]}],
        "training": {"learning_rate": 0.1},
    }
    return explain_step(netfile.from_dict(doc))


def test_an_update_that_is_0_on_paper_is_0_in_every_document() -> None:
    """0.3 − 0.1 · 3 is −5.551e−17 in float64; the step shows 0, with =, and b1 moves to −0.3 exactly."""
    rec = _one_by_one(0.3, -2.7)
    assert rec.values["w1_new"] == 0.0 and rec.values["b1_new"] == -0.3
    docs = _documents([rec])
    assert "w1_new = 0.3 − 0.1 · 3 = 0.3 − 0.3 = 0\n" in docs["text"]
    assert "b1_new = 0 − 0.1 · 3 = 0 − 0.3 = −0.3\n" in docs["text"]
    assert "= [ 0 ]" in docs["matrix text"]
    assert not any(NOISE.search(d) for d in docs.values())


def test_the_2_1_1_relu_example_reads_zero_with_the_convention_named_and_float64s_side() -> None:
    doc = {
        "inputs": 2,
        "loss": "half_squared_error",
        "layers": [
            {"units": 1, "activation": "relu", "weights": [[0.1, 0.2]], "bias": -0.3},
            {"units": 1, "activation": "identity", "weights": [[0.5]], "bias": 0.0},
        ],
        "examples": [{"x": [1, 1], "y": [1]}],
    }
    docs = _documents([explain_step(netfile.from_dict(doc))])
    out = docs["text"]
    assert "= 1 · 0.1 + 1 · 0.2 + (−0.3)\n      = 0\n" in out
    assert "∂a_h/∂z_h = 0, since z_h = 0 (at the kink the convention takes the slope for z ≤ 0: ReLU′(0) = 0)" in out
    assert "∂L/∂w1 = (−1) · 1 · 0.5 · 0 · 1 = 0\n" in out
    said = "Training in float64 gets this sum a rounding error above 0, across the kink"
    assert all(said in d for name, d in docs.items() if not name.startswith("matrix"))
    assert not any(NOISE.search(d) for d in docs.values())


def test_the_float64_sentence_is_not_said_where_float64_agrees() -> None:
    rec = _one_by_one(0.3, -2.7)
    assert rec.other_side == {}
    assert "Training in float64" not in _documents([rec])["text"]
