"""Seeded exercises: a network with numbers pleasant by hand, what is asked, and its answer key.

An exercise is drawn from ``random.Random(f"{seed}/{number}")`` (the same seed and number give
the same exercise on every machine and Python ≥ 3.2), so a class set is reproducible and exercise
1 of a set equals the single exercise of the same seed.

Pleasant by hand means:

* inputs are multiples of 0.1 in [−1, 1], weights and biases multiples of 0.05 in [−1, 1]
  (never 0), targets as the loss needs them (one decimal, 0/1, one-hot or ±1);
* no asked value vanishes: every one has |v| ≥ 10^(1−d) at the d decimals asked (at least two
  significant digits), and none exceeds 100. A draw that fails is thrown away and the next one
  taken; the k-th draw of a seed is always the same, so the result stays reproducible.

This module stays in the check layer: building the network from its document is passed in
(``build``, the CLI gives ``io.netfile.from_dict``), so it needs nothing from ``io``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainrule.check.answers import MAX_ASKED
from chainrule.engine.functions import ACTIVATIONS, LOSSES, pairing_refusal
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.record.names import without_example
from chainrule.record.step import StepRecord, explain_steps

ASK_KINDS = ("forward", "gradients", "update")
# The optimizers `chainrule check` reads, with the settings an exercise gives them.
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {},
    "momentum": {"optimizer": "momentum", "momentum": 0.9},
    "nesterov": {"optimizer": "nesterov", "momentum": 0.9},
    "rmsprop": {"optimizer": "rmsprop", "rho": 0.9, "eps": 1e-8},
    "adam": {"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}
# The learning rate where none is asked: 0.5, but RMSProp's first step moves every weight by η/√(1 − ρ)
# whatever its gradient (1.58 at 0.5), which saturates the network before its second update.
RATES = {"rmsprop": 0.1}
# Squared-gradient averages (RMSProp's and Adam's s, ŝ: (1 − β)·g², below 10⁻⁴ for most gradients): asked
# to the exercise's digits in significant figures, the decimals each needs named in the answers file.
SQUARED_PREFIXES = ("s_", "shat_")
STATE_PREFIXES = ("v_", "m_", "s_", "mhat_", "shat_", "u_")  # an optimizer's state, corrected moments, direction
MAX_DRAWS = 4000  # draws tried for one exercise before giving up
MAX_WORK = 8 * MAX_DRAWS  # the search's work, in steps × examples worked per draw
LEAST_DRAWS = 100  # however much work each draw is, at least this many are tried
LARGEST = 100.0  # an asked value beyond this is not pleasant by hand

Build = Callable[[Mapping[str, Any], str], Network]


@dataclass(frozen=True)
class ExerciseSpec:
    """The kind of exercise: the same for every student of a set."""

    shape: tuple[int, ...]  # inputs, then the units of each layer (2-2-1 → (2, 2, 1))
    activation: str = "sigmoid"  # the hidden layers' (and the output's, unless output_activation)
    output_activation: str | None = None
    loss: str = "half_squared_error"
    bias: str = "shared"  # shared, neuron or none
    examples: int = 1
    batch: str | int = "online"
    learning_rate: float | None = None  # None: the optimizer's (RATES)
    steps: int = 1
    ask: tuple[str, ...] = ASK_KINDS
    digits: int = 4
    optimizer: str = "sgd"


@dataclass(frozen=True)
class Exercise:
    """One student's exercise: its network document and network, the worked steps, what is asked."""

    spec: ExerciseSpec
    seed: int
    number: int
    document: dict[str, Any]
    network: Network
    records: list[StepRecord]
    asked: tuple[tuple[int, str], ...]  # (step, name), in the order the numbers are computed
    draws: int  # how many draws it took: the first pleasant one

    @property
    def ident(self) -> str:
        """The exercise's id, seed.number (7.1, 7.2, …): what its answers files name."""
        return f"{self.seed}.{self.number}"

    @property
    def given(self) -> tuple[str, ...]:
        """The names whose values the worksheet states: inputs, targets, parameters (of step 1)."""
        return tuple(n for n in self.records[0].values if ask_kind(n, self.network) == "given")

    def places(self, step: int, name: str) -> int:
        """The decimals asked of one value (see ``places``)."""
        return places(name, self.records[step - 1].values[name], self.spec.digits)

    def key(self) -> dict[tuple[int, str], str]:
        """Every asked value written to the asked decimals: what a fully correct student writes."""
        return {(s, n): written(self.records[s - 1].values[n], self.places(s, n)) for s, n in self.asked}


