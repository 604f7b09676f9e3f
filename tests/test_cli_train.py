"""`chainrule train` and `chainrule predict` from the command line: outputs, files, and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.main import main
from chainrule.io import data, netfile
from conftest import EXAMPLES

NET = """
inputs = 4
loss = "cross_entropy"
[[layers]]
units = 4
activation = "tanh"
bias = [0.0, 0.0, 0.0, 0.0]
[[layers]]
units = 2
activation = "softmax"
bias = [0.0, 0.0]
[training]
learning_rate = 0.3
batch = 4
epochs = 50
seed = 2
"""

CSV = "height,colour,kind\n" + "".join(
    f"{h},{c},{'tall' if h > 1.5 else 'short'}\n"
    for h, c in zip(np.round(np.linspace(0.5, 2.5, 24), 3), ["red", "blue", "green"] * 8, strict=True)
)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "net.toml").write_text(NET)
    (tmp_path / "d.csv").write_text(CSV)
    return tmp_path


def train(runner: CliRunner, *args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(main, ["train", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_train_save_load_predict_round_trip(runner: CliRunner, files: Path) -> None:
    out = files / "trained.toml"
    code, stdout, _ = train(
        runner, files / "net.toml", "--data", files / "d.csv", "--target", "kind", "--standardize", "-o", out
    )
    assert code == 0, stdout
    assert "Stopped: reached the number of epochs." in stdout and "Final: loss" in stdout
    trained = netfile.load(out, require_examples=False)
    assert trained.data is not None
    assert trained.data.columns == ["height", "colour=blue", "colour=green", "colour=red"]
    assert trained.data.classes == ["short", "tall"]
    # The in-memory computation: standardise with the training statistics, then forward.
    ds = data.load_csv(files / "d.csv", "kind")
    x = (ds.x - ds.x.mean(axis=0)) / np.where(ds.x.std(axis=0) > 0, ds.x.std(axis=0), 1)
    expected = trained.forward(x).output

    res = runner.invoke(main, ["predict", str(out), "--data", str(files / "d.csv"), "-o", str(files / "p.csv")])
    assert res.exit_code == 0, res.output
    rows = (files / "p.csv").read_text().splitlines()
    assert rows[0] == "out1,out2,class"
    got = np.array([[float(v) for v in row.split(",")[:2]] for row in rows[1:]])
    assert np.allclose(got, expected, rtol=0, atol=1e-15)
    assert [row.split(",")[2] for row in rows[1:]] == ["short" if h <= 1.5 else "tall" for h in ds.x[:, 0]]


def test_predict_one_example_text_and_json(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ref.toml"
    assert train(runner, netfile.example_path(), "--epochs", "1000", "-q", "-o", out)[0] == 0
    net = netfile.load(out)
    value = float(net.forward(np.array([[0.05, 0.10]])).output[0, 0])
    res = runner.invoke(main, ["predict", str(out), "0.05", "0.10"])
    assert res.exit_code == 0 and res.stdout == f"out = {value!r}\n"
    res = runner.invoke(main, ["predict", str(out), "0.05", "0.10", "--format", "json"])
    assert json.loads(res.stdout) == {"outputs": [value]}
    res = runner.invoke(main, ["predict", str(out), "0.05"])
    assert res.exit_code == 2 and "expected 2 inputs (x1, x2), got 1" in res.stderr


def test_history_and_plot_files(runner: CliRunner, tmp_path: Path) -> None:
    hist, plot = tmp_path / "h.csv", tmp_path / "p.png"
    code, stdout, _ = train(runner, EXAMPLES / "xor.toml", "--until-loss", "0.05", "--history", hist, "--plot", plot)
    assert code == 0 and "Stopped: reached the target loss (--until-loss)." in stdout
    lines = hist.read_text().splitlines()
    assert lines[0].split(",")[:3] == ["epoch", "loss", "val_loss"]
    assert float(lines[-1].split(",")[1]) <= 0.05 < float(lines[-2].split(",")[1])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_iris_reaches_90_percent_validation_accuracy(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "iris.toml").write_text(NET.replace("units = 2", "units = 3").replace("[0.0, 0.0]", "[0.0, 0.0, 0.0]"))
    hist = tmp_path / "h.csv"
    args = ["--data", "iris", "--val", "0.2", "--epochs", "200", "--standardize", "--history", hist, "-q"]
    assert train(runner, tmp_path / "iris.toml", *args)[0] == 0
    last = list(csv.DictReader(hist.open()))[-1]
    assert float(last["val_accuracy"]) >= 0.9


def test_patience_says_it_stopped(runner: CliRunner, tmp_path: Path) -> None:
    args = ["--data", "moons", "--size", "60", "--noise", "0.4", "--val", "0.5", "--patience", "5", "--epochs", "5000"]
    code, stdout, _ = train(runner, EXAMPLES / "spirals.toml", *args, "--optimizer", "adam", "--lr", "0.05")
    assert code == 0 and "Stopped: validation loss stopped improving (--patience)." in stdout
    assert "Kept the parameters of epoch" in stdout


BAD = [
    (
        ["--data", "{d}/d.csv", "--target", "label"],
        "--target 'label': expected one of the columns height, colour, kind",
    ),
    (["--data", "{d}/bad.csv", "--target", "kind"], "row 3, column 'height': expected a number, got 'tall-ish'"),
    (["--data", "wine"], "the data has 13 input columns (alcohol, malic_acid"),
    (["--data", "sprials"], "--data: expected a CSV file or one of xor, circle, gaussians, spirals, moons, iris"),
    (["--data", "{d}/d.csv", "--target", "kind", "--val", "1.5"], "--val: expected a fraction between 0 and 1"),
    (["--data", "xor", "--lr", "0"], "--lr: expected a finite learning rate > 0, got 0.0"),
    (["--data", "xor", "--lr", "inf"], "--lr: expected a finite learning rate > 0, got inf"),
    (["--data", "xor", "--lr", "nan"], "--lr: expected a finite learning rate > 0, got nan"),
    (["--data", "xor", "--weight-decay", "inf"], "--weight-decay: expected a finite number ≥ 0, got inf"),
    (["--data", "xor", "--momentum", "nan"], "--momentum: expected a finite number, got nan"),
    (["--data", "xor", "--until-loss", "nan"], "--until-loss: expected a finite loss ≥ 0, got nan"),
    (["--data", "xor", "--batch", "0"], '--batch: expected "online", "full" or a batch size ≥ 1'),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_and_exit_2(runner: CliRunner, files: Path, args: list[str], message: str) -> None:
    (files / "bad.csv").write_text("height,colour,kind\n1.0,red,short\ntall-ish,blue,tall\n")
    net = files / "net.toml"
    if args[1] in ("xor",):
        net = netfile.example_path()
    code, stdout, stderr = train(runner, net, *[a.format(d=files) for a in args])
    assert code == 2
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert "Traceback" not in stderr + stdout


def test_checkpoint_and_resume_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    spirals = EXAMPLES / "spirals.toml"
    common = ["--optimizer", "adam", "--batch", "16", "--val", "0.2", "--patience", "50", "-q"]
    assert train(runner, spirals, "--epochs", "8", *common, "-o", tmp_path / "whole.toml")[0] == 0
    ckpt = tmp_path / "ck.json"
    args = ["--epochs", "5", "--checkpoint-every", "5", "--checkpoint", ckpt]
    assert train(runner, spirals, *args, *common)[0] == 0
    assert json.loads(ckpt.read_text())["trainer"]["epoch"] == 5
    code = train(runner, spirals, "--epochs", "8", "--resume", ckpt, *common, "-o", tmp_path / "resumed.toml")[0]
    assert code == 0
    assert (tmp_path / "resumed.toml").read_text() == (tmp_path / "whole.toml").read_text()
