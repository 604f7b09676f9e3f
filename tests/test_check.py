"""`chainrule check`: published numbers, every known mistake made by hand, first wrong number, bad input.

The wrong answers here are made with plain arithmetic (math.exp, products and sums), never with
chainrule's own code, so a diagnosis is checked against an independent worked example.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.cli.root import main
from chainrule.engine.functions import LOSSES
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.record.step import explain_step
from helpers import CASES, random_document

EXAMPLES = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples"
REFERENCE = EXAMPLES / "forward-backprop.toml"


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# A second network: tanh hidden layer, other weights, inputs, target and learning rate.
TANH_NET = """
inputs = ["x1", "x2"]
loss = "half_squared_error"
[[layers]]
name = "h"
units = 2
activation = "tanh"
weights = [[0.3, -0.2], [0.5, 0.4]]
bias = 0.1
[[layers]]
name = "out"
units = 1
activation = "sigmoid"
weights = [[0.6, -0.7]]
bias = 0.2
[[examples]]
x = [0.8, 0.3]
y = [0.9]
[training]
learning_rate = 0.3
"""


def hand(net: str, **m: object) -> dict[str, float]:
    """The 2-2-1 step worked by hand, with optional mistakes (plain arithmetic, no chainrule)."""
    if net == "reference":
        x1, x2, y, lr = 0.05, 0.10, 0.01, 0.5
        w1, w2, w3, w4, w5, w6, b1, b2 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.35, 0.60
        f, df = sig, (lambda z, a: a * (1 - a))
    else:
        x1, x2, y, lr = 0.8, 0.3, 0.9, 0.3
        w1, w2, w3, w4, w5, w6, b1, b2 = 0.3, -0.2, 0.5, 0.4, 0.6, -0.7, 0.1, 0.2
        f, df = math.tanh, (lambda z, a: 1 - a * a)
    bh1 = 0.0 if m.get("bias_omitted") in ("h", "h1") else b1
    bh2 = 0.0 if m.get("bias_omitted") in ("h", "h2") else b1
    z1, z2 = w1 * x1 + w2 * x2 + bh1, w3 * x1 + w4 * x2 + bh2
    a1, a2 = f(z1), f(z2)
    s1, s2 = (z1, z2) if m.get("z_forward") else (a1, a2)
    zo = w5 * s1 + w6 * s2 + b2
    ao = sig(zo)
    half = {"dropped": 1.0, "twice": 0.25}.get(str(m.get("half")), 0.5)
    loss = half * (y - ao) ** 2
    dao = 2 * half * (ao - y) * (-1 if m.get("sign") == "gradient" else 1)
    dfo = 1.0 if m.get("drop") == "out" else ao * (1 - ao)
    dfh1, dfh2 = (df(z1, z1), df(z2, z2)) if m.get("deriv_z") else (df(z1, a1), df(z2, a2))
    c1, c2 = (1.0, 1.0) if m.get("drop") == "h" else (dfh1, dfh2)  # the factors the chain uses
    dzo = dao * dfo
    g5, g6 = dzo * s1, dzo * s2
    if m.get("z_gradient"):
        g5, g6 = dzo * z1, dzo * z2
    v5, v6 = (w5 - lr * g5, w6 - lr * g6) if m.get("updated") else (w5, w6)
    da1, da2 = v5 * dzo, v6 * dzo
    dz1, dz2 = da1 * c1, da2 * c2
    db1 = {"h1": dz1, "h2": dz2}.get(str(m.get("one_path")), dz1 + dz2)
    eta = float(m.get("rate", lr)) * (-1 if m.get("sign") == "update" else 1)  # type: ignore[arg-type]
    return {
        "z_h1": z1, "a_h1": a1, "da_h1/dz_h1": dfh1, "z_out": zo, "a_out": ao, "loss": loss,
        "dL/da_out": dao, "dL/dz_out": dzo, "dL/dw5": g5, "dL/da_h1": da1, "dL/dz_h1": dz1,
        "dL/dw1": dz1 * x1, "dL/db1": db1, "w5_new": w5 - eta * g5, "w1_new": w1 - eta * dz1 * x1,
        "b1_new": b1 - eta * db1,
    }  # fmt: skip


def network(which: str, tmp_path: Path) -> Path:
    if which == "reference":
        return REFERENCE
    path = tmp_path / "tanh.toml"
    path.write_text(TANH_NET)
    return path


def write_answers(tmp_path: Path, values: dict[str, float], names: list[str], places: int = 6) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text("".join(f'"{n}" = "{values[n]:.{places}f}"\n' for n in names))
    return path


def run(net: Path, answers: Path) -> dict:
    report = check(netfile.load(net), load_answers(answers), str(answers))
    from chainrule.views.check import to_dict

    return {c["name"]: c for c in to_dict(report)["claims"]}


def test_graph_gives_the_engines_numbers() -> None:
    for name in ("forward-backprop.toml", "xor.toml", "softmax-classifier.toml"):
        net = netfile.load(EXAMPLES / name)
        for e, idx in enumerate(net.batches()):
            values = explain_step(net, e).values
            graph = evaluate(build(net, idx))
            assert graph.keys() == values.keys()
            assert all(math.isclose(graph[k], values[k], rel_tol=1e-12, abs_tol=1e-14) for k in values)


def test_reference_published_numbers_are_ok_or_rounding_but_one_slip(runner) -> None:
    answers = EXAMPLES / "forward-backprop-answers.toml"
    result = runner.invoke(main, ["check", str(REFERENCE), str(answers), "--format", "json"])
    assert result.exit_code == 1, result.output
    claims = {c["name"]: c for c in json.loads(result.output)["claims"]}
    assert len(claims) == 32
    assert claims["w5_new"]["status"] == "ok" and claims["dL/dw5"]["status"] == "ok"
    # the document's hand-arithmetic artefacts, each explained by rounding
    assert claims["da_h2/dz_h2"]["status"] == "rounding"  # 0.2407: 0.240613 rounded up
    assert claims["b2_new"]["diagnosis"][0]["sources"] == ["dL/db2"]  # 0.6 − 0.5·0.1385 ≈ 0.5307
    # 0.00135 where the exact value is 0.001337 and the claimed dL/dz_h1·x2 = 0.0134·0.1 = 0.00134:
    # no rounding gives it, so it is a slip, and w2_new = 0.2 − 0.5·0.00135 follows from it
    assert claims["dL/dw2"]["status"] == "wrong"
    assert [(d["mistake"], d.get("kind")) for d in claims["dL/dw2"]["diagnosis"]] == [("slip", "last_digit")]
    assert claims["w2_new"]["diagnosis"][0]["mistake"] == "propagated"
    assert [n for n, c in claims.items() if c["status"] == "wrong"] == ["dL/dw2", "w2_new"]


MISTAKES = [
    ("half_factor", {"half": "dropped"}, "loss"),
    ("half_factor", {"half": "twice"}, "dL/da_out"),
    ("activation_derivative_dropped", {"drop": "out"}, "dL/dz_out"),
    ("activation_derivative_dropped", {"drop": "h"}, "dL/dz_h1"),
    ("z_instead_of_a", {"z_forward": True}, "z_out"),
    ("z_instead_of_a", {"z_gradient": True}, "dL/dw5"),
    ("z_instead_of_a", {"deriv_z": True}, "da_h1/dz_h1"),
    ("updated_weights_in_backprop", {"updated": True}, "dL/da_h1"),
    ("sign", {"sign": "update"}, "w5_new"),
    ("sign", {"sign": "gradient"}, "dL/da_out"),
    ("shared_bias_one_path", {"one_path": "h2"}, "dL/db1"),
    ("bias_omitted", {"bias_omitted": "h"}, "z_h1"),
    ("bias_omitted", {"bias_omitted": "h1"}, "z_h1"),
    ("learning_rate", {"rate": 0.1}, "w5_new"),
]


@pytest.mark.parametrize("which", ["reference", "tanh"])
@pytest.mark.parametrize(("mistake", "how", "first"), MISTAKES)
def test_each_mistake_made_by_hand_is_named(tmp_path: Path, which: str, mistake: str, how: dict, first: str) -> None:
    values = hand(which, **how)
    names = list(values)
    result = run(network(which, tmp_path), write_answers(tmp_path, values, names))
    claim = result[first]
    assert claim["status"] == "wrong"
    assert claim["first_wrong"] == {"name": first, "step": 1}
    assert mistake in [d["mistake"] for d in claim["diagnosis"]]
    exact = hand(which)
    for name in names:  # numbers the mistake does not touch stay ok
        if abs(values[name] - exact[name]) < 1e-9:
            assert result[name]["status"] == "ok", name


@pytest.mark.parametrize("which", ["reference", "tanh"])
def test_learning_rate_reports_the_implied_rate(tmp_path: Path, which: str) -> None:
    values = hand(which, rate=0.25)
    result = run(network(which, tmp_path), write_answers(tmp_path, values, ["w5_new", "w1_new", "b1_new"]))
    for name in ("w5_new", "b1_new"):
        (diag,) = [d for d in result[name]["diagnosis"] if d["mistake"] == "learning_rate"]
        assert diag["implied_learning_rate"] == 0.25


def test_sum_vs_mean_on_a_batch(tmp_path: Path) -> None:
    net = netfile.load(REFERENCE)
    doc = netfile.to_dict(net)
    doc["examples"].append({"x": [0.3, -0.1], "y": [0.7]})
    doc["training"]["batch"] = "full"
    path = tmp_path / "batch.toml"
    netfile.save(netfile.from_dict(doc), path)
    # by hand: each example's ∂L/∂w5 = (ŷ − y)·ŷ(1 − ŷ)·a_h1, summed where the file says mean
    total = 0.0
    for (x1, x2), y in (((0.05, 0.10), 0.01), ((0.3, -0.1), 0.7)):
        a1, a2 = sig(0.15 * x1 + 0.2 * x2 + 0.35), sig(0.25 * x1 + 0.3 * x2 + 0.35)
        ao = sig(0.4 * a1 + 0.45 * a2 + 0.6)
        total += (ao - y) * ao * (1 - ao) * a1
    result = run(path, write_answers(tmp_path, {"dL/dw5": total}, ["dL/dw5"]))
    # for two examples summing doubles, as dropping the ½ does: both reproduce it, and both are named
    assert "sum_vs_mean" in [d["mistake"] for d in result["dL/dw5"]["diagnosis"]]


def test_rounding_intermediates_reports_the_places(tmp_path: Path) -> None:
    # by hand, every intermediate to 2 places: z_h 0.38, 0.39; a_h 0.59, 0.60; z_out 1.106 → 1.11
    a_out = sig(1.11)
    result = run(REFERENCE, write_answers(tmp_path, {"a_out": a_out}, ["a_out"], places=4))
    claim = result["a_out"]
    # 0.7521 for the exact 0.7514: 7 units of the 4th place, beyond rounding at the places written
    assert claim["status"] == "wrong"
    assert claim["diagnosis"][0]["mistake"] == "rounded_too_early" and claim["diagnosis"][0]["digits"] == 2
    # the same path to 3 places written to 3 is rounding, not too early
    result = run(REFERENCE, write_answers(tmp_path, {"a_out": a_out}, ["a_out"], places=3))
    assert result["a_out"]["status"] in ("ok", "rounding")


def test_a_rounding_path_counts_only_if_the_authors_own_intermediates_agree(tmp_path: Path) -> None:
    # a_out from intermediates rounded to 2 places, but the author claims z_h1 to 4 places, right:
    # the 2-place path is not the author's, so it cannot explain a_out
    exact = evaluate(build(netfile.load(REFERENCE), [0]))
    answers = {"z_h1": f"{exact['z_h1']:.4f}", "a_out": f"{sig(1.11):.4f}"}
    path = tmp_path / "a.toml"
    path.write_text("".join(f'"{k}" = "{v}"\n' for k, v in answers.items()))
    result = run(REFERENCE, path)
    assert result["z_h1"]["status"] == "ok"
    assert result["a_out"]["status"] == "wrong"
    assert all(d["mistake"] not in ("rounding", "rounded_too_early") for d in result["a_out"]["diagnosis"])


def test_a_slip_early_is_the_first_wrong_number_and_the_rest_propagate(tmp_path: Path) -> None:
    # z_h1 slipped: 0.0075 + 0.02 + 0.35 written as 0.3875; everything after worked from it, by hand
    z1, z2 = 0.3875, 0.3925
    a1, a2 = sig(z1), sig(z2)
    zo = 0.4 * a1 + 0.45 * a2 + 0.6
    ao = sig(zo)
    values = {"z_h1": z1, "z_h2": z2, "a_h1": a1, "a_h2": a2, "z_out": zo, "a_out": ao, "loss": 0.5 * (0.01 - ao) ** 2}
    result = run(REFERENCE, write_answers(tmp_path, values, list(values)))
    assert result["z_h2"]["status"] == "ok"
    assert result["z_h1"]["diagnosis"][0]["mistake"] == "slip"
    assert "add up to 0.3775" in result["z_h1"]["diagnosis"][0]["detail"]
    for name in ("a_h1", "z_out", "a_out", "loss"):
        assert result[name]["status"] == "wrong"
        assert result[name]["first_wrong"] == {"name": "z_h1", "step": 1}
        assert result[name]["diagnosis"][0]["mistake"] == "propagated"


def test_later_steps_use_the_parameters_after_earlier_updates(tmp_path: Path) -> None:
    net: Network = netfile.load(REFERENCE)
    for _ in range(1):
        net = net.updated(net.backward(net.forward(net.x), net.y))
    second = explain_step(net).values
    path = tmp_path / "answers.toml"
    path.write_text(f'[step.2]\nloss = "{second["loss"]:.6f}"\n"dL/dw5" = "{second["dL/dw5"]:.6f}"\n')
    result = run(REFERENCE, path)
    assert all(c["status"] == "ok" and c["step"] == 2 for c in result.values())
    # the first step's loss would not pass for the second
    path.write_text('[step.2]\nloss = "0.274811"\n')
    assert run(REFERENCE, path)["loss"]["status"] == "wrong"


def test_step_10001_and_exit_status(runner, tmp_path: Path) -> None:
    net: Network = netfile.load(REFERENCE)
    for _ in range(10000):
        net = net.updated(net.backward(net.forward(net.x), net.y))
    a_out = float(net.forward(net.x).output[0, 0])
    path = tmp_path / "answers.toml"
    path.write_text(f'[step.10001]\na_out = "{a_out:.6f}"\n')
    assert runner.invoke(main, ["check", str(REFERENCE), str(path)]).exit_code == 0
    path.write_text(f'[step.10001]\na_out = "{a_out + 0.01:.6f}"\n')
    result = runner.invoke(main, ["check", str(REFERENCE), str(path)])
    assert result.exit_code == 1 and "First wrong number: a_out (step 10001)" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"dL/dw7" = "0.1"\n', "nearest: dL/dw6"),
        ('z_h1 = "about 0.38"\n', "z_h1: expected a number"),
        ('[step.0]\nloss = "0.2"\n', "[step.0]: expected a step number 1 or more"),
        ("z_h1 = true\n", "z_h1: expected a number"),
    ],
)
def test_bad_answers_are_one_line_and_exit_2(runner, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "answers.toml"
    path.write_text(text)
    result = runner.invoke(main, ["check", str(REFERENCE), str(path)])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_missing_answers_file(runner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["check", str(REFERENCE), str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "nope.toml: expected an existing answers file" in result.output


def test_precision_as_written(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('z_h1 = 0.38\na_h1 = "0.593"\nloss = "2.748e-1"\n')
    claims = {c.name: c for c in load_answers(path)}
    assert (claims["z_h1"].decimals, claims["a_h1"].decimals, claims["loss"].decimals) == (2, 3, 4)
    assert all(c["status"] == "ok" for c in run(REFERENCE, path).values())


# -- the report's worked derivation ---------------------------------------------------------------


def test_the_first_wrong_number_is_worked_with_its_factors_and_the_losss_formula(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('"dL/da_h1" = "0.0561"\n')
    result = CliRunner().invoke(main, ["check", str(REFERENCE), str(answers)])
    assert "correct: dL/da_h1 = w5·dL/dz_out = 0.4 · 0.1385 = 0.0554" in result.output
    answers.write_text('loss = "0.2948"\n')
    result = CliRunner().invoke(main, ["check", str(REFERENCE), str(answers)])
    assert "correct: loss = ½ · (y_out − a_out)² = ½ · (0.01 − 0.7514)² = 0.2748" in result.output


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES)])
def test_every_derivation_writes_the_numbers_its_result_comes_from(case: int, loss: str, output: str) -> None:
    """No derivation repeats its result as its own working: sums show each product's two factors,
    and a loss with a formula is written with it, never as the loss's name applied to numbers."""
    from chainrule.check.checker import derivation
    from chainrule.views.check import derivation_text
    from chainrule.views.numbers import signed

    net = netfile.from_dict(random_document(np.random.default_rng(40 + case), loss, output))
    values = explain_step(net).values
    graph = build(net, net.batches()[0])
    for name in graph.nodes:
        d = derivation(graph, name, values)
        line = derivation_text(name, d, 4)
        if d.op == "sum":
            for t in d.terms:
                for x in t.factors:
                    assert signed(x, 4) in line, line
        if name.startswith("loss") and d.op == "function" and LOSSES[loss].term_plain:
            assert f"{loss}(" not in line, line


