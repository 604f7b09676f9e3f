"""The step in matrix form (record/matrix.py, views/story_matrix.py, `explain --form matrix`).

The matrices are computed by matrix products from the inputs and parameters alone; the scalar
form is the engine's step record. They must agree entry by entry on random networks of every
loss/output pair, batches and both reductions included, and every format must show them.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.matrix import MatrixStep, Named, matrix_step
from chainrule.record.step import StepRecord, explain_step
from chainrule.views.doc import Matrix, MatrixEquation
from chainrule.views.story_matrix import matrix_story
from helpers import CASES, assert_one_line, odd_document, pdflatex, random_document

EXAMPLES = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples"

RANDOM_PER_CASE = 4


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))


def _agrees(record: StepRecord, named: Named) -> int:
    """Every named entry equals the record's scalar of that name; returns how many were compared."""
    compared = 0
    for r, row in enumerate(named.names):
        for c, name in enumerate(row):
            if name and name in record.values:
                got, want = float(named.values[r, c]), record.values[name]
                assert _close(got, want), (name, got, want)
                compared += 1
    return compared


def _every_matrix(step: MatrixStep) -> list[Named]:
    out = [step.x, step.y]
    for layer in step.layers:
        out += [layer.weight, layer.prev, layer.z, layer.a, layer.d_a, layer.delta, layer.d_weight, layer.weight_new]
        out += [m for m in (layer.bias, layer.derivative, layer.d_bias, layer.bias_new) if m is not None]
    return out


def _random_records() -> list[tuple[str, StepRecord]]:
    rng = np.random.default_rng(1515)
    out = []
    for loss, output in CASES:
        for i in range(RANDOM_PER_CASE):
            doc = random_document(rng, loss, output)
            if i == 0:  # a batch of several examples, whatever the draw said
                doc["training"]["batch"] = "full"
            if i == 1:  # a frozen weight keeps its value in W_new
                doc["training"]["freeze"] = ["w1"]
            net = netfile.from_dict(doc, source=f"{loss}-{output}-{i}.json")
            out.append((f"{loss}/{output}/{i}", explain_step(net, 0)))
    return out


RECORDS = _random_records()


@pytest.mark.parametrize("label,record", RECORDS, ids=[label for label, _ in RECORDS])
def test_matrix_form_agrees_with_the_scalar_form_entry_by_entry(label: str, record: StepRecord) -> None:
    step = matrix_step(record)
    n = len(record.examples)
    compared = sum(_agrees(record, m) for m in _every_matrix(step))
    # Every parameter, its gradient and its new value, and z, a, ∂L/∂a, δ of every neuron and example.
    neurons = sum(len(layer.neurons) for layer in record.layers)
    assert compared >= 3 * sum(not u.param.startswith("alpha") for u in record.updates) + 4 * neurons * n
    assert _close(step.loss, record.values["loss"]), (step.loss, record.values["loss"])
    assert step.scale == (1 / n if record.reduction == "mean" else 1.0)
    for layer in step.layers:
        assert layer.z.shape == layer.a.shape == layer.delta.shape == (len(layer.info.neurons), n)
        assert layer.d_weight.shape == layer.weight.shape == (len(layer.info.neurons), layer.prev.shape[0])
        if layer.info.alpha_name:
            assert layer.d_alpha is not None
            assert _close(layer.d_alpha, record.values[f"dL/d{layer.info.alpha_name}"])


def test_the_random_sample_covers_every_form_the_matrices_take() -> None:
    """Batches under both reductions, the three bias forms, a learnable α, fused and unfused softmax."""
    seen = set()
    for _, r in RECORDS:
        n = len(r.examples)
        seen.add(("batch", r.reduction) if n > 1 else ("single",))
        seen |= {("bias", layer.bias_mode) for layer in r.layers}
        seen |= {("alpha",) for layer in r.layers if layer.alpha_name}
        if r.layers[-1].activation == "softmax":
            seen.add(("softmax", r.fused))
        seen |= {("frozen",) for u in r.updates if u.frozen and u.new == u.old}
    assert seen >= {
        ("batch", "mean"),
        ("batch", "sum"),
        ("single",),
        ("bias", "shared"),
        ("bias", "neuron"),
        ("bias", "none"),
        ("alpha",),
        ("softmax", True),
        ("softmax", False),
        ("frozen",),
    }, seen


# -- every format ----------------------------------------------------------------------------------


