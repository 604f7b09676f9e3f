"""Seeded exercises on shaped networks: a small convolution or recurrent network with numbers
pleasant by hand, what is asked, and its answer key (`chainrule exercise --network conv|rnn`).

Drawn from ``random.Random(f"{seed}/{number}/{network}")`` (the same seed and number give the same
exercise on every machine), as the dense exercises are (check/exercise.py):

* ``conv``: a 1 × 5 × 5 input of 0s and 1s, one 2 × 2 kernel (ReLU), a 2 × 2 max-pool, flatten and
  one sigmoid output with binary cross-entropy; asked: the feature map, the pooled map, the output
  and loss, every gradient (the kernel's as a correlation, the input's as the full convolution with
  the flipped kernel) and the updated tensors;
* ``rnn``: a sequence of 3 one-feature inputs, a 2-unit tanh RNN whose states are flattened into
  one linear output with half squared error; asked: every state, the loss, the gradients through
  time and the updated tensors.

Inputs are multiples of 0.1 (pixels 0 or 1), weights and biases multiples of 0.05 in [−1, 1] and
never 0. A draw is kept when no max-pool window has a tie (the routing is then unambiguous), every
asked value stays within ±100 and the kernel's gradient shows at the digits asked; otherwise the
next draw of the same seed is taken.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from chainrule.check.exercise import written
from chainrule.check.model_values import replay
from chainrule.engine.activations import ACTIVATIONS
from chainrule.engine.functions import LOSSES
from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.dense import Dense
from chainrule.engine.layers.flatten import Flatten
from chainrule.engine.layers.pool import MaxPool2d
from chainrule.engine.layers.recurrent import RNN
from chainrule.engine.model import Model
from chainrule.engine.network import Training
from chainrule.errors import ChainruleError
from chainrule.record.names import without_example

NETWORKS = ("conv", "rnn")
MAX_DRAWS = 500
LARGEST = 100.0
ASKED_PREFIXES = ("z_", "a_", "loss", "dL/d")  # with every tensor's _new: what the student works


@dataclass(frozen=True)
class ModelExercise:
    """One student's exercise on a shaped network: its model, every number, and what is asked."""

    network: str
    seed: int
    number: int
    model: Model
    values: dict[str, float]
    asked: tuple[str, ...]  # in the order the numbers are computed
    digits: int

    @property
    def ident(self) -> str:
        return f"{self.seed}.{self.number}"

    @property
    def given(self) -> tuple[str, ...]:
        return tuple(n for n in self.values if n not in self.asked and _is_given(n, self.model))

    def key(self) -> dict[str, str]:
        return {n: written(self.values[n], self.digits) for n in self.asked}


def _is_given(name: str, model: Model) -> bool:
    if name.endswith("_new"):
        return False
    base = without_example(name).partition("[")[0]
    return base in model.parameters() or base == model.input_name or base.startswith("y_")


def _weight(rng: random.Random, *shape: int) -> np.ndarray:
    values = [rng.choice([k for k in range(-20, 21) if k]) * 0.05 for _ in range(int(np.prod(shape)))]
    return np.round(np.array(values, dtype=np.float64).reshape(shape), 2)


def _conv(rng: random.Random) -> Model:
    ops: list[Op] = [
        Conv2d("conv", _weight(rng, 1, 1, 2, 2), _weight(rng, 1), activation=ACTIVATIONS["relu"]),
        MaxPool2d("pool", (2, 2)),
        Flatten("flat"),
        Dense("out", _weight(rng, 1, 4), _weight(rng, 1), ACTIVATIONS["sigmoid"]),
    ]
    x = np.array([[rng.choice((0.0, 1.0)) for _ in range(25)]]).reshape(1, 1, 5, 5)
    y = np.array([[float(rng.choice((0, 1)))]])
    title = "Convolution exercise: 2×2 kernel, ReLU, 2×2 max-pool, sigmoid output"
    return Model(title, (1, 5, 5), ops, LOSSES["binary_cross_entropy"], x, y, Training(learning_rate=0.5))


