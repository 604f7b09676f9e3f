"""RMSProp and Nesterov answers checkable: their state and update in the step graph (s_w5, v_w5, u_w5,
w5_new), exercises with --optimizer rmsprop|nesterov whose keys check all ok, and their slips found."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.exercise import ExerciseSpec, answers_toml, make_exercise
from chainrule.check.mistakes import momentum_dropped
from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.io.netfile import from_dict
from chainrule.record.graph import build, evaluate
from chainrule.record.optimizer_step import carried
from chainrule.record.step import explain_steps
from helpers import CASES, random_document

SETTINGS: dict[str, dict[str, Any]] = {
    "rmsprop": {"optimizer": "rmsprop", "rho": 0.9, "eps": 1e-6},
    "nesterov": {"optimizer": "nesterov", "momentum": 0.7},
}
REFERENCE = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples" / "forward-backprop.toml"


def with_optimizer(doc: dict[str, Any], name: str) -> Any:
    doc = copy.deepcopy(doc)
    doc["training"] |= SETTINGS[name]
    return netfile.from_dict(doc)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_graph_of_the_second_update_is_the_engines_over_random_networks(name: str) -> None:
    """The step graph the checker walks, on the second update (a state carried in), equals the
    explained record to 1e-12, with the optimizer's names (s_w5 or v_w5 and u_w5)."""
    rng = np.random.default_rng(26)
    for i in range(10):
        doc = random_document(rng, *CASES[i % len(CASES)])
        if i % 3 == 0:  # a frozen parameter keeps its value, its state decaying
            doc["training"]["freeze"] = ["w1"]
        net = with_optimizer(doc, name)
        batches = net.batches()
        after = net.updated(net.backward(net.forward(net.x[batches[0]]), net.y[batches[0]]))
        graph = evaluate(build(after, batches[1 % len(batches)]))
        record = explain_steps(net, 0, 2)[1].values
        assert graph.keys() == record.keys()
        for key, value in graph.items():
            assert value == pytest.approx(record[key], rel=1e-12, abs=1e-12), (i, key)
        slots = ("s",) if name == "rmsprop" else ("v", "u")
        assert {f"{slot}_w1" for slot in slots} <= graph.keys()


def key_statuses(ex: Any, tmp_path: Path) -> list[str]:
    (tmp_path / "key.toml").write_text(answers_toml(ex, filled=True))
    return [c.status for c in check(ex.network, load_answers(tmp_path / "key.toml"), "key.toml").claims]


@pytest.mark.parametrize("name", ["rmsprop", "nesterov"])
def test_two_step_exercises_key_checks_all_ok_over_random_exercises(name: str, tmp_path: Path) -> None:
    """Exercises of several shapes, activations and losses, two updates: every value the key gives is ok."""
    kinds = [
        ExerciseSpec((2, 2, 1), optimizer=name, steps=2),
        ExerciseSpec((3, 2, 2), activation="tanh", loss="squared_error", optimizer=name, steps=2),
        ExerciseSpec(
            (2, 2, 2), output_activation="softmax", loss="cross_entropy", optimizer=name, steps=2, bias="neuron"
        ),
        ExerciseSpec((2, 3, 1), examples=2, optimizer=name, steps=2),
        ExerciseSpec(
            (1, 2, 2), examples=2, batch="full", loss="mse", output_activation="identity", optimizer=name, steps=2
        ),
    ]
    for spec in kinds:
        for seed in (1, 2):
            ex = make_exercise(spec, seed, 1, from_dict)
            asked = {n for s, n in ex.asked if s == 2}
            assert {"w1_new", *(("s_w1",) if name == "rmsprop" else ("v_w1", "u_w1"))} <= asked, asked
            assert not [n for n in asked if n.endswith("_prev") or n == "momentum"]
            statuses = key_statuses(ex, tmp_path)
            assert statuses == ["ok"] * len(statuses), (spec, seed)


