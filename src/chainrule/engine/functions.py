"""Activations and losses: value, derivative, symbol and formula, side by side in one registry.

Every derivative the engine uses lives here and only here. Each entry also carries the LaTeX
formula and a plain-words description, so the explanation views and the catalogue read the same
text the engine computes with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

# SELU's constants (Klambauer et al., 2017), to the precision PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf, otypes=[float])


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^(−z)), computed from e^(−|z|) so that no exponent overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(z: Array) -> Array:
    """log(1 + e^z) = max(z, 0) + log(1 + e^(−|z|)), stable for any z."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def log_softmax(z: Array) -> Array:
    """log softmax over the last axis, by log-sum-exp."""
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _phi(z: Array) -> Array:
    """The standard normal density."""
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _Phi(z: Array) -> Array:
    """The standard normal distribution function, through erf."""
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))


@dataclass(frozen=True)
class Activation:
    """One activation function f, applied to a layer's pre-activations z.

    ``value(z, alpha)`` gives a = f(z); ``derivative(z, a, alpha)`` gives f'(z) element by element
    (for softmax, whose Jacobian is not diagonal, the engine uses ``softmax_backward`` instead).
    ``alpha_derivative`` is ∂a/∂α for activations with a learnable α (PReLU).
    """

    name: str
    symbol: str
    formula: str  # LaTeX, f(z) = ...
    derivative_formula: str  # LaTeX, f'(z) = ...
    description: str
    output_range: str
    use: str
    caveats: str
    value: Callable[[Array, float], Array]
    derivative: Callable[[Array, Array, float], Array]
    derivative_words: str = ""  # why the derivative is what it is, for the explanation
    plain: str = ""  # the formula in plain Unicode, for the terminal
    derivative_plain: str = ""  # f'(z) in terms of {z}, {a} and {alpha}, for the terminal
    # The numbers whose product the terminal shows for f'(z) (sigmoid: a and 1 − a), and how to write them.
    derivative_parts: Callable[[float, float, float], tuple[float, ...]] | None = None
    derivative_parts_plain: str = ""
    alpha: float | None = None  # default α for activations that take one
    learnable_alpha: bool = False
    alpha_derivative: Callable[[Array, Array, float], Array] | None = None
    elementwise: bool = True
    init: str = "xavier"  # Xavier/Glorot or He initialisation when weights are omitted
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # For an activation that is not element-wise (softmax): its Jacobian in plain Unicode.
    jacobian_plain: str = ""


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


def softmax(z: Array) -> Array:
    """softmax over the last axis: e^(z_i − max z) / Σ_j e^(z_j − max z)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_backward(a: Array, grad_a: Array) -> Array:
    """∂L/∂z from ∂L/∂a through softmax's full Jacobian: ∂a_i/∂z_j = a_i (δ_ij − a_j)."""
    return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))


def _elu(z: Array, alpha: float) -> Array:
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


ACTIVATIONS: dict[str, Activation] = {}


def _register(act: Activation) -> None:
    for key in (act.name, *act.aliases):
        ACTIVATIONS[key] = act


