"""The step in matrix form (record/matrix.py, views/story_matrix.py, `explain --form matrix`).

The matrices are computed by matrix products from the inputs and parameters alone; the scalar
form is the engine's step record. They must agree entry by entry on random networks of every
loss/output pair, batches and both reductions included, and every format must show them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.record.matrix import MatrixStep, Named, matrix_step
from chainrule.record.step import StepRecord, explain_step
from helpers import CASES, random_document

RANDOM_PER_CASE = 4


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


def _agrees(record: StepRecord, named: Named) -> int:
    """Every named entry equals the record's scalar of that name; returns how many were compared."""
    compared = 0
    for r, row in enumerate(named.names):
        for c, name in enumerate(row):
            if name and name in record.values:
                got, want = float(named.values[r, c]), record.values[name]
                assert _close(got, want), (name, got, want)
                compared += 1
    return compared


def _every_matrix(step: MatrixStep) -> list[Named]:
    out = [step.x, step.y]
    for layer in step.layers:
        out += [layer.weight, layer.prev, layer.z, layer.a, layer.d_a, layer.delta, layer.d_weight, layer.weight_new]
        out += [m for m in (layer.bias, layer.derivative, layer.d_bias, layer.bias_new) if m is not None]
    return out


def _random_records() -> list[tuple[str, StepRecord]]:
    rng = np.random.default_rng(1515)
    out = []
    for loss, output in CASES:
        for i in range(RANDOM_PER_CASE):
            doc = random_document(rng, loss, output)
            if i == 0:  # a batch of several examples, whatever the draw said
                doc["training"]["batch"] = "full"
            net = netfile.from_dict(doc, source=f"{loss}-{output}-{i}.json")
            out.append((f"{loss}/{output}/{i}", explain_step(net, 0)))
    return out


RECORDS = _random_records()


@pytest.mark.parametrize("label,record", RECORDS, ids=[label for label, _ in RECORDS])
def test_matrix_form_agrees_with_the_scalar_form_entry_by_entry(label: str, record: StepRecord) -> None:
    step = matrix_step(record)
    n = len(record.examples)
    compared = sum(_agrees(record, m) for m in _every_matrix(step))
    # Every parameter, its gradient and its new value, and z, a, ∂L/∂a, δ of every neuron and example.
    neurons = sum(len(layer.neurons) for layer in record.layers)
    assert compared >= 3 * sum(not u.param.startswith("alpha") for u in record.updates) + 4 * neurons * n
    assert _close(step.loss, record.values["loss"]), (step.loss, record.values["loss"])
    assert step.scale == (1 / n if record.reduction == "mean" else 1.0)
    for layer in step.layers:
        assert layer.z.shape == layer.a.shape == layer.delta.shape == (len(layer.info.neurons), n)
        assert layer.d_weight.shape == layer.weight.shape == (len(layer.info.neurons), layer.prev.shape[0])
        if layer.info.alpha_name:
            assert layer.d_alpha is not None
            assert _close(layer.d_alpha, record.values[f"dL/d{layer.info.alpha_name}"])


def test_the_random_sample_covers_every_form_the_matrices_take() -> None:
    """Batches under both reductions, the three bias forms, a learnable α, fused and unfused softmax."""
    seen = set()
    for _, r in RECORDS:
        n = len(r.examples)
        seen.add(("batch", r.reduction) if n > 1 else ("single",))
        seen |= {("bias", layer.bias_mode) for layer in r.layers}
        seen |= {("alpha",) for layer in r.layers if layer.alpha_name}
        if r.layers[-1].activation == "softmax":
            seen.add(("softmax", r.fused))
    assert seen >= {
        ("batch", "mean"),
        ("batch", "sum"),
        ("single",),
        ("bias", "shared"),
        ("bias", "neuron"),
        ("bias", "none"),
        ("alpha",),
        ("softmax", True),
        ("softmax", False),
    }, seen
