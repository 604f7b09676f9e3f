"""A plain PyTorch training script for a network and its training settings (`--torch-script FILE`).

For those who continue on their own: the script needs only NumPy and PyTorch. FILE.py holds the
architecture and the settings as Python; FILE.npz beside it holds the starting parameters (p0,
p1, … in the order weight, bias, α per layer), the keep masks of those with frozen entries (m<i>:
1 learns, 0 frozen) and the training data exactly as chainrule trains on it (standardised inputs,
one-hot or 0/1 targets). Each update applies the engine's rule g = (∂L/∂θ + λθ) ⊙ mask before
torch.optim's step (with the file's constants: μ, ρ, β₁, β₂, ε), so frozen parameters stay put
(weight decay included); the losses are the backend's, fused where the engine fuses them. The
script trains, prints each epoch's mean loss, and saves the parameters to FILE.pt (a state_dict;
torch.load(weights_only=True) reads it).

Nothing from the network file becomes code (train/codegen.py): numbers go through `literal`,
registry names through `identifier`; no text of the file (not its title, not as a comment); the script
finds its .npz and .pt from its own path, so no file name is written into it either.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np

from chainrule.engine.network import Network
from chainrule.engine.optimizers import Settings
from chainrule.io.netwrite import write_atomic
from chainrule.train.codegen import identifier, literal
from chainrule.train.optim import network_parameters

TEMPLATE = '''"""Train a network with plain PyTorch (written by `chainrule train --torch-script`).

    python THIS_FILE.py [--epochs N] [--no-shuffle] [--device cuda]

The starting parameters and the training data are in THIS_FILE.npz; the result goes to THIS_FILE.pt.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ARRAYS = Path(__file__).resolve().with_suffix(".npz")
RESULT = Path(__file__).resolve().with_suffix(".pt")
# Each layer: (activation, its fixed alpha, bias: "shared" | "neuron" | "none", learnable alpha)
LAYERS = [{layers}]
LOSS = "{loss}"
LEARNING_RATE = {lr}
BATCH = {batch}  # examples per update
MEAN = {mean}  # reduction: the batch's mean loss (True) or its sum (False)
EPOCHS = {epochs}
OPTIMIZER = "{optimizer}"
MOMENTUM = {momentum}  # momentum, nesterov
RHO = {rho}  # rmsprop
BETA1, BETA2 = {beta1}, {beta2}  # adam
EPS = {eps}  # rmsprop, adam
WEIGHT_DECAY = {weight_decay}
SEED = {seed}
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
        """The output layer's z and its activation a (the fused losses read z)."""
        i = 0
        for activation, alpha, bias, learnable in LAYERS:
            z = a @ self.params[i].T
            i += 1
            if bias != "none":
                z = z + self.params[i]
                i += 1
            if learnable:
                alpha = self.params[i]
                i += 1
            a = activate(activation, z, alpha)
        return z, a


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    saved = np.load(ARRAYS, allow_pickle=False)
    count = sum(1 for k in saved.files if k.startswith("p"))
    model = Network([saved[f"p{{i}}"] for i in range(count)]).to(args.device)
    # keep masks: 1 where a parameter learns, 0 where it is frozen (absent: all of it learns)
    keep = [torch.tensor(saved[f"m{{i}}"], dtype=DTYPE, device=args.device) if f"m{{i}}" in saved.files else None
            for i in range(count)]
    x = torch.tensor(saved["x"], dtype=DTYPE, device=args.device)
    y = torch.tensor(saved["y"], dtype=DTYPE, device=args.device)
    params = list(model.parameters())
    if OPTIMIZER == "adam":
        opt = torch.optim.Adam(params, lr=LEARNING_RATE, betas=(BETA1, BETA2), eps=EPS)
    elif OPTIMIZER == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=LEARNING_RATE, alpha=RHO, eps=EPS)
    else:
        momentum = MOMENTUM if OPTIMIZER in ("momentum", "nesterov") else 0.0
        opt = torch.optim.SGD(params, lr=LEARNING_RATE, momentum=momentum, nesterov=OPTIMIZER == "nesterov")
    n = len(x)
    for epoch in range(1, args.epochs + 1):
        order = torch.arange(n) if args.no_shuffle else torch.randperm(n)
        for start in range(0, n, BATCH):
            idx = order[start : start + BATCH].to(args.device)
            opt.zero_grad()
            loss = example_losses(LOSS, *model(x[idx]), y[idx]).sum()
            (loss / len(idx) if MEAN else loss).backward()
            with torch.no_grad():  # weight decay, then the frozen entries' gradient to 0
                for p, mask in zip(params, keep):
                    p.grad.add_(p, alpha=WEIGHT_DECAY)
                    if mask is not None:
                        p.grad.mul_(mask)
            opt.step()
        with torch.no_grad():
            print(f"epoch {{epoch}}: loss {{example_losses(LOSS, *model(x), y).mean().item():.6g}}")
    torch.save(model.state_dict(), RESULT)


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


def _layers(net: Network) -> str:
    """LAYERS' entries: registry names and numbers only, each through codegen."""
    rows = []
    for la in net.layers:
        bias = la.bias_mode if la.bias_names else "none"
        alpha = literal(la.alpha_value(), f"layer {la.name!r}: alpha")
        rows.append(
            f'("{identifier(la.activation.name)}", {alpha}, "{identifier(bias)}", {literal(bool(la.alpha_name))})'
        )
    return ", ".join(rows)


def write_script(path: str | os.PathLike[str], net: Network, x: np.ndarray, y: np.ndarray, settings: Settings,
                 weight_decay: float, epochs: int, size: int) -> list[Path]:  # fmt: skip
    """Write FILE (the script) and FILE's .npz (parameters and data), each atomically; their paths.
    `settings`: the optimizer and its constants (the trainer's `optimizer.settings`)."""
    script = Path(path)
    arrays = script.with_suffix(".npz")
    t, s = net.training, settings
    text = TEMPLATE.format(
        layers=_layers(net), loss=identifier(net.loss.name),
        lr=literal(t.learning_rate, "learning_rate"), batch=literal(int(size)), mean=literal(t.reduction == "mean"),
        epochs=literal(int(epochs)), optimizer=identifier(s.name), momentum=literal(s.momentum, "momentum"),
        rho=literal(s.rho, "rho"), beta1=literal(s.beta1, "beta1"), beta2=literal(s.beta2, "beta2"),
        eps=literal(s.eps, "eps"), weight_decay=literal(weight_decay, "weight decay"), seed=literal(int(t.seed)),
        dtype=identifier(t.dtype), losses=_losses_source(),
    )  # fmt: skip
    params, masks = network_parameters(net)
    saved = {f"p{i}": p for i, p in enumerate(params)} | {f"m{i}": m for i, m in enumerate(masks) if m is not None}
    write_atomic(arrays, lambda fh: np.savez(fh, x=x, y=y, **saved))  # type: ignore[arg-type]
    write_atomic(script, text)
    return [script, arrays]