# -- diagnoses that never contradict the author (issue 14, section 1) -----------------------------


def diagnoses(result: dict, name: str) -> list[tuple[str, str]]:
    return [(d["mistake"], d.get("kind", "")) for d in result[name]["diagnosis"]]


def test_a_sign_slip_beside_right_signed_gradients_is_not_a_sign_mistake(tmp_path: Path) -> None:
    """The XOR probe: ∂L/∂a_out, ∂L/∂z_out, ∂L/∂w5 claimed with the right sign, ∂L/∂b_out with the
    wrong one; w5_new right, w6_new updated the wrong way. Neither is offered `sign`."""
    net = netfile.load(Path(__file__).parent / "published" / "negnevitsky.toml")
    exact = explain_step(net).values
    values = {k: exact[k] for k in ("dL/da_out", "dL/dz_out", "dL/dw5", "dL/db_out", "w5_new", "w6_new")}
    values["dL/db_out"] = -exact["dL/db_out"]
    values["w6_new"] = 1.1 + 0.1 * exact["dL/dw6"]  # θ + η·g
    path = tmp_path / "answers.toml"
    path.write_text("".join(f'"{k}" = "{v:.4f}"\n' for k, v in values.items()))
    result = run(Path(__file__).parent / "published" / "negnevitsky.toml", path)
    assert [n for n, c in result.items() if c["status"] == "wrong"] == ["dL/db_out", "w6_new"]
    assert diagnoses(result, "dL/db_out") == [("slip", "")]
    assert diagnoses(result, "w6_new") == [("slip", "")]
    # with nothing to contradict them, the same numbers are each offered the sign mistake
    path.write_text(f'"dL/db_out" = "{values["dL/db_out"]:.4f}"\nw6_new = "{values["w6_new"]:.4f}"\n')
    alone = run(Path(__file__).parent / "published" / "negnevitsky.toml", path)
    assert ("sign", "gradient") in diagnoses(alone, "dL/db_out")
    assert ("sign", "update") in diagnoses(alone, "w6_new")


