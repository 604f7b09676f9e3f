"""`chainrule train` over hostile network files and arguments, through every training path.

Whatever is generated, a run ends with its normal exit status (0, or 1 for a run that diverged) or
with exactly one line on stderr and exit status 2: never a traceback or a numpy warning. Epochs are
bounded (at most 3 of at most 5 examples, or of a built-in set of at most 40 points), so no run is
long. The paths: the compiled loop (general, and written out for the shape with
CHAINRULE_SPECIALISE=1), NumPy (any optimizer but SGD, float32 too) and the lean NumPy path
(plain SGD on a batch too wide for the compiled loop).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chainrule.train.compiled.special import ENV_FORCE
from conftest import EXAMPLES
from helpers import CASES, ODD_NAMES, assert_one_line, random_document, run_cli

hostile_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 1e-320, 10**20, 2**63, "0.5", None, True, [], {}]),
)
hostile_text = st.one_of(
    st.text(max_size=8),
    st.sampled_from([*ODD_NAMES, "", "a_out", "z_h1", "loss", "dL/dw1", "x#2", "\x1b[2J", "\u202e", "\ud800"]),
)
hostile = st.one_of(hostile_number, hostile_text, st.lists(hostile_number, max_size=3))


def _places(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, item in items:
        found += _places(item, (*path, key))
    return found


def _mutate(doc: dict[str, Any], data: st.DataObject, times: int) -> dict[str, Any]:
    """`times` changes, each at one place: a hostile value, or the key removed."""
    for _ in range(times):
        place = data.draw(st.sampled_from(_places(doc)[1:]), label="place")
        parent: Any = doc
        for step in place[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans(), label="remove"):
            del parent[place[-1]]
        else:
            parent[place[-1]] = data.draw(hostile, label="value")
    return doc


def _token(values: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(values), hostile_text.filter(lambda t: not t.startswith("-")))


OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--lr": _token(["0.1", "0", "-1", "1e308", "nan", "inf", "1e-320"]),
    "--batch": _token(["online", "full", "1", "2", "3", "0", "²", "99999999999999999999"]),
    "--optimizer": _token(["sgd", "adam", "momentum", "nesterov", "rmsprop"]),
    "--momentum": _token(["0.9", "0", "1", "-0.5", "nan"]),
    "--weight-decay": _token(["0.01", "-1", "inf"]),
    "--reduction": _token(["sum", "mean"]),
    "--val": _token(["0.25", "0.5", "0", "1", "-0.1", "nan"]),
    "--dtype": _token(["float32", "float64"]),
    "--until-loss": _token(["0.5", "nan", "-inf"]),
    "--patience": _token(["1", "0", "-1"]),
    "--evaluate-every": _token(["1", "0", "2"]),
    "--schedule": _token(["constant", "step", "cosine"]),
    "--step-every": _token(["1", "0", "-3"]),
    "--gamma": _token(["0.5", "0", "nan"]),
    "--seed": _token(["0", "7", "-1", "1e3"]),
    "--data": _token(["xor", "moons", "circles", "spirals", "iris"]),
    "--size": _token(["4", "40", "3"]),
    "--noise": _token(["0.1", "-1", "nan"]),
    "--target": _token(["y", "x1"]),
}
FLAGS = ["--standardize", "--no-shuffle", "--classes"]
FILES = ["-o", "--history", "--checkpoint", "--plot"]


def _arguments(data: st.DataObject, folder: Path) -> list[str]:
    args: list[str] = []
    for option in data.draw(st.lists(st.sampled_from(sorted(OPTIONS)), max_size=5, unique=True), label="options"):
        args += [option, data.draw(OPTIONS[option], label=option)]
    args += data.draw(st.lists(st.sampled_from(FLAGS), max_size=2, unique=True), label="flags")
    for option in data.draw(st.lists(st.sampled_from(FILES), max_size=2, unique=True), label="files"):
        name = data.draw(st.sampled_from(["out.toml", "out.json", "out.npz", "h.csv", "p.png", "p.csv", "x"]))
        args += [option, str(folder / name)]
    if "--data" in args:
        args = [a for a in args if a != "--size"] + ["--size", "40"]  # a built-in set stays small
    return args


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), case=st.sampled_from(CASES), data=st.data())
def test_hostile_files_and_arguments(seed: int, case: tuple[str, str], data: st.DataObject) -> None:
    """Random networks, each changed in up to two places, trained with hostile arguments on the
    path the run chooses (compiled, or NumPy for the other optimizers), or the written-out loop off."""
    doc = _mutate(random_document(np.random.default_rng(seed), *case), data, data.draw(st.integers(0, 2)))
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        folder = Path(tmp)
        path = folder / "net.json"
        path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
        monkeypatch.setenv(ENV_FORCE, "0")  # a shape compiled afresh per case would take minutes
        args = ["train", str(path), "-q", "--epochs", str(data.draw(st.integers(1, 3))), *_arguments(data, folder)]
        event("refused" if assert_one_line(args, ok=(0, 1)).startswith("chainrule: ") else "trained")


@settings(max_examples=25)
@given(data=st.data())
def test_hostile_values_through_the_loop_written_out_for_the_shape(data: st.DataObject) -> None:
    """XOR's one shape (compiled once), its values and arguments hostile, with CHAINRULE_SPECIALISE=1."""
    import tomllib

    doc = tomllib.loads((EXAMPLES / "xor.toml").read_text(encoding="utf-8"))
    doc = _mutate(doc, data, data.draw(st.integers(0, 2)))
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as monkeypatch:
        folder = Path(tmp)
        path = folder / "net.json"
        path.write_text(json.dumps(doc, default=str), encoding="utf-8", errors="surrogatepass")
        monkeypatch.setenv(ENV_FORCE, "1")
        lr = data.draw(st.one_of(st.sampled_from(["0.5", "100", "1e300"]), OPTIONS["--lr"]), label="lr")
        args = ["train", str(path), "-q", "--epochs", "3", "--lr", lr]
        if data.draw(st.booleans(), label="files"):
            args += ["-o", str(folder / "out.toml"), "--history", str(folder / "h.csv")]
        event("refused" if assert_one_line(args, ok=(0, 1)).startswith("chainrule: ") else "trained")


WIDE = {
    "inputs": 2,
    "loss": "binary_cross_entropy",
    "layers": [{"name": "h", "units": 80, "activation": "tanh"}, {"name": "out", "units": 1, "activation": "sigmoid"}],
    "training": {"batch": "full", "learning_rate": 0.5, "seed": 3},
}


@settings(max_examples=20)
@given(data=st.data())
def test_hostile_values_through_the_lean_path(data: st.DataObject) -> None:
    """A layer of 80 tanh over a full batch of 40 points: 3,200 maths-library calls an update send
    plain SGD to the lean NumPy path; the file's values and the arguments hostile."""
    changes = data.draw(st.integers(0, 2), label="changes")
    doc = _mutate(json.loads(json.dumps(WIDE)), data, changes)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "net.json"
        path.write_text(json.dumps(doc), encoding="utf-8", errors="surrogatepass")
        args = ["train", str(path), "--epochs", "2", "--data", "xor", "--size", "40"]
        lr = data.draw(st.one_of(st.none(), OPTIONS["--lr"]), label="lr")
        args += [] if lr is None else ["--lr", lr]
        if changes == 0 and lr is None:  # the summary names the path
            result, _ = run_cli(args)
            assert result.exit_code == 0 and "lean NumPy path" in result.stdout, result.stdout
        event("refused" if assert_one_line([*args, "-q"], ok=(0, 1)).startswith("chainrule: ") else "trained")
