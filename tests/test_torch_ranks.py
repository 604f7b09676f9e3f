"""`--backend torch` in several processes: `--nproc 2`, torchrun on one node, and two torchrun
"nodes" on 127.0.0.1 give the single process's parameters, one output file, a summary naming torch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.io import netfile
from conftest import ROOT
from helpers import random_document, run_cli

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def _network(tmp_path: Path) -> Path:
    """13 examples in batches of 5 (uneven shares over 2 processes), Adam with its own constants."""
    doc = random_document(np.random.default_rng(5), "cross_entropy", "softmax")
    doc["training"].update(batch=5, reduction="mean", optimizer="adam", beta1=0.6, beta2=0.95, eps=1e-4)
    rng = np.random.default_rng(9)
    doc["examples"] = [{"x": rng.normal(size=doc["inputs"]).tolist(), "y": doc["examples"][i % len(doc["examples"])]["y"]}
                       for i in range(13)]  # fmt: skip
    path = tmp_path / "net.toml"
    netfile.save(netfile.from_dict(doc), path)
    return path


def _args(net: Path, out: Path) -> list[str]:
    """Every epoch evaluates the validation set and may stop the run (--patience): the processes
    must agree epoch by epoch."""
    return ["train", str(net), "--epochs", "4", "--val", "0.3", "--patience", "2", "--backend", "torch", "-o", str(out)]


def _close(a: Path, b: Path, tol: float) -> None:
    pa, pb = netfile.load(a).parameters(), netfile.load(b).parameters()
    assert pa.keys() == pb.keys()
    assert max(abs(pa[k] - pb[k]) for k in pa) <= tol


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return env | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nproc_torchrun_and_two_nodes_give_one_process_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chainrule.cli import train_torch

    net = _network(tmp_path)
    one, engine = tmp_path / "one.toml", tmp_path / "engine.toml"
    assert run_cli([*_args(net, one), "-q"])[0].exit_code == 0
    plain = [a for a in _args(net, engine) if a not in ("--backend", "torch")]
    assert run_cli([*plain, "-q"])[0].exit_code == 0
    _close(one, engine, 1e-10)
    # torchrun, one node of two processes; and two "nodes" of one process each, on this host only
    (tmp_path / "standalone").mkdir()
    (tmp_path / "nodes").mkdir()
    standalone = [*TORCHRUN, "--standalone", "--nproc_per_node=2", "-m", "chainrule",
                  *_args(net, tmp_path / "standalone" / "out.toml")]  # fmt: skip
    port = _port()
    nodes = [[*TORCHRUN, "--nnodes=2", f"--node_rank={r}", "--nproc_per_node=1", "--master_addr=127.0.0.1",
              f"--master_port={port}", "-m", "chainrule", *_args(net, tmp_path / "nodes" / "out.toml"), "-q"]
             for r in (0, 1)]  # fmt: skip
    running = [subprocess.Popen(c, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for c in (standalone, *nodes)]  # fmt: skip
    # meanwhile --nproc 2, in this process and one it starts, once for the whole run
    launched: list[int] = []
    launch = train_torch._launch
    monkeypatch.setattr(train_torch, "_launch", lambda *a: launched.append(a[-1]) or launch(*a))
    two = tmp_path / "two.toml"
    result, _ = run_cli([*_args(net, two), "--nproc", "2"])
    assert result.exit_code == 0, result.output
    assert launched == [2]  # the other process started once, not once per epoch
    said = " ".join(result.output.split())  # the summary as words, however the console wrapped it
    assert "torch backend on cpu, 2 processes" in said and "NumPy" not in said, said[:400]
    done = [(p.communicate(timeout=300), p.returncode) for p in running]
    for (_out, err), code in done:
        assert code == 0, err[-2000:]
    assert "torch backend on cpu, 2 processes" in " ".join(done[0][0][0].split())
    for folder in ("standalone", "nodes"):
        assert os.listdir(tmp_path / folder) == ["out.toml"]  # one file, from rank 0 alone
        _close(tmp_path / folder / "out.toml", one, 1e-6)
    _close(two, one, 1e-10)


def test_nproc_is_refused_without_a_process_group() -> None:
    from chainrule.errors import ChainruleError
    from chainrule.train.torch_backend import TorchEpochs
    from chainrule.train.trainer import TrainConfig, Trainer

    net = netfile.load(ROOT / "src" / "chainrule" / "examples" / "xor.toml")
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=1))
    with pytest.raises(ChainruleError, match=r"the processes started by `chainrule train --nproc` or torchrun"):
        TorchEpochs(trainer.optimizer, nproc=2)
