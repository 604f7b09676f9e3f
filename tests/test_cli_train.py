"""`chainrule train` and `chainrule predict` from the command line: outputs, files, and bad input."""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import data, netfile, netwrite
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
    (["--data", "sprials"], "--data: expected a data file or one of xor, circle, gaussians, spirals, moons, iris"),
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


LINEAR = """
inputs = 2
loss = "mse"
[[layers]]
units = 1
activation = "identity"
weights = [[0.1, 0.2]]
bias = 0.0
[[examples]]
x = [10, 20]
y = [1]
[training]
learning_rate = 1
epochs = 200
"""


def _stopped_after(net: netfile.Network, epochs: int, path: str | None = None, **config: object) -> netfile.Network:
    """The network after exactly `epochs` epochs, stopped there as Ctrl-C stops a run (a run of
    that many epochs would also evaluate its last one, which may itself overflow)."""
    from chainrule.train.trainer import TrainConfig, Trainer

    t = Trainer(net, net.x, net.y, TrainConfig(**config), path=path)  # type: ignore[arg-type]
    t.sync_every = epochs  # the compiled loop ends a chunk there

    def stop(record: object) -> None:
        t.stop_requested = t.stop_requested or t.epoch >= epochs

    result = t.run([stop])
    assert result.stopped_by == "interrupted" and t.epoch == epochs
    return result.network


@pytest.mark.parametrize(
    ("extra", "config"),
    [([], {}), (["--optimizer", "momentum", "--momentum", "0.0"], {"optimizer": "momentum", "momentum": 0.0}),
     (["--batch", "1"], {"batch": 1})],
)  # fmt: skip
def test_divergence_stops_with_one_line_and_saves_the_last_finite_parameters(
    runner: CliRunner, tmp_path: Path, extra: list[str], config: dict[str, object]
) -> None:
    """The reproducer: linear, mse, η = 1, x = (10, 20). The parameters after epoch 52 are finite
    but their loss overflows; the running loss of epoch 53, from its forward pass, shows it."""
    (tmp_path / "lin.toml").write_text(LINEAR)
    out = tmp_path / "out.toml"
    code, _, stderr = train(runner, tmp_path / "lin.toml", "-q", "-o", out, *extra)
    assert code == 1
    line = stderr.splitlines()[-1]
    assert line.startswith("chainrule: training diverged in epoch 53 (the loss became inf); lower the learning rate")
    assert line.endswith(f"saved the last finite parameters (epoch 52) to {out}")
    assert "Traceback" not in stderr and "Warning" not in stderr
    # exactly the parameters the run holds after 52 epochs
    expected = _stopped_after(netfile.load(tmp_path / "lin.toml"), 52, **config)
    assert netfile.load(out).parameters() == expected.parameters()


@pytest.mark.parametrize("seed", range(6))
def test_any_diverging_run_keeps_its_last_finite_epoch(seed: int) -> None:
    """Random learning rates large enough to diverge, on each path: the run stops at the first
    non-finite epoch and holds the parameters the run had one epoch before."""
    from chainrule.train.trainer import TrainConfig, Trainer

    rng = np.random.default_rng(seed)
    net = netfile.from_dict({**__import__("tomllib").loads(LINEAR), "training": {"epochs": 400}})
    net.x = rng.uniform(5, 30, (3, 2))
    net.y = rng.normal(0, 1, (3, 1))
    lr = float(rng.uniform(0.5, 3.0))
    for path in ("compiled", "lean", "numpy"):
        t = Trainer(net, net.x, net.y, TrainConfig(learning_rate=lr, batch=int(rng.integers(1, 4))), path=path)
        result = t.run()
        assert result.stopped_by == "diverged" and result.divergence and t.ran == {path}
        bad = result.history[-1].epoch
        assert not np.isfinite(result.history[-1].loss) and t.epoch == bad - 1
        assert result.final is None or (result.final.epoch == bad - 1 and result.final.measured == "evaluated")
        expected = _stopped_after(net, bad - 1, path, learning_rate=lr, batch=t.size) if bad > 1 else net
        assert result.network.parameters() == expected.parameters(), path


