"""A feed-forward network: layers, named parameters, and the vectorized forward/backward/update.

Shapes follow PyTorch: a layer's weight is (units, fan_in), rows are receiving neurons. Examples
are rows: a batch X is (n, inputs). The same three functions serve the explained step and training.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from chainrule.engine import display
from chainrule.engine.functions import Activation, Array, Loss, softmax_backward
from chainrule.engine.optimizers import Settings, step

BiasMode = Literal["shared", "neuron", "none"]
Batch = Literal["online", "full"] | int
Reduction = Literal["sum", "mean"]


@dataclass
class Layer:
    """One fully connected layer: z = a_prev · Wᵀ + b, a = f(z)."""

    name: str
    activation: Activation
    weight: Array  # (units, fan_in)
    bias: Array  # (units,) per neuron, (1,) shared, (0,) none
    bias_mode: BiasMode
    neuron_names: list[str]
    # The weights' names: an int k means the default numbering w(k+1), w(k+2), ... row by row;
    # a grid [receiving][sending] is the file's own names. Default names are made only when asked
    # for: a 784-1024-1024-10 network would otherwise hold two million strings (~200 MB).
    weight_numbering: int | list[list[str]]
    bias_names: list[str]  # one name when shared, one per neuron, or none
    alpha: Array  # (1,) the activation's α (learnable for PReLU), (0,) when it has none
    alpha_name: str | None = None
    _names: list[list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def units(self) -> int:
        return int(self.weight.shape[0])

    @property
    def custom_weight_names(self) -> bool:
        return not isinstance(self.weight_numbering, int)

    @property
    def weight_names(self) -> list[list[str]]:
        """Each weight's name, [receiving neuron][sending neuron]."""
        if not isinstance(self.weight_numbering, int):
            return self.weight_numbering
        if self._names is None:
            k, cols = self.weight_numbering, self.weight.shape[1]
            self._names = [[f"w{k + j * cols + i + 1}" for i in range(cols)] for j in range(self.units)]
        return self._names

    def default_index(self, name: str) -> int | None:
        """The flat index of the weight with this default name (w<k>) in this layer, if it is one."""
        if isinstance(self.weight_numbering, int) and name.startswith("w") and name[1:].isdigit():
            index = int(name[1:]) - self.weight_numbering - 1
            if 0 <= index < self.weight.size:
                return index
        return None

    def has_weight(self, name: str) -> bool:
        if isinstance(self.weight_numbering, int):
            return self.default_index(name) is not None
        return any(name in row for row in self.weight_numbering)

    def frozen_mask(self, frozen: set[str] | frozenset[str]) -> Array | None:
        """1 where a weight learns, 0 where it is frozen; None when none of this layer's is frozen."""
        mask = np.ones(self.weight.shape, dtype=self.weight.dtype)
        if isinstance(self.weight_numbering, int):  # find w<k> without making every name
            for name in frozen:
                index = self.default_index(name)
                if index is not None:
                    mask.flat[index] = 0
        else:
            for j, row in enumerate(self.weight_numbering):
                for i, name in enumerate(row):
                    if name in frozen:
                        mask[j, i] = 0
        return None if mask.all() else mask

    def bias_vector(self) -> Array:
        """The bias added to each neuron's z: the shared value repeated, or zeros."""
        if self.bias_mode == "none":
            return np.zeros(self.units, dtype=self.weight.dtype)
        return np.broadcast_to(self.bias, (self.units,))

    def alpha_value(self) -> float:
        return float(self.alpha[0]) if self.alpha.size else 0.0


@dataclass
class Training:
    """The `[training]` table: how one update (and a run of them) is made."""

    learning_rate: float = 0.5
    batch: Batch = "online"
    reduction: Reduction = "mean"
    freeze: tuple[str, ...] = ()
    epochs: int = 1
    seed: int = 0
    dtype: Literal["float64", "float32"] = "float64"
    optimizer: Settings = field(default_factory=Settings)  # the optimizer and its constants (μ, β₁, β₂, ε)


@dataclass
class DataInfo:
    """The optional `[data]` table: how raw data becomes the network's inputs and outputs.

    Written by `chainrule train` so that `predict` repeats it: the source columns of the inputs
    (``colour=red`` for a one-hot category), the target column and its class names (one per output,
    or two for a single 0/1 output), and the standardisation x' = (x − mean) / std per input.
    """

    columns: list[str] = field(default_factory=list)
    target: str = ""
    classes: list[str] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


@dataclass
class Forward:
    """Every layer's pre-activations z and activations a for a batch (index 0 = the inputs' a)."""

    x: Array
    z: list[Array]
    a: list[Array]

    @property
    def output(self) -> Array:
        return self.a[-1]


@dataclass
class Backward:
    """Gradients of the batch loss: per layer dW, db, dα, and per example dL/da, dL/dz."""

    d_weight: list[Array]
    d_bias: list[Array]
    d_alpha: list[Array]
    d_a: list[Array]  # dL/da per layer, (n, units)
    d_z: list[Array]  # dL/dz per layer, (n, units)
    fused: bool  # True where the loss and output activation were differentiated together


