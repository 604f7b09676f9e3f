"""`chainrule functions`: the catalogue, the calculator and the figures.

The engine's own value/derivative table against PyTorch is tests/test_functions.py; here the
questions are whether what the catalogue and calculator *print* is right (finite differences,
the reference document's numbers), equals what the engine computes, and covers every entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from chainrule.cli.root import main
from chainrule.engine import catalogue
from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.io import netfile
from chainrule.record.step import explain_step

ROOT = Path(__file__).resolve().parent.parent

ACTS, LOSS_NAMES = catalogue.canonical_names()
ALIASES = {"silu": "swish", "linear": "identity", "step": "binary_step", "logistic": "sigmoid"}

# 50 points: a spread through the interesting region, close to 0 either side (but not on a
# kink), and large |z| where exp overflows if a function is computed carelessly.
Z50 = [*np.linspace(-7.0, 7.0, 44).tolist(), -500.0, -30.0, -1e-3, 1e-3, 30.0, 500.0]


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(main, ["functions", *args])


def ok_json(runner: CliRunner, *args: str) -> Any:
    result = run(runner, *args, "--format", "json")
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(result.output)


def central(f: Any, x: np.ndarray, i: int) -> np.ndarray:
    """∂f/∂x_i by central differences, with a step scaled to |x_i| so large x stay accurate."""
    h = 1e-6 * max(1.0, abs(float(x[i])))
    up, down = x.copy(), x.copy()
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (up[i] - down[i])


# --------------------------------------------------------------------------------------------
# Completeness: a new registry entry cannot be added without its catalogue text


@pytest.mark.parametrize("name", ACTS)
def test_every_activation_has_complete_catalogue_text(name: str) -> None:
    act = ACTIVATIONS[name]
    for field in ("symbol", "formula", "derivative_formula", "description", "output_range", "use", "caveats"):
        assert getattr(act, field).strip(), f"{name}: {field} is empty"
    for field in ("plain", "derivative_plain", "derivative_words"):
        assert getattr(act, field).strip(), f"{name}: {field} is empty"
    if not act.elementwise:
        assert act.jacobian_plain.strip(), f"{name}: not element-wise, so it needs jacobian_plain"


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_has_complete_catalogue_text(name: str) -> None:
    loss = LOSSES[name]
    for field in ("formula", "gradient_formula", "description", "use", "caveats", "plain", "gradient_plain"):
        assert getattr(loss, field).strip(), f"{name}: {field} is empty"
    assert loss.output_range.strip(), f"{name}: output_range is empty"
    if loss.fused_activation:
        assert loss.fused_formula.strip() and loss.fused_plain.strip(), f"{name}: fused shortcut text missing"


def test_catalogue_lists_every_registry_entry_once(runner: CliRunner) -> None:
    doc = ok_json(runner)
    names = [f["name"] for f in doc["functions"]]
    assert sorted(names) == sorted({a.name for a in ACTIVATIONS.values()} | set(LOSSES))
    assert len(names) == len(set(names))
    shown_aliases = {alias: f["name"] for f in doc["functions"] for alias in f["aliases"]}
    assert shown_aliases == ALIASES

    text = run(runner).output
    headings = [line.split()[0] for line in text.splitlines() if line.rstrip().endswith("─") and line[0] != "─"]
    assert headings == names  # one heading each, aliases beside it
    assert "(also silu)" in text and "(also logistic)" in text
    md = run(runner, "--format", "markdown").output
    assert md.count("\n### `") == len(names)
    for entry in catalogue.entries():
        assert f"$${entry.formula_latex}$$" in md and f"$${entry.derivative_latex}$$" in md


@pytest.mark.parametrize(("alias", "name"), sorted(ALIASES.items()))
def test_aliases_are_accepted_and_shown_once(runner: CliRunner, alias: str, name: str) -> None:
    doc = ok_json(runner, alias, name, "0.5")
    assert [v["name"] for v in doc["values"]] == [name]
    assert [f["name"] for f in ok_json(runner, alias)["functions"]] == [name]


def test_softmax_shows_its_jacobian_and_the_cross_entropy_shortcut(runner: CliRunner) -> None:
    text = run(runner, "softmax").output
    assert "∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ)" in text
    assert "softmax output with cross_entropy loss: ∂L/∂zᵢ = ŷᵢ − yᵢ" in text
    assert "Jacobian" in text
    md = run(runner, "softmax", "--format", "markdown").output
    assert r"$$\frac{\partial a_i}{\partial z_j} = a_i(\delta_{ij} - a_j)$$" in md
    assert r"\frac{\partial L}{\partial z_i} = \hat{y}_i - y_i" in md


# --------------------------------------------------------------------------------------------
# The calculator: what it prints is right


def test_calculator_prints_the_reference_documents_numbers(runner: CliRunner) -> None:
    text = run(runner, "sigmoid", "0.3775", "1.1059").output
    rows = [line.split() for line in text.splitlines() if line.strip().startswith(("0.3775", "1.1059"))]
    # z, σ(z) at full precision, ≈ 4 d.p., σ'(z), ≈: the document's 0.5933, 0.7514, 0.2413, 0.1868
    assert [r[0] for r in rows] == ["0.3775", "1.1059"]
    assert [r[2] for r in rows] == ["0.5933", "0.7514"] and [r[4] for r in rows] == ["0.2413", "0.1868"]
    assert [float(r[1]) for r in rows] == [0.5932699921071872, 0.7513639548107818]
    loss = run(runner, "half_squared_error", "0.7514", "0.01").output
    assert "≈ 0.2748" in loss and "0.7414" in loss  # the document's loss and ∂L/∂ŷ


@pytest.mark.parametrize("name", [n for n in ACTS if ACTIVATIONS[n].elementwise])
def test_printed_derivative_equals_finite_differences(runner: CliRunner, name: str) -> None:
    act = ACTIVATIONS[name]
    alphas = [None] if act.alpha is None else [None, 0.2]
    for alpha in alphas:
        extra = [] if alpha is None else ["--alpha", str(alpha)]
        (v,) = ok_json(runner, name, *map(repr, Z50), *extra)["values"]
        p = act.alpha if alpha is None else alpha
        assert v["z"] == Z50 and (v["alpha"] is None) == (act.alpha is None)
        z = np.asarray(Z50)
        fd = [float(central(lambda x, p=p: act.value(x, p), z, i)[i]) for i in range(len(z))]
        np.testing.assert_allclose(v["derivative"], fd, rtol=1e-6, atol=1e-9, err_msg=f"{name} α={p}")
        assert all(np.isfinite(v["value"])) and all(np.isfinite(v["derivative"]))


@pytest.mark.parametrize(
    "z", [[1.0, 2.0, 3.0], [500.0, -500.0, 30.0], [-30.0, 0.0, 30.0, 1.0], [0.3775, 1.1059], [7.0] * 3]
)
def test_printed_softmax_jacobian_equals_finite_differences(runner: CliRunner, z: list[float]) -> None:
    (v,) = ok_json(runner, "softmax", *map(repr, z))["values"]
    x = np.asarray(z)
    fd = np.stack(
        [central(lambda t: ACTIVATIONS["softmax"].value(t[None, :], 0.0)[0], x, j) for j in range(len(z))], axis=1
    )
    np.testing.assert_allclose(v["jacobian"], fd, rtol=1e-6, atol=1e-9)  # J[i][j] = ∂aᵢ/∂zⱼ
    assert v["derivative"] == [v["jacobian"][i][i] for i in range(len(z))]
    assert sum(v["value"]) == pytest.approx(1.0, abs=1e-15)


def _loss_cases(name: str) -> list[tuple[list[float], list[float]]]:
    """50 examples (ŷ, y) per loss, large |ŷ| where the loss allows it, no point on a kink."""
    rng = np.random.default_rng(8)
    if name in ("half_squared_error", "squared_error", "mse"):
        return [([a, b], [rng.normal(), rng.normal()]) for a, b in zip(Z50, Z50[::-1], strict=True)]
    if name == "binary_cross_entropy":
        return [
            ([float(a)], [float(y)]) for a, y in zip(np.linspace(0.001, 0.999, 50), [0.0, 1.0, 0.3] * 17, strict=False)
        ]
    if name == "cross_entropy":
        cases = []
        for k in range(50):
            a = rng.uniform(0.01, 1.0, 3)
            cases.append(((a / a.sum()).tolist(), np.eye(3)[k % 3].tolist()))
        return cases
    binary = [([a], [s]) for a, s in zip(Z50[:25], [1.0, -1.0] * 13, strict=False)]
    multi = [(rng.normal(0.0, 2.0, 3).tolist(), np.eye(3)[k % 3].tolist()) for k in range(25)]
    return binary + multi


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_loss_gradient_equals_finite_differences(name: str) -> None:
    loss = LOSSES[name]
    for a, y in _loss_cases(name):
        v = catalogue.evaluate(name, [*a, *y])
        assert isinstance(v, catalogue.LossValues) and v.prediction == tuple(a) and v.target == tuple(y)
        yy = np.asarray(y)[None, :]
        fd = [float(central(lambda t, yy=yy: loss.value(t[None, :], yy), np.asarray(a), i)[0]) for i in range(len(a))]
        np.testing.assert_allclose(v.gradient, fd, rtol=1e-6, atol=1e-8, err_msg=f"{name} ŷ={a} y={y}")


@pytest.mark.parametrize("name", ACTS)
def test_calculator_values_equal_the_engines(runner: CliRunner, name: str) -> None:
    """The numbers `chainrule functions NAME z…` prints are the engine's, bit for bit: a layer whose
    z are exactly the user's (one input 1, weights z, bias 0), worked by explain_step."""
    z = [0.3775, 1.1059, -2.5, -30.0, 500.0, -500.0]
    net = netfile.from_dict(
        {
            "inputs": ["x1"],
            "loss": "half_squared_error",
            "layers": [{"name": "h", "units": len(z), "activation": name, "weights": [[v] for v in z], "bias": 0.0}],
            "examples": [{"x": [1.0], "y": [0.0] * len(z)}],
        }
    )
    engine = explain_step(net).values
    (v,) = ok_json(runner, name, *map(repr, z))["values"]
    for i in range(len(z)):
        assert engine[f"z_h{i + 1}"] == v["z"][i]
        assert engine[f"a_h{i + 1}"] == v["value"][i]
        assert engine[f"da_h{i + 1}/dz_h{i + 1}"] == v["derivative"][i]
    if v.get("jacobian") is not None:  # softmax: the engine's backward through the printed Jacobian
        grad_a = np.asarray([engine[f"dL/da_h{i + 1}"] for i in range(len(z))])
        grad_z = np.asarray([engine[f"dL/dz_h{i + 1}"] for i in range(len(z))])
        np.testing.assert_allclose(grad_a @ np.asarray(v["jacobian"]), grad_z, rtol=1e-12, atol=1e-300)


