"""A plain PyTorch training script for a network and its training settings (`--torch-script FILE`).

For those who continue on their own: the script needs only NumPy and PyTorch. FILE.py holds the
architecture and the settings as Python; FILE.npz beside it holds the starting parameters (p0,
p1, … in the order weight, bias, α per layer), the keep masks of those with frozen entries (m<i>:
1 learns, 0 frozen) and the training data exactly as chainrule trains on it (standardised inputs,
one-hot or 0/1 targets). Each update applies the engine's rule g = (∂L/∂θ + λθ) ⊙ mask before
torch.optim's step, so frozen parameters stay put (weight decay included). The script trains,
prints each epoch's mean loss, and saves the parameters to FILE.pt (a state_dict;
torch.load(weights_only=True) reads it).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np

from chainrule.engine.network import Network
from chainrule.io.netwrite import write_atomic
from chainrule.train.optim import network_parameters

TEMPLATE = '''"""Train {title} with plain PyTorch (written by `chainrule train --torch-script`).

    python {script} [--epochs N] [--no-shuffle] [--device cuda]

The starting parameters and the training data are in {arrays}; the result goes to {result}.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
# Each layer: (activation, its fixed alpha, bias: "shared" | "neuron" | "none", learnable alpha)
LAYERS = {layers!r}
LOSS = {loss!r}
LEARNING_RATE = {lr!r}
BATCH = {batch!r}  # examples per update
MEAN = {mean!r}  # reduction: the batch's mean loss (True) or its sum (False)
EPOCHS = {epochs!r}
OPTIMIZER = {optimizer!r}
MOMENTUM = {momentum!r}
WEIGHT_DECAY = {weight_decay!r}
SEED = {seed!r}
DTYPE = torch.{dtype}


def activate(name, z, alpha):
    functions = {{
        "identity": lambda: z,
        "binary_step": lambda: (z >= 0).to(z.dtype) + 0.0 * z,
        "sigmoid": lambda: torch.sigmoid(z),
        "tanh": lambda: torch.tanh(z),
        "relu": lambda: F.relu(z),
        "selu": lambda: F.selu(z),
        "leaky_relu": lambda: F.leaky_relu(z, float(alpha)),
        "prelu": lambda: torch.where(z > 0, z, alpha * z),
        "elu": lambda: F.elu(z, float(alpha)),
        "softmax": lambda: F.softmax(z, dim=-1),
        "swish": lambda: F.silu(z),
        "gelu": lambda: F.gelu(z),
        "softplus": lambda: F.softplus(z, threshold=40.0),  # z itself above 40: log(1 + e^z) in float64 too
    }}
    return functions[name]()


{losses}

class Network(nn.Module):
    def __init__(self, arrays):
        super().__init__()
        self.params = nn.ParameterList(nn.Parameter(torch.tensor(a, dtype=DTYPE)) for a in arrays)

    def forward(self, a):
        i = 0
        for activation, alpha, bias, learnable in LAYERS:
            a_next = a @ self.params[i].T
            i += 1
            if bias != "none":
                a_next = a_next + self.params[i]
                i += 1
            if learnable:
                alpha = self.params[i]
                i += 1
            a = activate(activation, a_next, alpha)
        return a


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    saved = np.load(HERE / {arrays!r}, allow_pickle=False)
    count = sum(1 for k in saved.files if k.startswith("p"))
    model = Network([saved[f"p{{i}}"] for i in range(count)]).to(args.device)
    # keep masks: 1 where a parameter learns, 0 where it is frozen (absent: all of it learns)
    keep = [torch.tensor(saved[f"m{{i}}"], dtype=DTYPE, device=args.device) if f"m{{i}}" in saved.files else None
            for i in range(count)]
    x = torch.tensor(saved["x"], dtype=DTYPE, device=args.device)
    y = torch.tensor(saved["y"], dtype=DTYPE, device=args.device)
    params = list(model.parameters())
    if OPTIMIZER == "adam":
        opt = torch.optim.Adam(params, lr=LEARNING_RATE)
    elif OPTIMIZER == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=LEARNING_RATE)
    else:
        momentum = MOMENTUM if OPTIMIZER in ("momentum", "nesterov") else 0.0
        opt = torch.optim.SGD(params, lr=LEARNING_RATE, momentum=momentum, nesterov=OPTIMIZER == "nesterov")
    n = len(x)
    for epoch in range(1, args.epochs + 1):
        order = torch.arange(n) if args.no_shuffle else torch.randperm(n)
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH].to(args.device)
            opt.zero_grad()
            loss = example_losses(LOSS, model(x[idx]), y[idx]).sum()
            (loss / len(idx) if MEAN else loss).backward()
            with torch.no_grad():  # weight decay, then the frozen entries' gradient to 0
                for p, mask in zip(params, keep):
                    p.grad.add_(p, alpha=WEIGHT_DECAY)
                    if mask is not None:
                        p.grad.mul_(mask)
            opt.step()
        with torch.no_grad():
            print(f"epoch {{epoch}}: loss {{example_losses(LOSS, model(x), y).mean().item():.6g}}")
    torch.save(model.state_dict(), HERE / {result!r})


if __name__ == "__main__":
    main()
'''


def _losses_source() -> str:
    """`torch_model.example_losses` as text: the script trains with the backend's one definition.
    Read from the file, not imported: writing the script needs no PyTorch."""
    source = Path(__file__).with_name("torch_model.py").read_text(encoding="utf-8")
    found = next(
        node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef) and node.name == "example_losses"
    )
    return ast.get_source_segment(source, found) or ""


def write_script(path: str | os.PathLike[str], net: Network, x: np.ndarray, y: np.ndarray, optimizer: str,
                 momentum: float, weight_decay: float, epochs: int, size: int) -> list[Path]:  # fmt: skip
    """Write FILE (the script) and FILE's .npz (parameters and data), each atomically; their paths."""
    script = Path(path)
    arrays, result = script.with_suffix(".npz"), script.with_suffix(".pt")
    t = net.training
    layers = [(la.activation.name, la.alpha_value(), la.bias_mode if la.bias_names else "none", bool(la.alpha_name))
              for la in net.layers]  # fmt: skip
    text = TEMPLATE.format(
        title=net.title or "the network", script=script.name, arrays=arrays.name, result=result.name,
        layers=layers, loss=net.loss.name, lr=t.learning_rate, batch=size, mean=t.reduction == "mean",
        epochs=epochs, optimizer=optimizer, momentum=momentum, weight_decay=weight_decay, seed=t.seed,
        dtype=t.dtype, losses=_losses_source(),
    )  # fmt: skip
    params, masks = network_parameters(net)
    saved = {f"p{i}": p for i, p in enumerate(params)} | {f"m{i}": m for i, m in enumerate(masks) if m is not None}
    write_atomic(arrays, lambda fh: np.savez(fh, x=x, y=y, **saved))  # type: ignore[arg-type]
    write_atomic(script, text)
    return [script, arrays]
