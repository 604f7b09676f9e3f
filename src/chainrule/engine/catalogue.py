"""The catalogue of activations and losses, and the calculator, read from the engine's registry.

Every word here comes from a registry entry in ``functions.py`` and every number from the
registry's own ``value``/``derivative``/``gradient`` functions, called exactly as the engine calls
them, so the catalogue can never disagree with what the engine computes.

Entries and evaluations are plain data; the views in ``views/catalogue.py`` and the figure in
``plots_functions.py`` only show them.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES, Activation, Loss, softmax_backward
from chainrule.errors import ChainruleError


@dataclass(frozen=True)
class Shortcut:
    """A pairing of an output activation and a loss whose combined derivative is simpler."""

    activation: str
    loss: str
    plain: str
    latex: str


@dataclass(frozen=True)
class Entry:
    """One activation or loss as the catalogue shows it: formulas in plain Unicode and LaTeX."""

    kind: str  # "activation" or "loss"
    name: str
    aliases: tuple[str, ...]
    description: str
    formula: str  # plain Unicode
    formula_latex: str
    derivative: str  # f'(z) = ..., the Jacobian for softmax, ∂L/∂ŷᵢ = ... for a loss
    derivative_latex: str
    output_range: str
    use: str
    caveats: str
    why: str  # why the derivative is what it is ("" when the registry gives no words)
    details: tuple[tuple[str, str], ...]  # (label, text): α, initialisation, pairing
    shortcuts: tuple[Shortcut, ...]
    elementwise: bool = True  # False for softmax, whose derivative is a full Jacobian


@dataclass(frozen=True)
class ActivationValues:
    """An activation evaluated at the user's z: a = f(z) and f'(z), from the engine's functions.

    For softmax the z form one vector; ``derivative`` is the Jacobian's diagonal ∂aᵢ/∂zᵢ and
    ``jacobian[i][j]`` = ∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ), through the engine's ``softmax_backward``.
    """

    name: str
    alpha: float | None
    z: tuple[float, ...]
    value: tuple[float, ...]
    derivative: tuple[float, ...]
    jacobian: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True)
class LossValues:
    """A loss evaluated for one example: L(ŷ, y) and ∂L/∂ŷᵢ for each output i."""

    name: str
    prediction: tuple[float, ...]
    target: tuple[float, ...]
    loss: float
    gradient: tuple[float, ...]


Values = ActivationValues | LossValues


# ---------------------------------------------------------------------------------------------
# Names


def canonical_names() -> tuple[list[str], list[str]]:
    """The activations and losses once each (no aliases), in registry order."""
    acts = list(dict.fromkeys(act.name for act in ACTIVATIONS.values()))
    return acts, list(LOSSES)


def known_names() -> str:
    """Every name a user may write, for an error message: aliases in parentheses."""
    acts, losses = canonical_names()
    shown = [f"{n} ({', '.join(ACTIVATIONS[n].aliases)})" if ACTIVATIONS[n].aliases else n for n in acts]
    return f"activations: {', '.join(shown)}; losses: {', '.join(losses)}"


def lookup(name: str) -> Activation | Loss:
    """The registry entry for a name or alias (case-insensitive; '-' may stand for '_')."""
    key = name.strip().lower().replace("-", "_")
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]
    if key in LOSSES:
        return LOSSES[key]
    close = difflib.get_close_matches(key, [*ACTIVATIONS, *LOSSES], n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise ChainruleError(f"unknown function {name!r}{hint}; known {known_names()}")


def activation(name: str) -> Activation:
    """The activation for a name or alias; a loss's name is an error here."""
    fn = lookup(name)
    if not isinstance(fn, Activation):
        raise ChainruleError(f"{fn.name} is a loss; only activations can be drawn or take z")
    return fn


# ---------------------------------------------------------------------------------------------
# Catalogue entries


def entries() -> list[Entry]:
    """Every activation, then every loss, once each."""
    acts, losses = canonical_names()
    return [entry(name) for name in (*acts, *losses)]


def entry(name: str) -> Entry:
    """The catalogue entry for one name or alias."""
    fn = lookup(name)
    return _activation_entry(fn) if isinstance(fn, Activation) else _loss_entry(fn)


def _shortcuts(*, activation: str | None = None, loss: str | None = None) -> tuple[Shortcut, ...]:
    return tuple(
        Shortcut(fn.fused_activation, fn.name, fn.fused_plain, fn.fused_formula)
        for fn in LOSSES.values()
        if fn.fused_activation is not None
        and (activation is None or fn.fused_activation == activation)
        and (loss is None or fn.name == loss)
    )


def derivative_text(act: Activation) -> str:
    """f'(z) in plain Unicode, from the registry's template: {a} is f(z) itself."""
    if act.jacobian_plain:
        return act.jacobian_plain
    lhs = act.plain.split(" = ", 1)[0]  # "σ(z)", "ReLU(z)", "f(z)"
    head, _, tail = lhs.partition("(")
    body = act.derivative_plain.replace("{a}", lhs).replace("{z}", "z").replace("{alpha}", "α")
    return f"{head}'({tail} = {body}"


