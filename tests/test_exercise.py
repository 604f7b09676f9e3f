"""`chainrule exercise`: seeded, reproducible, pleasant by hand, and its key checks as all ok."""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.check.answers import Claim, load_answers
from chainrule.check.checker import check
from chainrule.check.exercise import Exercise, ExerciseSpec, answers_toml, ask_kind, check_spec, make_exercise
from chainrule.cli.root import main
from chainrule.errors import ChainruleError
from chainrule.io.netfile import from_dict
from helpers import pdflatex

KEY_FILES = ("net.toml", "answers.toml", "key.toml", "key.md", "key.html", "key.tex", "worksheet-network.svg")
WORKSHEETS = ("worksheet.md", "worksheet.tex", "worksheet.html")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "swish", "softplus", "identity", "prelu")
LOSSES = ("half_squared_error", "squared_error", "mse", "binary_cross_entropy", "cross_entropy", "hinge")


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def decimals(x: float) -> int:
    return max(0, -Decimal(repr(x)).as_tuple().exponent)  # type: ignore[operator]


def write_key(tmp: Path, text: str) -> Path:
    path = tmp / "key.toml"
    path.write_text(text)
    return path


specs = st.builds(
    ExerciseSpec,
    shape=st.sampled_from([(2, 2, 1), (2, 2, 2), (1, 2, 1), (3, 2, 2), (2, 3, 1), (2, 2, 2, 1)]),
    activation=st.sampled_from(ACTIVATIONS),
    loss=st.sampled_from(LOSSES),
    bias=st.sampled_from(["shared", "neuron", "none"]),
    examples=st.integers(1, 3),
    batch=st.sampled_from(["online", "full", 2]),
    learning_rate=st.sampled_from([0.1, 0.5, 1.0]),
    steps=st.integers(1, 2),
    ask=st.sampled_from([("forward",), ("gradients",), ("update",), ("forward", "gradients", "update")]),
    digits=st.sampled_from([3, 4, 5]),
)


def valid(spec: ExerciseSpec) -> bool:
    try:
        check_spec(spec)
    except ChainruleError:
        return False
    return True


@settings(max_examples=40)
@given(spec=specs, seed=st.integers(0, 10**6))
def test_every_key_checks_as_all_ok_and_its_numbers_are_pleasant(spec: ExerciseSpec, seed: int) -> None:
    assume(valid(spec))
    try:
        ex = make_exercise(spec, seed, 1, from_dict)
    except ChainruleError as exc:  # a kind whose draws are rarely pleasant (2-2-2-1 sigmoid at 3 digits): said so
        assert str(exc).startswith(f"--seed {seed}: expected pleasant numbers within ")
        return
    report = check(ex.network, load_answers_text(ex), "key")
    assert report.count("ok") == len(ex.asked) == len(report.claims)
    # inputs, weights and biases have at most two decimals; targets one
    doc = ex.document
    for layer in doc["layers"]:
        numbers = [w for row in layer["weights"] for w in row] + list(
            layer.get("bias", []) if isinstance(layer.get("bias"), list) else [layer.get("bias", 0.0)]
        )
        assert all(decimals(w) <= 2 and w != 0 for w in numbers[: len(numbers) - ("bias" not in layer)])
    for example in doc["examples"]:
        assert all(decimals(x) <= 1 and x != 0 for x in example["x"])
        assert all(decimals(y) <= 1 for y in example["y"])
    # nothing asked vanishes at the digits asked, and nothing asked is a given number
    zero_ok = spec.activation == "binary_step"
    out = ex.network.output_layer
    # a softmax layer's shared bias: ∂L/∂b = Σ(ŷ − y) = 0 whatever the numbers (to rounding)
    always_zero = {f"dL/d{b}" for b in out.bias_names} if out.activation.name == "softmax" else set()
    for step, name in ex.asked:
        v = ex.records[step - 1].values[name]
        assert ask_kind(name, ex.network) in spec.ask
        exempt = zero_ok or name.startswith("dL/da_out")
        assert abs(v) >= 10.0 ** (1 - spec.digits) or (v == 0 and exempt) or (abs(v) < 1e-12 and name in always_zero)


def load_answers_text(ex: Exercise) -> list[Claim]:
    """The key as the answers file a student would hand in, read by the checker's own reader."""
    with tempfile.TemporaryDirectory() as tmp:
        return load_answers(write_key(Path(tmp), answers_toml(ex, filled=True)))


