"""What `train`, `predict` and `functions` print themselves is safe for a terminal and a spreadsheet.

A title, a name, a class or a file name may hold an escape sequence (ESC ] 0 ; … BEL sets the
window's title, ESC [ 2 J clears the screen), a C1 control (U+009B, the one-byte CSI), a bidi
override (U+202E) or a line break. None of them reaches stdout or stderr raw: each is shown as a
visible picture of itself (views.escape.terminal), and a line break in a name never splits a line.
A class or an output name that starts like a formula (= + - @) is text in predictions.csv.
"""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import run_cli

ATTACKS = [
    "\x1b]0;PWNED\x07\x1b[2J",
    "\x1b[31mred",
    "\u009b2J",
    "\u202eevil",
    "a\nb",
    "c\rd",
    "\x07",
    "=1+2",
    "@SUM(A1)",
]
RAW = ["\x1b", "\x07", "\u009b", "\u202e", "\r"]
hostile = st.one_of(
    st.sampled_from(ATTACKS), st.builds(lambda a, b: a + b, st.sampled_from(ATTACKS), st.text(max_size=4))
)


def _network(title: str, names: list[str], classes: list[str]) -> dict[str, Any]:
    """A 2-2-2 softmax classifier with user text in every place a name goes."""
    return {
        "title": title,
        "inputs": names[:2],
        "loss": "cross_entropy",
        "layers": [
            {"name": names[2], "units": 2, "activation": "tanh", "weights": [[0.5, -0.4], [0.3, 0.8]]},
            {"name": names[3], "units": 2, "activation": "softmax", "weights": [[0.7, -0.6], [-0.2, 0.4]]},
        ],
        "examples": [{"x": [0, 1], "y": [1, 0]}, {"x": [1, 0], "y": [0, 1]}],
        "data": {"classes": classes},
    }


def _clean(text: str) -> None:
    for c in RAW:
        assert c not in text, (c, text)


@settings(max_examples=25)
@given(
    title=hostile,
    names=st.lists(hostile, min_size=4, max_size=4, unique=True),
    classes=st.lists(hostile, min_size=2, max_size=2, unique=True),
    file_name=hostile,
)
def test_nothing_from_a_file_reaches_the_terminal_raw(
    title: str, names: list[str], classes: list[str], file_name: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "net.json"
        path.write_text(json.dumps(_network(title, names, classes)), encoding="utf-8")
        out = str(folder / file_name.replace("/", "_").replace("\x00", "_"))
        runs = [
            ["predict", str(path), "0.5", "1"],
            ["predict", str(path), "0.5", "1", "--format", "json"],
            ["train", str(path), "--epochs", "2", "-o", out],
            ["train", str(path), "--epochs", "2", "--history", out + ".csv", "--optimizer", "adam"],
            ["functions", "relu", "--plot", out + ".png"],
            ["train", str(path), "--epochs", "2", "-o", str(folder / "missing" / file_name.replace("/", "_"))],
        ]
        for args in runs:
            result, _ = run_cli(args)
            _clean(result.stdout)
            _clean(result.stderr)
            if args[0] == "predict" and "--format" not in args and result.exit_code == 0:
                lines = result.stdout.split("\n")[:-1]
                assert len(lines) == 3 and lines[-1].startswith("class = "), result.stdout  # two outputs, the class


@settings(max_examples=25)
@given(
    names=st.lists(hostile, min_size=4, max_size=4, unique=True),
    classes=st.lists(hostile, min_size=2, max_size=2, unique=True),
)
def test_predictions_csv_holds_no_formula(names: list[str], classes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "net.json"
        path.write_text(json.dumps(_network("t", names, classes)), encoding="utf-8")
        data = folder / "rows.npy"
        import numpy as np

        np.save(data, np.array([[0.0, 1.0], [1.0, 0.0], [-3.0, 2.0]]))
        result, _ = run_cli(["predict", str(path), "--data", str(data), "-o", str(folder / "p.csv")])
        if result.exit_code != 0:  # a name the loader refuses (empty, a value's name): one line, checked elsewhere
            assert result.exit_code == 2
            return
        with (folder / "p.csv").open(encoding="utf-8", newline="") as fh:  # a quoted line break stays in its cell
            rows = list(csv.reader(fh))
        assert len(rows) == 4 and all(len(r) == 3 for r in rows)
        text_cells = rows[0] + [r[-1] for r in rows[1:]]  # the output names and the classes
        assert not [c for c in text_cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], rows
        assert {r[-1].removeprefix("'") for r in rows[1:]} <= set(classes)
