"""Optimizers declared in the network file: read and written back, explained step by step with their
state (momentum's velocity, Adam's moments), trained with, and checked.

The explained steps must be the trainer's steps: over random networks, k explained updates give the
parameters `Trainer` gives with the same optimizer to 1e-12 in float64.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.record.step import explain_steps
from chainrule.train.trainer import TrainConfig, Trainer
from helpers import CASES, random_document

SETTINGS: dict[str, dict[str, Any]] = {
    "momentum": {"optimizer": "momentum", "momentum": 0.8},
    "nesterov": {"optimizer": "nesterov", "momentum": 0.7},
    "rmsprop": {"optimizer": "rmsprop", "rho": 0.9, "eps": 1e-6},
    "adam": {"optimizer": "adam", "beta1": 0.85, "beta2": 0.99, "eps": 1e-7},
}

REFERENCE_MOMENTUM = """
title = "2-2-1 with momentum"
inputs = ["x1", "x2"]
loss = "half_squared_error"
[[layers]]
name = "h"
units = 2
activation = "sigmoid"
weights = [[0.15, 0.20], [0.25, 0.30]]
bias = 0.35
[[layers]]
name = "out"
units = 1
activation = "sigmoid"
weights = [[0.40, 0.45]]
bias = 0.60
[[examples]]
x = [0.05, 0.10]
y = [0.01]
[training]
learning_rate = 0.5
optimizer = "momentum"
momentum = 0.9
"""


def with_optimizer(doc: dict[str, Any], name: str) -> Network:
    doc = copy.deepcopy(doc)
    doc["training"] |= SETTINGS[name]
    return netfile.from_dict(doc)


def random_networks(count: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(14)
    return [random_document(rng, *CASES[i % len(CASES)]) for i in range(count)]


@pytest.mark.parametrize("name", list(SETTINGS))
def test_explained_steps_are_the_trainers_steps(name: str) -> None:
    """Two epochs explained update by update end where two epochs of training end, to 1e-12."""
    for doc in random_networks(12):
        net = with_optimizer(doc, name)
        updates = 2 * len(net.batches())
        explained = explain_steps(net, 0, updates)[-1].values
        trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=2, shuffle=False))
        trained = trainer.run().network.parameters()
        assert trainer.optimizer_name == name and trainer.path == "numpy"
        assert type(trainer.optimizer).__name__ == {"rmsprop": "RMSProp", "adam": "Adam"}.get(name, "SGD")
        for p, value in trained.items():
            assert explained[f"{p}_new"] == pytest.approx(value, rel=0, abs=1e-12), (name, p)


def test_the_optimizer_moves_parameters_differently_from_sgd(reference: Network) -> None:
    """Momentum's second update differs from plain SGD's by η·μ·v₁ (the first velocity's share)."""
    sgd = explain_steps(reference, 0, 2)
    net = netfile.from_dict(netfile.to_dict(reference) | {"training": SETTINGS["momentum"] | {"learning_rate": 0.5}})
    mom = explain_steps(net, 0, 2)
    assert mom[0].values["w5_new"] == sgd[0].values["w5_new"]  # v₁ = g₁: the first update is SGD's
    v1 = mom[0].values["v_w5"]
    assert v1 == mom[0].values["dL/dw5"] == pytest.approx(0.08216704056423078, abs=1e-15)
    v2 = mom[1].values["v_w5"]
    assert v2 == 0.8 * v1 + mom[1].values["dL/dw5"]
    assert mom[1].values["v_w5_prev"] == v1
    assert mom[1].values["w5_new"] == pytest.approx(mom[1].values["w5"] - 0.5 * v2, abs=1e-15)


def test_adam_records_its_moments_and_bias_correction(reference: Network) -> None:
    doc = netfile.to_dict(reference)
    doc["training"] |= SETTINGS["adam"]
    records = explain_steps(netfile.from_dict(doc), 0, 3)
    for t, r in enumerate(records, start=1):
        v = r.values
        g, m, s = v["dL/dw5"], v["m_w5"], v["s_w5"]
        assert m == pytest.approx(0.85 * v["m_w5_prev"] + 0.15 * g, rel=1e-15)
        assert s == pytest.approx(0.99 * v["s_w5_prev"] + 0.01 * g * g, rel=1e-14)
        assert v["mhat_w5"] == m / (1 - 0.85**t) and v["shat_w5"] == s / (1 - 0.99**t)
        # t and the two corrections by name, for a view to work them: t = 3, 1 − 0.85³ = 0.385875
        assert (v["adam_t"], v["adam_c1"], v["adam_c2"]) == (t, 1 - 0.85**t, 1 - 0.99**t)
        assert v["mhat_w5"] == m / v["adam_c1"] and v["shat_w5"] == s / v["adam_c2"]
        step = 0.5 * v["mhat_w5"] / (np.sqrt(v["shat_w5"]) + 1e-7)
        assert v["w5_new"] == pytest.approx(v["w5"] - step, abs=1e-15)
        assert v["dw5"] == v["w5_new"] - v["w5"]


def test_a_frozen_parameter_keeps_its_value_and_zero_state(reference: Network) -> None:
    for name in SETTINGS:
        doc = netfile.to_dict(reference)
        doc["training"] |= SETTINGS[name] | {"freeze": ["w5"]}
        net = netfile.from_dict(doc)
        last = explain_steps(net, 0, 3)[-1].values
        assert last["w5_new"] == 0.40
        slot = {"rmsprop": "s", "adam": "m"}.get(name, "v")
        assert last[f"{slot}_w5"] == 0.0 and last[f"{slot}_w6"] != 0.0
        trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=3, shuffle=False))
        assert trainer.run().network.parameters()["w6"] == pytest.approx(last["w6_new"], abs=1e-12)


