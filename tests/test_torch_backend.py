"""--backend torch: the engine's numbers on PyTorch (1e-10 in float64), one process or two (DDP,
gloo), saved back to a file explain and predict read; the generated plain PyTorch script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.train.torch_backend import TorchEpochs
from chainrule.train.trainer import TrainConfig, Trainer
from conftest import EXAMPLES, ROOT
from helpers import CASES, assert_one_line, random_document, run_cli

FIXTURES = ROOT / "tests" / "fixtures"


def _trained(net: netfile.Network, config: TrainConfig, *, torch: bool) -> Trainer:
    trainer = Trainer(net, net.x, net.y, config, rng=np.random.default_rng(7))
    if torch:
        trainer.runner = TorchEpochs(trainer.optimizer)
        trainer.runner.load(trainer)
    trainer.run()
    return trainer


def _close(a: Trainer, b: Trainer, tol: float) -> None:
    pa, pb = a.net.parameters(), b.net.parameters()
    assert pa.keys() == pb.keys()
    assert max(abs(pa[k] - pb[k]) / max(1.0, abs(pa[k])) for k in pa) <= tol  # relative where large
    assert [r.loss for r in a.history.curve()] == pytest.approx([r.loss for r in b.history.curve()], rel=tol, abs=tol)
    # the running metrics too (every epoch but the last), from PyTorch's own forward passes
    assert [(r.measured, r.accuracy) for r in a.history.curve()] == [
        (r.measured, r.accuracy) for r in b.history.curve()
    ]


@pytest.mark.parametrize("case", CASES, ids=[f"{loss}-{out}" for loss, out in CASES])
@pytest.mark.parametrize("optimizer", ["sgd", "nesterov"])
def test_random_networks_train_to_the_engines_numbers(case: tuple[str, str], optimizer: str) -> None:
    """Every activation and loss, random widths, biases (shared too), batches and reductions."""
    net = netfile.from_dict(random_document(np.random.default_rng(len(case[0]) + len(case[1])), *case))
    config = TrainConfig(epochs=5, optimizer=optimizer, weight_decay=0.01)
    engine, torch = _trained(net, config, torch=False), _trained(net, config, torch=True)
    assert torch.ran == {"torch"} and "torch" not in engine.ran
    _close(engine, torch, 1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_softplus_far_above_zero_trains_as_the_engine(seed: int) -> None:
    """z up to ±1800: log(1 + e^z) is z there, but e^z overflows from 710 on; with the threshold
    of 1000 the backend once used, PyTorch's softplus gave inf for some shapes (seed 2). The
    backend keeps the engine's finite numbers."""
    rng = np.random.default_rng(seed)
    units = int(rng.integers(1, 4))
    doc = {
        "inputs": 2,
        "loss": "mse",
        "layers": [
            {"units": units, "activation": "softplus", "weights": rng.uniform(0.5, 1.0, (units, 2)).tolist(),
             "bias": rng.normal(0, 1, units).tolist()},
            {"units": 1, "activation": "identity", "weights": rng.normal(0, 1, (1, units)).tolist(), "bias": 0.0},
        ],
        "examples": [{"x": x, "y": [float(rng.normal())]} for x in [[900.0, 900.0], *rng.uniform(-900, 900, (5, 2)).tolist()]],
        "training": {"learning_rate": 1e-7, "batch": 2},
    }  # fmt: skip
    net = netfile.from_dict(doc)
    z = net.x @ net.layers[0].weight.T
    assert z.max() > 710  # the first example: weights ≥ 0.5, inputs 900
    config = TrainConfig(epochs=3)
    engine, torch = _trained(net, config, torch=False), _trained(net, config, torch=True)
    assert torch.ran == {"torch"} and torch.divergence is None
    _close(engine, torch, 1e-10)


