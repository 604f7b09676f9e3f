"""Every bad input the fuzzing pass found gets one line on stderr, exit 2, no traceback, no warning.

One plain test per reproducer; the property tests over generated files and arguments are in
test_fuzz.py. `assert_one_line` (helpers) checks the shape of the answer; each test here also
checks the line names the file, the key and what was expected.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.engine import limits
from conftest import EXAMPLES, ROOT
from helpers import assert_one_line

REFERENCE = EXAMPLES / "forward-backprop.toml"
ONE_SIGMOID = '"inputs": 1, "layers": [{"units": 1, "activation": "sigmoid", "weights": [[WEIGHT]]}]'


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _json_net(tmp_path: Path, weight: str = "0.5", extra: str = "") -> Path:
    body = "{" + ONE_SIGMOID.replace("WEIGHT", weight) + ', "examples": [{"x": [1], "y": [0]}]' + extra + "}"
    return _write(tmp_path / "net.json", body)


@pytest.mark.parametrize("name", ["deep.json", "deep.toml"])
def test_nesting_100000_deep(tmp_path: Path, name: str) -> None:
    text = "[" * 100_000 if name.endswith(".json") else "a = " + "[" * 100_000
    err = assert_one_line(["explain", str(_write(tmp_path / name, text))])
    assert name in err and "nested at most 64 deep" in err


def test_nesting_deep_but_readable_is_refused_at_the_depth_limit(tmp_path: Path) -> None:
    path = _json_net(tmp_path, extra=', "title": ' + "[" * 200 + "]" * 200)
    err = assert_one_line(["explain", str(path)])
    assert "CHAINRULE_MAX_DEPTH" in err


def test_answers_nested_100000_deep(tmp_path: Path) -> None:
    answers = _write(tmp_path / "answers.toml", "a = " + "[" * 100_000)
    err = assert_one_line(["check", str(REFERENCE), str(answers)])
    assert "answers.toml" in err and "nested" in err


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        (
            "net.json",
            "{" + ONE_SIGMOID.replace("WEIGHT", "1e400") + ', "examples": [{"x": [1], "y": [0]}]}',
            "weights[0][0]",
        ),
        (
            "net.json",
            "{" + ONE_SIGMOID.replace("WEIGHT", "9" * 5000) + ', "examples": [{"x": [1], "y": [0]}]}',
            "5,000 digits",
        ),
        ("net.toml", 'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\nbias = inf\n', "layers[0].bias"),
        ("net.toml", 'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\nbias = nan\n', "layers[0].bias"),
        ("net.toml", "inputs = " + "9" * 5000 + "\n", "4,300 digits"),
    ],
)
def test_numbers_beyond_float64_or_too_long(tmp_path: Path, name: str, text: str, key: str) -> None:
    err = assert_one_line(["explain", str(_write(tmp_path / name, text))])
    assert key in err and name in err


@pytest.mark.parametrize("where", ["title", "name"])
@pytest.mark.parametrize(
    "args", [["explain"], ["explain", "--format", "json"], ["train", "-q", "-o", "OUT"], ["predict"]]
)
def test_lone_surrogate_in_a_name(tmp_path: Path, where: str, args: list[str]) -> None:
    extra = ', "title": "\\ud800"' if where == "title" else ""
    path = _json_net(tmp_path, extra=extra)
    if where == "name":
        path.write_text(path.read_text().replace('"units": 1,', '"units": 1, "name": "h\\udfff",'))
    out = tmp_path / "out.toml"
    argv = [a.replace("OUT", str(out)) for a in args]
    err = assert_one_line([argv[0], str(path), *argv[1:]])
    assert "surrogate" in err and ("title" in err if where == "title" else "layers[0].name" in err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ('inputs = 1\n[[layers]]\nunits = 100000000000\nactivation = "sigmoid"\n', "CHAINRULE_MAX_UNITS"),
        ('inputs = 1000000000\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n', "CHAINRULE_MAX_INPUTS"),
        ('inputs = 1\n[[layers]]\nunits = 10000000\nactivation = "identity"\n', "CHAINRULE_MAX_UNITS"),
        ('inputs = 5000\n[[layers]]\nunits = 5000\nactivation = "relu"\n', "CHAINRULE_MAX_PARAMETERS"),
        ("inputs = 1\n" + '[[layers]]\nunits = 1\nactivation = "relu"\n' * 1001, "CHAINRULE_MAX_LAYERS"),
    ],
)
def test_sizes_over_the_limits_are_refused_before_allocation(tmp_path: Path, text: str, limit: str) -> None:
    path = _write(tmp_path / "net.toml", text + "[[examples]]\nx = [1]\ny = [0]\n")
    err = assert_one_line(["explain", str(path)])
    assert limit in err and "net.toml" in err and "expected at most" in err


def test_a_limit_is_raised_by_its_environment_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = 'inputs = 2\n[[layers]]\nunits = 3\nactivation = "relu"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n'
    path = _write(tmp_path / "net.toml", text + "[[examples]]\nx = [1, 2]\ny = [0]\n")
    monkeypatch.setenv("CHAINRULE_MAX_UNITS", "2")
    assert "CHAINRULE_MAX_UNITS=3" in assert_one_line(["explain", str(path)])
    monkeypatch.setenv("CHAINRULE_MAX_UNITS", "3")
    assert_one_line(["explain", str(path)], ok=(0,))
    monkeypatch.setenv("CHAINRULE_MAX_UNITS", "lots")
    assert "CHAINRULE_MAX_UNITS: expected a whole number" in assert_one_line(["explain", str(path)])


def test_explaining_more_parameters_than_the_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAINRULE_MAX_EXPLAINED", "5")
    assert "CHAINRULE_MAX_EXPLAINED" in assert_one_line(["explain", str(REFERENCE)])  # 8 parameters


def test_answers_step_beyond_the_limit(tmp_path: Path) -> None:
    answers = _write(tmp_path / "answers.toml", '[step.100000000]\nloss = "0.1"\n')
    err = assert_one_line(["check", str(REFERENCE), str(answers)])
    assert "[step.100000000]" in err and "CHAINRULE_MAX_STEPS" in err


def test_builtin_data_size_beyond_the_limit() -> None:
    err = assert_one_line(["train", str(REFERENCE), "-q", "--data", "xor", "--size", "1000000000"])
    assert "--size" in err and "CHAINRULE_MAX_EXAMPLES" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_not_read() -> None:
    assert "/dev/zero: expected a TOML or JSON network file, got a device" in assert_one_line(["explain", "/dev/zero"])


def test_a_file_over_the_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_MAX_BYTES", "100")
    assert "CHAINRULE_MAX_BYTES" in assert_one_line(["explain", str(REFERENCE)])


def test_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long = "a" * 5000 + ".toml"
    err = assert_one_line(["explain", long])
    assert "too long" in err and len(err) < 300  # the name is cut in the middle
    assert "expected a data file, got a folder" in assert_one_line(["train", str(REFERENCE), "--data", str(tmp_path)])
    assert "is a directory" in assert_one_line(["explain", str(tmp_path)])  # click's own check, one line

    def refuse(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(limits, "open", refuse, raising=False)  # works even as root, unlike chmod 000
    err = assert_one_line(["explain", str(REFERENCE)])
    assert "forward-backprop.toml: expected a TOML or JSON network file, got a file it has no permission" in err


def test_functions_plot_range_beyond_what_can_be_drawn(tmp_path: Path) -> None:
    err = assert_one_line(["functions", "sigmoid", "--range=-1e308,1e308", "--plot", str(tmp_path / "f.svg")])
    assert "--range" in err and "LOW < HIGH" in err
    assert not (tmp_path / "f.svg").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["explain", "--fromat", "json"], "chainrule: explain: no such option '--fromat' (did you mean --form, --format?); "
         "see 'chainrule explain --help'"),
        (["explian"], "chainrule: no such command 'explian' (did you mean explain?); see 'chainrule --help'"),
        (["--nope"], "chainrule: no such option '--nope'; see 'chainrule --help'"),
        (["check"], "chainrule: check: Missing argument 'NET'; see 'chainrule check --help'"),
        (["train", str(REFERENCE), "--size", "2"], "chainrule: train: Invalid value for '--size'"),
    ],
)  # fmt: skip
def test_usage_errors_are_one_line_with_the_hint(args: list[str], expected: str) -> None:
    assert assert_one_line(args).startswith(expected)


def test_csv_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    csv.write_bytes("x1,x2,y\n1,2,0\n3,4,1\n".encode("utf-8-sig"))
    assert_one_line(["train", str(REFERENCE), "-q", "--data", str(csv), "--target", "x1"], ok=(0,))
    err = assert_one_line(["train", str(REFERENCE), "-q", "--data", str(csv), "--target", "nope"])
    assert "expected one of the columns x1, x2, y" in err


def test_csv_names_with_line_breaks_stay_on_one_line(tmp_path: Path) -> None:
    csv = _write(tmp_path / "data.csv", '"a\nb",y\n1,0\n2,1\n')
    err = assert_one_line(["train", str(REFERENCE), "-q", "--data", str(csv), "--target", "z"])
    assert "a\\nb" in err


def test_an_overflowing_step_is_one_line_not_a_warning(tmp_path: Path) -> None:
    text = 'inputs = 1\n[[layers]]\nunits = 1\nactivation = "elu"\nweights = [[1e300]]\n[[examples]]\nx = [1e10]\ny = [0]\n'
    path = _write(tmp_path / "net.toml", text)
    err = assert_one_line(["explain", str(path)])
    assert "update 1" in err and "z of layer out" in err and "float64" in err
    assert_one_line(["predict", str(path), "1e10"], ok=(0,))  # a prediction of inf, but no warning text
    assert_one_line(["functions", "gelu", "softplus", "elu", "1e308", "-1e308"], ok=(0,))


IMPOSSIBLE = {
    "cross-entropy on one output": (
        'loss = "cross_entropy"\n[[layers]]\nunits = 1\nactivation = "softmax"\n',
        "layers[0].units: expected 2 or more units for softmax",
        'loss = "binary_cross_entropy" with a sigmoid output',
    ),
    "softmax hidden": (
        '[[layers]]\nunits = 2\nactivation = "softmax"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n',
        "layers[0].activation: expected softmax only in the output layer",
        "use sigmoid, tanh or relu",
    ),
    "softmax with hinge": (
        'loss = "hinge"\n[[layers]]\nunits = 2\nactivation = "softmax"\n',
        "layers[0].activation: expected identity or tanh in the output layer for loss hinge",
        "cross_entropy",
    ),
    "softmax with binary cross-entropy": (
        'loss = "binary_cross_entropy"\n[[layers]]\nunits = 2\nactivation = "softmax"\n',
        "layers[0].activation: expected sigmoid in the output layer for loss binary_cross_entropy",
        "got 'softmax'",
    ),
    "binary cross-entropy on relu": (
        'loss = "binary_cross_entropy"\n[[layers]]\nunits = 1\nactivation = "relu"\n',
        "expected sigmoid in the output layer",
        "got 'relu'",
    ),
    "sigmoid with hinge": (
        'loss = "hinge"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n',
        "expected identity or tanh in the output layer for loss hinge",
        "raw scores",
    ),
    "one-unit softmax, any loss": (
        '[[layers]]\nunits = 1\nactivation = "softmax"\n',
        "2 or more units for softmax",
        "for one output use sigmoid",
    ),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_combinations_are_refused_with_a_suggestion(tmp_path: Path, case: str) -> None:
    body, where, hint = IMPOSSIBLE[case]
    outputs = 2 if 'units = 2\nactivation = "softmax"' in body and "sigmoid" not in body else 1
    y = [1.0] + [0.0] * (outputs - 1)
    path = _write(tmp_path / "net.toml", f"inputs = 1\n{body}[[examples]]\nx = [1]\ny = {json.dumps(y)}\n")
    err = assert_one_line(["explain", str(path)])
    assert where in err and hint in err


@pytest.mark.parametrize(
    ("loss", "output", "y", "words"),
    [
        ("binary_cross_entropy", "sigmoid", [1.5], "between 0 and 1"),
        ("cross_entropy", "softmax", [-1.0, 2.0], "≥ 0"),
        ("hinge", "identity", [0.0], "−1 or 1"),
    ],
)
def test_targets_a_loss_cannot_use(tmp_path: Path, loss: str, output: str, y: list[float], words: str) -> None:
    text = f'inputs = 1\nloss = "{loss}"\n[[layers]]\nunits = {len(y)}\nactivation = "{output}"\n'
    path = _write(tmp_path / "net.toml", text + f"[[examples]]\nx = [1]\ny = {json.dumps(y)}\n")
    err = assert_one_line(["explain", str(path)])
    assert "examples: expected targets y" in err and words in err


@pytest.mark.parametrize("args", [["explain", "NET"], ["explain", "/dev/zero"], ["explain", "--fromat"]])
def test_end_to_end_in_a_real_process(tmp_path: Path, args: list[str]) -> None:
    net = _write(tmp_path / "deep.json", "[" * 100_000)
    argv = [sys.executable, "-m", "chainrule", *(str(net) if a == "NET" else a for a in args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("chainrule: ")
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr
    assert "--fromat" not in args or done.stderr.startswith("chainrule: explain: no such option '--fromat'")


def test_functions_alpha_must_be_finite() -> None:
    assert "--alpha: expected a finite number, got nan" in assert_one_line(["functions", "elu", "1", "--alpha", "nan"])


@pytest.mark.parametrize("name", ["net\x00.toml", "\ud800.toml"])
def test_an_argument_no_file_name_can_hold(name: str) -> None:
    """Only reachable through the API (a real command line carries neither), where os.stat raises."""
    assert "expected no NUL character or lone surrogate" in assert_one_line(["explain", name])
    err = assert_one_line(["train", str(REFERENCE), "--data", str(Path(name).with_suffix(".csv"))])
    assert err.startswith("chainrule: argument")


def test_an_undecodable_byte_in_a_file_name_is_shown_escaped(tmp_path: Path) -> None:
    """What Linux gives Python for the byte 0xff in argv: a surrogate escape, which opens fine."""
    err = assert_one_line(["explain", str(tmp_path / "net\udcff.toml")])
    assert "net\\udcff.toml: expected a TOML or JSON network file, got no such file" in err


def test_explaining_many_steps_counts_every_update(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINRULE_MAX_EXPLAINED", "20")  # the reference has 8 parameters: 2 steps fit, 3 do not
    assert_one_line(["explain", str(REFERENCE), "--steps", "2"], ok=(0,))
    assert "parameters × updates" in assert_one_line(["explain", str(REFERENCE), "--steps", "3"])


def test_data_targets_the_loss_cannot_use(tmp_path: Path) -> None:
    """The engine's target rule holds for --data as for a file's examples: BCE on a target of 5."""
    text = 'inputs = 1\nloss = "binary_cross_entropy"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n'
    net = _write(tmp_path / "net.toml", text)
    csv = _write(tmp_path / "data.csv", "x,t\n1,5\n2,0.5\n")
    err = assert_one_line(["train", str(net), "-q", "--data", str(csv), "--target", "t"])
    assert "data.csv: target 't': expected targets y between 0 and 1" in err
    _write(csv, "x,t\n1,1\n2,0.5\n")
    assert_one_line(["train", str(net), "-q", "--data", str(csv), "--target", "t"], ok=(0,))


@pytest.mark.parametrize(
    ("args", "variable", "expected"),
    [
        (
            ["train", "xor", "-q", "--epochs", "1", "--batch", "²"],
            None,
            '--batch: expected "online", "full" or a batch size ≥ 1, got \'²\'',
        ),
        (["train", "xor", "-q", "--epochs", "1", "--batch", "0"], None, "--batch: expected"),
        (["explain", "xor"], "CHAINRULE_MAX_UNITS", "CHAINRULE_MAX_UNITS: expected a whole number ≥ 1, got '²'"),
        (["explain", "xor"], "CHAINRULE_MAX_CHAINS", "CHAINRULE_MAX_CHAINS: expected a whole number ≥ 1, got '²'"),
    ],
)
def test_unicode_digits_are_not_numbers(
    monkeypatch: pytest.MonkeyPatch, args: list[str], variable: str | None, expected: str
) -> None:
    """ "²".isdigit() is true but int("²") fails: each reader of a whole number from text says so in one line."""
    if variable:
        monkeypatch.setenv(variable, "²")
    assert f"chainrule: {expected}" in assert_one_line(args)


def test_explaining_is_limited_by_its_chains_of_factors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One chain per parameter, per example of the update, per update: xor (9 parameters, a full batch
    of 4) explains 2 updates in 72 chains, 3 in 108; a file cannot ask for hours of work."""
    monkeypatch.setenv("CHAINRULE_MAX_CHAINS", "100")
    assert_one_line(["explain", "xor", "--steps", "2", "--format", "json"], ok=(0,))
    line = assert_one_line(["explain", "xor", "--steps", "3", "--format", "json"])
    assert "xor.toml: --steps: expected at most 100 chains of factors explained" in line
    assert "got 108" in line and "CHAINRULE_MAX_CHAINS=108" in line
    monkeypatch.delenv("CHAINRULE_MAX_CHAINS")
    many = {"inputs": 2, "loss": "half_squared_error", "training": {"batch": "full"}}
    many["layers"] = [{"units": 40, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}]
    many["examples"] = [{"x": [0.1 * i, 1.0], "y": [0.5]} for i in range(100)]  # 120 weights × 100 examples
    path = tmp_path / "chains.json"
    path.write_text(json.dumps(many), encoding="utf-8")
    assert "got 12,000" in assert_one_line(["explain", str(path)])