@pytest.mark.parametrize("name", list(SETTINGS))
def test_the_file_keeps_its_optimizer_through_a_write(name: str, tmp_path: Path) -> None:
    net = with_optimizer(random_networks(1)[0], name)
    netfile.save(net, tmp_path / "net.toml")
    text = (tmp_path / "net.toml").read_text()
    for key, value in SETTINGS[name].items():
        assert f"{key} = {value!r}".replace("'", '"') in text
    assert netfile.load(tmp_path / "net.toml").training.optimizer == net.training.optimizer


def test_a_sgd_file_is_written_without_optimizer_keys(reference: Network, tmp_path: Path) -> None:
    netfile.save(reference, tmp_path / "net.toml")
    text = (tmp_path / "net.toml").read_text()
    assert "optimizer" not in text and "momentum" not in text and "beta" not in text


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"optimizer": "lbfgs"}, 'training.optimizer: expected one of "sgd", "momentum"'),
        ({"momentum": 0.9}, 'training.momentum: expected it only with optimizer = "momentum" or "nesterov"'),
        ({"optimizer": "momentum", "momentum": 1.0}, "training.momentum: expected a number in [0, 1), got 1.0"),
        ({"optimizer": "momentum", "momentum": "high"}, "training.momentum: expected a number"),
        ({"optimizer": "nesterov", "momentum": 0.0}, "training.momentum: expected a number in (0, 1) for Nesterov"),
        ({"optimizer": "adam", "beta2": -0.1}, "training.beta2: expected a number in [0, 1), got -0.1"),
        ({"optimizer": "adam", "eps": 0}, "training.eps: expected a number > 0, got 0"),
        ({"optimizer": "momentum", "beta1": 0.9}, 'training.beta1: expected it only with optimizer = "adam"'),
    ],
)
def test_bad_optimizer_settings_are_one_line(
    training: dict[str, Any], message: str, runner: CliRunner, tmp_path: Path
) -> None:
    doc = netfile.read_document(netfile.example_path())
    doc["training"] = doc.get("training", {}) | training
    path = tmp_path / "net.json"
    path.write_text(json.dumps(doc))
    result = runner.invoke(main, ["explain", str(path)])
    assert result.exit_code == 2
    assert message in result.stderr and str(path) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_chainrule_train_uses_the_files_optimizer_unless_told(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "net.toml").write_text(REFERENCE_MOMENTUM)
    net = netfile.load(tmp_path / "net.toml")
    explained = explain_steps(net, 0, 3)[-1].values
    args = ["train", str(tmp_path / "net.toml"), "--epochs", "3", "--no-shuffle", "-q", "-o"]
    result = runner.invoke(main, [*args, str(tmp_path / "a.toml")])
    assert result.exit_code == 0, result.stderr
    trained = netfile.load(tmp_path / "a.toml")
    assert trained.training.optimizer.name == "momentum"
    for p, value in trained.parameters().items():
        assert value == pytest.approx(explained[f"{p}_new"], abs=1e-12)
    # --optimizer sgd wins over the file: the plain gradient-descent numbers.
    result = runner.invoke(main, [*args, str(tmp_path / "b.toml"), "--optimizer", "sgd"])
    assert result.exit_code == 0, result.stderr
    sgd = netfile.from_dict(netfile.to_dict(net) | {"training": {"learning_rate": 0.5}})
    plain = explain_steps(sgd, 0, 3)[-1].values
    assert netfile.load(tmp_path / "b.toml").parameters()["w5"] == pytest.approx(plain["w5_new"], abs=1e-12)
    assert plain["w5_new"] != pytest.approx(explained["w5_new"], abs=1e-3)


