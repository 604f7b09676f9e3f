"""What the tests share: random network files, PyTorch's own definitions, the engine trained by hand.

Test modules import from here (and from conftest), never from each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.engine.network import Network

if TYPE_CHECKING:  # PyTorch is imported by the functions that use it: the engine's tests run without it
    import torch

HIDDEN = sorted({a.name for a in ACTIVATIONS.values() if a.elementwise})
OUTPUT_FOR_LOSS = {
    "half_squared_error": [*HIDDEN, "softmax"],
    "squared_error": ["sigmoid", "tanh", "identity", "softmax", "gelu"],
    "mse": ["identity", "tanh", "softplus", "elu"],
    "binary_cross_entropy": ["sigmoid"],
    "cross_entropy": ["softmax"],
    "hinge": ["identity", "tanh"],
}


def random_document(rng: np.random.Generator, loss: str, output: str) -> dict[str, Any]:
    """A random network file: 1–4 layers, random widths, bias forms, batch and reduction."""
    n_layers = int(rng.integers(1, 5))
    n_in = int(rng.integers(1, 4))
    n_out = 1 if loss == "binary_cross_entropy" and rng.random() < 0.5 else int(rng.integers(2, 4))
    if output == "softmax" or loss in ("cross_entropy",):
        n_out = max(n_out, 2)
    layers = []
    for i in range(n_layers):
        last = i == n_layers - 1
        units = n_out if last else int(rng.integers(1, 4))
        act = output if last else str(rng.choice(HIDDEN))
        layer: dict[str, Any] = {"units": units, "activation": act}
        form = rng.integers(0, 3)
        if form == 0:
            layer["bias"] = float(rng.normal(0, 0.5))
        elif form == 1:
            layer["bias"] = rng.normal(0, 0.5, units).tolist()
        layers.append(layer)
    n_ex = int(rng.integers(1, 6))
    x = rng.normal(0, 1, (n_ex, n_in))
    if loss == "cross_entropy":
        y = rng.dirichlet(np.ones(n_out), n_ex)
    elif loss == "binary_cross_entropy":
        y = rng.uniform(0, 1, (n_ex, n_out))
    elif loss == "hinge":
        y = rng.choice([-1.0, 1.0], (n_ex, 1)) if n_out == 1 else np.eye(n_out)[rng.integers(0, n_out, n_ex)]
    else:
        y = rng.normal(0, 1, (n_ex, n_out))
    batch = ["online", "full", int(rng.integers(1, 4))][int(rng.integers(0, 3))]
    return {
        "inputs": n_in,
        "loss": loss,
        "layers": layers,
        "examples": [{"x": xi.tolist(), "y": yi.tolist()} for xi, yi in zip(x, y, strict=True)],
        "training": {
            "learning_rate": 0.1,
            "batch": batch,
            "reduction": str(rng.choice(["sum", "mean"])),
            "seed": int(rng.integers(0, 1000)),
        },
    }


CASES = [(loss, out) for loss in LOSSES for out in OUTPUT_FOR_LOSS[loss]]

# Names a user may give, every one a trap for some output format: TeX's ten specials, Markdown and
# HTML markup, digits, underscores, non-ASCII.
ODD_NAMES = ["h_1", "2nd", "a#b", "50%", "R&D", "$x", "naïve", "x_{1}", "<b>", "λ", "t~^", "back\\slash"]


def odd_document(rng: np.random.Generator, loss: str, output: str) -> dict[str, Any]:
    """`random_document` with odd layer and input names and an odd title."""
    doc = random_document(rng, loss, output)
    names = list(rng.permutation(ODD_NAMES))
    for layer in doc["layers"]:
        layer["name"] = names.pop() + str(len(names))
    doc["inputs"] = [f"{names.pop() if names else 'in'}{i}" for i in range(doc["inputs"])]
    doc["title"] = "Odd & #1: 100% $\\input{x}$ <script>"
    return doc


def engine_epochs(net: Network, epochs: int) -> Network:
    """Plain SGD by the explained engine: one `updated` per batch, in file order."""
    for _ in range(epochs):
        for idx in net.batches():
            x, y = net.x[idx], net.y[idx]
            net = net.updated(net.backward(net.forward(x), y))
    return net


# -- PyTorch's own definitions of every activation and loss, for parity in float64 ----------------


def torch_activation(name: str, z: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    if name == "identity":
        return z
    if name == "binary_step":
        return (z >= 0).to(z.dtype) + 0.0 * z  # the step: flat, zero derivative, still in the graph
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return F.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, float(alpha))
    if name == "prelu":
        assert isinstance(alpha, torch.Tensor)
        return F.prelu(z, alpha)
    if name == "elu":
        return F.elu(z, float(alpha))
    if name == "selu":
        return F.selu(z)
    if name == "softmax":
        return F.softmax(z, dim=-1)
    if name == "swish":
        return F.silu(z)
    if name == "gelu":
        return F.gelu(z, approximate="none")
    if name == "softplus":
        return F.softplus(z, threshold=1000.0)  # torch switches to z itself above 20 by default
    raise AssertionError(name)


def torch_loss(name: str, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example losses, written from their textbook definitions."""
    import torch

    if name == "half_squared_error":
        return 0.5 * ((y - a) ** 2).sum(-1)
    if name == "squared_error":
        return ((y - a) ** 2).sum(-1)
    if name == "mse":
        return ((y - a) ** 2).mean(-1)
    if name == "binary_cross_entropy":
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(-1)
    if name == "cross_entropy":
        return -(y * torch.log(a)).sum(-1)
    if name == "hinge":
        if a.shape[-1] == 1:
            return torch.clamp(1 - y[:, 0] * a[:, 0], min=0)
        c = y.argmax(-1)
        correct = a.gather(1, c[:, None])
        margins = torch.clamp(a - correct + 1, min=0)
        return margins.sum(-1) - 1.0  # the target class's own margin is exactly 1
    raise AssertionError(name)


def run_cli(args: list[str]) -> tuple[Any, list[str]]:
    """Run the command line in-process: (click's result, the text of every warning raised meanwhile)."""
    import warnings

    from click.testing import CliRunner

    from chainrule.cli.root import main

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, args)
    return result, [f"{w.category.__name__}: {w.message}" for w in caught if issubclass(w.category, RuntimeWarning)]


def assert_one_line(args: list[str], ok: tuple[int, ...] = ()) -> str:
    """Run args; unless it exits with one of `ok`, it must exit 2 with exactly one line on stderr
    starting "chainrule: ", and never a traceback or a numpy warning. Returns stderr."""
    result, warned = run_cli(args)
    shown = f"{args!r:.300}: exit {result.exit_code}, {result.exception!r:.300}\n{result.stderr[-2000:]}"
    assert warned == [], shown
    assert "Traceback" not in result.output and "Warning" not in result.stderr, shown
    if result.exit_code in ok:
        return str(result.stderr)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: "), shown
    return str(result.stderr)


def post(client: Any, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """POST `body` to the API, assert the status, and return the JSON answer."""
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def pdflatex(folder: Any, tex: str) -> Any:
    """Compile `folder/tex` once with pdflatex (no shell escape, stop at the first error); the finished run."""
    import subprocess

    return subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
    )