@pytest.mark.parametrize("name", ["rmsprop", "nesterov"])
def test_the_exercise_command_writes_a_two_step_exercise_whose_key_checks_ok(name: str, tmp_path: Path) -> None:
    out = tmp_path / "ex"
    result = CliRunner().invoke(main, ["exercise", "--optimizer", name, "--steps", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    checked = CliRunner().invoke(main, ["check", str(out / "net.toml"), str(out / "key.toml")])
    assert checked.exit_code == 0, checked.output
    assert " 0 wrong" in checked.output and " 0 too coarse" in checked.output


def test_rmsprops_squared_averages_are_asked_to_significant_figures(tmp_path: Path) -> None:
    """s = 0.1·g² is below 10⁻⁴ for most gradients: the key writes it to 4 significant figures, the
    answers file asks those decimals, and a student writing it to 4 decimal places is too coarse."""
    ex = make_exercise(ExerciseSpec((2, 2, 1), optimizer="rmsprop"), 3, 1, from_dict)
    key = ex.key()
    s = ex.records[0].values["s_w1"]
    assert abs(s) < 1e-3 and key[(1, "s_w1")] == f"{s:.{ex.places(1, 's_w1')}f}"
    assert len(key[(1, "s_w1")].lstrip("0.")) == 4  # four significant figures
    text = answers_toml(ex, filled=True)
    assert f'[digits]\n"s_w1" = {ex.places(1, "s_w1")}' in text
    coarse = text.replace(f'"s_w1" = "{key[(1, "s_w1")]}"', f'"s_w1" = "{s:.4f}"')
    (tmp_path / "a.toml").write_text(coarse)
    status = {c.name: c.status for c in check(ex.network, load_answers(tmp_path / "a.toml"), "a.toml").claims}
    assert status["s_w1"] == "too_coarse" and status["w1_new"] == "ok"


def test_a_wrong_squared_average_is_the_first_wrong_number_of_an_rmsprop_step(tmp_path: Path) -> None:
    doc = netfile.to_dict(netfile.load(REFERENCE))
    net = with_optimizer(doc, "rmsprop")
    v = explain_steps(net, 0, 1)[0].values
    s5 = v["s_w5"] * 1.1  # a slip in the square
    new = v["w5"] - 0.5 * v["dL/dw5"] / (s5**0.5 + 1e-6)
    (tmp_path / "a.toml").write_text(f'"s_w5" = "{s5:.10f}"\n"w5_new" = "{new:.6f}"\n')
    report = check(net, load_answers(tmp_path / "a.toml"), "a.toml")
    assert [c.status for c in report.claims] == ["wrong", "wrong"]
    assert report.claims[1].first_wrong == ("s_w5", 1)


def test_nesterovs_momentum_term_dropped_is_named_in_the_second_step(tmp_path: Path) -> None:
    doc = netfile.to_dict(netfile.load(REFERENCE))
    net = with_optimizer(doc, "nesterov")
    params: dict[str, float] = {}
    for _ in range(2):
        values = evaluate(momentum_dropped(build(net, net.batches()[0])), params)
        params = carried(net, values)
    (tmp_path / "a.toml").write_text(f'[step.2]\n"u_w5" = "{values["u_w5"]:.8f}"\n')
    (c,) = check(net, load_answers(tmp_path / "a.toml"), "a.toml").claims
    assert c.status == "wrong" and "momentum_dropped" in [d.mistake for d in c.diagnosis]


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_the_update_added_instead_of_subtracted_is_named_for_adaptive_optimizers(
    optimizer: str, tmp_path: Path
) -> None:
    """θ + η·g/(√s + ε) (RMSProp) or θ + η·m̂/(√ŝ + ε) (Adam): the sign of the update, as for plain descent."""
    doc = netfile.to_dict(netfile.load(REFERENCE))
    doc["training"] |= {"optimizer": optimizer}
    net = netfile.from_dict(doc)
    v = explain_steps(net, 0, 1)[0].values
    flipped = 2 * v["w5"] - v["w5_new"]  # θ + (θ − θ_new)
    (tmp_path / "a.toml").write_text(f'"w5_new" = "{flipped:.6f}"\n')
    (c,) = check(net, load_answers(tmp_path / "a.toml"), "a.toml").claims
    assert c.status == "wrong" and ("sign", "update") in [(d.mistake, d.kind) for d in c.diagnosis], c.diagnosis
