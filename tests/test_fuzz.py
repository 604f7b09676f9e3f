"""Property tests over hostile input: mutated network files, answers files, CSVs and argument lists.

Whatever is generated, the command line answers with its normal exit status (0, or 1 for a wrong
answer in `check`) or with exactly one line on stderr starting "chainrule: " and exit status 2;
never a traceback or a numpy warning (`helpers.assert_one_line`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.io.netwrite import dumps_toml
from conftest import EXAMPLES
from helpers import CASES, ODD_NAMES, assert_one_line, random_document

REFERENCE = EXAMPLES / "forward-backprop.toml"
ANSWERS = EXAMPLES / "forward-backprop-answers.toml"
# Text the JSON encoder cannot write, put in after encoding: a float beyond float64, a whole number
# Python will not convert, nesting deeper than any parser's recursion.
RAW = {"@BIG@": "1e400", "@LONG@": "9" * 5000, "@DEEP@": "[" * 5000 + "]" * 5000, "@NEG@": "-1e400"}

hostile_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from([*ODD_NAMES, "", " ", "\ud800", "a\ndb", "\u2028", "\x00", "\ufeffx", "sigmoidal", "1e999"]),
)
hostile_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, 1, -1, 2, 10**11, 10**9, 10**7]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(sorted(RAW)),
    hostile_text,
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=3)),
    max_leaves=8,
)


def _encode(doc: object) -> str:
    text = json.dumps(doc)  # NaN and Infinity, which Python's JSON reads back
    for mark, raw in RAW.items():
        text = text.replace(json.dumps(mark), raw)
    return text


def _paths(value: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document: dict keys and list indices, top first."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _mutate(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """One change at one place: a hostile value, the key removed, or an unknown key added."""
    path = data.draw(st.sampled_from(_paths(doc)[1:]), label="path")
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    how = data.draw(st.sampled_from(["replace", "remove", "add"]), label="how")
    if how == "replace" or (how == "remove" and isinstance(parent, list)):
        parent[path[-1]] = data.draw(hostile_value, label="value")
    elif how == "remove":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(hostile_text, label="key")] = data.draw(hostile_value, label="value")
    return doc


COMMANDS = [["explain"], ["explain", "--format", "json"], ["check", "NET", str(ANSWERS)], ["predict"]]


@settings(max_examples=300)
@given(seed=st.integers(0, 2**32 - 1), case=st.sampled_from(CASES), command=st.sampled_from(COMMANDS), data=st.data())
def test_mutated_network_files(seed: int, case: tuple[str, str], command: list[str], data: st.DataObject) -> None:
    doc = random_document(np.random.default_rng(seed), *case)
    n_in = doc["inputs"]
    doc = _mutate(doc, data)
    toml = data.draw(st.booleans(), label="toml") and not set(RAW) & set(json.dumps(doc).split('"'))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("net.toml" if toml else "net.json")
        try:
            path.write_text(dumps_toml(doc) if toml else _encode(doc), encoding="utf-8", errors="surrogatepass")
        except (TypeError, ValueError, AttributeError, KeyError):  # the writer takes valid documents only
            path.write_text(_encode(doc), encoding="utf-8", errors="surrogatepass")
        args = [command[0], str(path), *command[1:]] if command[0] != "check" else ["check", str(path), command[2]]
        if command == ["predict"]:
            args += ["0.5"] * n_in
        assert_one_line(args, ok=(0, 1) if command[0] == "check" else (0,))


@settings(max_examples=150)
@given(seed=st.integers(0, 2**32 - 1), cut=st.integers(0, 10**6), junk=hostile_text, drop=st.integers(0, 40))
def test_mangled_toml_text(seed: int, cut: int, junk: str, drop: int) -> None:
    """The TOML text itself cut, with junk put in: a parse error (or a different valid file), one line."""
    text = dumps_toml(random_document(np.random.default_rng(seed), "half_squared_error", "sigmoid"))
    at = cut % (len(text) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.toml"
        path.write_text(text[:at] + junk + text[at + drop :], encoding="utf-8", errors="surrogatepass")
        assert_one_line(["explain", str(path)], ok=(0,))


claim = st.one_of(
    st.sampled_from(["0.3775", "0.0822", "1e-3", "-0", "@BIG@", "@LONG@", "@DEEP@", "nan", "inf", "0x10", "1_0"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    hostile_value,
)
names = st.one_of(st.sampled_from(["z_h1", "a_out", "loss", "dL/dw5", "w5", "b1", "a_h2"]), hostile_text)
steps = st.dictionaries(
    st.one_of(st.sampled_from(["1", "2", "0", "-1", "100000000", "01", "x", "1.5"]), hostile_text),
    st.one_of(st.dictionaries(names, claim, max_size=3), claim),
    max_size=2,
)


@settings(max_examples=300)
@given(claims=st.dictionaries(names, claim, max_size=4), step=st.one_of(st.none(), steps))
def test_answers_files(claims: dict[str, Any], step: dict[str, Any] | None) -> None:
    doc: dict[str, Any] = dict(claims)
    if step is not None:
        doc["step"] = step
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.json"
        path.write_text(_encode(doc), encoding="utf-8", errors="surrogatepass")
        assert_one_line(["check", str(REFERENCE), str(path)], ok=(0, 1))


cell = st.one_of(
    st.sampled_from(["1", "0", "-2.5", "1e400", "nan", "inf", "", " ", "red", "blue", '"', "a,b", "a\nb", "\ufeff"]),
    st.text(max_size=6),
)


@settings(max_examples=250)
@given(
    header=st.lists(st.one_of(st.sampled_from(["x1", "x2", "y", "\ufeffx1"]), st.text(max_size=5)), max_size=4),
    rows=st.lists(st.lists(cell, min_size=0, max_size=4), max_size=5),
    bom=st.booleans(),
    target=st.one_of(st.sampled_from(["y", "x1", ""]), st.text(max_size=4)),
    predict=st.booleans(),
)
def test_csv_files(header: list[str], rows: list[list[str]], bom: bool, target: str, predict: bool) -> None:
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        path.write_bytes(text.encode("utf-8-sig" if bom else "utf-8", errors="surrogatepass"))
        if predict:
            assert_one_line(["predict", str(REFERENCE), "--data", str(path)], ok=(0,))
        else:
            args = ["train", str(REFERENCE), "--data", str(path), "--target", target, "--epochs", "1", "-q"]
            assert_one_line(args, ok=(0,))


OPTIONS: dict[str, list[str]] = {
    "explain": ["--format", "--digits", "--example", "--only", "--steps", "--hand", "-o", "--fromat", "-x"],
    "check": ["--format", "-o", "--nope"],
    "functions": ["--format", "--digits", "--alpha", "--range", "--overlay", "-o", "--plot"],
    "predict": ["--data", "--format", "-o"],
    "train": ["--data", "--target", "--size", "--noise", "--val", "--epochs", "--lr", "--batch", "--optimizer"],
}
token = st.one_of(
    st.sampled_from(["json", "text", "markdown", "pdf", "0", "1", "3", "-1", "1e308", "nan", "inf", "-inf"]),
    st.sampled_from(["w5", "sigmoid", "relu", "softmax", "xor", "iris", "x1", "full", "adam", "-5,5", "1,1"]),
    st.sampled_from(["1000000000", "99999999999999999999", "=", "--", "-", "FILE", "ANSWERS", "DIR", "LONG"]),
    hostile_text,
)


@settings(max_examples=300)
@given(command=st.sampled_from(sorted(OPTIONS)), data=st.data())
def test_argument_lists(command: str, data: st.DataObject) -> None:
    words = st.one_of(st.sampled_from(OPTIONS[command]), token)
    args = data.draw(st.lists(words, max_size=6), label="args")
    if command == "train":  # training stays short: one epoch of at most a thousand points
        args = [a for a in args if a not in ("--epochs", "--size")] + ["--epochs", "1", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        out = {"FILE": str(REFERENCE), "ANSWERS": str(ANSWERS), "DIR": tmp, "LONG": "n" * 5000}
        args = [out.get(a, a) for a in args]
        if command in ("check", "predict", "train") and data.draw(st.booleans(), label="with file"):
            args = [str(REFERENCE), *args]
        for i, a in enumerate(args):
            if args[i - 1] in ("-o", "--plot") and i > 0:
                args[i] = str(Path(tmp) / a.replace("/", "_")[:50]) if a else a
        assert_one_line([command, *args], ok=(0, 1) if command == "check" else (0,))