def _activation_entry(act: Activation) -> Entry:
    details: list[tuple[str, str]] = []
    if act.alpha is not None:
        learned = ", learned: ∂f/∂α = 0 if z > 0, else z" if act.learnable_alpha else ""
        details.append(("α", f"default {act.alpha:g}{learned}"))
    details.append(("weights", f"{'He' if act.init == 'he' else 'Xavier/Glorot'} initialisation when omitted"))
    if not act.elementwise:
        details.append(("element-wise", "no: each output depends on every z of the layer"))
    return Entry(
        kind="activation",
        name=act.name,
        aliases=act.aliases,
        description=act.description,
        formula=act.plain,
        formula_latex=act.formula,
        derivative=derivative_text(act),
        derivative_latex=act.derivative_formula,
        output_range=act.output_range,
        use=act.use,
        caveats=act.caveats,
        why=act.derivative_words,
        details=tuple(details),
        shortcuts=_shortcuts(activation=act.name),
        elementwise=act.elementwise,
    )


def _loss_entry(loss: Loss) -> Entry:
    gradient = loss.gradient_plain.replace("{a}", "ŷᵢ").replace("{y}", "yᵢ").replace("{m}", "m")
    index = "ⱼ" if "ⱼ" in gradient else "ᵢ"  # the hinge speaks of output j against the target class c
    details: list[tuple[str, str]] = []
    if loss.requires_activation:
        details.append(("output", f"needs a {' or '.join(loss.requires_activation)} output layer"))
    return Entry(
        kind="loss",
        name=loss.name,
        aliases=(),
        description=loss.description,
        formula=loss.plain,
        formula_latex=loss.formula,
        derivative=f"∂L/∂ŷ{index} = {gradient}",
        derivative_latex=loss.gradient_formula,
        output_range=loss.output_range,
        use=loss.use,
        caveats=loss.caveats,
        why="",
        details=tuple(details),
        shortcuts=_shortcuts(loss=loss.name),
    )


# ---------------------------------------------------------------------------------------------
# The calculator: the engine's own functions at the user's numbers


def _alpha(act: Activation, alpha: float | None) -> float:
    if alpha is None:
        return act.alpha if act.alpha is not None else 0.0
    if act.alpha is None:
        raise ChainruleError(f"--alpha: {act.name} takes no α (only leaky_relu, prelu and elu do)")
    return alpha


def evaluate_activation(name: str, z: list[float], alpha: float | None = None) -> ActivationValues:
    """a = f(z) and f'(z) at each z, exactly as the engine's forward and backward passes compute them."""
    act = activation(name)
    p = _alpha(act, alpha)
    zs = np.asarray(z, dtype=np.float64)[None, :]  # one example, its z as one layer
    a = act.value(zs, p)
    d = act.derivative(zs, a, p)
    jacobian = None
    if not act.elementwise:
        n = zs.shape[1]
        # Row j of softmax_backward(a, e_j) is ∂a_j/∂z; the Jacobian is the stack of them.
        rows = softmax_backward(np.repeat(a, n, axis=0), np.eye(n))
        jacobian = tuple(tuple(float(v) for v in row) for row in rows)
    return ActivationValues(
        name=act.name,
        alpha=p if act.alpha is not None else None,
        z=tuple(float(v) for v in zs[0]),
        value=tuple(float(v) for v in a[0]),
        derivative=tuple(float(v) for v in d[0]),
        jacobian=jacobian,
    )


def evaluate_loss(name: str, prediction: list[float], target: list[float]) -> LossValues:
    """L(ŷ, y) and ∂L/∂ŷ for one example, by the registry's value and gradient."""
    loss = lookup(name)
    if not isinstance(loss, Loss):
        raise ChainruleError(f"{name} is an activation, not a loss")
    if len(prediction) != len(target) or not prediction:
        raise ChainruleError(f"{loss.name}: expected ŷ then y, as many of each (got {len(prediction) + len(target)})")
    a = np.asarray(prediction, dtype=np.float64)[None, :]
    y = np.asarray(target, dtype=np.float64)[None, :]
    return LossValues(
        name=loss.name,
        prediction=tuple(prediction),
        target=tuple(target),
        loss=float(loss.value(a, y)[0]),
        gradient=tuple(float(v) for v in loss.gradient(a, y)[0]),
    )


def evaluate(name: str, numbers: list[float], alpha: float | None = None) -> Values:
    """The calculator: an activation at each z, or a loss at ŷ (the first half) and y (the second)."""
    fn = lookup(name)
    if isinstance(fn, Loss):
        if alpha is not None:
            raise ChainruleError(f"--alpha: {fn.name} is a loss and takes no α")
        if len(numbers) % 2:
            raise ChainruleError(
                f"{fn.name}: expected ŷ then y, as many of each (got {len(numbers)} numbers), "
                f"e.g. {fn.name} 0.7514 0.01"
            )
        half = len(numbers) // 2
        return evaluate_loss(fn.name, numbers[:half], numbers[half:])
    return evaluate_activation(fn.name, numbers, alpha)


def curve(name: str, z: np.ndarray, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """f and f' along z for a figure. Softmax, which needs a vector, is drawn as softmax((z, 0))₁."""
    act = activation(name)
    p = _alpha(act, alpha)
    zs = np.stack([z, np.zeros_like(z)], axis=1) if not act.elementwise else z[:, None]
    a = act.value(zs, p)
    d = act.derivative(zs, a, p)  # for softmax, the diagonal ∂a₁/∂z₁
    return a[:, 0], d[:, 0]


def parse_number(text: str, position: int) -> float:
    """A finite float from a command-line argument, or an error naming the argument."""
    try:
        value = float(text.replace("−", "-"))
    except ValueError:
        raise ChainruleError(f"argument {position} {text!r}: expected a number") from None
    if not math.isfinite(value):
        raise ChainruleError(f"argument {position} {text!r}: expected a finite number")
    return value