def places(name: str, value: float, digits: int) -> int:
    """The decimals asked of a value: ``digits``, but a squared-gradient average gets as many as
    ``digits`` significant figures need (s_w5 = 0.00001234 at 4 digits asks 8 decimals)."""
    if not without_example(name).startswith(SQUARED_PREFIXES) or not math.isfinite(value) or value == 0:
        return digits
    return max(digits, min(MAX_ASKED, digits - 1 - math.floor(math.log10(abs(value)))))


def written(x: float, digits: int) -> str:
    """The value as the key writes it: ``digits`` decimal places (−0.0000 written 0.0000)."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def ask_kind(name: str, net: Network) -> str:
    """given, forward (z, a, loss), gradients (every ∂·/∂·) or update (θ_new) for a value's name; "also"
    for the checker's extra names (Δθ as dw5, a per-output loss_o1), which a worksheet does not ask."""
    base = without_example(name)
    if base in net.input_names or base.startswith("y_") or net.has_parameter(base) or base == "momentum":
        return "given"
    state = next((base[len(p) :] for p in STATE_PREFIXES if base.startswith(p)), None)
    if state is not None and net.has_parameter(state.removesuffix("_prev")):
        return "given" if state.endswith("_prev") else "update"
    if (base.startswith("d") and net.has_parameter(base[1:])) or base.startswith("loss_"):
        return "also"
    if base.endswith("_new"):
        return "update"
    if "/" in base:
        return "gradients"
    return "forward"


def parse_shape(text: str) -> tuple[int, ...]:
    """'2-2-1' → (2, 2, 1): the inputs, then every layer's units."""
    parts = text.split("-")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() and 1 <= int(p) <= 8 for p in parts):
        raise ChainruleError(f"--shape {text}: expected inputs-units-…-outputs of 1 to 8 each, such as 2-2-1")
    return tuple(int(p) for p in parts)


def check_spec(spec: ExerciseSpec) -> None:
    """Refuse, in one line, a kind of exercise the engine cannot compute meaningfully."""
    for option, name, table in (
        ("--activation", spec.activation, ACTIVATIONS),
        ("--output-activation", spec.output_activation, ACTIVATIONS),
        ("--loss", spec.loss, LOSSES),
    ):
        if name is not None and name not in table:
            raise ChainruleError(f"{option} {name}: expected one of {', '.join(sorted(table))}")
    if spec.optimizer not in OPTIMIZERS:
        raise ChainruleError(f"--optimizer {spec.optimizer}: expected one of {', '.join(OPTIMIZERS)}")
    bad = [k for k in spec.ask if k not in ASK_KINDS]
    if bad or not spec.ask:
        raise ChainruleError(f"--ask {','.join(spec.ask)}: expected some of {','.join(ASK_KINDS)}")
    units = spec.shape[1:]
    acts = [ACTIVATIONS[spec.activation]] * (len(units) - 1) + [ACTIVATIONS[output_activation(spec)]]
    refusal = pairing_refusal(LOSSES[spec.loss], list(zip(acts, units, strict=True)))
    if refusal is not None:
        raise ChainruleError(f"--shape {'-'.join(map(str, spec.shape))}: expected {refusal.expected}")


def output_activation(spec: ExerciseSpec) -> str:
    """The output layer's activation: as asked, else what the loss requires, else the hidden one."""
    if spec.output_activation:
        return spec.output_activation
    need = LOSSES[spec.loss].requires_activation
    if need and spec.activation not in need:
        return need[0]
    if spec.loss == "hinge" and spec.activation in ("sigmoid", "softmax"):
        return "identity"
    return spec.activation


