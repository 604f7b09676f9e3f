"""`explain --gradcheck`: central differences beside the chain rule, on random networks, at kinks, in every format."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.gradcheck import STEP, TOLERANCE, gradcheck, relative_difference
from chainrule.record.step import explain_step, explain_steps
from helpers import CASES, odd_document, pdflatex, random_document


def _net(case: int, loss: str, output: str) -> Network:
    rng = np.random.default_rng(700 + case)
    return netfile.from_dict(random_document(rng, loss, output), source=f"random-{case}")


def test_the_reference_example_agrees_and_w5_is_the_worked_value(reference: Network) -> None:
    record = explain_step(reference)
    check = gradcheck(reference, record)
    by = {c.name: c for c in check.checks}
    w5 = by["w5"]
    assert w5.h == 1e-6 and w5.chain == 0.08216704056423078
    assert w5.numeric == pytest.approx(0.08216704056423078, rel=1e-9)
    # the central difference of the two losses it reports, as a reader would compute it
    assert (w5.loss_plus - w5.loss_minus) / (2 * w5.h) == pytest.approx(w5.numeric, rel=1e-6)
    assert all(c.relative <= TOLERANCE and not c.kink for c in check.checks)
    assert reference.parameters()["w5"] == 0.4  # the network checked is left as it was


@pytest.mark.parametrize(("case", "loss", "output"), [(i, lo, o) for i, (lo, o) in enumerate(CASES * 4)])
def test_random_networks_agree_to_1e_7_relative(case: int, loss: str, output: str) -> None:
    """Every loss/output pair, 1–4 layers, every bias form, batches: each parameter away from a kink agrees."""
    net = _net(case, loss, output)
    record = explain_step(net, int(np.random.default_rng(case).integers(0, len(net.batches()))))
    check = gradcheck(net, record)
    assert [c.name for c in check.checks] == net.parameter_names()
    for c in check.checks:
        assert c.h == STEP * max(1.0, abs(c.value))
        if c.kink:
            continue
        # agreement: 1e-7 relative, or (a gradient of 0) within the float64 rounding of the two losses
        assert c.relative <= TOLERANCE or abs(c.numeric - c.chain) <= c.resolution, (c, loss, output)
        assert c.resolution <= 1e-9 * max(1.0, abs(check.loss))
    assert check.agree


def test_nearly_every_check_agrees_by_the_relative_difference_alone() -> None:
    """The rounding allowance is for gradients of 0 (a softmax's shared bias) and for GELU, whose erf is
    float64 (math.erf) even where the rest of the loss is computed in extended precision."""
    count, by_resolution = 0, []
    for i, (loss, output) in enumerate(CASES * 2):
        net = _net(i, loss, output)
        gelu = any(layer.activation.name == "gelu" for layer in net.layers)
        for c in gradcheck(net, explain_step(net)).checks:
            count += 1
            if c.relative > TOLERANCE:
                by_resolution.append(c)
                assert abs(c.chain) < 1e-12 or gelu, c
    assert count > 500 and len(by_resolution) <= count // 100


def test_a_wrong_gradient_is_caught(reference: Network) -> None:
    record = copy.deepcopy(explain_step(reference))
    record.values["dL/dw5"] *= 1 + 1e-5  # a slip in the fifth significant digit
    check = gradcheck(reference, record)
    bad = [c.name for c in check.checks if not c.agrees]
    assert bad == ["w5"] and not check.agree


def test_a_kink_between_theta_minus_h_and_theta_plus_h_is_reported_not_compared() -> None:
    """z = 1·0.5 − 0.5 = 0 exactly: ReLU's kink. Moving the bias either way crosses it; the output weight does not."""
    doc = {
        "inputs": 1,
        "loss": "half_squared_error",
        "layers": [
            {"units": 1, "activation": "relu", "weights": [[0.5]], "bias": [-0.5]},
            {"units": 1, "activation": "identity", "weights": [[2.0]], "bias": [0.0]},
        ],
        "examples": [{"x": [1.0], "y": [1.0]}],
    }
    net = netfile.from_dict(doc)
    check = gradcheck(net, explain_step(net))
    kinks = {c.name: c.kink for c in check.checks}
    assert kinks == {"w1": True, "b_h": True, "w2": False, "b_out": False}
    w1 = next(c for c in check.checks if c.name == "w1")
    # the central difference there is the mean of the two one-sided slopes (0 and −2·x·…), not either
    assert w1.numeric != pytest.approx(w1.chain, rel=1e-3)
    assert check.agree  # a kink is not counted against the check


def test_a_later_step_is_checked_from_the_parameters_it_started_with(reference: Network) -> None:
    reference.training.batch = "online"
    for record in explain_steps(reference, 0, 3):
        assert gradcheck(reference, record).agree


def test_relative_difference() -> None:
    assert relative_difference(0.0, 0.0) == 0.0
    assert relative_difference(1.0, -1.0) == 2.0
    assert relative_difference(1.0, 1.0 + 1e-9) == pytest.approx(1e-9, rel=1e-6)


# -- the command line ----------------------------------------------------------------------------


def test_the_terminal_shows_the_table_h_and_one_parameter_worked(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--gradcheck"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "The chain rule, checked numerically" in out and "h = 10⁻⁶ · max(1, |θ|)" in out
    assert out.count("agrees") >= 8 and "DIFFERS" not in out
    assert "Worked for w5" in out and "0.0821670406" in out
    assert "L(w5 + h)" in out and "L(w5 − h)" in out


def test_only_works_that_parameter(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--gradcheck", "--only", "b1"])
    assert result.exit_code == 0, result.output
    assert "Worked for b1" in result.output and "0.0283639959" in result.output


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_documents_hold_the_check(runner: CliRunner, fmt: str) -> None:
    result = runner.invoke(main, ["explain", "--gradcheck", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "The chain rule, checked numerically" in result.output
    assert "0.0821670406" in result.output and "DIFFERS" not in result.output
    plain = runner.invoke(main, ["explain", "--format", fmt]).output
    assert "checked numerically" not in plain  # only when asked for


def test_json_holds_every_parameters_check(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--gradcheck", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    check = data["gradcheck"]
    assert check["h"] == "h = 10⁻⁶ · max(1, |θ|)" and check["agree"] is True
    w5 = next(p for p in check["parameters"] if p["name"] == "w5")
    assert w5["chain"] == data["values"]["dL/dw5"] and w5["agrees"] is True
    assert "gradcheck" not in json.loads(runner.invoke(main, ["explain", "--format", "json"]).output)
    steps = json.loads(runner.invoke(main, ["explain", "--gradcheck", "--format", "json", "--steps", "2"]).output)
    assert [s["gradcheck"]["agree"] for s in steps] == [True, True]


def test_latex_with_the_check_and_the_graph_compiles_with_odd_names(tmp_path: Path, runner: CliRunner) -> None:
    """A batch with hostile names: the table, the worked parameter and the graph's picture all reach the PDF."""
    doc = odd_document(np.random.default_rng(3), "half_squared_error", "tanh")
    doc["training"]["batch"] = "full"
    net_file = tmp_path / "odd.json"
    net_file.write_text(json.dumps(doc), encoding="utf-8")
    tex = tmp_path / "odd.tex"
    result = runner.invoke(main, ["explain", str(net_file), "--gradcheck", "--format", "latex", "-o", str(tex)])
    assert result.exit_code == 0, result.output
    run = pdflatex(tmp_path, tex.name)
    assert run.returncode == 0, run.stdout[-2000:]
    pdf = subprocess.run(["pdftotext", str(tmp_path / "odd.pdf"), "-"], capture_output=True, text=True).stdout
    assert "checked numerically" in pdf and "Computational graph" in pdf and "DIFFERS" not in pdf


def test_gradcheck_with_dot_is_one_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["explain", "--gradcheck", "--format", "dot"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "chainrule: --gradcheck: not with --format dot (the graph holds no table); use another --format"
    ]


def test_a_large_network_is_checked_one_named_parameter_at_a_time(tmp_path: Path, runner: CliRunner) -> None:
    """2 longdouble forward passes a parameter: past MAX_PARAMETERS only --only's parameter is checked."""
    rng = np.random.default_rng(0)
    doc = {
        "inputs": 40,
        "loss": "half_squared_error",
        "layers": [{"units": 60, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": rng.normal(size=40).tolist(), "y": [0.5]}],
    }
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    refused = runner.invoke(main, ["explain", str(path), "--gradcheck", "--format", "json"])
    assert refused.exit_code == 2 and "at most 2,000 parameters at once (this network has 2,460" in refused.output
    one = runner.invoke(main, ["explain", str(path), "--gradcheck", "--format", "json", "--only", "w2401"])
    assert one.exit_code == 0, one.output
    checked = json.loads(one.output)["gradcheck"]["parameters"]
    assert [c["name"] for c in checked] == ["w2401"] and checked[0]["agrees"] is True