def test_positive_gradients_are_not_told_they_took_y_minus_yhat(tmp_path: Path) -> None:
    values = hand("reference")
    values["dL/dw5"] = -values["dL/dw5"]
    result = run(REFERENCE, write_answers(tmp_path, values, ["dL/da_out", "dL/dz_out", "dL/dw5"]))
    assert ("sign", "gradient") not in diagnoses(result, "dL/dw5")


def test_a_right_z_out_is_not_told_z_was_fed_forward(tmp_path: Path) -> None:
    values = hand("reference", z_gradient=True)  # ∂L/∂w5 = ∂L/∂z_out · z_h1, z_out itself right
    result = run(REFERENCE, write_answers(tmp_path, values, ["z_out", "dL/dz_out", "dL/dw5"]))
    assert result["z_out"]["status"] == "ok"
    assert diagnoses(result, "dL/dw5") == [("z_instead_of_a", "gradient")]
    # without the z_out claim, feeding z forward reproduces it too, and is offered
    result = run(REFERENCE, write_answers(tmp_path, values, ["dL/dz_out", "dL/dw5"]))
    assert ("z_instead_of_a", "forward") in diagnoses(result, "dL/dw5")


def test_a_loss_that_keeps_its_half_is_not_told_it_dropped_it(tmp_path: Path) -> None:
    values = hand("reference")
    values["dL/da_out"] *= 2  # 2(ŷ − y): the ½ kept in L, not in its derivative
    result = run(REFERENCE, write_answers(tmp_path, values, ["loss", "dL/da_out"]))
    assert result["loss"]["status"] == "ok"
    assert diagnoses(result, "dL/da_out") == [("half_factor", "gradient_doubled")]
    result = run(REFERENCE, write_answers(tmp_path, values, ["dL/da_out"]))  # no loss claimed
    assert ("half_factor", "dropped") in diagnoses(result, "dL/da_out")


