"""`chainrule explain`: the options, batches, the delta form, and the JSON output's names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.step import explain_step
from conftest import EXAMPLES


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.output


def test_digits_changes_what_is_shown_not_what_is_computed() -> None:
    six = run("explain", "--digits", "6")
    assert "0.082167 · " not in six  # the product line starts with the factors
    assert "≈ 0.082167" in six and "0.741365 · 0.186816 · 0.593270" in six
    assert json.loads(run("explain", "--format", "json", "--digits", "2"))["values"]["dL/dw5"] == pytest.approx(
        0.08216704056423078, rel=1e-15
    )


def test_only_one_parameter() -> None:
    text = run("explain", "--only", "w3")
    assert "∂L/∂w3" in text and "∂L/∂w5\n" not in text
    assert "0.249625" in text


def test_only_an_unknown_parameter_is_a_clear_error() -> None:
    result = CliRunner().invoke(main, ["explain", "--only", "w9"])
    assert result.exit_code == 2 and "w9" in result.stderr and "w1" in result.stderr


def test_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "step.json"
    run("explain", "--format", "json", "-o", str(out))
    assert json.loads(out.read_text())["values"]["loss"] == pytest.approx(0.274811083176155, rel=1e-15)


def test_online_example_k_is_the_kth_example() -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    net.training.batch = "online"
    record = explain_step(net, 2)
    assert record.examples == (2,)
    assert record.values["x1"] == 1.0 and record.values["x2"] == 0.0


def test_full_batch_names_per_example_values_with_a_suffix() -> None:
    values = json.loads(run("explain", str(EXAMPLES / "xor.toml"), "--format", "json"))["values"]
    assert {"a_out#1", "a_out#4", "z_h2#3", "loss#2", "dL/dw1#4"} <= set(values)
    # the batch gradient is the mean of the per-example ones (reduction = "mean" is already in each)
    assert values["dL/dw1"] == pytest.approx(sum(values[f"dL/dw1#{k}"] for k in range(1, 5)), rel=1e-12)
    assert values["loss"] == pytest.approx(np.mean([values[f"loss#{k}"] for k in range(1, 5)]), rel=1e-14)


def test_minibatch_and_example_option() -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    net.training.batch = 3
    assert [list(b) for b in net.batches()] == [[0, 1, 2], [3]]
    assert explain_step(net, 1).examples == (3,)
    result = CliRunner().invoke(main, ["explain", str(EXAMPLES / "xor.toml"), "--example", "2"])
    assert result.exit_code == 2 and "--example 2" in result.stderr


def test_a_wide_network_uses_the_delta_form_and_says_so() -> None:
    text = run("explain", str(EXAMPLES / "softmax-classifier.toml"))
    assert "delta form" in text and "f′(z_j)·Σ_k w_kj·δ_k" in text
    # cross-entropy with softmax: ŷ − y, the mean over 3 examples shown as its 1/3
    assert "= (1/3)(a_out1⁽¹⁾ − y_out1⁽¹⁾) = (1/3)(0.2685 − 1) ≈ −0.2438" in text
    assert "= f′(z_h2⁽³⁾)(w8·δ_out1⁽³⁾ + w11·δ_out2⁽³⁾ + w14·δ_out3⁽³⁾)" in text


def test_the_binary_step_explains_its_zero_derivative(tmp_path: Path) -> None:
    path = tmp_path / "step.toml"
    path.write_text(
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "binary_step"\nweights = [[0.5]]\nbias = 0.1\n'
        '[[layers]]\nunits = 1\nactivation = "sigmoid"\nweights = [[1.0]]\n[[examples]]\nx = [1]\ny = [0]\n'
    )
    text = run("explain", str(path))
    assert "backpropagation cannot learn through it" in text
    assert json.loads(run("explain", str(path), "--format", "json"))["values"]["dL/dw1"] == 0.0


def test_frozen_parameters_keep_their_value(tmp_path: Path) -> None:
    path = tmp_path / "frozen.toml"
    path.write_text(
        (EXAMPLES / "forward-backprop.toml")
        .read_text()
        .replace("learning_rate = 0.5", 'learning_rate = 0.5\nfreeze = ["b1", "b2"]')
    )
    values = json.loads(run("explain", str(path), "--format", "json"))["values"]
    assert values["b1_new"] == 0.35 and values["b2_new"] == 0.6
    assert values["dL/db1"] == pytest.approx(0.028363995911784318, rel=1e-15)  # still computed
    assert "frozen" in run("explain", str(path))


def test_json_names_cover_every_value_the_issue_lists() -> None:
    values = json.loads(run("explain", "--format", "json"))["values"]
    for name in ["x1", "x2", "w1", "b1", "z_h1", "a_h1", "z_out", "a_out", "loss", "dL/dw5", "dL/db1"]:
        assert name in values
    for name in ["dL/da_h1", "dL/dz_h1", "dL/da_out", "dL/dz_out", "w5_new", "b1_new"]:
        assert name in values


def test_version_and_help() -> None:
    assert "chainrule" in run("--version")
    assert "explain" in run("--help")