def test_loss_calculator_equals_the_engines_loss(runner: CliRunner) -> None:
    doc = ok_json(runner, "cross_entropy", "0.7", "0.2", "0.1", "1", "0", "0")
    (v,) = doc["values"]
    a, y = np.array([[0.7, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]])
    assert v["loss"] == float(LOSSES["cross_entropy"].value(a, y)[0]) == pytest.approx(-np.log(0.7), rel=1e-15)
    assert v["gradient"] == LOSSES["cross_entropy"].gradient(a, y)[0].tolist()


def test_calculator_negative_numbers_and_markdown(runner: CliRunner) -> None:
    (v,) = ok_json(runner, "tanh", "-0.5", "−1", "-1e3")["values"]
    assert v["z"] == [-0.5, -1.0, -1000.0] and v["value"][2] == -1.0
    md = run(runner, "tanh", "-0.5", "--format", "markdown").output
    assert "| −0.5 | −0.46211715726000974 | −0.4621 |" in md and r"$$\tanh(z) =" in md


def test_alpha_goes_to_the_functions_that_take_one_and_output_to_a_file(runner: CliRunner, tmp_path: Path) -> None:
    relu, leaky = ok_json(runner, "relu", "leaky_relu", "-2", "--alpha", "0.2")["values"]
    assert relu["alpha"] is None and relu["value"] == [0.0]
    assert leaky["alpha"] == 0.2 and leaky["value"] == [-0.4] and leaky["derivative"] == [0.2]
    out = tmp_path / "gelu.txt"
    assert run(runner, "gelu", "-1", "--digits", "6", "-o", str(out)).exit_code == 0
    assert "−0.15865525393145707    −0.158655" in out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit 2