def test_the_issue_command_writes_every_file_and_its_key_checks_all_ok(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "ex7"
    run(runner, "exercise", *["--shape", "2-2-1", "--activation", "sigmoid", "--loss", "half_squared_error", "--seed", "7"],
        "--ask", "forward,gradients,update", "-o", str(out))  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == sorted(KEY_FILES + WORKSHEETS)
    blanks = tomllib.loads((out / "answers.toml").read_text())
    key = tomllib.loads((out / "key.toml").read_text())
    # both name the exercise they are for and the decimals asked
    assert blanks.pop("exercise") == key.pop("exercise") == {"id": "7.1", "digits": 4}
    assert set(blanks) == set(key) and len(key) == 32 and set(blanks.values()) == {""}
    assert {"z_h1", "loss", "dL/dw5", "w5_new", "b1_new"} <= set(key)
    result = runner.invoke(main, ["check", str(out / "net.toml"), str(out / "key.toml")])
    assert (
        result.exit_code == 0
        and "32 claims: 32 ok, 0 rounding, 0 too coarse, 0 follow-through, 0 wrong" in result.output
    )
    # the blank template is refused by check as it stands: nothing to check yet
    result = runner.invoke(main, ["check", str(out / "net.toml"), str(out / "answers.toml")])
    assert result.exit_code == 2 and "expected at least one claimed value" in result.output


def test_the_worksheet_gives_the_numbers_and_hides_the_answers(tmp_path: Path, runner: CliRunner) -> None:
    out = tmp_path / "ex"
    run(runner, "exercise", "--seed", "7", "-o", str(out))
    doc = tomllib.loads((out / "net.toml").read_text())
    md = (out / "worksheet.md").read_text()
    svg = (out / "worksheet-network.svg").read_text()
    given = [w for layer in doc["layers"] for row in layer["weights"] for w in row] + doc["examples"][0]["x"]
    for i, w in enumerate(given[:6]):
        assert f"| $w_{{{i + 1}}}$ | ${w}$ |" in md  # every weight given in the table, as math (a true minus)
    key = tomllib.loads((out / "key.toml").read_text())
    del key["exercise"]
    for name, written in key.items():
        assert f"| {name.replace('_', chr(92) + '_')} |" in md  # a row to fill in
        assert written not in md and written not in svg  # no answer given away
    assert svg.count(">?<") == 3  # h1, h2 and out: their activations are the student's
    assert "0.85" in svg and "0.55" in svg  # weights of seed 7 on the edges


def test_same_seed_gives_byte_identical_files_and_30_exercises_differ(tmp_path: Path, runner: CliRunner) -> None:
    for name in ("a", "b"):
        run(runner, "exercise", "--seed", "7", "--count", "30", "-o", str(tmp_path / name))
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) == 30 * 10 + 1
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    networks = {(a / f"exercise-{i:02d}" / "net.toml").read_text().partition("\n")[2] for i in range(1, 31)}
    assert len(networks) == 30
    index = (a / "index.md").read_text()
    assert all(f"| exercise-{i:02d} | 7.{i} |" in index for i in range(1, 31))
    # exercise 1 of a set is the single exercise of the same seed
    run(runner, "exercise", "--seed", "7", "-o", str(tmp_path / "single"))
    assert (tmp_path / "single" / "key.toml").read_bytes() == (a / "exercise-01" / "key.toml").read_bytes()


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "7"],
        [
            "--shape",
            "2-3-2",
            "--activation",
            "tanh",
            "--loss",
            "cross_entropy",
            "--bias",
            "neuron",
            "--examples",
            "3",
            "--steps",
            "2",
            "--learning-rate",
            "0.1",
        ],
    ],
)
def test_worksheet_and_key_latex_compile_with_pdflatex(tmp_path: Path, runner: CliRunner, args: list[str]) -> None:
    assert shutil.which("pdflatex")
    run(runner, "exercise", *args, "-o", str(tmp_path))
    for tex in ("worksheet.tex", "key.tex"):
        done = pdflatex(tmp_path, tex)
        assert done.returncode == 0, done.stdout[-2000:]
        assert (tmp_path / tex.replace(".tex", ".pdf")).stat().st_size > 1000


def test_several_steps_ask_each_update_under_its_own_table(tmp_path: Path, runner: CliRunner) -> None:
    run(runner, "exercise", "--examples", "2", "--steps", "2", "--ask", "update", "-o", str(tmp_path))
    key = tomllib.loads((tmp_path / "key.toml").read_text())
    assert set(key) == {*(f"{p}_new" for p in ("w1", "w2", "w3", "w4", "b1", "w5", "w6", "b2")), "step", "exercise"}
    assert len(key["step"]["2"]) == 8
    result = runner.invoke(main, ["check", str(tmp_path / "net.toml"), str(tmp_path / "key.toml")])
    assert result.exit_code == 0 and "16 claims: 16 ok" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--shape", "2-x-1"], "--shape 2-x-1: expected inputs-units-…-outputs"),
        (["--loss", "cross_entropy"], "--shape 2-2-1: expected 2 or more units for softmax"),
        (["--ask", "forward,answers"], "--ask forward,answers: expected some of forward,gradients,update"),
        (["--activation", "sigmoidal"], "--activation sigmoidal: expected one of"),
        (["--batch", "half"], '--batch: expected "online", "full" or a batch size ≥ 1, got \'half\''),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path: Path, runner: CliRunner, args: list[str], expected: str) -> None:
    result = runner.invoke(main, ["exercise", *args, "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.startswith(f"chainrule: {expected}") and result.output.count("\n") == 1
    assert not (tmp_path / "x").exists()