def test_mse_has_no_half_and_its_mistakes_say_so(tmp_path: Path) -> None:
    """loss = "mse", loss right, ∂L/∂ŷ half the true 2(ŷ − y): the 2 of the square's derivative left out."""
    doc = netfile.to_dict(netfile.load(REFERENCE))
    doc["loss"] = "mse"
    path = tmp_path / "mse.toml"
    netfile.save(netfile.from_dict(doc), path)
    a_out = hand("reference")["a_out"]
    values = {"loss": (0.01 - a_out) ** 2, "dL/da_out": a_out - 0.01}
    result = run(path, write_answers(tmp_path, values, ["loss", "dL/da_out"]))
    assert result["loss"]["status"] == "ok"
    (only,) = result["dL/da_out"]["diagnosis"]
    assert (only["mistake"], only["kind"]) == ("half_factor", "gradient_halved")
    assert "2(ŷ − y)" in only["detail"] and "½" not in only["detail"]
    values = {"loss": (0.01 - a_out) ** 2 / 2, "dL/da_out": a_out - 0.01}  # a ½ put in: both halve
    result = run(path, write_answers(tmp_path, values, ["loss", "dL/da_out"]))
    assert diagnoses(result, "loss") == [("half_factor", "added")]
    assert "a loss that has none" in result["loss"]["diagnosis"][0]["detail"]