def _error(runner: CliRunner, *args: str) -> str:
    result = run(runner, *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    return lines[0]


def test_unknown_name_lists_the_known_ones(runner: CliRunner) -> None:
    line = _error(runner, "sigmod", "0.5")
    assert line.startswith("chainrule: unknown function 'sigmod' (did you mean sigmoid?); known activations: ")
    for name in [*ACTS, *LOSS_NAMES, *ALIASES]:
        assert name in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sigmoid", "0.3775", "1.1O59"), "argument 3 '1.1O59': expected a number"),
        (("sigmoid", "0.5", "tanh"), "argument 3 'tanh': expected a number (function names come first)"),
        (("0.5",), "argument 1 '0.5': expected a function name first"),
        (("sigmoid", "nan"), "argument 2 'nan': expected a finite number"),
        (("mse", "0.5", "0.1", "0.2"), "mse: expected ŷ then y, as many of each (got 3 numbers)"),
        (("sigmoid", "1", "--alpha", "0.2"), "--alpha: none of sigmoid takes an α"),
        (("sigmoid", "--bogus"), "no such option: --bogus"),
        (("relu", "--plot", "f.csv"), "--plot f.csv: expected a file name ending in one of .png, .svg"),
        (("relu", "--plot", "f.png", "--range", "5,-5"), "--range '5,-5': expected LOW,HIGH with LOW < HIGH"),
        (("mse", "--plot", "f.png"), "mse is a loss; only activations can be drawn"),
    ],
)
def test_bad_input_says_which_argument(runner: CliRunner, args: tuple[str, ...], expected: str) -> None:
    assert expected in _error(runner, *args)


