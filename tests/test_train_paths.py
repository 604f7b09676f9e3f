"""`chainrule train` on each path: the compiled loop, the lean NumPy path and the engine agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.train.trainer import TrainConfig, Trainer


def _run(net, path: str, **config):  # type: ignore[no-untyped-def]
    """Train on `path` (compiled, lean, or numpy: the engine's own step, as any non-SGD optimizer
    uses), and check that path, and only it, made the updates."""
    trainer = Trainer(net, net.x, net.y, TrainConfig(**config), rng=np.random.default_rng(3), path=path)
    result = trainer.run()
    assert trainer.path == path and trainer.ran == {path}
    return trainer, result


@pytest.mark.parametrize(
    ("example", "batch", "epochs"),
    [
        ("xor.toml", 1, 30),
        ("xor.toml", 3, 30),
        ("softmax-classifier.toml", 2, 30),
        # 200 examples: batches of 8 and the evaluation go through the compiled loop's matrices
        ("spirals.toml", 8, 5),
        # 12 examples (the file's 3, four times): softmax and cross-entropy evaluated together
        ("softmax-classifier.toml", 4, 10),
    ],
)
def test_paths_agree_on_parameters_and_every_epochs_metrics(example: str, batch: int, epochs: int) -> None:
    net = netfile.load(netfile.example_path(example))
    if example == "softmax-classifier.toml" and batch == 4:
        net.x, net.y = np.tile(net.x, (4, 1)), np.tile(net.y, (4, 1))
    runs = {p: _run(net, p, epochs=epochs, batch=batch) for p in ("compiled", "lean", "numpy")}
    expected = runs["numpy"][1]
    for path in ("compiled", "lean"):
        result = runs[path][1]
        for name, value in expected.network.parameters().items():
            assert result.network.parameters()[name] == pytest.approx(value, rel=1e-12, abs=1e-14), (path, name)
        for mine, theirs in zip(result.history, expected.history, strict=True):
            assert mine.loss == pytest.approx(theirs.loss, rel=1e-12)
            assert mine.accuracy == theirs.accuracy


def test_until_loss_stops_at_the_same_epoch_on_the_compiled_path() -> None:
    net = netfile.load(netfile.example_path("xor.toml"))
    compiled = _run(net, "compiled", epochs=5000, until_loss=0.05)[1]
    engine = _run(net, "numpy", epochs=5000, until_loss=0.05)[1]
    assert compiled.stopped_by == engine.stopped_by == "until_loss"
    assert compiled.history[-1].epoch == engine.history[-1].epoch


def test_a_network_the_compiled_path_lacks_trains_on_numpy_and_says_so_once(tmp_path: Path) -> None:
    path = tmp_path / "prelu.toml"
    path.write_text(
        'inputs = 2\nloss = "binary_cross_entropy"\n[[layers]]\nunits = 3\nactivation = "prelu"\n'
        '[[layers]]\nunits = 1\nactivation = "sigmoid"\n[[examples]]\nx = [0, 1]\ny = [1]\n'
        "[[examples]]\nx = [1, 1]\ny = [0]\n[training]\nepochs = 20\n"
    )
    result = CliRunner().invoke(main, ["train", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("prelu") == 1 and "NumPy path" in result.stderr


@pytest.mark.parametrize("path", ["compiled", "lean", "numpy"])
def test_float32_training_stays_within_float32_rounding_of_float64(path: str) -> None:
    net = netfile.load(netfile.example_path("xor.toml"))
    single = _run(net, path, epochs=50, dtype="float32")[1]
    double = _run(net, path, epochs=50)[1]
    assert single.network.layers[0].weight.dtype == np.float32
    for name, value in double.network.parameters().items():
        assert single.network.parameters()[name] == pytest.approx(value, rel=1e-4, abs=1e-5), name


def test_dtype_option_is_saved(tmp_path: Path) -> None:
    out = tmp_path / "trained.toml"
    result = CliRunner().invoke(
        main,
        ["train", str(netfile.example_path("xor.toml")), "--dtype", "float32", "--epochs", "5", "-q", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert netfile.load(out).training.dtype == "float32"


@pytest.mark.parametrize(("example", "batch"), [("xor.toml", "full"), ("xor.toml", 1), ("forward-backprop.toml", 1)])
def test_a_run_uses_the_loop_it_loaded_and_compiles_no_other(example: str, batch: object) -> None:
    """Every call of a run has the types `load_loop` compiled for: no second build mid-run."""
    from chainrule.train.compiled import kernel as fast_kernel

    net = netfile.load(netfile.example_path(example))
    trainer = Trainer(net, net.x, net.y, TrainConfig(epochs=50, batch=batch))  # type: ignore[arg-type]
    assert trainer.path == "compiled" and trainer.runner is not None
    trainer.runner.load(trainer)
    before = len(fast_kernel.train_and_evaluate.signatures)
    trainer.run()
    assert len(fast_kernel.train_and_evaluate.signatures) == before and trainer.ran == {"compiled"}


@pytest.mark.parametrize("batch", [1, 5, 16])
def test_a_gelu_network_trains_to_the_engines_numbers_on_every_path(batch: int) -> None:
    """GELU hidden layers. The engine and the lean path take erf from SciPy, the compiled loop from
    the C library: the two may differ in the last place, which steps as large as η = 0.3 online
    amplify to 1e-12 within four epochs, so this uses η = 0.1 (the paths then agree to 1e-14)."""
    rng = np.random.default_rng(40 + batch)
    layers = [{"units": u, "activation": "gelu", "bias": rng.normal(0, 0.5, u).tolist()} for u in (6, 5)]
    layers.append({"units": 3, "activation": "softmax", "bias": [0.0] * 3})
    x, labels = rng.normal(0, 1.5, (32, 4)), rng.integers(0, 3, 32)
    examples = [{"x": xi.tolist(), "y": np.eye(3)[c].tolist()} for xi, c in zip(x, labels, strict=True)]
    net = netfile.from_dict({"inputs": 4, "loss": "cross_entropy", "layers": layers, "examples": examples})
    runs = {p: _run(net, p, epochs=4, batch=batch, learning_rate=0.1) for p in ("compiled", "lean", "numpy")}
    expected = runs["numpy"][1].network.parameters()
    assert expected["w1"] != net.parameters()["w1"]
    for path in ("compiled", "lean"):
        for name, value in runs[path][1].network.parameters().items():
            assert value == pytest.approx(expected[name], rel=1e-12, abs=1e-14), (path, name)
