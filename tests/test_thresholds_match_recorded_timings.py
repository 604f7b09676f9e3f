"""The thresholds that choose plain SGD's loop agree with the timings recorded in benchmarks/results.

What this proves, and what it does not: `benchmarks/scaling.py` timed every loop chainrule has on
a grid of 2-W-W-1 networks (tanh or relu, width 4–256, batch 1–256), each in its own process, on
the machine, commit and versions the recording names, and kept the timings in
`benchmarks/results/scaling.json`. These tests take that recording as data (nothing is timed
here) and ask the current code which loop it would run (`paths.loop_for`): the thresholds behind
that choice (`paths.SCALAR_MAX`, `COMPILED_MAX_WORK`, `loop.MATRIX_MIN_BATCH`,
`special.SPECIALISE_MAX_BATCH_WORK`) must send each cell to its fastest recorded loop, or to one
within MARGIN of it (two loops that close swap places from run to run). They do not prove the
choice is fastest on another machine: rerun the benchmark there (`python benchmarks/scaling.py`).
Which loop a run really took is checked elsewhere, from the loop's own answer (test_compile_cache,
test_special).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.train.paths import loop_for

RECORDED = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "scaling.json"
CELLS: list[dict[str, Any]] = json.loads(RECORDED.read_text(encoding="utf-8"))["cells"]
LOOPS = ("specialised", "per example", "matrices", "NumPy")  # chainrule's own; PyTorch is not a choice
MARGIN = 1.15


def network(hidden: str, width: int) -> Network:
    """The cell's 2-W-W-1 network (its numbers do not matter to the choice, only its shape)."""
    layers = [{"units": width, "activation": hidden}, {"units": width, "activation": hidden}]
    doc = {
        "inputs": 2,
        "loss": "half_squared_error",
        "layers": [*layers, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [0.0, 0.0], "y": [0.0]}],
    }
    return netfile.from_dict(doc)


def medians(cell: dict[str, Any]) -> dict[str, float]:
    return {k: v["median"] for k, v in cell["times"].items() if k in LOOPS and "median" in v}


RECORDING = json.loads(RECORDED.read_text(encoding="utf-8"))
MADE_ON = ", ".join(f"{k}: {RECORDING[k]}" for k in ("machine", "commit", "versions", "date"))


def test_the_recording_says_where_and_when_it_was_made() -> None:
    assert all(isinstance(RECORDING.get(k), str) and RECORDING[k] for k in ("machine", "commit", "versions", "date"))


def test_the_recording_covers_the_grid_and_every_loop() -> None:
    assert len(CELLS) == 32
    assert {c["hidden"] for c in CELLS} == {"tanh", "relu"}
    timed = {k for c in CELLS for k in medians(c)}
    assert timed == set(LOOPS)


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: f"{c['hidden']}-W{c['width']}-B{c['batch']}")
def test_the_loop_chosen_is_the_fastest_recorded(cell: dict[str, Any]) -> None:
    times = medians(cell)
    fastest = min(times, key=times.__getitem__)
    chosen = loop_for(network(cell["hidden"], cell["width"]), cell["batch"])
    chosen = "NumPy" if chosen == "numpy" else chosen
    assert chosen in times, f"{chosen} was not timed in this cell"
    assert times[chosen] <= MARGIN * times[fastest], (
        f"{chosen} takes {times[chosen] * 1e6:.2f} µs, {times[chosen] / times[fastest]:.2f}× {fastest}'s "
        f"{times[fastest] * 1e6:.2f} µs (recorded on {MADE_ON})"
    )