def test_docs_catalogue_is_the_commands_output(runner: CliRunner) -> None:
    """docs/functions-catalogue.md is `chainrule functions --format markdown`, so it cannot drift."""
    docs = (ROOT / "docs" / "functions-catalogue.md").read_text(encoding="utf-8")
    assert docs == run(runner, "--format", "markdown").output, (
        "regenerate: chainrule functions --format markdown -o docs/functions-catalogue.md"
    )


# --------------------------------------------------------------------------------------------
# Figures


def test_figure_one_panel_each_derivative_dashed_axes_labelled() -> None:
    from chainrule.plots.functions import build_figure

    fig = build_figure(["tanh", "relu", "gelu"], marks=[0.5])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["tanh", "relu", "gelu"]
    for ax in panels:
        styles = [line.get_linestyle() for line in ax.get_lines() if len(line.get_xdata()) > 2]
        assert styles.count("-") >= 1 and styles.count("--") == 1
        assert ax.get_xlabel() == "z"
    assert panels[0].get_ylabel() == "f(z) and f′(z)"
    overlay = build_figure(["tanh", "relu", "gelu"], overlay=True)
    assert len([ax for ax in overlay.axes if ax.get_visible()]) == 1
    assert len(overlay.axes[0].get_legend().get_texts()) == 6


def test_a_jump_is_drawn_as_a_gap() -> None:
    from chainrule.plots.functions import broken

    z = np.linspace(-1.0, 1.0, 9)  # no sample at a jump's exact place: a vertical line would be false
    zz, yy = broken(z, (z > 0).astype(float))
    assert np.isnan(yy).sum() == 1 and np.isnan(zz).sum() == 1
    smooth = broken(z, np.tanh(z))[1]
    assert not np.isnan(smooth).any()


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_plot_writes_png_or_svg_by_extension(runner: CliRunner, tmp_path: Any, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"act{suffix}"
    result = run(runner, "tanh", "relu", "silu", "--plot", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert f"wrote {out}: tanh, relu, swish and their derivatives" in result.output
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind


def test_matplotlib_is_imported_only_for_a_plot() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom chainrule.cli.root import main\n"
        "r = CliRunner().invoke(main, ['functions', 'sigmoid', '0.5'])\n"
        "assert r.exit_code == 0, r.output\nassert 'matplotlib' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
