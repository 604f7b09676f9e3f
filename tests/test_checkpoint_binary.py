"""Binary checkpoints (.npz) of large networks: saved fast, read back bit for bit, chosen by size.

Above `checkpoint.BINARY_ABOVE` parameters `chainrule train` writes -o and its checkpoints as .npz
(seconds of TOML/JSON would break Ctrl-C's second); resuming from one is resuming from the JSON.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.train import checkpoint
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.trainer import TrainConfig, Trainer
from conftest import EXAMPLES, ROOT
from helpers import run_cli
from test_resume import OPTIMIZERS, make, params, stop_at_update

XOR = str(EXAMPLES / "xor.toml")
SPIRALS = netfile.load(EXAMPLES / "spirals.toml")
SPIRALS.x, SPIRALS.y = SPIRALS.x[:12], SPIRALS.y[:12]


@given(
    optimizer=st.sampled_from(OPTIMIZERS),
    dtype=st.sampled_from(["float64", "float32"]),
    update=st.integers(1, 15),
    patience=st.booleans(),
)
def test_a_binary_checkpoint_resumes_as_the_json_one_and_the_uninterrupted_run(
    optimizer: str, dtype: str, update: int, patience: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Stopped after any update (mid-epoch or not), with any optimizer's state, either precision
    and a best epoch kept: the .npz checkpoint gives the JSON one's state and the same final bits."""
    folder = tmp_path_factory.mktemp("ckpt")
    net = SPIRALS
    config = TrainConfig(epochs=4, optimizer=optimizer, batch=3, dtype=dtype, patience=50 if patience else None)
    whole = make(net, "numpy", config, val=patience).run()
    first = make(net, "numpy", config, val=patience)
    stop_at_update(first, update)
    assert first.run().stopped_by == "interrupted"
    save_checkpoint(first, folder / "c.npz")
    save_checkpoint(first, folder / "c.json")
    assert zipfile.is_zipfile(folder / "c.npz") and not zipfile.is_zipfile(folder / "c.json")
    binary, readable = make(net, "numpy", config, val=patience), make(net, "numpy", config, val=patience)
    load_checkpoint(binary, folder / "c.npz")
    load_checkpoint(readable, folder / "c.json")
    assert checkpoint.state_of(binary) == checkpoint.state_of(readable)
    mine = checkpoint.state_of(first) | ({} if first.position else {"running": [0.0, 0.0]})  # a new epoch's
    assert checkpoint.state_of(binary) == mine
    assert np.array_equal(params(binary.net), params(first.net))
    assert np.array_equal(params(binary.run().network), params(whole.network))  # bit for bit


def test_the_format_follows_the_size_and_the_reader_the_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = netfile.load(XOR)
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=2), path="numpy")
    trainer.run()
    save_checkpoint(trainer, tmp_path / "small.ckpt")
    assert not zipfile.is_zipfile(tmp_path / "small.ckpt")
    monkeypatch.setattr(checkpoint, "BINARY_ABOVE", net.parameter_count() - 1)
    save_checkpoint(trainer, tmp_path / "large.ckpt")  # any name: the reader knows it by its signature
    assert zipfile.is_zipfile(tmp_path / "large.ckpt")
    again = Trainer(net, net.x, net.y, TrainConfig(epochs=4), path="numpy")
    load_checkpoint(again, tmp_path / "large.ckpt")
    assert again.epoch == 2 and np.array_equal(params(again.net), params(trainer.net))


