"""A shaped network's sums as the paper works them (record.model_step.paper_forward): a dense or
convolution sum that is 0 on paper is 0 in its explained step, in every format, with ReLU′(0) = 0
after it and one line where float64 training sees the other side of the kink; the checker replays
the same numbers; training itself keeps float64's."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.check.model_values import replay
from chainrule.engine.model import Model
from chainrule.io import loader
from chainrule.record.model_step import explain_model_step, explain_model_steps
from chainrule.views import html, latex, markdown
from chainrule.views.story_model import model_story
from chainrule.views.text import plain_text, render_blocks

# A power of ten from 10⁻¹⁵ to 10⁻¹⁹ as each format writes one: what float noise around 0 looks like.
NOISE = re.compile(r"e[−-]1[5-9]\b|×10⁻¹[5-9]|10\^\{[−-]1[5-9]\}|<mo>[−-]</mo><mn>1[5-9]</mn>")


def _conv(
    weights: list[list[float]], bias: float, pixels: list[list[list[float]]], activation: str, batch: str = "full"
) -> dict[str, Any]:
    """A 2 × 2 convolution (one kernel) over 3 × 3 images, flattened into one identity output."""
    return {
        "title": "a convolution whose sums cancel",
        "inputs": [1, 3, 3],
        "loss": "half_squared_error",
        "layers": [
            {"type": "conv2d", "name": "c", "channels": 1, "kernel": 2, "activation": activation,
             "weights": [[weights]], "bias": [bias]},
            {"type": "flatten", "name": "f"},
            {"name": "out", "units": 1, "activation": "identity", "weights": [[0.1, 0.2, 0.3, 0.4]], "bias": [0.1]},
        ],
        "examples": [{"x": [image], "y": [1]} for image in pixels],
        "training": {"batch": batch},
    }  # fmt: skip


def _documents(model: Model) -> dict[str, str]:
    blocks = model_story(explain_model_steps(model, 0, 1))
    return {
        "text": plain_text(render_blocks(blocks), width=200),
        "markdown": markdown.render_blocks(blocks),
        "latex": latex.render_blocks(blocks),
        "html": html.render_blocks(blocks),
    }


def test_a_convolution_sum_that_is_0_on_paper_is_0_and_float64s_side_is_said() -> None:
    image = [[1, 1, 0], [1, 0, 1], [0, 1, 1]]
    model = loader.from_document(_conv([[0.1, 0.2], [-0.3, 0.4]], 0.0, [image], "relu"))
    assert isinstance(model, Model)
    assert model.forward(model.x).caches[0].z[0, 0, 0, 0] == 2.7755575615628914e-17  # training: float64's
    record = explain_model_step(model)
    assert record.values["z_c[1,1,1]"] == 0.0 and record.values["a_c[1,1,1]"] == 0.0
    assert record.values["dL/dz_c[1,1,1]"] == 0.0  # ReLU′(0) = 0, not float64's slope of 1 above 0
    assert record.other_side == {"z_c[1,1,1]": 2.7755575615628914e-17}
    docs = _documents(model)
    assert "Training in float64 gets z_c[1,1,1] a rounding error above 0, across the kink" in docs["text"]
    assert (
        "= 0.1 · 1 + 0.2 · 1\n             + (−0.3) · 1 + 0.4 · 0\n             + 0\n             = 0\n" in docs["text"]
    )
    for name, doc in docs.items():
        assert NOISE.search(doc) is None, name


TENTHS = st.integers(-5, 5).map(lambda n: n / 10)
IMAGES = st.lists(st.lists(st.lists(st.integers(0, 1), min_size=3, max_size=3), min_size=3, max_size=3), min_size=1,
                  max_size=2)  # fmt: skip


@settings(max_examples=100, deadline=None)  # each writes a document in four formats
@given(
    st.lists(st.lists(TENTHS, min_size=2, max_size=2), min_size=2, max_size=2),
    TENTHS,
    IMAGES,
    st.sampled_from(["relu", "identity", "leaky_relu"]),
)
def test_every_sum_is_the_papers_and_no_document_shows_float_noise(
    weights: list[list[float]], bias: float, images: list[list[list[int]]], activation: str
) -> None:
    """Kernels of tenths over images of 0s and 1s: many windows cancel. Each z is the sum worked in
    decimals (0 exactly where that is 0), the checker replays the same numbers, and no format shows
    a power of ten from 10⁻¹⁵ to 10⁻¹⁹."""
    model = loader.from_document(_conv(weights, bias, images, activation))
    assert isinstance(model, Model)
    record = explain_model_step(model)
    image = images[0]
    for i in range(2):
        for j in range(2):
            window = (Decimal(str(weights[di][dj])) * image[i + di][j + dj] for di in range(2) for dj in range(2))
            on_paper = float(sum(window, Decimal(str(bias))))
            z = record.values[f"z_c[1,{i + 1},{j + 1}]{record.suffix(0)}"]
            assert z == on_paper if on_paper == 0 else abs(z - on_paper) <= 1e-15
    replayed = replay(model).values
    for name, value in record.values.items():
        if name.startswith(("z_c[", "a_c[", "dL/dz_c[", "dL/dW_c[")):
            assert replayed[name] == value, name
    for name, doc in _documents(model).items():
        noise = NOISE.search(doc)
        assert noise is None, (name, doc[max(0, noise.start() - 120) : noise.end()])


def test_the_next_step_starts_from_the_papers_update() -> None:
    """--example 2 explains the update --steps 2 makes second (both after the paper's first update)."""
    image = [[1, 1, 0], [1, 0, 1], [0, 1, 1]]
    model = loader.from_document(_conv([[0.1, 0.2], [-0.3, 0.4]], 0.0, [image, image], "relu", "online"))
    assert isinstance(model, Model)
    second = explain_model_steps(model, 0, 2)[1]
    assert explain_model_steps(model, 1, 1)[0].values == second.values
    assert second.values["W_c[1,1,1,1]"] == explain_model_step(model).values["W_c[1,1,1,1]_new"]
    assert np.isfinite(list(second.values.values())).all()


def test_the_built_in_shaped_examples_show_no_float_noise() -> None:
    """conv's input gradient and two of its kernel gradients printed 1.735×10⁻¹⁸, a new weight 8.674×10⁻¹⁹."""
    for name in ("conv", "rnn"):
        model = loader.load(name)
        assert isinstance(model, Model)
        docs = _documents(model)
        for fmt, doc in docs.items():
            assert NOISE.search(doc) is None, (name, fmt)
    conv = explain_model_step(loader.load("conv"))  # type: ignore[arg-type]
    assert conv.values["dL/dW_conv1[2,1,1,1]"] == 0.0 and conv.values["W_conv1[2,1,3,1]_new"] == 0.0