@pytest.mark.parametrize("optimizer", ["momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("name", ["forward-backprop.toml", "xor.toml"])
def test_optimizers_with_state_and_frozen_parameters(name: str, optimizer: str, tmp_path: Path) -> None:
    doc = netfile.read_document(EXAMPLES / name)
    doc.setdefault("training", {})["freeze"] = ["w1"]
    net = netfile.from_dict(doc)
    config = TrainConfig(epochs=6, optimizer=optimizer, learning_rate=0.05)
    engine, torch = _trained(net, config, torch=False), _trained(net, config, torch=True)
    _close(engine, torch, 1e-10)
    assert torch.net.parameters()["w1"] == net.parameters()["w1"]  # frozen stays put
    for key in engine.optimizer.state:  # the optimizer state came back too (checkpoints hold it)
        for mine, theirs in zip(engine.optimizer.state[key], torch.optimizer.state[key], strict=True):
            np.testing.assert_allclose(mine, theirs, atol=1e-10, rtol=0)
    assert engine.optimizer.steps == torch.optimizer.steps


def test_the_command_trains_on_torch_and_saves_a_file_explain_and_predict_read(tmp_path: Path) -> None:
    out = tmp_path / "t.npz"
    args = ["train", str(EXAMPLES / "xor.toml"), "--epochs", "4", "-q", "--backend", "torch", "-o", str(out)]
    result, _ = run_cli(args)
    assert result.exit_code == 0, result.output
    plain = tmp_path / "e.toml"
    run_cli(["train", str(EXAMPLES / "xor.toml"), "--epochs", "4", "-q", "-o", str(plain)])
    a, b = netfile.load(out).parameters(), netfile.load(plain).parameters()
    assert max(abs(a[k] - b[k]) for k in a) < 1e-10
    result, _ = run_cli(["predict", str(out), "1", "0", "--format", "json"])
    assert len(json.loads(result.stdout)["outputs"]) == 1
    assert run_cli(["explain", str(out)])[0].exit_code == 0


def test_backend_options_are_checked() -> None:
    xor = str(EXAMPLES / "xor.toml")
    assert "expected --backend torch" in assert_one_line(["train", xor, "--nproc", "2"])
    err = assert_one_line(["train", xor, "--backend", "torch", "--device", "cuda", "--nproc", "64"])
    assert "--device cuda: expected 64 CUDA device(s) on this host, found 0" in err


def test_the_generated_script_trains_as_chainrule_does(tmp_path: Path) -> None:
    """Run the plain PyTorch script (no shuffling): its parameters are the engine's."""
    script = tmp_path / "train_xor.py"
    result, _ = run_cli(["train", str(EXAMPLES / "xor.toml"), "--torch-script", str(script)])
    assert result.exit_code == 0, result.output
    done = subprocess.run(
        [sys.executable, str(script), "--epochs", "3", "--no-shuffle"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("epoch ") == 3
    import torch

    state = torch.load(tmp_path / "train_xor.pt", weights_only=True)
    net = netfile.load(EXAMPLES / "xor.toml")
    engine = Trainer(net, net.x, net.y, TrainConfig(epochs=3, shuffle=False))
    engine.run()
    ours = [p.ravel() for p in engine.optimizer.params]
    theirs = [state[k].numpy().ravel() for k in sorted(state, key=lambda k: int(k.rsplit(".", 1)[1]))]
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs, strict=True)) < 1e-12


@pytest.mark.parametrize("seed", range(8))
def test_the_generated_script_keeps_frozen_parameters_frozen(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Random networks, some parameters frozen, weight decay on, every optimizer: the script's
    parameters after 3 epochs (no shuffling) are the engine's to 1e-12, frozen ones unmoved."""
    import runpy

    import torch

    from chainrule.train.torch_script import write_script

    rng = np.random.default_rng(100 + seed)
    net = netfile.from_dict(random_document(rng, *CASES[int(rng.integers(len(CASES)))]))
    names = net.parameter_names()
    net.training.freeze = tuple(n for n in names if rng.random() < 0.4) or (names[0],)
    optimizer = ["sgd", "momentum", "nesterov", "rmsprop", "adam"][seed % 5]
    config = TrainConfig(epochs=3, shuffle=False, optimizer=optimizer, weight_decay=0.05)
    engine = Trainer(net, net.x, net.y, config)
    script = tmp_path / "train_net.py"
    write_script(script, engine.net, engine.x, engine.y, engine.optimizer.settings, 0.05, 3, engine.size)
    before = engine.net.parameters()
    engine.run()
    monkeypatch.setattr(sys, "argv", [str(script), "--no-shuffle"])
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.count("epoch ") == 3
    state = torch.load(tmp_path / "train_net.pt", weights_only=True)
    theirs = [state[f"params.{i}"].numpy() for i in range(len(state))]
    for ours, got in zip(engine.optimizer.params, theirs, strict=True):
        np.testing.assert_allclose(got.reshape(ours.shape), ours, rtol=1e-12, atol=1e-12)
    after = engine.net.parameters()
    assert all(after[n] == before[n] for n in net.training.freeze)
    assert any(after[n] != before[n] for n in names if n not in net.training.freeze)


def test_nothing_optional_is_imported_for_the_built_in_example() -> None:
    code = (
        "import sys, runpy; sys.argv = ['chainrule', 'explain', '--format', 'markdown']\n"
        "try:\n    runpy.run_module('chainrule', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'pyarrow', 'anywidget', 'onnx', 'sklearn', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")}
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


CONSTANTS = [
    {"optimizer": "adam", "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
    {"optimizer": "rmsprop", "rho": 0.5, "eps": 1e-4},
    {"optimizer": "momentum", "momentum": 0.6},
    {"optimizer": "nesterov", "momentum": 0.3},
]


@pytest.mark.parametrize("training", CONSTANTS, ids=[c["optimizer"] for c in CONSTANTS])
def test_the_files_optimizer_constants_reach_torch(training: dict) -> None:
    """β₁, β₂, ε, ρ and μ from the file, not torch.optim's defaults: 6 epochs of XOR equal the
    engine's to 1e-9 (with the defaults they differed by 0.05 for Adam, 0.58 for RMSProp)."""
    doc = netfile.read_document(EXAMPLES / "xor.toml")
    doc["training"] = doc.get("training", {}) | training | {"batch": 1}
    net = netfile.from_dict(doc)
    engine, torch = _trained(net, TrainConfig(epochs=6), torch=False), _trained(net, TrainConfig(epochs=6), torch=True)
    assert torch.ran == {"torch"}
    _close(engine, torch, 1e-9)


def _saturated(loss: str, rng: np.random.Generator) -> netfile.Network:
    """One layer whose logits are about ±800 on every example: e^z overflows float64 there."""
    units, activation = (3, "softmax") if loss == "cross_entropy" else (1, "sigmoid")
    x = rng.choice([-1.0, 1.0], (8, 2))
    y = np.eye(3)[np.arange(8) % 3] if units == 3 else (np.arange(8)[:, None] % 2).astype(float)
    doc = {
        "inputs": 2,
        "loss": loss,
        "layers": [{"units": units, "activation": activation, "weights": rng.choice([-400.0, 400.0], (units, 2)).tolist(),
                    "bias": 0.0}],
        "examples": [{"x": a.tolist(), "y": b.tolist()} for a, b in zip(x, y, strict=True)],
        "training": {"learning_rate": 0.01, "batch": 2},
    }  # fmt: skip
    return netfile.from_dict(doc)


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("seed", range(3))
def test_saturated_outputs_train_as_the_engine_does(loss: str, seed: int) -> None:
    """Logits ±800: the fused forms (log-softmax, softplus(z) − y·z) keep the loss finite where
    log(softmax) or log(σ) is log(0); the textbook forms gave NaN in the first epoch."""
    net = _saturated(loss, np.random.default_rng(seed))
    assert np.abs(net.forward(net.x).z[-1]).max() >= 700
    config = TrainConfig(epochs=4, evaluate_every=1000)  # running metrics: PyTorch's own losses
    engine, torch = _trained(net, config, torch=False), _trained(net, config, torch=True)
    assert torch.divergence is None and engine.divergence is None
    assert all(np.isfinite(r.loss) for r in torch.history.curve())
    _close(engine, torch, 1e-9)


def test_a_resumed_torch_run_is_the_uninterrupted_one(tmp_path: Path) -> None:
    """Stop after 2 of 4 epochs (checkpoint: parameters, Adam's moments and step count, the random
    stream), resume on torch: the parameters are the uninterrupted run's."""
    doc = netfile.read_document(EXAMPLES / "xor.toml")
    doc["training"] = doc.get("training", {}) | {"optimizer": "adam", "beta1": 0.7, "beta2": 0.95, "batch": 2}
    net_path = tmp_path / "net.toml"
    netfile.save(netfile.from_dict(doc), net_path)
    base = ["train", str(net_path), "--backend", "torch", "-q"]
    check = tmp_path / "c.json"
    assert (
        run_cli([*base, "--epochs", "2", "--checkpoint", str(check), "-o", str(tmp_path / "mid.toml")])[0].exit_code
        == 0
    )
    resumed, full = tmp_path / "resumed.toml", tmp_path / "full.toml"
    result, _ = run_cli([*base, "--epochs", "4", "--resume", str(check), "-o", str(resumed)])
    assert result.exit_code == 0, result.output
    assert run_cli([*base, "--epochs", "4", "-o", str(full)])[0].exit_code == 0
    a, b = netfile.load(resumed).parameters(), netfile.load(full).parameters()
    assert max(abs(a[k] - b[k]) for k in a) <= 1e-12
    assert netfile.load(tmp_path / "mid.toml").parameters() != b  # the resumed run did train on