BAD_PATHS = [
    (["-o", ""], "-o: expected a file name, got an empty one"),
    (["-o", "{d}/missing/out.toml"], "-o {d}/missing/out.toml: the folder {d}/missing does not exist"),
    (["-o", "{d}"], "-o {d}: is a folder; expected a file name"),
    (["--history", "{d}/missing/h.csv"], "--history {d}/missing/h.csv: the folder {d}/missing does not exist"),
    (["--plot", ""], "--plot: expected a file name, got an empty one"),
    (["--checkpoint", "{d}"], "--checkpoint {d}: is a folder; expected a file name"),
    (["--checkpoint-every", "5"], "--checkpoint-every: expected --checkpoint FILE (or -o FILE, to save beside it)"),
    (["-o", "{d}/a.toml", "--history", "{d}/a.toml"], "--history {d}/a.toml: the same file as -o"),
    (["--history", "{d}/" + "n" * 300], "--history {d}/" + "n" * 300 + ": cannot write there (a name too long"),
    (["-o", "{d}/" + "n" * 250], "-o {d}/" + "n" * 250 + ": cannot write in the folder {d} (a name too long"),
    (["--plot", "{d}/out.csv"], "--plot {d}/out.csv: expected a file name ending in one of .png, .svg"),
    (["--plot", "{d}/NAME"], "--plot {d}/NAME: expected a file name ending in one of .png, .svg, .svgz, .pdf"),
    (["-o", "/proc/version"], "-o /proc/version: cannot write in the folder /proc"),
    (["-o", "/dev/null"], "-o /dev/null: is not a regular file (a device or a pipe); expected a file name"),
]


@pytest.mark.parametrize(("args", "message"), BAD_PATHS)
def test_output_paths_are_checked_before_training(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    code, stdout, stderr = train(
        runner, EXAMPLES / "xor.toml", "--epochs", "100000000", *[a.format(d=tmp_path) for a in args]
    )
    expected = message.format(d=tmp_path)
    assert code == 2 and stderr.startswith(f"chainrule: {expected}") and stderr.count("\n") == 1, stderr
    assert stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_every_plot_format_is_written_by_its_suffix(tmp_path: Path) -> None:
    """Each suffix `--plot` takes is a picture of that format (its first bytes), written atomically."""
    from matplotlib.figure import Figure

    from chainrule.plots.formats import FORMATS, save_figure

    magic = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF", "eps": b"%!PS", "ps": b"%!PS", "jpeg": b"\xff\xd8"}
    magic |= {"tiff": b"II*\x00", "webp": b"RIFF"}
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1])
    for suffix, fmt in FORMATS.items():
        path = tmp_path / f"p{suffix}"
        save_figure(fig, path, dpi=20)
        head = gzip.decompress(path.read_bytes())[:5] if suffix == ".svgz" else path.read_bytes()[:5]
        assert head.startswith(magic[fmt]), (suffix, head)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"p{s}" for s in FORMATS)


class _Limited(io.StringIO):
    """A history file on a disk that fills after `room` characters (as under ulimit -f): EFBIG."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.room:
            raise OSError(errno.EFBIG, "File too large")
        return super().write(text)


def test_a_history_that_cannot_be_written_stops_the_run_and_saves_it(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history fails mid-run (a full disk, a file-size limit): one line, exit 2, the network and
    its checkpoint saved at the epoch it stopped, and the run resumes from them."""
    from chainrule.train import history

    real = history.HistoryFile.__init__

    def on_a_full_disk(self: history.HistoryFile, path: Path, resume_after: int | None = None) -> None:
        real(self, path, resume_after)
        self._fh = _Limited(4096)  # type: ignore[assignment]
        self._writer = csv.writer(self._fh)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(history.HistoryFile, "__init__", on_a_full_disk)
    code, stdout, stderr = train(
        runner, EXAMPLES / "xor.toml", "--epochs", "3000", "-q", "--history", "h.csv", "-o", "o.toml"
    )
    assert code == 2 and stdout == "" and stderr.count("\n") == 1, stderr
    assert stderr.startswith("chainrule: --history h.csv: cannot write (File too large); training stopped after epoch")
    assert stderr.endswith("; saved o.toml and o.checkpoint.json; resume with --resume o.checkpoint.json\n")
    stopped = int(stderr.split("after epoch ")[1].split(";")[0])
    assert 0 < stopped < 3000
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    saved = json.loads((tmp_path / "o.checkpoint.json").read_text(encoding="utf-8"))
    assert saved["trainer"]["epoch"] == stopped
    code, _, stderr = train(
        runner, EXAMPLES / "xor.toml", "--epochs", "3000", "-q", "-o", "o.toml", "--resume", "o.checkpoint.json"
    )
    assert code == 0, stderr
    code, _, _ = train(runner, EXAMPLES / "xor.toml", "--epochs", "3000", "-q", "-o", "whole.toml")
    assert code == 0
    assert netfile.load(tmp_path / "o.toml").parameters() == netfile.load(tmp_path / "whole.toml").parameters()