def one_output_network(tmp_path: Path, loss: str, output: str, bias: list[float], y: list[float]) -> Path:
    doc = {
        "inputs": ["x1"],
        "loss": loss,
        "layers": [{"name": "out", "units": len(y), "activation": output, "weights": [[0.0]] * len(y), "bias": bias}],
        "examples": [{"x": [1.0], "y": y}],
        "training": {"learning_rate": 0.5},
    }
    path = tmp_path / "net.toml"
    netfile.save(netfile.from_dict(doc), path)
    return path


@pytest.mark.parametrize(
    ("loss", "output", "bias", "y"),
    [
        ("binary_cross_entropy", "sigmoid", [0.62], [1.0]),  # ŷ = σ(0.62) = 0.65022
        ("cross_entropy", "softmax", [0.62, 0.0], [1.0, 0.0]),  # ŷ₁ = e^0.62/(e^0.62 + 1) = 0.65022
    ],
)
def test_cross_entropy_from_the_rounded_output_follows_from_it(tmp_path: Path, loss: str, output: str, bias, y) -> None:
    """a_out = 0.65 ok, loss = −ln 0.65 = 0.4308 (exact 0.4304), ∂L/∂a = −1/0.65: all from the rounded a."""
    net = one_output_network(tmp_path, loss, output, bias, y)
    a = "a_out" if len(y) == 1 else "a_out1"
    answers = tmp_path / "answers.toml"
    answers.write_text(f'{a} = "0.65"\nloss = "{-math.log(0.65):.4f}"\n"dL/d{a}" = "{-1 / 0.65:.4f}"\n')
    result = run(net, answers)
    assert result[a]["status"] == "ok" and result["loss"]["exact"] == pytest.approx(0.43044, abs=1e-5)
    for name in ("loss", f"dL/d{a}"):
        assert result[name]["status"] == "rounding", result[name]
        assert result[name]["diagnosis"][0]["sources"] == [a]
        assert result[name]["diagnosis"][0]["detail"] == f"follows from the rounded {a} = 0.65"