def test_a_damaged_or_foreign_binary_checkpoint_is_one_line(tmp_path: Path) -> None:
    net = netfile.load(XOR)
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=2, optimizer="adam"))
    trainer.run()
    save_checkpoint(trainer, tmp_path / "c.npz")
    netfile.save(net, tmp_path / "net.npz")  # a network, not a checkpoint
    whole = (tmp_path / "c.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    with np.load(tmp_path / "c.npz") as arrays:
        kept = {k: arrays[k] for k in arrays.files if k != "trainer.optimizer.m"}
    np.savez(tmp_path / "lacking.npz", **kept)
    for name, said in [("net.npz", "checkpoint.json"), ("cut.npz", "damaged"), ("lacking.npz", "optimizer.m")]:
        fresh = Trainer(net, net.x, net.y, TrainConfig(epochs=4, optimizer="adam"))
        with pytest.raises(ChainruleError, match=said) as caught:
            load_checkpoint(fresh, tmp_path / name)
        assert "\n" not in str(caught.value) and fresh.epoch == 0


def test_train_saves_a_large_network_as_npz_says_so_and_resumes_bit_for_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "BINARY_ABOVE", 8)  # xor's 9 parameters count as large here
    base = ["train", XOR, "--optimizer", "adam", "-q"]
    result, _ = run_cli(
        [*base, "--epochs", "30", "-o", str(tmp_path / "a.toml"), "--checkpoint", str(tmp_path / "c.json")]
    )
    assert result.exit_code == 0, result.output
    line = f"chainrule: 9 parameters (over 8): saving {tmp_path / 'a.npz'} and {tmp_path / 'c.npz'} as .npz"
    assert result.stderr.startswith(line) and result.stderr.count("parameters (over") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "c.npz"]
    resumed, _ = run_cli([*base, "--epochs", "60", "--resume", str(tmp_path / "c.npz"), "-o", str(tmp_path / "b.toml")])
    fresh, _ = run_cli([*base, "--epochs", "60", "-o", str(tmp_path / "f.json")])
    assert resumed.exit_code == fresh.exit_code == 0
    b, f = netfile.load(tmp_path / "b.npz"), netfile.load(tmp_path / "f.npz")
    assert np.array_equal(params(b), params(f)) and not np.array_equal(
        params(b), params(netfile.load(tmp_path / "a.npz"))
    )


def test_npz_names_do_not_collide_once_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint, "BINARY_ABOVE", 8)
    out, check = str(tmp_path / "run.toml"), str(tmp_path / "run.json")  # both become run.npz
    result, _ = run_cli(["train", XOR, "--epochs", "3", "-q", "-o", out, "--checkpoint", check])
    assert result.exit_code == 2 and "the same file as -o" in result.stderr and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def _write_large(folder: Path) -> tuple[Path, Path]:
    """784-256-10 relu/softmax (200,970 parameters: over BINARY_ABOVE) and 512 random examples."""
    inputs = ", ".join(f'"p{i}"' for i in range(784))
    layers = '\n[[layers]]\nunits = 256\nactivation = "relu"\n\n[[layers]]\nunits = 10\nactivation = "softmax"\n'
    net = folder / "big.toml"
    net.write_text(f'inputs = [{inputs}]\nloss = "cross_entropy"\n{layers}\n[training]\nlearning_rate = 0.01\n')
    rng = np.random.default_rng(3)
    data = folder / "data.npz"
    np.savez(data, x=rng.random((512, 784)), y=np.eye(10)[rng.integers(0, 10, 512)])
    return net, data


def test_sigint_on_a_large_network_saves_npz_exits_130_and_resumes_exactly(tmp_path: Path) -> None:
    """The real executable, SIGINT mid-run: .npz files complete and loadable, the resumed run the
    uninterrupted one. (Timings: benchmarks/interrupt.py.)"""
    net, data = _write_large(tmp_path)
    assert netfile.load(net, require_examples=False).parameter_count() > checkpoint.BINARY_ABOVE
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    train = [sys.executable, "-m", "chainrule", "train", str(net), "--data", str(data), "--batch", "256", "-q"]
    run = subprocess.Popen([*train, "--epochs", "100000", "-o", "out.toml", "--history", "h.csv"],
                           cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not ((tmp_path / "h.csv").exists() and len((tmp_path / "h.csv").read_text().splitlines()) > 3):
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = run.communicate(timeout=60)
    assert time.monotonic() - sent < 10.0  # measured ~0.3 s; the bound is for a loaded machine
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    assert "--resume out.checkpoint.npz" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "big.toml",
        "data.npz",
        "h.csv",
        "out.checkpoint.npz",
        "out.npz",
    ]
    saved = netfile.load(tmp_path / "out.npz", require_examples=False)
    with np.load(tmp_path / "out.checkpoint.npz", allow_pickle=False) as arrays:
        epoch = json.loads(str(arrays[checkpoint.STATE]))["trainer"]["epoch"]
    more = str(epoch + 2)
    resumed = subprocess.run([*train, "--epochs", more, "--resume", "out.checkpoint.npz", "-o", "r.npz"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    fresh = subprocess.run([*train, "--epochs", more, "-o", "f.npz"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == fresh.returncode == 0, resumed.stderr + fresh.stderr
    r, f = (netfile.load(tmp_path / name, require_examples=False) for name in ("r.npz", "f.npz"))
    assert np.array_equal(params(r), params(f)) and not np.array_equal(params(r), params(saved))