def moving_network(seed: int, optimizer: str = "momentum") -> Network:
    """A random network with the optimizer whose first two updates move some parameter (a binary-step output
    or dead ReLUs give every gradient 0, which would test nothing); seeded, so always the same one."""
    rng = np.random.default_rng(seed)
    while True:
        net = with_optimizer(random_document(rng, *CASES[int(rng.integers(len(CASES)))]), optimizer)
        first, second = explain_steps(net, 0, 2)
        if any(abs(first.values[f"dL/d{p}"]) > 1e-6 for p in net.parameter_names()) and any(
            abs(second.values[f"dL/d{p}"]) > 1e-6 for p in net.parameter_names()
        ):
            return net


def momentum_answers(net: Network, steps: int, names: list[str], digits: int = 6) -> str:
    """An answers file claiming the engine's numbers for ``names`` in each step, rounded to ``digits``."""
    lines = []
    for s, r in enumerate(explain_steps(net, 0, steps), start=1):
        lines.append(f"[step.{s}]")
        lines += [f'"{n}" = "{r.values[n]:.{digits}f}"' for n in names]
    return "\n".join(lines) + "\n"


def test_check_reads_a_momentum_example_as_written(tmp_path: Path) -> None:
    (tmp_path / "net.toml").write_text(REFERENCE_MOMENTUM)
    net = netfile.load(tmp_path / "net.toml")
    names = ["v_w5", "w5_new", "v_w1", "w1_new", "v_b1", "b1_new", "dw5"]
    (tmp_path / "answers.toml").write_text(momentum_answers(net, 2, names))
    report = check(net, load_answers(tmp_path / "answers.toml"))
    assert [c.status for c in report.claims] == ["ok"] * 14
    # v_w5 of step 2 is 0.9 · 0.082167 + 0.083851 = 0.157802: one slip in it is the first wrong number.
    text = (tmp_path / "answers.toml").read_text()
    assert '"v_w5" = "0.157802"' in text
    (tmp_path / "wrong.toml").write_text(text.replace('"v_w5" = "0.157802"', '"v_w5" = "0.157902"'))
    report = check(net, load_answers(tmp_path / "wrong.toml"))
    first = report.first_wrong
    assert first is not None and (first.name, first.step) == ("v_w5", 2)
    assert first.derivation.terms[0].factors == (0.9, pytest.approx(0.08216704056423078, abs=1e-15))


@pytest.mark.parametrize("seed", range(6))
def test_a_wrong_velocity_is_the_first_wrong_number(seed: int, tmp_path: Path) -> None:
    """Random networks with momentum: the engine's velocities and updates check as ok over three steps;
    one velocity changed in its third significant digit is found, and nothing before it."""
    rng = np.random.default_rng(seed)
    net = moving_network(seed)
    names = [n for p in net.parameter_names() for n in (f"v_{p}", f"{p}_new")]
    text = momentum_answers(net, 3, names, digits=12)
    (tmp_path / "a.toml").write_text(text)
    assert {c.status for c in check(net, load_answers(tmp_path / "a.toml")).claims} == {"ok"}
    records = explain_steps(net, 0, 3)
    candidates = [(s, p) for s in (2, 3) for p in net.parameter_names() if abs(records[s - 1].values[f"v_{p}"]) > 1e-6]
    step, p = candidates[int(rng.integers(len(candidates)))]
    right = records[step - 1].values[f"v_{p}"]
    lines = text.splitlines()
    at = lines.index(f"[step.{step}]") + 1 + names.index(f"v_{p}")
    lines[at] = f'"v_{p}" = "{right * 1.01:.12f}"'
    (tmp_path / "b.toml").write_text("\n".join(lines) + "\n")
    first = check(net, load_answers(tmp_path / "b.toml")).first_wrong
    assert first is not None and (first.name, first.step) == (f"v_{p}", step)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
@pytest.mark.parametrize("seed", range(8))
def test_the_optimizer_graph_gives_the_engines_numbers(seed: int, optimizer: str) -> None:
    """The step graph the checker walks, on the second update (a state carried in), equals the record."""
    net = moving_network(100 + seed, optimizer)
    slot = "v" if optimizer == "momentum" else "m"
    first = explain_steps(net, 0, 1)[0]
    after = net.updated(net.backward(net.forward(net.x[net.batches()[0]]), net.y[net.batches()[0]]))
    idx = 1 % len(net.batches())
    graph = evaluate(build(after, net.batches()[idx]))
    record = explain_steps(net, 0, 2)[1].values
    assert graph.keys() == record.keys()  # Adam's adam_t, adam_c1, adam_c2 included
    for name, value in graph.items():
        assert value == pytest.approx(record[name], rel=1e-12, abs=1e-12), name
    assert any(graph[f"{slot}_{p}_prev"] == first.values[f"{slot}_{p}"] != 0 for p in net.parameter_names())