def _explain(path: Path, *options: str) -> str:
    result = CliRunner().invoke(main, ["explain", str(path), "--form", "matrix", *options])
    assert result.exit_code == 0, (path.name, options, result.output[-2000:])
    return result.output


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One network with hostile names for every loss/output pair, a few as batches."""
    root = tmp_path_factory.mktemp("odd")
    rng = np.random.default_rng(1516)
    paths = []
    for i, case in enumerate(CASES):
        doc = odd_document(rng, *case)
        if i % 2:
            doc["training"]["batch"] = "full"
        path = root / f"odd{i}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        paths.append(path)
    return paths


def _compile(workdir: Path, tex: str) -> tuple[int, str]:
    workdir.mkdir()
    (workdir / "doc.tex").write_text(tex, encoding="utf-8")
    run = pdflatex(workdir, "doc.tex")
    return run.returncode, run.stdout[-3000:]


def test_latex_of_the_matrix_form_compiles_for_hostile_names_and_large_layers(
    odd_files: list[Path], tmp_path: Path
) -> None:
    assert shutil.which("pdflatex")
    files = [*odd_files, EXAMPLES / "spirals.toml"]
    texs = [_explain(p, "--format", "latex") for p in files]
    assert all(r"\begin{bmatrix}" in t for t in texs)
    assert r"\vdots" in texs[-1] and r"\cdots" in texs[-1] and r"\ddots" in texs[-1]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_compile, [tmp_path / f"d{i}" for i in range(len(texs))], texs))
    for path, (status, log) in zip(files, results, strict=True):
        assert status == 0, (path.name, log)


def test_every_format_shows_the_matrices(odd_files: list[Path]) -> None:
    for path in odd_files:
        text = _explain(path)
        md = _explain(path, "--format", "markdown")
        page = _explain(path, "--format", "html")
        assert "⎡" in text or "[ " in text, path.name
        assert "Shapes: " in text and "Shapes: " in md
        assert md.count(r"\begin{bmatrix}") == md.count(r"\end{bmatrix}") > 0
        assert "<mtable" in page and "chainruleword" not in page
        assert "<b>" not in page.replace("&lt;b&gt;", "")  # a name never becomes markup
        # Each parameter's gradient is tied to its entry in the table, in every format.
        record = explain_step(netfile.load(path), 0)
        first = record.updates[0].param
        assert f"∂L/∂{first}" in text.replace(" ", "") or first.startswith("alpha"), path.name


def test_json_has_every_matrix_by_layer_named_like_the_scalars(odd_files: list[Path]) -> None:
    for path in [*odd_files, EXAMPLES / "spirals.toml"]:
        data = json.loads(_explain(path, "--format", "json"))
        values, matrices = data["values"], data["matrices"]
        assert matrices["examples_as"] == "columns"
        n = len(data["step"]["examples"])
        assert matrices["scale"] == (1 / n if data["step"]["reduction"] == "mean" else 1)
        seen = 0
        for layer in matrices["layers"]:
            for key in ("W", "b", "Z", "A", "delta", "dL/dW", "dL/db", "W_new"):
                m = layer[key]
                if m is None:
                    continue
                assert np.shape(m["values"]) == tuple(m["shape"]) == np.shape(m["names"])
                for row_v, row_n in zip(m["values"], m["names"], strict=True):
                    for v, name in zip(row_v, row_n, strict=True):
                        assert _close(v, values[name]), (path.name, key, name)
                        seen += 1
        assert seen >= 2 * len(data["updates"]), path.name  # spirals: every one of its 337 weights too


# -- the reference example -------------------------------------------------------------------------


def test_reference_terminal_draws_brackets_and_ties_dL_dw5_to_entry_1_1() -> None:
    text = _explain(EXAMPLES / "forward-backprop.toml")
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "⎡ 0.15  0.2 ⎤" in line)
    assert "⎣ 0.25  0.3 ⎦" in lines[top + 1]  # W⁽¹⁾ over two lines, in brackets
    assert lines[top].index("⎡ 0.15") == lines[top + 1].index("⎣ 0.25")
    assert "Z⁽¹⁾ = W⁽¹⁾ A⁽⁰⁾ + b⁽¹⁾" in text and "Δ⁽¹⁾ = ∂L/∂A⁽¹⁾ ⊙ f′(Z⁽¹⁾)" in text
    assert "∂L/∂A⁽¹⁾ = (W⁽²⁾)ᵀ Δ⁽²⁾" in text
    assert re.search(r"∂L/∂w5\s+\(1, 1\)\s+∂L/∂W⁽²⁾\s+0\.0822", text)
    assert re.search(r"∂L/∂b1\s+\(1, 1\)\s+∂L/∂b⁽¹⁾\s+0\.0284", text)  # the shared bias: one 1 × 1 entry
    assert "Shapes: W⁽¹⁾ is 2 × 2, A⁽⁰⁾ is 2 × 1, b⁽¹⁾ is 1 × 1, Z⁽¹⁾ is 2 × 1." in text
    data = json.loads(_explain(EXAMPLES / "forward-backprop.toml", "--format", "json"))
    out = data["matrices"]["layers"][1]
    assert out["dL/dW"]["names"][0][0] == "dL/dw5"
    assert math.isclose(out["dL/dW"]["values"][0][0], 0.08216704056423078, rel_tol=1e-14)


def test_options_the_matrix_form_cannot_honour_are_refused_in_one_line() -> None:
    for extra in (["--hand", "4"], ["--only", "w5"], ["--figures", "figs"]):
        err = assert_one_line(["explain", "--form", "matrix", *extra])
        assert extra[0] in err and "--form matrix" in err


def test_large_layers_are_elided_and_say_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    doc = random_document(rng, "half_squared_error", "sigmoid")
    doc["inputs"] = 9
    doc["layers"] = [{"units": 8, "activation": "tanh", "bias": [0.1] * 8}, {"units": 2, "activation": "sigmoid"}]
    doc["examples"] = [{"x": rng.normal(size=9).tolist(), "y": [0.2, 0.7]} for _ in range(7)]
    doc["training"]["batch"] = "full"
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    text = _explain(path)
    assert "more than 6 rows or columns show their first 5 and their last" in text
    w1 = next(line for line in text.splitlines() if "⎡" in line and "⋯" in line)
    assert w1.count("⋯") == 1 and len(re.findall(r"−?\d+\.\d+|\b0\b", w1.split("⋯")[0])) >= 5
    assert "⋮" in text and "⋱" in text
    md = _explain(path, "--format", "markdown")
    first_w = re.search(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", md.split("Z^{({1})} = ")[1]).group(1)
    rows = first_w.split(r"\\")
    assert len(rows) == 7 and r"\vdots" in rows[5]  # 8 neurons: the first 5, dots, the last
    assert all(len(r.split("&")) == 7 for r in rows)  # 9 inputs: the first 5, dots, the last


# -- honest arithmetic -----------------------------------------------------------------------------


def _read(m: Matrix) -> np.ndarray | None:
    """A written matrix read back as a reader would (None where it is elided or not a plain number)."""
    try:
        return np.array([[float(e.replace("−", "-")) for e in row] for row in m.entries])
    except ValueError:
        return None


def _worked(terms: tuple[str | Matrix, ...]) -> tuple[np.ndarray, Matrix, bool] | None:
    """(what the shown operands give, the shown result, whether it says 'unrounded') for the
    equations whose operands are written out: M M, M M + M, M ⊙ M, M − η M; None for others."""
    mats = [i for i, t in enumerate(terms) if isinstance(t, Matrix)]
    unrounded = isinstance(terms[-1], str) and "unrounded" in terms[-1]
    if len(mats) < 3:
        return None
    result = terms[mats[-1]]
    assert isinstance(result, Matrix)
    ops = [_read(terms[i]) for i in mats[:-1]]  # type: ignore[arg-type]
    if any(o is None for o in ops) or _read(result) is None:
        return None
    between = [terms[i] for i in range(mats[0], mats[-2] + 1) if not isinstance(terms[i], Matrix)]
    a, b = ops[0], ops[1]
    assert a is not None and b is not None
    if between == []:
        got = a @ b
        if len(ops) == 3:
            assert terms[mats[1] + 1] == "+" and ops[2] is not None
            got = got + ops[2]
        return got, result, unrounded
    if between == [r"\odot"]:
        return a * b, result, unrounded
    if len(between) == 1 and isinstance(between[0], str) and between[0].startswith("- "):
        return a - float(between[0][2:]) * b, result, unrounded
    if len(ops) == 3 and between[1:] == [r"\left(", r"\odot"]:  # W − η (M ⊙ ∂L/∂W), M 0 where frozen
        assert isinstance(between[0], str) and ops[2] is not None
        return a - float(between[0][2:]) * (b * ops[2]), result, unrounded
    return None


@pytest.mark.parametrize("digits", [2, 4])
def test_every_worked_matrix_gives_its_shown_result_or_says_it_used_unrounded_values(digits: int) -> None:
    """Redo each written-out product, ⊙ and update with the shown numbers: the shown result is
    their rounding at its shown places, or the equation says it came from unrounded values."""
    checked = honest = masked = 0
    for _, record in RECORDS:
        for b in matrix_story([record], digits):
            if not isinstance(b, MatrixEquation) or (worked := _worked(b.terms)) is None:
                continue
            got, result, unrounded = worked
            checked += 1
            masked += r"M \odot" in str(b.terms[1])  # an update with a frozen weight
            if unrounded:
                continue
            honest += 1
            for row_got, row_shown in zip(got, result.entries, strict=True):
                for g, s in zip(row_got, row_shown, strict=True):
                    places = len(s.partition(".")[2]) if "e" not in s else 15
                    assert abs(g - float(s.replace("−", "-"))) <= 0.5 * 10.0**-places * (1 + 1e-9) + 1e-15, (b, g, s)
    assert checked > 500 and honest > 100 and masked > 0, (checked, honest, masked)