_register(
    Activation(
        name="identity",
        symbol="id",
        formula=r"f(z) = z",
        derivative_formula=r"f'(z) = 1",
        description="passes z through unchanged",
        output_range="(−∞, ∞)",
        use="regression outputs; a linear layer",
        caveats="a stack of identity layers is still one linear map",
        plain="f(z) = z",
        derivative_plain="1",
        value=lambda z, _p: z.copy(),
        derivative=lambda z, _a, _p: np.ones_like(z),
        derivative_words="the identity's slope is 1 everywhere",
        aliases=("linear",),
    )
)
_register(
    Activation(
        name="binary_step",
        symbol="step",
        formula=r"f(z) = \begin{cases}1 & z \ge 0\\ 0 & z < 0\end{cases}",
        derivative_formula=r"f'(z) = 0 \quad (z \ne 0)",
        description="fires 1 when z ≥ 0, else 0 (the perceptron's threshold)",
        output_range="{0, 1}",
        use="perceptrons; illustrating why gradients need smooth activations",
        caveats="its derivative is 0 wherever it exists, so no gradient flows back through it: "
        "backpropagation cannot learn the weights below a step",
        plain="step(z) = 1 if z ≥ 0, else 0",
        derivative_plain="0",
        value=lambda z, _p: (z >= 0).astype(z.dtype),
        derivative=lambda z, _a, _p: np.zeros_like(z),
        derivative_words="the step is flat on both sides of 0, so its slope is 0: "
        "every gradient through it vanishes and backpropagation cannot learn through it",
        aliases=("step",),
    )
)
_register(
    Activation(
        name="sigmoid",
        symbol="σ",
        formula=r"\sigma(z) = \frac{1}{1 + e^{-z}}",
        derivative_formula=r"\sigma'(z) = \sigma(z)\,(1 - \sigma(z))",
        description="squashes z into (0, 1)",
        output_range="(0, 1)",
        use="binary outputs (probabilities); classic hidden layers",
        caveats="vanishing gradients: σ'(z) ≤ 0.25 and near 0 for large |z|; outputs not centred on 0",
        plain="σ(z) = 1 / (1 + e^(−z))",
        derivative_plain="{a}(1 − {a})",
        derivative_parts=lambda _z, a, _p: (a, 1.0 - a),
        derivative_parts_plain="{0} · {1}",
        value=lambda z, _p: sigmoid(z),
        derivative=lambda _z, a, _p: a * (1.0 - a),
        derivative_words="σ'(z) = σ(z)(1 − σ(z)), so it is computed from the activation itself: a(1 − a)",
        aliases=("logistic",),
    )
)
_register(
    Activation(
        name="tanh",
        symbol="tanh",
        formula=r"\tanh(z) = \frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}",
        derivative_formula=r"\tanh'(z) = 1 - \tanh^2(z)",
        description="squashes z into (−1, 1), centred on 0",
        output_range="(−1, 1)",
        use="hidden layers of small networks; recurrent networks",
        caveats="vanishing gradients for large |z|",
        plain="tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))",
        derivative_plain="1 − {a}²",
        derivative_parts=lambda _z, a, _p: (a,),
        derivative_parts_plain="1 − {0}²",
        value=lambda z, _p: np.tanh(z),
        derivative=lambda _z, a, _p: 1.0 - a * a,
        derivative_words="tanh'(z) = 1 − tanh²(z), computed from the activation: 1 − a²",
    )
)
_register(
    Activation(
        name="relu",
        symbol="ReLU",
        formula=r"\mathrm{ReLU}(z) = \max(0, z)",
        derivative_formula=r"\mathrm{ReLU}'(z) = \begin{cases}1 & z > 0\\ 0 & z \le 0\end{cases}",
        description="keeps positive z, zeroes the rest",
        output_range="[0, ∞)",
        use="the default for hidden layers of deep networks",
        caveats="dead ReLUs: a neuron whose z stays negative gets no gradient and never recovers; "
        "the derivative at exactly 0 is taken as 0",
        plain="ReLU(z) = max(0, z)",
        derivative_plain="1 if {z} > 0, else 0",
        value=lambda z, _p: np.maximum(z, 0.0),
        derivative=lambda z, _a, _p: (z > 0).astype(z.dtype),
        derivative_words="the slope is 1 where z > 0 and 0 elsewhere",
        init="he",
    )
)
_register(
    Activation(
        name="leaky_relu",
        symbol="LReLU",
        formula=r"f(z) = \begin{cases}z & z > 0\\ \alpha z & z \le 0\end{cases}",
        derivative_formula=r"f'(z) = \begin{cases}1 & z > 0\\ \alpha & z \le 0\end{cases}",
        description="like ReLU, with a small slope α for negative z",
        output_range="(−∞, ∞)",
        use="hidden layers, where dead ReLUs are a problem",
        caveats="α is a fixed choice (default 0.01)",
        plain="LReLU(z) = z if z > 0, else α·z",
        derivative_plain="1 if {z} > 0, else α",
        value=lambda z, p: np.where(z > 0, z, p * z),
        derivative=lambda z, _a, p: np.where(z > 0, 1.0, p).astype(z.dtype),
        derivative_words="the slope is 1 where z > 0 and α elsewhere",
        alpha=0.01,
        init="he",
    )
)
_register(
    Activation(
        name="prelu",
        symbol="PReLU",
        formula=r"f(z) = \begin{cases}z & z > 0\\ \alpha z & z \le 0\end{cases}",
        derivative_formula=r"\frac{\partial f}{\partial z} = \begin{cases}1 & z > 0\\ \alpha & z \le 0\end{cases},"
        r"\quad \frac{\partial f}{\partial \alpha} = \begin{cases}0 & z > 0\\ z & z \le 0\end{cases}",
        description="leaky ReLU whose slope α is learned, one α shared by the layer",
        output_range="(−∞, ∞)",
        use="hidden layers of image networks",
        caveats="α is a parameter with its own gradient (named alpha_<layer>), summed over the layer's neurons",
        plain="PReLU(z) = z if z > 0, else α·z  (α learned)",
        derivative_plain="1 if {z} > 0, else α",
        value=lambda z, p: np.where(z > 0, z, p * z),
        derivative=lambda z, _a, p: np.where(z > 0, 1.0, p).astype(z.dtype),
        derivative_words="the slope is 1 where z > 0 and α elsewhere",
        alpha=0.25,
        learnable_alpha=True,
        alpha_derivative=lambda z, _a, _p: np.where(z > 0, 0.0, z),
        init="he",
    )
)
_register(
    Activation(
        name="elu",
        symbol="ELU",
        formula=r"f(z) = \begin{cases}z & z > 0\\ \alpha (e^{z} - 1) & z \le 0\end{cases}",
        derivative_formula=r"f'(z) = \begin{cases}1 & z > 0\\ \alpha e^{z} & z \le 0\end{cases}",
        description="identity for positive z, a smooth exponential floor at −α for negative z",
        output_range="(−α, ∞)",
        use="hidden layers; pushes mean activations towards 0",
        caveats="α is a fixed choice (default 1); an exponential to compute",
        plain="ELU(z) = z if z > 0, else α(e^z − 1)",
        derivative_plain="1 if {z} > 0, else α·e^{z}",
        value=lambda z, p: _elu(z, p),
        derivative=lambda z, _a, p: np.where(z > 0, 1.0, p * np.exp(np.minimum(z, 0.0))),
        derivative_words="the slope is 1 where z > 0 and α e^z elsewhere",
        alpha=1.0,
        init="he",
    )
)
_register(
    Activation(
        name="selu",
        symbol="SELU",
        formula=r"f(z) = \lambda \begin{cases}z & z > 0\\ \alpha (e^{z} - 1) & z \le 0\end{cases},"
        r"\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        derivative_formula=r"f'(z) = \lambda \begin{cases}1 & z > 0\\ \alpha e^{z} & z \le 0\end{cases}",
        description="a scaled ELU whose constants keep activations normalised through deep stacks",
        output_range="(−λα, ∞)",
        use="self-normalising deep fully connected networks",
        caveats="its guarantees assume LeCun-normal weights and standardised inputs",
        plain="SELU(z) = λ·z if z > 0, else λα(e^z − 1)",
        derivative_plain="λ if {z} > 0, else λα·e^{z}",
        value=lambda z, _p: SELU_SCALE * _elu(z, SELU_ALPHA),
        derivative=lambda z, _a, _p: SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0))),
        derivative_words="the slope is λ where z > 0 and λα e^z elsewhere",
        init="he",
    )
)
_register(
    Activation(
        name="softmax",
        symbol="softmax",
        formula=r"\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}",
        derivative_formula=r"\frac{\partial a_i}{\partial z_j} = a_i(\delta_{ij} - a_j)",
        description="turns a layer's z into probabilities that sum to 1",
        output_range="(0, 1), summing to 1",
        use="the output layer of a classifier, with cross-entropy",
        caveats="not element-wise: each output depends on every z (a full Jacobian); "
        "with cross-entropy the gradient simplifies to ŷ − y",
        plain="softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ)",
        derivative_plain="{a}(1 − {a})",
        derivative_parts=lambda _z, a, _p: (a, 1.0 - a),
        derivative_parts_plain="{0} · {1}",
        value=lambda z, _p: softmax(z),
        derivative=lambda _z, a, _p: a * (1.0 - a),  # the Jacobian's diagonal only
        derivative_words="each output depends on every z: ∂a_i/∂z_j = a_i(δ_ij − a_j)",
        elementwise=False,
        jacobian_plain="∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ)",
    )
)
_register(
    Activation(
        name="swish",
        symbol="swish",
        formula=r"f(z) = z\,\sigma(z)",
        derivative_formula=r"f'(z) = \sigma(z)\,\bigl(1 + z\,(1 - \sigma(z))\bigr)",
        description="z gated by its own sigmoid (also called SiLU)",
        output_range="[≈ −0.278, ∞)",
        use="hidden layers of modern deep networks",
        caveats="not monotonic; costs a sigmoid",
        plain="swish(z) = z·σ(z)",
        derivative_plain="σ({z})(1 + {z}(1 − σ({z})))",
        value=lambda z, _p: z * sigmoid(z),
        derivative=lambda z, _a, _p: sigmoid(z) * (1.0 + z * (1.0 - sigmoid(z))),
        derivative_words="by the product rule: σ(z) + z σ(z)(1 − σ(z))",
        aliases=("silu",),
        init="he",
    )
)
_register(
    Activation(
        name="gelu",
        symbol="GELU",
        formula=r"f(z) = z\,\Phi(z) = \tfrac{z}{2}\bigl(1 + \mathrm{erf}(z/\sqrt{2})\bigr)",
        derivative_formula=r"f'(z) = \Phi(z) + z\,\varphi(z)",
        description="z weighted by the standard normal probability Φ(z) (exact, with erf)",
        output_range="[≈ −0.170, ∞)",
        use="transformers and other modern networks",
        caveats="not monotonic; costs an erf",
        plain="GELU(z) = z·Φ(z)",
        derivative_plain="Φ({z}) + {z}·φ({z})",
        value=lambda z, _p: z * _Phi(z),
        derivative=lambda z, _a, _p: _Phi(z) + z * _phi(z),
        derivative_words="by the product rule: Φ(z) + z φ(z), φ the normal density",
        init="he",
    )
)
_register(
    Activation(
        name="softplus",
        symbol="softplus",
        formula=r"f(z) = \log(1 + e^{z})",
        derivative_formula=r"f'(z) = \sigma(z)",
        description="a smooth ReLU",
        output_range="(0, ∞)",
        use="outputs that must be positive (scales, rates); a smooth ReLU",
        caveats="its gradient never quite reaches 0 or 1",
        plain="softplus(z) = log(1 + e^z)",
        derivative_plain="σ({z})",
        value=lambda z, _p: softplus(z),
        derivative=lambda z, _a, _p: sigmoid(z),
        derivative_words="the derivative of log(1 + e^z) is the sigmoid σ(z)",
        init="he",
    )
)