@dataclass
class Network:
    """A network and its data: what a network file describes."""

    input_names: list[str]
    layers: list[Layer]
    loss: Loss
    training: Training = field(default_factory=Training)
    x: Array = field(default_factory=lambda: np.zeros((0, 0)))
    y: Array = field(default_factory=lambda: np.zeros((0, 0)))
    title: str = ""
    source: str = "<memory>"
    data: DataInfo | None = None
    # The optimizer's state after the updates made so far (param → slot → value: v, or m and s),
    # and how many updates made it: what momentum and Adam carry from one update to the next.
    state: dict[str, dict[str, float]] = field(default_factory=dict)
    updates_made: int = 0

    def _repr_markdown_(self) -> str | None:
        """In Jupyter: the architecture and a table of the parameters. (once chainrule.views.notebook registered it)."""
        return display.show(self, "markdown")

    def _repr_html_(self) -> str | None:
        """In Jupyter: the network drawn with its values, and its parameters. (once chainrule.views.notebook registered it)."""
        return display.show(self, "html")

    # -- names ------------------------------------------------------------------------------
    @property
    def output_layer(self) -> Layer:
        return self.layers[-1]

    def parameter_names(self) -> list[str]:
        """Every parameter's name, in the file's order: per layer weights, biases, α."""
        names: list[str] = []
        for layer in self.layers:
            names += [n for row in layer.weight_names for n in row]
            names += layer.bias_names
            if layer.alpha_name:
                names.append(layer.alpha_name)
        return names

    def parameters(self) -> dict[str, float]:
        """Each parameter's current value by name (w1, b1, b_h1, alpha_h, ...)."""
        values: dict[str, float] = {}
        for layer in self.layers:
            for r, row in enumerate(layer.weight_names):
                for c, name in enumerate(row):
                    values[name] = float(layer.weight[r, c])
            for i, name in enumerate(layer.bias_names):
                values[name] = float(layer.bias[i])
            if layer.alpha_name:
                values[layer.alpha_name] = float(layer.alpha[0])
        return values

    def has_parameter(self, name: str) -> bool:
        """Whether a parameter has this name (without listing every weight's name)."""
        return any(la.has_weight(name) or name in la.bias_names or name == la.alpha_name for la in self.layers)

    def parameter_count(self) -> int:
        return sum(la.weight.size + len(la.bias_names) + (1 if la.alpha_name else 0) for la in self.layers)

    def target_names(self) -> list[str]:
        return ["y_" + n for n in self.output_layer.neuron_names]

    # -- the math ---------------------------------------------------------------------------
    def forward(self, x: Array) -> Forward:
        """z = a_prev Wᵀ + b and a = f(z), layer by layer, for every example (row) of x."""
        a = np.asarray(x, dtype=self.layers[0].weight.dtype)
        zs: list[Array] = []
        as_: list[Array] = [a]
        for layer in self.layers:
            z = a @ layer.weight.T + layer.bias_vector()
            a = layer.activation.value(z, layer.alpha_value())
            zs.append(z)
            as_.append(a)
        return Forward(x=as_[0], z=zs, a=as_)

    def _fused(self) -> bool:
        return self.loss.fused_activation == self.output_layer.activation.name

    def example_losses(self, fwd: Forward, y: Array) -> Array:
        """The loss of each example (n,), from z where the loss pairs with the output activation."""
        if self._fused() and self.loss.fused_value is not None:
            return self.loss.fused_value(fwd.z[-1], y)
        return self.loss.value(fwd.output, y)

    def batch_loss(self, fwd: Forward, y: Array, reduction: Reduction | None = None) -> float:
        losses = self.example_losses(fwd, y)
        if (reduction or self.training.reduction) == "mean":
            return float(np.mean(losses))
        return float(np.sum(losses))

    def backward(self, fwd: Forward, y: Array, reduction: Reduction | None = None) -> Backward:
        """Backpropagation: δ = f'(z) ⊙ dL/da, dW = δᵀ a_prev, dL/da_prev = δ W, layer by layer.

        Gradients are of the batch loss (sum or mean of the example losses), so a weight used by
        several examples, or a bias shared by several neurons, accumulates every contribution.
        """
        n = fwd.x.shape[0]
        scale = 1.0 / n if (reduction or self.training.reduction) == "mean" else 1.0
        a_out, z_out = fwd.a[-1], fwd.z[-1]
        d_a_out = self.loss.gradient(a_out, y) * scale
        fused = self._fused() and self.loss.fused_gradient is not None
        count = len(self.layers)
        d_w: list[Array] = [np.empty(0)] * count
        d_b: list[Array] = [np.empty(0)] * count
        d_alpha: list[Array] = [np.empty(0)] * count
        d_as: list[Array] = [np.empty(0)] * count
        d_zs: list[Array] = [np.empty(0)] * count
        d_a = d_a_out
        for i in range(count - 1, -1, -1):
            layer = self.layers[i]
            z, a = fwd.z[i], fwd.a[i + 1]
            if i == count - 1 and fused:
                assert self.loss.fused_gradient is not None
                d_z = self.loss.fused_gradient(z_out, a_out, y) * scale
            elif not layer.activation.elementwise:
                d_z = softmax_backward(a, d_a)
            else:
                d_z = layer.activation.derivative(z, a, layer.alpha_value()) * d_a
            d_as[i], d_zs[i] = d_a, d_z
            a_prev = fwd.a[i]
            d_w[i] = d_z.T @ a_prev
            if layer.bias_mode == "neuron":
                d_b[i] = d_z.sum(axis=0)
            elif layer.bias_mode == "shared":
                d_b[i] = np.array([d_z.sum()], dtype=d_z.dtype)
            else:
                d_b[i] = np.zeros(0, dtype=d_z.dtype)
            if layer.alpha_name and layer.activation.alpha_derivative is not None:
                da_dalpha = layer.activation.alpha_derivative(z, a, layer.alpha_value())
                d_alpha[i] = np.array([np.sum(da_dalpha * d_a)], dtype=d_z.dtype)
            else:
                d_alpha[i] = np.zeros(0, dtype=d_z.dtype)
            d_a = d_z @ layer.weight
        return Backward(d_w, d_b, d_alpha, d_as, d_zs, fused)

    def gradients(self, back: Backward) -> dict[str, float]:
        """Each parameter's gradient by name, from a backward pass."""
        grads: dict[str, float] = {}
        for i, layer in enumerate(self.layers):
            for r, row in enumerate(layer.weight_names):
                for c, name in enumerate(row):
                    grads[name] = float(back.d_weight[i][r, c])
            for j, name in enumerate(layer.bias_names):
                grads[name] = float(back.d_bias[i][j])
            if layer.alpha_name:
                grads[layer.alpha_name] = float(back.d_alpha[i][0])
        return grads

    def updated(self, back: Backward, learning_rate: float | None = None) -> Network:
        """A new network after one update by the file's optimizer (frozen θ unchanged).

        Plain gradient descent: θ ← θ − η ∂L/∂θ. Momentum, Nesterov, RMSProp and Adam move θ by
        their rules (engine.optimizers) and carry their state into the new network. Every
        parameter moves by the gradient computed before this update: the step is a value, so
        applying it never changes the network it came from.
        """
        lr = self.training.learning_rate if learning_rate is None else learning_rate
        frozen = set(self.training.freeze)
        new = self._copy()
        new.updates_made = self.updates_made + 1
        if self.training.optimizer.name != "sgd":
            return new._stepped(self.gradients(back), frozen, lr)
        for i, layer in enumerate(new.layers):
            w_mask = np.array([[n not in frozen for n in row] for row in layer.weight_names], dtype=bool)
            layer.weight = layer.weight - lr * back.d_weight[i] * w_mask.reshape(layer.weight.shape)
            if layer.bias_names:
                b_mask = np.array([n not in frozen for n in layer.bias_names], dtype=bool)
                layer.bias = layer.bias - lr * back.d_bias[i] * b_mask
            if layer.alpha_name and layer.alpha_name not in frozen:
                layer.alpha = layer.alpha - lr * back.d_alpha[i]
        return new

    def _copy(self) -> Network:
        """A copy whose parameters, optimizer state and settings change without touching this one's.
        The examples (x, y) are shared, not copied: nothing changes them in place, and copying them
        on every update made explaining a step of a large data set slow."""
        new = copy.copy(self)
        new.layers = []
        for layer in self.layers:
            copied = replace(layer, weight=layer.weight.copy(), bias=layer.bias.copy(), alpha=layer.alpha.copy())
            copied._names = layer._names  # the names do not change with the values
            new.layers.append(copied)
        new.training, new.data = copy.deepcopy(self.training), copy.deepcopy(self.data)
        new.state = {name: dict(slots) for name, slots in self.state.items()}
        return new

    def _stepped(self, grads: dict[str, float], frozen: set[str], lr: float) -> Network:
        """This (new) network's parameters and state moved by the optimizer; a frozen θ has g = 0,
        as in the trainer, so it stays where it is and its state stays 0."""
        values = {}
        for name, theta in self.parameters().items():
            g = 0.0 if name in frozen else grads[name]
            values[name], self.state[name] = step(
                self.training.optimizer, theta, g, self.state.get(name, {}), self.updates_made, lr
            )
        for layer in self.layers:
            for r, row in enumerate(layer.weight_names):
                for c, name in enumerate(row):
                    layer.weight[r, c] = values[name]
            for i, name in enumerate(layer.bias_names):
                layer.bias[i] = values[name]
            if layer.alpha_name:
                layer.alpha[0] = values[layer.alpha_name]
        return self

    def batches(self) -> list[np.ndarray]:
        """The example indices of each update in one epoch, in file order, by `batch`."""
        n = self.x.shape[0]
        batch = self.training.batch
        size = 1 if batch == "online" else n if batch == "full" else int(batch)
        return [np.arange(s, min(s + size, n)) for s in range(0, n, size)]