def test_last_digit_is_rounding_only_when_rounding_gives_it(tmp_path: Path) -> None:
    # a loss of exactly 0.768809 (binary cross-entropy of ŷ = e^−0.768809): published as 0.767
    a = math.exp(-0.768809)
    net = one_output_network(tmp_path, "binary_cross_entropy", "sigmoid", [math.log(a / (1 - a))], [1.0])
    answers = tmp_path / "answers.toml"
    answers.write_text('loss = "0.767"\n')
    (claim,) = run(net, answers).values()
    assert claim["exact"] == pytest.approx(0.768809, abs=1e-12)
    assert claim["status"] == "wrong" and diagnoses({"loss": claim}, "loss") == [("slip", "last_digit")]
    assert "off by 2 in the last digit, which no rounding gives" in claim["diagnosis"][0]["detail"]
    # Han & Kamber's O6 = 0.473889 written 0.472: wrong; written 0.474 (rounded up): ok
    hk = Path(__file__).parent / "published" / "han-kamber.toml"
    answers.write_text('a_out = "0.472"\n')
    assert run(hk, answers)["a_out"]["status"] == "wrong"
    answers.write_text('a_out = "0.4739"\n"da_out/dz_out" = "0.2494"\n')  # 0.249318 rounded up
    result = run(hk, answers)
    assert result["da_out/dz_out"]["status"] == "rounding"
    assert (
        result["da_out/dz_out"]["diagnosis"][0]["detail"] == "the exact 0.249318 rounded up instead of to the nearest"
    )