def _pick(rng: random.Random, step: float, most: int) -> float:
    """A nonzero multiple of ``step`` in [−most·step, most·step], written with few decimals."""
    k = rng.choice([k for k in range(-most, most + 1) if k])
    return round(k * step, 2)


def _target(rng: random.Random, spec: ExerciseSpec, outputs: int) -> list[float]:
    loss, out = spec.loss, output_activation(spec)
    if (loss in ("cross_entropy", "hinge") and outputs > 1) or out == "softmax":
        hot = rng.randrange(outputs)
        return [1.0 if i == hot else 0.0 for i in range(outputs)]
    if loss == "hinge":
        return [rng.choice([-1.0, 1.0])]
    if loss == "binary_cross_entropy":
        return [float(rng.choice([0, 1])) for _ in range(outputs)]
    if out in ("sigmoid", "binary_step"):
        return [rng.randint(0, 10) / 10 for _ in range(outputs)]
    return [rng.randint(-10, 10) / 10 for _ in range(outputs)]


def _bias(rng: random.Random, spec: ExerciseSpec, units: int) -> float | list[float] | None:
    if spec.bias == "shared":
        return _pick(rng, 0.05, 10)
    if spec.bias == "neuron":
        return [_pick(rng, 0.05, 10) for _ in range(units)]
    return None


def draw_document(rng: random.Random, spec: ExerciseSpec, title: str) -> dict[str, Any]:
    """One candidate network document: layers, examples and training, all from ``rng``."""
    inputs, units = spec.shape[0], spec.shape[1:]
    layers = []
    fan_in = inputs
    for i, n in enumerate(units):
        act = output_activation(spec) if i == len(units) - 1 else spec.activation
        layer: dict[str, Any] = {"units": n, "activation": act}
        layer["weights"] = [[_pick(rng, 0.05, 20) for _ in range(fan_in)] for _ in range(n)]
        bias = _bias(rng, spec, n)
        if bias is not None:
            layer["bias"] = bias
        layers.append(layer)
        fan_in = n
    examples = [
        {"x": [_pick(rng, 0.1, 10) for _ in range(inputs)], "y": _target(rng, spec, units[-1])}
        for _ in range(spec.examples)
    ]
    rate = spec.learning_rate if spec.learning_rate is not None else RATES.get(spec.optimizer, 0.5)
    training = {"learning_rate": rate, "batch": spec.batch} | OPTIMIZERS[spec.optimizer]
    return {
        "title": title,
        "inputs": inputs,
        "loss": spec.loss,
        "layers": layers,
        "examples": examples,
        "training": training,
    }


def _asked(spec: ExerciseSpec, net: Network, records: Sequence[StepRecord]) -> tuple[tuple[int, str], ...]:
    skipped = shortcut_names(net)
    return tuple(
        (s + 1, name)
        for s, r in enumerate(records)
        for name in r.values
        if ask_kind(name, net) in spec.ask and without_example(name) not in skipped
    )


def shortcut_names(net: Network) -> frozenset[str]:
    """The output's ∂L/∂ŷ and ∂ŷ/∂z where the key works ∂L/∂z by the shortcut ŷ − y (softmax with
    cross-entropy, sigmoid with binary cross-entropy): a worksheet asks only what its key works."""
    out = net.output_layer
    fused = (out.activation.name, net.loss.name) in (("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"))
    if not fused:
        return frozenset()
    names = {f"dL/da_{n}" for n in out.neuron_names}
    names |= {f"da_{m}/dz_{n}" for m in out.neuron_names for n in out.neuron_names}
    return frozenset(names)


