"""Ctrl-C on --backend torch is checked after every update (a large epoch stops within a second),
and the run stopped mid-epoch resumes to the uninterrupted run's parameters; a numba cache that
cannot be written never stops a run."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.train.checkpoint import load_checkpoint, save_checkpoint
from chainrule.train.torch_backend import TorchEpochs
from chainrule.train.trainer import TrainConfig, Trainer
from conftest import EXAMPLES

SPIRALS = netfile.load(EXAMPLES / "spirals.toml")
PROMPT = 5.0  # seconds from Ctrl-C to the run's exit: measured ~0.2 s; the margin is for a loaded machine


def _on_torch(config: TrainConfig) -> Trainer:
    trainer = Trainer(SPIRALS, SPIRALS.x, SPIRALS.y, config, rng=np.random.default_rng(2), path="numpy")
    trainer.runner = TorchEpochs(trainer.optimizer)
    trainer.runner.load(trainer)
    return trainer


def _params(trainer: Trainer) -> np.ndarray:
    return np.array(list(trainer.net.parameters().values()))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_torch_stops_mid_epoch_and_resumes_to_the_uninterrupted_run(
    optimizer: str, suffix: str, tmp_path: Path
) -> None:
    config = TrainConfig(epochs=3, optimizer=optimizer, batch=16)
    whole = _on_torch(config)
    whole.run()
    per_epoch = -(-len(SPIRALS.x) // 16)
    first = _on_torch(config)
    asked = {"times": 0}

    class Counting(type(first)):  # type: ignore[misc]
        """A trainer whose Ctrl-C arrives after the 5th update of the second epoch. The flag is
        read twice before each epoch (the process group's agreement, then once the session is
        made), after each update but an epoch's last, and after each epoch."""

        @property
        def stop_requested(self) -> bool:
            asked["times"] += 1
            return asked["times"] > (2 + per_epoch - 1 + 1) + 2 + 4

        @stop_requested.setter
        def stop_requested(self, value: bool) -> None:
            pass

    first.__class__ = Counting
    result = first.run()
    assert result.stopped_by == "interrupted"
    assert (first.epoch, first.position, first.updates) == (1, 5 * 16, per_epoch + 5)  # mid-epoch, at once
    first.__class__ = Trainer
    first.stop_requested = False
    save_checkpoint(first, tmp_path / f"c{suffix}")
    second = _on_torch(config)
    load_checkpoint(second, tmp_path / f"c{suffix}")
    second.run()
    assert second.ran == {"torch"}  # the rest of the epoch too ran on PyTorch
    assert np.allclose(_params(second), _params(whole), rtol=1e-12, atol=1e-12)
    assert second.updates == whole.updates and second.optimizer.steps == whole.optimizer.steps
    assert [r.loss for r in second.history.recent][-1] == pytest.approx(whole.history.recent[-1].loss, rel=1e-12)


def test_a_failed_numba_cache_write_runs_uncached_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """numba saves machine code right after compiling: an OSError there (a full disk, `ulimit -f`)
    is said once and the compiled function runs."""
    from numba.core import caching

    from chainrule.train.compiled import cache

    def full_disk(self: object, sig: object, data: object) -> None:
        raise OSError(27, "File too large")

    monkeypatch.setattr(caching.Cache, "_save_overload", full_disk)
    monkeypatch.setattr(cache, "_uncached", [])
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    cache.tolerate_failed_writes()
    source = tmp_path / "h1_cached_twice.py"
    source.write_text(
        textwrap.dedent("""
        from numba import njit

        @njit(cache=True)
        def twice(x):
            return 2.0 * x

        @njit(cache=True)
        def thrice(x):
            return 3.0 * x
    """)
    )
    spec = importlib.util.spec_from_file_location("h1_cached_twice", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "h1_cached_twice", module)
    spec.loader.exec_module(module)
    assert module.twice(1.5) == 3.0 and module.thrice(1.5) == 4.5
    said = capsys.readouterr().err
    assert said == (
        "chainrule: cannot write the compiled-loop cache (File too large); running uncached (it is compiled again next run)\n"
    )


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_process_group_stops_mid_epoch_together_and_saves(tmp_path: Path) -> None:
    """`--nproc 2`: Ctrl-C (to the whole group, as a terminal sends it) stops both processes at the
    same update, mid-epoch (an epoch here lasts minutes), and the work is saved to resume."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100_000, 2)).round(4)
    rows = [f"{a},{b},{int(a * b > 0)}" for a, b in x]
    (tmp_path / "d.csv").write_text("a,b,label\n" + "\n".join(rows) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    args = ["train", "xor", "--data", "d.csv", "--target", "label", "--batch", "1", "--epochs", "20",
            "--backend", "torch", "--nproc", "2", "-o", "out.toml"]  # fmt: skip
    run = subprocess.Popen([sys.executable, "-m", "chainrule", *args], cwd=tmp_path, env=env | {"OMP_NUM_THREADS": "1"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not _children(run.pid):  # the second process, started once the data is read
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.1)
        # both import PyTorch and join the group: about 5 s, waited ten times that on a loaded machine;
        # the epoch (100,000 updates of one example) lasts minutes, so Ctrl-C still comes mid-epoch
        time.sleep(60)
        os.killpg(run.pid, signal.SIGINT)
        sent = time.monotonic()
        _, stderr = run.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, stderr
    assert took < PROMPT, stderr
    stopped = re.search(r"interrupted epoch [0-9,]+, after update ([0-9,]+);", stderr)
    assert stopped is not None, stderr
    position = int(stopped.group(1).replace(",", "")) % len(x)  # (the updates made, over every epoch)
    checkpoint = json.loads((tmp_path / "out.checkpoint.json").read_text())
    assert checkpoint["trainer"]["position"] == position > 0  # mid-epoch (batch 1: one example an update)
