"""Activations: each one's value, derivative, symbol and formula, side by side.

Every activation derivative the engine uses lives here and only here. Each entry also carries the
LaTeX formula and a plain-words description, so the explanation views and the catalogue read the
same text the engine computes with.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

# SELU's constants (Klambauer et al., 2017), to the precision PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

# Without SciPy, erf runs number by number at Python speed (math.erf); with it, vectorized.
_erf_by_number = np.vectorize(math.erf, otypes=[float])


@functools.cache
def _erf_function() -> Callable[[Array], Array]:
    """SciPy's vectorized erf when SciPy is installed (the `fast` extra), else math.erf per number.
    Imported on first use, so that explaining the built-in example never loads SciPy."""
    try:
        from scipy.special import erf
    except ImportError:
        return _erf_by_number
    return erf


def _erf(x: Array) -> Array:
    """erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt, element by element, in float64 (as math.erf computes)."""
    return _erf_function()(np.asarray(x, dtype=np.float64))


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
    """The standard normal density e^(−z²/2) / √(2π); beyond |z| = 40 it is 0 in float64, so z is
    clipped there first and z² cannot overflow."""
    zc = np.clip(z, -40.0, 40.0)
    return np.exp(-0.5 * zc * zc) / math.sqrt(2.0 * math.pi)


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
    exact: Callable[[Decimal, Decimal], Decimal] | None = None  # f(z, α) in exact decimals (piecewise linear)
    init: str = "xavier"  # Xavier/Glorot or He initialisation when weights are omitted
    aliases: tuple[str, ...] = field(default_factory=tuple)
    # For an activation that is not element-wise (softmax): its Jacobian in plain Unicode.
    jacobian_plain: str = ""


def softmax(z: Array) -> Array:
    """softmax over the last axis: e^(z_i − max z) / Σ_j e^(z_j − max z).

    z_i − max z may overflow to −inf when the z are ±1e308 apart: e^(−inf) = 0 is then the exact
    answer in float64, so that overflow is expected, not warned about.
    """
    with np.errstate(over="ignore"):
        shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
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
        exact=lambda z, _p: z,
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
        exact=lambda z, _p: Decimal(1 if z >= 0 else 0),
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
        exact=lambda z, _p: z if z > 0 else Decimal(0),
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
        exact=lambda z, p: z if z > 0 else p * z,
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
        exact=lambda z, p: z if z > 0 else p * z,
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
