"""The record's three ways to the same numbers, over random networks: the engine (`explain_step`), the
scalar step graph the checker walks, and hand mode at many decimals; and which update `--example` means."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.record.hand import hand_step
from chainrule.record.rounding import places, round_as_written, round_half_up
from chainrule.record.step import explain_step, explain_steps
from chainrule.views.numbers import fmt
from conftest import EXAMPLES
from helpers import CASES, random_document

SEEDS = range(3)


def _random_net(case: int, seed: int, loss: str, output: str) -> Network:
    rng = np.random.default_rng(1000 * case + seed)
    doc = random_document(rng, loss, output)
    if rng.random() < 0.3:  # a learnable α in some hidden layer
        doc["layers"][0] |= (
            {"activation": "prelu", "alpha": float(rng.uniform(0.05, 0.5))} if len(doc["layers"]) > 1 else {}
        )
    return netfile.from_dict(doc)


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_the_step_graph_gives_the_engines_numbers(case: int, loss: str, output: str) -> None:
    for seed in SEEDS:
        net = _random_net(case, seed, loss, output)
        for e, idx in enumerate(net.batches()[:2]):
            values = explain_step(net, e).values
            graph = evaluate(build(net, idx))
            assert graph.keys() == values.keys()
            wrong = [k for k in values if not math.isclose(graph[k], values[k], rel_tol=1e-10, abs_tol=1e-12)]
            assert wrong == [], (loss, output, seed, wrong[:3])


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_hand_mode_at_twelve_places_is_the_engine(case: int, loss: str, output: str) -> None:
    for seed in SEEDS:
        exact = explain_step(_random_net(case, seed, loss, output))
        fine = hand_step(exact, 12)
        assert set(fine.values) >= set(exact.values)
        # rounding every intermediate to 12 places moves a value by far less than 1e-8 (relative, or absolute near 0)
        far = [n for n, x in exact.values.items() if abs(fine.values[n] - x) > 1e-8 * max(1.0, abs(x))]
        assert far == [], (loss, output, seed, far[:3])


def test_example_n_explains_the_update_made_after_the_first_n_minus_1() -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    net.training.batch = "online"
    first, second = explain_steps(net, 0, 2)
    (only,) = explain_steps(net, 1, 1)
    assert only.values == second.values
    # it starts from the parameters the first update left, not from the file's
    after_first = {u.param: u.new for u in first.updates}
    assert {p: only.values[p] for p in after_first} == after_first
    assert after_first != net.parameters()
    assert only.examples == (1,)


def test_example_option_and_steps_agree_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "xor-online.toml"
    path.write_text((EXAMPLES / "xor.toml").read_text().replace('batch = "full"', 'batch = "online"'))
    two = CliRunner().invoke(main, ["explain", str(path), "--format", "json", "--steps", "2"])
    at2 = CliRunner().invoke(main, ["explain", str(path), "--format", "json", "--example", "2"])
    assert two.exit_code == 0 and at2.exit_code == 0, (two.output, at2.output)
    assert json.loads(at2.stdout)["values"] == json.loads(two.stdout)[1]["values"]


@given(st.floats(min_value=-1e5, max_value=1e5, allow_nan=False).filter(lambda x: abs(x) > 1e-7), st.integers(1, 8))
def test_printing_hand_mode_and_the_checker_round_to_the_same_places(x: float, digits: int) -> None:
    """One rule: the decimals `fmt` prints are the ones hand mode and the checker round to."""
    shown = fmt(x, digits).replace("−", "-")
    decimals = len(shown.partition(".")[2])
    assert decimals <= places(x, digits)  # fmt only drops trailing zeros of an exact number
    assert float(shown) == pytest.approx(round_as_written(x, digits), abs=10.0 ** -places(x, digits))
    assert abs(round_half_up(x, digits) - x) <= 0.5 * 10.0 ** -places(x, digits) * (1 + 1e-9)
