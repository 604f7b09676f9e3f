"""Every derivation worked, as a reader checks it: the kink at 0, Adam's t, softmax's Jacobian, dead units, the forms."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile

RELU_211: dict[str, Any] = {
    "title": "2-1-1 ReLU at its kink",
    "inputs": 2,
    "loss": "half_squared_error",
    "layers": [
        {"name": "h", "units": 1, "activation": "relu", "weights": [[0.1, 0.2]], "bias": -0.3},
        {"name": "out", "units": 1, "activation": "identity", "weights": [[0.5]], "bias": 0.0},
    ],
    "examples": [{"x": [1.0, 1.0], "y": [1.0]}],
    "training": {"learning_rate": 0.5},
}

NET_3421: dict[str, Any] = {
    "inputs": 3,
    "loss": "half_squared_error",
    "layers": [
        {"name": "h", "units": 4, "activation": "sigmoid"},
        {"name": "g", "units": 2, "activation": "tanh"},
        {"name": "out", "units": 1, "activation": "sigmoid"},
    ],
    "examples": [{"x": [1.0, 0.5, -0.5], "y": [1.0]}],
    "training": {"learning_rate": 0.5, "seed": 3},
}


def _explain(tmp_path: Any, doc: dict[str, Any], *args: str) -> str:
    path = tmp_path / "net.toml"
    path.write_text(netfile.dumps_toml(doc))
    result = CliRunner().invoke(main, ["explain", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_sum_that_is_zero_by_hand_is_zero_and_the_kink_convention_is_named(tmp_path: Any) -> None:
    out = _explain(tmp_path, RELU_211)
    assert re.search(r"z_h = x1·w1 \+ x2·w2 \+ b1\n +=  ?1 · 0\.1 \+ 1 · 0\.2 \+ \(−0\.3\)\n +=  ?0\n", out), out
    assert "∂a_h/∂z_h = 0, since z_h = 0 (at the kink the convention takes the slope for z ≤ 0: ReLU′(0) = 0)" in out
    assert "∂L/∂w1 = (−1) · 1 · 0.5 · 0 · 1 = 0" in out
    assert "No gradient flows through h in this step: z_h = 0" in out
    assert not re.search(r"e−1[5-9]|×10⁻¹[5-9]", out)  # no float noise shown for a value 0 on paper


def test_a_relu_derivative_is_a_sentence_with_its_reason(tmp_path: Any) -> None:
    doc = {**RELU_211, "layers": [{**RELU_211["layers"][0], "bias": 1.2}, RELU_211["layers"][1]]}
    out = _explain(tmp_path, doc)
    assert "∂a_h/∂z_h = 1, since z_h = 1.5 > 0" in out
    assert "∂ŷ/∂z_out = 1, the same for every z" in out  # the identity's slope


def test_adam_states_t_and_works_its_corrections(tmp_path: Any) -> None:
    doc = netfile.read_document(netfile.example_path())
    doc["training"] = {**doc["training"], "optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    out = _explain(tmp_path, doc, "--steps", "3", "--only", "w5")
    step3 = out.split("Step 3")[1]
    assert "This is update t = 3 of the run" in step3 and "1 − 0.9³ = 0.271" in step3
    assert re.search(r"m̂_w5 +=  ?\S+/\(1 − 0\.9³\) = \S+/\(1 − 0\.729\)", step3), step3


def test_softmax_jacobian_entries_are_worked_with_their_numbers() -> None:
    out = CliRunner().invoke(main, ["explain", str(netfile.example_path("softmax-classifier.toml"))]).output
    assert "∂a_out2⁽¹⁾/∂z_out1⁽¹⁾ = −a_out2⁽¹⁾·a_out1⁽¹⁾ = −0.3849 · 0.2685 ≈ −0.1034" in out
    assert "∂a_out1⁽¹⁾/∂z_out1⁽¹⁾ = a_out1⁽¹⁾(1 − a_out1⁽¹⁾) = 0.2685(1 − 0.2685) ≈ 0.1964" in out
    # the sum through the Jacobian comes to the shortcut, 1/3 of ŷ − y for the mean over 3 examples
    assert "= (1/3)(a_out1⁽¹⁾ − y_out1⁽¹⁾) ≈ −0.2438" in out


def test_the_delta_form_works_each_delta_once_on_a_3_4_2_1_network(tmp_path: Any) -> None:
    out = _explain(tmp_path, NET_3421, "--form", "delta")
    assert len(out.splitlines()) < 400
    for neuron in ("h1", "h2", "h3", "h4", "g1", "g2", "out"):
        assert len(re.findall(rf"^  δ_{neuron} +=", out, flags=re.M)) == 1, neuron
    paths = _explain(tmp_path, NET_3421, "--form", "paths")
    assert "delta form" not in paths and "reaches the loss along 2 paths" in paths
    assert re.search(r"∂L/∂w1 \(via g1\) = ∂L/∂ŷ · ∂ŷ/∂z_out", paths), paths


def test_the_softmax_latex_document_compiles_with_no_line_over_10pt(tmp_path: Any) -> None:
    from helpers import pdflatex

    tex = (
        CliRunner()
        .invoke(main, ["explain", str(netfile.example_path("softmax-classifier.toml")), "--format", "latex"])
        .output
    )
    (tmp_path / "doc.tex").write_text(tex)
    run = pdflatex(tmp_path, "doc.tex")
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    widths = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 10 for w in widths), widths
