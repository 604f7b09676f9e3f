"""A long lean update dropped by Ctrl-C, at any update (an epoch's first included), resumes to the
uninterrupted run bit for bit: the dropped update's parameters, and its epoch's draw of the example
order, are put back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.io import netfile
from chainrule.train import trainer as trainer_module
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.interrupt import Abandoned
from chainrule.train.trainer import TrainConfig, Trainer
from conftest import EXAMPLES

SPIRALS = netfile.load(EXAMPLES / "spirals.toml")
SPIRALS.x, SPIRALS.y = SPIRALS.x[:40], SPIRALS.y[:40]


@given(batch=st.sampled_from([4, 8, 13]), drop=st.integers(0, 29), binary=st.booleans())
def test_a_dropped_update_anywhere_resumes_bit_for_bit(
    batch: int, drop: int, binary: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    per_epoch = -(-len(SPIRALS.x) // batch)
    config = TrainConfig(epochs=3, batch=batch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer_module, "ABANDON_AFTER_SECONDS", 0.0)  # every update counts as long here
        uninterrupted = Trainer(SPIRALS, SPIRALS.x, SPIRALS.y, config, path="lean")
        whole = uninterrupted.run()
        first = Trainer(SPIRALS, SPIRALS.x, SPIRALS.y, config, path="lean")
        step = first.step

        def interrupted(x: Any, y: Any, lr: float) -> tuple[float, float]:
            sums = step(x, y, lr)  # the update is made; Ctrl-C arrives before the step returns
            if first.updates == min(drop, 3 * per_epoch - 1):
                first.stop_requested, first.abandonable = True, False  # as `stop_on_interrupt` does
                raise Abandoned
            return sums

        first.step = interrupted
        assert first.run().stopped_by == "interrupted"
    assert first.updates == min(drop, 3 * per_epoch - 1)  # stopped before the dropped update
    path = tmp_path_factory.mktemp("drop") / ("c.npz" if binary else "c.json")
    save_checkpoint(first, path)
    second = Trainer(SPIRALS, SPIRALS.x, SPIRALS.y, config, path="lean")
    load_checkpoint(second, path)
    resumed = second.run()
    assert np.array_equal(
        np.array(list(resumed.network.parameters().values())), np.array(list(whole.network.parameters().values()))
    )
    assert second.updates == uninterrupted.updates == 3 * per_epoch


def test_the_first_update_of_an_epoch_dropped_leaves_the_order_as_it_was(tmp_path: Path) -> None:
    """The case found by hand (a SIGINT test failing under load): dropped at an epoch's first
    update, the run had drawn that epoch's order; the checkpoint must not hold it."""
    config = TrainConfig(epochs=3, batch=8)
    first = Trainer(SPIRALS, SPIRALS.x, SPIRALS.y, config, path="lean")
    step = first.step
    before: dict[str, Any] = {}

    def interrupted(x: Any, y: Any, lr: float) -> tuple[float, float]:
        if first.updates == 5:  # the first update of epoch 2
            first.stop_requested = True
            raise Abandoned
        if first.updates == 4:
            sums = step(x, y, lr)
            before.update(order=first.order.copy(), rng=first.rng.bit_generator.state)
            return sums
        return step(x, y, lr)

    first.step = interrupted
    first._step_seconds = 1.0  # long updates: the abandoning branch
    first.run()
    assert (first.epoch, first.position) == (1, 0)
    assert np.array_equal(first.order, before["order"]) and first.rng.bit_generator.state == before["rng"]