# ---------------------------------------------------------------------------------------------
# Losses, per example: value(a, y) -> (n,), gradient(a, y) -> (n, m)

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
        gradient=lambda a, y: 2.0 * (a - y),
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
        gradient=lambda a, y: 2.0 * (a - y) / a.shape[-1],
    )
)
_register_loss(
    Loss(
        name="binary_cross_entropy",
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
        formula=r"L = \sum_{j \ne c} \max(0,\ \hat{y}_j - \hat{y}_c + 1)",
        gradient_formula=r"\frac{\partial L}{\partial \hat{y}_j} = [\hat{y}_j - \hat{y}_c + 1 > 0],\ "
        r"\frac{\partial L}{\partial \hat{y}_c} = -\sum_{j \ne c} [\hat{y}_j - \hat{y}_c + 1 > 0]",
        description="the multiclass SVM loss with margin 1 (c is the target class); "
        "with one output, max(0, 1 − yŷ) for y = ±1",
        use="margin classifiers, with an identity output",
        caveats="not differentiable where a margin is exactly 0 (taken as 0 there)",
        plain="L = Σ_{j≠c} max(0, ŷⱼ − ŷ_c + 1)",
        term_plain="",
        outer_plain="{sum}",
        gradient_plain="1 if ŷⱼ − ŷ_c + 1 > 0 (−their count for c)",
        output_range="[0, ∞)",
        value=_hinge_value,
        gradient=_hinge_gradient,
    )
)


def known(kind: str) -> list[str]:
    """The canonical names of the activations (kind='activation') or losses, for messages."""
    if kind == "activation":
        return sorted({a.name for a in ACTIVATIONS.values()})
    return sorted(LOSSES)