def test_a_folder_that_cannot_be_written_is_refused_first(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    real = netwrite.temporary_path

    def refuse(target: Path) -> Path:  # what a folder without write permission does (the tests may run as root)
        if Path(target).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(target)

    monkeypatch.setattr(netwrite, "temporary_path", refuse)
    code, _, stderr = train(runner, EXAMPLES / "xor.toml", "-o", folder / "out.toml")
    assert code == 2
    assert stderr == f"chainrule: -o {folder / 'out.toml'}: cannot write in the folder {folder} (permission denied)\n"


def _damage(doc: dict[str, Any], how: str) -> str:
    t = doc["trainer"]
    if how == "truncated":
        return json.dumps(doc)[:200]
    if how == "not json":
        return "checkpoint, honest\n"
    if how == "missing key":
        del t["order"]
    elif how == "nan in the optimizer":
        t["optimizer"]["m"][0] = float("nan")
    elif how == "nan in a parameter":
        doc["network"]["layers"][0]["weights"][0][0] = float("nan")
    elif how == "wrong shapes":
        doc["network"]["layers"][0]["weights"] = [[1.0, 2.0]]
    elif how == "wrong order":
        t["order"] = [0, 0, 1, 2]
    elif how == "wrong rng":
        t["rng"] = '{"bit_generator": "Nonsense"}'
    elif how == "not a checkpoint":
        del doc["format"]
    return json.dumps(doc)


DAMAGE = {
    "truncated": "expected valid JSON",
    "not json": "expected valid JSON",
    "missing key": "trainer.order: missing",
    "nan in the optimizer": "trainer.optimizer.m: expected a list of 9 finite numbers",
    "nan in a parameter": "layers[0].weights[0][0]: expected a finite number",
    "wrong shapes": "layers[0].weights: expected 2 rows",
    "wrong order": "trainer.order: expected an order of the 4 training examples",
    "wrong rng": "trainer.rng: expected the state of a PCG64 random generator",
    "not a checkpoint": "expected a chainrule checkpoint",
}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_checkpoint_is_one_line_and_exit_2(runner: CliRunner, tmp_path: Path, how: str) -> None:
    ckpt = tmp_path / "ck.json"
    args = ["--optimizer", "adam", "--epochs", "3", "-q", "--checkpoint", ckpt]
    assert train(runner, EXAMPLES / "xor.toml", *args)[0] == 0
    (tmp_path / "bad.json").write_text(_damage(json.loads(ckpt.read_text()), how))
    code, stdout, stderr = train(runner, EXAMPLES / "xor.toml", *args[:-2], "--resume", tmp_path / "bad.json")
    assert code == 2 and stderr.count("\n") == 1 and DAMAGE[how] in stderr, stderr
    assert stderr.startswith(f"chainrule: {tmp_path / 'bad.json'}: ") and "Traceback" not in stdout


def test_a_float32_overflow_is_refused_not_infinite(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "big.toml").write_text(LINEAR.replace("[[0.1, 0.2]]", "[[1e39, 0.2]]"))
    code, _, stderr = train(runner, tmp_path / "big.toml", "--dtype", "float32", "-q")
    assert code == 2
    assert (
        stderr
        == f"chainrule: {tmp_path / 'big.toml'}: parameter w1: expected a finite number (1e+39 does not fit in float32)\n"
    )
