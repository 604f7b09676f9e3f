"""The lean NumPy path gives the explained engine's numbers for every activation and loss, to 1e-12."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from chainrule import netfile
from chainrule.lean import LeanSGD
from test_fast import engine_epochs
from test_gradients import CASES, random_document


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_lean_sgd_equals_the_engine(case: int, loss: str, output: str) -> None:
    rng = np.random.default_rng(900 + case)
    net = netfile.from_dict(random_document(rng, loss, output))
    if rng.random() < 0.5:
        net.training.freeze = (net.parameter_names()[-1],)
    expected = engine_epochs(net, 3)
    lean_net = copy.deepcopy(net)
    batches = net.batches()
    trainer = LeanSGD(lean_net, max(len(b) for b in batches))
    for _ in range(3):
        for idx in batches:
            trainer.step(net.x[idx], net.y[idx], net.training.learning_rate, net.training.reduction == "mean")
    for name, value in expected.parameters().items():
        assert lean_net.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), name


def test_the_returned_loss_is_the_batch_loss_before_the_update(reference) -> None:  # type: ignore[no-untyped-def]
    before = reference.batch_loss(reference.forward(reference.x), reference.y)
    assert LeanSGD(reference, 1).step(reference.x, reference.y, 0.5) == pytest.approx(before, rel=1e-15)
    assert reference.parameters()["w5"] == pytest.approx(0.35891647971788465, rel=1e-15)