def pleasant(spec: ExerciseSpec, net: Network, records: Sequence[StepRecord], asked: Sequence[tuple[int, str]]) -> bool:
    """Whether every asked value is finite, at most LARGEST and not vanishing at the digits asked.

    An exact 0 is allowed only where it is no accident of the numbers: ∂L/∂ŷ of an output whose
    target is 0 under cross-entropy, and everything after a layer whose derivative is 0 everywhere
    (binary_step)."""
    step_layer = any(layer.activation.name == "binary_step" for layer in net.layers)
    outputs = tuple(f"dL/da_{n}" for n in net.layers[-1].neuron_names)
    out = net.output_layer
    if out.activation.name == "softmax" and out.bias_mode == "shared":  # Σ(ŷ − y) = 0: always exactly zero
        outputs += tuple(f"dL/d{b}" for b in out.bias_names)
    for s, name in asked:
        v = records[s - 1].values[name]
        if not math.isfinite(v) or abs(v) > LARGEST:
            return False
        zero_ok = step_layer or without_example(name) in outputs
        if abs(v) < 10.0 ** (1 - places(name, v, spec.digits)) and not (zero_ok and abs(v) < 1e-12):
            return False
    return True


def make_exercise(spec: ExerciseSpec, seed: int, number: int, build: Build) -> Exercise:
    """The exercise ``number`` of the set ``seed``: the first pleasant draw of its random sequence."""
    check_spec(spec)
    rng = random.Random(f"{seed}/{number}")
    shape = "-".join(map(str, spec.shape))
    title = f"Exercise {seed}.{number}: a {shape} {spec.activation} network"
    for draw in range(1, draw_limit(spec) + 1):
        doc = draw_document(rng, spec, title)
        net = build(doc, "net.toml")
        records = explain_steps(net, 0, 1)
        if spec.steps > 1 and pleasant(spec, net, records, _asked(spec, net, records)):
            records = explain_steps(net, 0, spec.steps)  # the first step is pleasant: work the rest
        asked = _asked(spec, net, records)
        if len(records) == spec.steps and pleasant(spec, net, records, asked):
            return Exercise(spec, seed, number, doc, net, records, asked, draw)
    raise ChainruleError(
        f"--seed {seed}: expected pleasant numbers within {draw_limit(spec)} draws for a {shape} {spec.activation} "
        f"network; ask for more --digits or fewer layers"
    )


def draw_limit(spec: ExerciseSpec) -> int:
    """The draws tried before giving up: the search's work bounded, each draw costing its steps × examples
    (a draw whose first step is not pleasant costs one step: most are thrown away there)."""
    return max(LEAST_DRAWS, min(MAX_DRAWS, MAX_WORK // (spec.steps * spec.examples)))


def answers_toml(ex: Exercise, filled: bool) -> str:
    """The answers file: every asked name, blank ("") for the student or filled with the key."""
    key = ex.key()
    head = [
        f"# {ex.document['title']}",
        f'# Write each number in quotes to {ex.spec.digits} decimal places, e.g. "0.1234".',
        "# Names are those of `chainrule explain --format json`; [step.N] holds the N-th update's values.",
    ]
    lines = head if not filled else [f"# Answer key of {ex.document['title']}"]
    # which exercise these answers are for, and the decimals asked: how `chainrule check` grades them
    lines.append(f"exercise = {{ id = {json.dumps(ex.ident)}, digits = {ex.spec.digits} }}")
    for step in range(1, ex.spec.steps + 1):
        if step > 1:
            lines += ["", f"[step.{step}]"]
        for s, name in ex.asked:
            if s == step:
                value = key[(s, name)] if filled else ""
                lines.append(f"{json.dumps(name)} = {json.dumps(value)}")
    return "\n".join(lines + _digits_tables(ex)) + "\n"


def _digits_tables(ex: Exercise) -> list[str]:
    """[digits] (and [digits.step.N]): the decimals asked of the values that differ from the exercise's."""
    lines: list[str] = []
    for step in range(1, ex.spec.steps + 1):
        own = [(n, ex.places(s, n)) for s, n in ex.asked if s == step and ex.places(s, n) != ex.spec.digits]
        if own:
            lines += ["", "[digits]" if step == 1 else f"[digits.step.{step}]"]
            lines += [f"{json.dumps(n)} = {k}" for n, k in own]
    return lines
