"""Losses: each one's value per example, gradient ∂L/∂ŷ and formula, side by side.

Every loss gradient the engine uses lives here and only here. Where a loss pairs with an output
activation whose combined derivative is simpler (cross-entropy with softmax, binary cross-entropy
with sigmoid), the fused forms work from z directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chainrule.engine.activations import Array, log_softmax, softplus


@dataclass(frozen=True)
class Loss:
    """One loss function L(ŷ, y) of one example, summed over the outputs unless it says mean.

    ``value(a, y)`` returns one loss per example (shape (n,)); ``gradient(a, y)`` returns ∂L/∂ŷ
    per example and output. Where the loss pairs with an output activation whose combined
    derivative is simpler and more stable (cross-entropy with softmax, binary cross-entropy
    with sigmoid), ``fused_activation`` names it and ``fused_value``/``fused_gradient`` work
    from the pre-activations z directly, so that no log(0) or 0/0 can occur.
    """

    name: str
    formula: str  # LaTeX
    gradient_formula: str  # LaTeX, ∂L/∂ŷ
    description: str
    use: str
    caveats: str
    value: Callable[[Array, Array], Array]
    gradient: Callable[[Array, Array], Array]
    requires_activation: tuple[str, ...] = ()
    fused_activation: str | None = None
    fused_value: Callable[[Array, Array], Array] | None = None
    fused_gradient: Callable[[Array, Array, Array], Array] | None = None
    fused_formula: str = ""
    plain: str = ""  # L in plain Unicode
    term_plain: str = ""  # one output's term, in {y} and {a}
    outer_plain: str = "{sum}"  # how the terms combine
    gradient_plain: str = ""  # ∂L/∂ŷ in {a}, {y} and {m}
    output_range: str = ""  # the values L can take, for the catalogue
    fused_plain: str = ""  # fused_formula in plain Unicode, for the terminal
    # A classifier's loss: one output says class 1 when above `cut`; several outputs, the largest.
    # None for the regression losses. The one rule for accuracy, predictions and decision boundaries.
    cut: float | None = None

    @property
    def classifies(self) -> bool:
        return self.cut is not None

    @property
    def threshold(self) -> float:
        """Where one output changes class: the cut; a regression loss has none and is read about 0.5."""
        return 0.5 if self.cut is None else self.cut

    def classes(self, out: Array) -> Array:
        """The class each row of outputs (or one-hot / 0–1 targets) says: above `threshold`, or the largest."""
        if out.shape[1] == 1:
            return (out[:, 0] > self.threshold).astype(int)
        return np.argmax(out, axis=1)


# Per example: value(a, y) -> (n,), gradient(a, y) -> (n, m)

_TINY = np.finfo(np.float64).tiny


def _safe_log(x: Array) -> Array:
    return np.log(np.maximum(x, _TINY))


def _hinge_margins(a: Array, y: Array) -> tuple[Array, Array]:
    """Margins ŷ_j − ŷ_c + 1 for the multiclass hinge (c = the target class), 0 at j = c."""
    c = np.argmax(y, axis=-1)
    rows = np.arange(a.shape[0])
    margins = a - a[rows, c][:, None] + 1.0
    margins[rows, c] = 0.0
    return margins, c


def _hinge_value(a: Array, y: Array) -> Array:
    if a.shape[-1] == 1:  # binary: y in {−1, +1}
        return np.maximum(0.0, 1.0 - y[:, 0] * a[:, 0])
    margins, _ = _hinge_margins(a, y)
    return np.sum(np.maximum(margins, 0.0), axis=-1)


def _hinge_gradient(a: Array, y: Array) -> Array:
    if a.shape[-1] == 1:
        return np.where(1.0 - y * a > 0, -y, 0.0)
    margins, c = _hinge_margins(a, y)
    g = (margins > 0).astype(a.dtype)
    g[np.arange(a.shape[0]), c] = -np.sum(g, axis=-1)
    return g


LOSSES: dict[str, Loss] = {}


def _register_loss(loss: Loss) -> None:
    LOSSES[loss.name] = loss


_register_loss(
    Loss(
        name="half_squared_error",
        formula=r"L = \tfrac{1}{2}\sum_i (y_i - \hat{y}_i)^2",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_i} = \hat{y}_i - y_i",
        description="half the squared error, so that the 2 of the derivative cancels",
        use="regression; the classic worked example",
        caveats="with sigmoid outputs, gradients vanish when the output saturates",
        plain="L = ½ Σ (y − ŷ)²",
        term_plain="({y} − {a})²",
        outer_plain="½ · {sum}",
        gradient_plain="{a} − {y}",
        output_range="[0, ∞)",
        value=lambda a, y: 0.5 * np.sum((y - a) ** 2, axis=-1),
        gradient=lambda a, y: a - y,
    )
)
_register_loss(
    Loss(
        name="squared_error",
        formula=r"L = \sum_i (y_i - \hat{y}_i)^2",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_i} = 2(\hat{y}_i - y_i)",
        description="the squared error, summed over the outputs (no ½)",
        use="regression",
        caveats="twice the gradient of the ½ form: a learning rate tuned for one is off by 2 for the other",
        plain="L = Σ (y − ŷ)²",
        term_plain="({y} − {a})²",
        outer_plain="{sum}",
        gradient_plain="2({a} − {y})",
        output_range="[0, ∞)",
        value=lambda a, y: np.sum((y - a) ** 2, axis=-1),
        gradient=lambda a, y: 2 * (a - y),  # 2, not 2.0: works on exact decimals too (record.exact)
    )
)
_register_loss(
    Loss(
        name="mse",
        formula=r"L = \frac{1}{m}\sum_{i=1}^{m} (y_i - \hat{y}_i)^2",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_i} = \frac{2}{m}(\hat{y}_i - y_i)",
        description="the mean of the squared errors over the m outputs",
        use="regression",
        caveats="the mean over outputs scales the gradient by 1/m",
        plain="L = (1/m) Σ (y − ŷ)²",
        term_plain="({y} − {a})²",
        outer_plain="(1/{m}) · {sum}",
        gradient_plain="2({a} − {y}) / {m}",
        output_range="[0, ∞)",
        value=lambda a, y: np.mean((y - a) ** 2, axis=-1),
        gradient=lambda a, y: 2 * (a - y) / a.shape[-1],
    )
)
_register_loss(
    Loss(
        name="binary_cross_entropy",
        cut=0.5,
        formula=r"L = -\sum_i \bigl(y_i \log \hat{y}_i + (1 - y_i)\log(1 - \hat{y}_i)\bigr)",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_i} = \frac{\hat{y}_i - y_i}{\hat{y}_i(1 - \hat{y}_i)}",
        description="the negative log-likelihood of independent yes/no outputs",
        use="binary and multi-label classification, with sigmoid outputs",
        caveats="undefined at ŷ = 0 or 1: computed from z (log σ(z) = −softplus(−z)) so it never takes log(0)",
        plain="L = −Σ [y log ŷ + (1 − y) log(1 − ŷ)]",
        term_plain="[{y} log {a} + (1 − {y}) log(1 − {a})]",
        outer_plain="−{sum}",
        gradient_plain="({a} − {y}) / ({a}(1 − {a}))",
        output_range="[0, ∞)",
        value=lambda a, y: -np.sum(y * _safe_log(a) + (1.0 - y) * _safe_log(1.0 - a), axis=-1),
        gradient=lambda a, y: (a - y) / np.maximum(a * (1.0 - a), _TINY),
        requires_activation=("sigmoid",),
        fused_activation="sigmoid",
        fused_value=lambda z, y: np.sum(softplus(z) - y * z, axis=-1),
        fused_gradient=lambda _z, a, y: a - y,
        fused_formula=r"\frac{\partial L}{\partial z_i} = \hat{y}_i - y_i",
        fused_plain="∂L/∂zᵢ = ŷᵢ − yᵢ",
    )
)
_register_loss(
    Loss(
        name="cross_entropy",
        cut=0.5,
        formula=r"L = -\sum_i y_i \log \hat{y}_i",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_i} = -\frac{y_i}{\hat{y}_i}",
        description="the negative log-probability of the target class (categorical cross-entropy)",
        use="multiclass classification, with a softmax output",
        caveats="with softmax the gradient with respect to z simplifies to ŷ − y; "
        "computed by log-sum-exp, so it never takes log(0)",
        plain="L = −Σ y log ŷ",
        term_plain="{y} log {a}",
        outer_plain="−{sum}",
        gradient_plain="−{y} / {a}",
        output_range="[0, ∞)",
        value=lambda a, y: -np.sum(y * _safe_log(a), axis=-1),
        gradient=lambda a, y: -y / np.maximum(a, _TINY),
        requires_activation=("softmax",),
        fused_activation="softmax",
        fused_value=lambda z, y: -np.sum(y * log_softmax(z), axis=-1),
        fused_gradient=lambda _z, a, y: a * np.sum(y, axis=-1, keepdims=True) - y,
        fused_formula=r"\frac{\partial L}{\partial z_i} = \hat{y}_i - y_i",
        fused_plain="∂L/∂zᵢ = ŷᵢ − yᵢ",
    )
)
_register_loss(
    Loss(
        name="hinge",
        cut=0.0,
        formula=r"L = \sum_{j \ne c} \max(0,\ \hat{y}_j - \hat{y}_c + 1)",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_j} = [\hat{y}_j - \hat{y}_c + 1 > 0],\ "
        r"\frac{\partial L}{\partial \hat{y}_c} = -\sum_{j \ne c} [\hat{y}_j - \hat{y}_c + 1 > 0]",
        description="the multiclass SVM loss with margin 1 (c is the target class); "
        "with one output, max(0, 1 − yŷ) for y = ±1",
        use="margin classifiers, with an identity output",
        caveats="not differentiable where a margin is exactly 0 (taken as 0 there)",
        plain="L = Σ_(j≠c) max(0, ŷⱼ − ŷ_c + 1)",
        term_plain="",
        outer_plain="{sum}",
        gradient_plain="1 if ŷⱼ − ŷ_c + 1 > 0 (−their count for c)",
        output_range="[0, ∞)",
        value=_hinge_value,
        gradient=_hinge_gradient,
    )
)