# -- the same, as properties over random networks --------------------------------------------------


def _random_net(seed: int, batch: object = None) -> Network:
    loss, output = CASES[seed % len(CASES)]
    doc = random_document(np.random.default_rng(seed), loss, output)
    if batch is not None:
        doc["training"]["batch"] = batch
    return netfile.from_dict(doc)


@pytest.mark.parametrize("seed", range(12))
def test_one_slip_among_right_numbers_is_offered_no_mistake_they_contradict(tmp_path: Path, seed: int) -> None:
    """Every number of the step claimed right but one gradient written with the wrong sign: every
    known mistake that reproduces it would move a claim written right, so none is offered."""
    for tried in range(seed * 100, seed * 100 + 100):  # the first network whose step moves a parameter
        net = _random_net(tried)
        exact = explain_step(net).values
        grads = [k for k in exact if k.startswith("dL/d") and "#" not in k and k[4:] in net.parameters()]
        name = max(grads, key=lambda k: abs(exact[k]))
        if abs(exact[name]) > 1e-3:
            break
    values = dict(exact)
    values[name] = -exact[name]
    path = tmp_path / f"net{seed}.toml"
    netfile.save(net, path)
    result = run(path, write_answers(tmp_path, values, list(values), places=8))
    assert [n for n, c in result.items() if c["status"] == "wrong"] == [name]
    assert diagnoses(result, name) == [("slip", "")]


@pytest.mark.parametrize("seed", range(12))
def test_a_rounding_verdict_is_always_reproduced(tmp_path: Path, seed: int) -> None:
    """Numbers off by 0.5 to 2.5 units of their last place: called rounding only with a value that
    agrees with the claim to one unit (rounded up or down), never as a bare 'last digit'."""
    net = _random_net(seed)
    exact = explain_step(net).values
    rng = np.random.default_rng(seed)
    values = {k: v + float(rng.choice([-1, 1]) * rng.uniform(0.5, 2.5)) * 1e-3 for k, v in exact.items()}
    path = tmp_path / f"net{seed}.toml"
    netfile.save(net, path)
    result = run(path, write_answers(tmp_path, values, list(values), places=3))
    for c in result.values():
        if c["status"] == "rounding":
            assert abs(c["claimed"] - c["diagnosis"][0]["value"]) <= 1e-3 * (1 + 1e-9) + 1e-15, c
        if abs(c["claimed"] - c["exact"]) > 1e-3 * (1 + 1e-9) and c["status"] == "rounding":
            assert c["diagnosis"][0]["kind"] != "last_digit", c


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_any_loss_worked_from_rounded_outputs_follows_from_them(tmp_path: Path, seed: int) -> None:
    """Cross-entropy (binary or categorical) of the outputs as written to 3 places is never wrong."""
    loss = ("binary_cross_entropy", "cross_entropy")[seed % 2]
    doc = random_document(np.random.default_rng(seed), loss, "sigmoid" if seed % 2 == 0 else "softmax")
    doc["training"]["batch"] = "online"
    net = netfile.from_dict(doc)
    exact = explain_step(net).values
    outs = [f"a_{n}" for n in net.output_layer.neuron_names]
    a = np.array([round(exact[o], 3) for o in outs]).clip(1e-3, 1 - 1e-3)
    y = np.array([exact[f"y_{n}"] for n in net.output_layer.neuron_names])
    by_hand = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) if seed % 2 == 0 else -np.sum(y * np.log(a))
    path = tmp_path / "net.toml"
    netfile.save(net, path)
    answers = tmp_path / "answers.toml"
    answers.write_text(
        "".join(f'{o} = "{x:.3f}"\n' for o, x in zip(outs, a, strict=True)) + f'loss = "{by_hand:.4f}"\n'
    )
    result = run(path, answers)
    assert result["loss"]["status"] in ("ok", "rounding"), result["loss"]
