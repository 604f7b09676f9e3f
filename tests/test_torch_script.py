"""The generated plain PyTorch script (`train --torch-script`): nothing from the network file becomes
code, and it trains with the file's optimizer constants and the fused losses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.io import netfile
from chainrule.train.torch_script import write_script
from chainrule.train.trainer import TrainConfig, Trainer
from helpers import random_document


def saturated_document(rng: np.random.Generator) -> dict:
    """Softmax over 3 classes with logits near ±800: 2 inputs of ±1, weights ±400."""
    x = rng.choice([-1.0, 1.0], (6, 2))
    return {
        "inputs": 2,
        "loss": "cross_entropy",
        "layers": [
            {
                "units": 3,
                "activation": "softmax",
                "weights": (rng.choice([-400.0, 400.0], (3, 2))).tolist(),
                "bias": 0.0,
            }
        ],
        "examples": [{"x": xi.tolist(), "y": np.eye(3)[i % 3].tolist()} for i, xi in enumerate(x)],
    }


# Each would run code (or break the script) if pasted raw into a docstring, a string or a line.
HOSTILE = [
    '"""\nimport os; open("PWNED", "w").write("title")\n"""',
    "'''\nraise SystemExit(7)\n'''",
    '\\"; open("PWNED", "w").write("quote"); x = "',
    "line one\r\nopen('PWNED', 'w').write('crlf')\n# {braces} {{and}} %s",
    "\u2028open('PWNED', 'w').write('u2028')\x0c\x00",
]

# A file name is text from the user too: the script finds its .npz and .pt from its own path.
HOSTILE_NAME = 'tr"""\nopen("PWNED", "w")\n\'\'\'ain.py'


def _script(tmp_path: Path, doc: dict, epochs: int = 2, name: str = "train.py") -> tuple[Path, Trainer]:
    net = netfile.from_dict(doc)
    engine = Trainer(net, net.x, net.y, TrainConfig(epochs=epochs, shuffle=False))
    script = tmp_path / name
    write_script(script, engine.net, engine.x, engine.y, engine.optimizer.settings, 0.0, epochs, engine.size)
    return script, engine


def _hostile(doc: dict, title: str) -> dict:
    doc = doc | {"title": title, "inputs": [f'x"""{i}' for i in range(doc["inputs"])]}  # names holding quotes
    doc["layers"] = [dict(layer) for layer in doc["layers"]]
    doc["layers"][0]["name"] = "h'''\nimport os"
    return doc


@pytest.mark.parametrize("title", HOSTILE)
def test_a_hostile_title_and_names_change_no_code(title: str, tmp_path: Path) -> None:
    """The script of a hostile file is the very text of a harmless one's: nothing of the file, not
    even a comment, is written into it."""
    doc = random_document(np.random.default_rng(len(title)), "mse", "identity")
    plain, _ = _script(tmp_path, doc | {"title": "t"})
    expected = plain.read_text(encoding="utf-8")
    hostile, _ = _script(tmp_path, _hostile(doc, title), name=HOSTILE_NAME)
    assert hostile.read_text(encoding="utf-8") == expected


def test_the_script_of_a_hostile_file_runs_none_of_it(tmp_path: Path) -> None:
    doc = _hostile(random_document(np.random.default_rng(0), "mse", "identity"), "".join(HOSTILE))
    script, _ = _script(tmp_path, doc, name=HOSTILE_NAME)
    done = subprocess.run([sys.executable, str(script), "--epochs", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("epoch ") == 1
    assert not (tmp_path / "PWNED").exists() and script.with_suffix(".pt").exists()


def test_non_finite_constants_never_reach_the_script(tmp_path: Path) -> None:
    from chainrule.engine.optimizers import Settings
    from chainrule.errors import ChainruleError

    doc = random_document(np.random.default_rng(1), "mse", "identity")
    net = netfile.from_dict(doc)
    engine = Trainer(net, net.x, net.y, TrainConfig(epochs=1))
    with pytest.raises(ChainruleError, match="eps is inf"):
        write_script(tmp_path / "s.py", engine.net, engine.x, engine.y, Settings("adam", eps=float("inf")), 0.0, 1, 1)
    assert not (tmp_path / "s.py").exists()


@pytest.mark.parametrize(
    "training",
    [
        {"optimizer": "adam", "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        {"optimizer": "rmsprop", "rho": 0.5, "eps": 1e-4},
        {"optimizer": "nesterov", "momentum": 0.6},
    ],
)
def test_the_script_uses_the_files_constants_and_fused_losses(
    training: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Saturated softmax logits (±800) and non-default constants: the script's parameters after 3
    epochs are the engine's to 1e-9 (the log(a) form gives NaN in its first epoch)."""
    import runpy

    import torch

    doc = saturated_document(np.random.default_rng(3)) | {"training": training | {"learning_rate": 0.01, "batch": 2}}
    script, engine = _script(tmp_path, doc, epochs=3)
    z = engine.net.forward(engine.x).z[-1]
    assert np.abs(z).max() >= 700  # e^z overflows float64 here: only the fused form is finite
    engine.run()
    assert engine.divergence is None
    monkeypatch.setattr(sys, "argv", [str(script), "--no-shuffle"])
    runpy.run_path(str(script), run_name="__main__")
    assert "nan" not in capsys.readouterr().out
    state = torch.load(tmp_path / "train.pt", weights_only=True)
    for i, ours in enumerate(engine.optimizer.params):
        np.testing.assert_allclose(state[f"params.{i}"].numpy().reshape(ours.shape), ours, rtol=1e-9, atol=1e-9)