def test_check_reads_every_optimizers_steps(reference: Network, tmp_path: Path) -> None:
    """RMSProp's s_w5 (and every other optimizer's state) is a value check reads and grades."""
    doc = netfile.to_dict(reference)
    doc["training"] |= SETTINGS["rmsprop"]
    (tmp_path / "a.toml").write_text('"s_w5" = "0.1"\n')
    netfile.save(netfile.from_dict(doc), tmp_path / "net.toml")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "net.toml"), str(tmp_path / "a.toml")])
    assert result.exit_code == 1, result.output
    assert "1 wrong" in result.stdout and "s_w5" in result.stdout


def test_check_reads_an_adam_example_and_finds_a_wrong_moment(reference: Network, tmp_path: Path) -> None:
    """Adam's moments, their bias correction and the updates of three steps, from the engine, check as ok;
    a second moment off by 1% in step 2 is the first wrong number, and w5_new after it still checks."""
    doc = netfile.to_dict(reference)
    doc["training"] |= SETTINGS["adam"]
    net = netfile.from_dict(doc)
    names = ["m_w5", "s_w5", "mhat_w5", "shat_w5", "w5_new", "dw5", "m_b1", "b1_new"]
    text = momentum_answers(net, 3, names, digits=12)
    (tmp_path / "a.toml").write_text(text)
    assert [c.status for c in check(net, load_answers(tmp_path / "a.toml")).claims] == ["ok"] * 24
    s2 = explain_steps(net, 0, 2)[1].values["s_w5"]
    wrong = text.replace(f'"s_w5" = "{s2:.12f}"', f'"s_w5" = "{s2 * 1.01:.12f}"')
    assert wrong != text
    (tmp_path / "b.toml").write_text(wrong)
    report = check(net, load_answers(tmp_path / "b.toml"))
    first = report.first_wrong
    assert first is not None and (first.name, first.step) == ("s_w5", 2)
    after = {(c.name, c.step): c.status for c in report.claims}
    assert after[("w5_new", 2)] == "ok" and after[("s_w5", 3)] == "ok"


def test_the_story_shows_the_velocity_then_the_update(runner: CliRunner, tmp_path: Path) -> None:
    """Step 2 of the momentum example, as Markdown: v_w5 = 0.9 · 0.0822 + 0.0839 ≈ 0.1578, then
    w5_new = 0.3589 − 0.5 · 0.1578 ≈ 0.2800 (v₁ = ∂L/∂w5 of step 1; 0.0839 is step 2's gradient)."""
    (tmp_path / "net.toml").write_text(REFERENCE_MOMENTUM)
    result = runner.invoke(main, ["explain", str(tmp_path / "net.toml"), "--steps", "2", "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert r"v_{w_{5}} &= 0.9 \cdot 0.0822 + 0.0839 \approx 0.1578" in text
    assert r"w_{5}^{\text{new}} &= 0.3589 - 0.5 \cdot 0.1578 \approx 0.2800" in text
    assert text.index(r"v_{w_{5}} &= 0.9") < text.index(r"w_{5}^{\text{new}} &= 0.3589")
    assert "| $w_{5}$ | $0.3589$ | $0.0839$ | $0.1578$ | $0.2800$ |" in text


def test_adam_story_shows_moments_and_correction(reference: Network, tmp_path: Path) -> None:
    doc = netfile.to_dict(reference)
    doc["training"] |= SETTINGS["adam"]
    netfile.save(netfile.from_dict(doc), tmp_path / "net.toml")
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "net.toml"), "--format", "markdown"])
    assert result.exit_code == 0, result.stderr
    v = explain_steps(netfile.from_dict(doc), 0, 1)[0].values
    # m₁ = (1 − β₁)·g = 0.15 · 0.0822, m̂₁ = g: the first Adam step moves w5 by about η = 0.5.
    assert r"m_{w_{5}} &= 0.85 \cdot 0 + 0.15 \cdot 0.0822" in result.stdout
    assert v["mhat_w5"] == pytest.approx(v["dL/dw5"], rel=1e-12)
    assert v["w5_new"] == pytest.approx(0.4 - 0.5, abs=1e-5)


def test_hand_mode_says_it_works_plain_gradient_descent_only(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "net.toml").write_text(REFERENCE_MOMENTUM)
    result = runner.invoke(main, ["explain", str(tmp_path / "net.toml"), "--hand", "4"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f'chainrule: --hand: works plain gradient descent by hand, and {tmp_path / "net.toml"} says optimizer = "momentum"'
    )