def _rnn(rng: random.Random) -> Model:
    weights = (_weight(rng, 2, 1), _weight(rng, 2, 2), _weight(rng, 2), _weight(rng, 2))
    ops: list[Op] = [
        RNN("rnn", ACTIVATIONS["tanh"], *weights, output="all"),
        Flatten("flat"),
        Dense("out", _weight(rng, 1, 6), _weight(rng, 1)),
    ]
    x = np.array([[rng.choice([k for k in range(-10, 11) if k]) * 0.1 for _ in range(3)]]).reshape(1, 3, 1)
    y = np.array([[rng.choice([k for k in range(-10, 11)]) * 0.1]])
    title = "Recurrent exercise: 3 steps, 2 tanh units, BPTT to one linear output"
    return Model(title, (3, 1), ops, LOSSES["half_squared_error"], np.round(x, 1), np.round(y, 1), Training())


def _asked(values: dict[str, float], model: Model) -> tuple[str, ...]:
    """What the student works: every number but the given ones, a flatten's (a reshape) and, where an
    op has no activation, its z and ∂L/∂z (equal to its a and ∂L/∂a)."""
    skip = {f"{p}_{op.name}[" for op in model.ops if op.kind == "flatten" for p in ("z", "a", "dL/da", "dL/dz")}
    skip |= {f"{p}_{op.name}[" for op in model.ops if op.activation.name == "identity" for p in ("z", "dL/dz")}
    return tuple(
        n
        for n in values
        if (n.startswith(ASKED_PREFIXES) or n.endswith("_new"))
        and not _is_given(n, model)
        and not n.startswith(tuple(skip))
    )


def _pleasant(ex: ModelExercise) -> bool:
    if any(abs(ex.values[n]) > LARGEST for n in ex.asked):
        return False
    if ex.network == "conv":
        feature = np.array([ex.values[f"a_conv[1,{i},{j}]"] for i in range(1, 5) for j in range(1, 5)]).reshape(4, 4)
        windows = feature.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
        if any(np.sum(w == w.max()) > 1 for w in windows):
            return False
        return all(
            abs(ex.values[f"dL/dW_conv[1,1,{i},{j}]"]) >= 10.0 ** (1 - ex.digits) for i in (1, 2) for j in (1, 2)
        )
    return True


def make_model_exercise(network: str, seed: int, number: int = 1, digits: int = 4) -> ModelExercise:
    """Exercise ``number`` of a set drawn with ``seed``: the first pleasant draw."""
    if network not in NETWORKS:
        raise ChainruleError(f"--network {network}: expected one of dense, {', '.join(NETWORKS)}")
    rng = random.Random(f"{seed}/{number}/{network}")
    for _ in range(MAX_DRAWS):
        model = _conv(rng) if network == "conv" else _rnn(rng)
        values = replay(model).values
        ex = ModelExercise(network, seed, number, model, values, _asked(values, model), digits)
        if _pleasant(ex):
            return ex
    raise ChainruleError(f"--seed {seed}: no pleasant {network} exercise in {MAX_DRAWS} draws; try another seed")


def answers_toml(ex: ModelExercise, filled: bool) -> str:
    """The answers file: every asked name, blank ("") for the student or filled with the key."""
    key = ex.key()
    head = [
        f"# {ex.model.title}",
        f'# Write each number in quotes to {ex.digits} decimal places, e.g. "0.1234".',
        "# Names are those of `chainrule explain --format json`; check with `chainrule check net.toml answers.toml`.",
    ]
    lines = head if not filled else [f"# Answer key of {ex.model.title}"]
    lines.append(f'exercise = {{ id = "{ex.ident}", digits = {ex.digits} }}')
    lines += [f'"{name}" = "{key[name] if filled else ""}"' for name in ex.asked]
    return "\n".join(lines) + "\n"
