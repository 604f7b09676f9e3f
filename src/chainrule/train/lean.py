"""The lean NumPy path: SGD for mini-batches and large networks, in place, with buffers kept.

`Network.updated` copies the whole network so that an explained step never changes what it came
from; training wants the opposite. This path keeps one buffer per layer for z, a and δ and one
per parameter for its gradient, writes matrix products into them (`out=`), and updates the layer
arrays in place. The activations, their derivatives and the losses are the registry's own
functions, so the numbers are the engine's: a test holds the two to 1e-12.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine.functions import softmax_backward
from chainrule.engine.network import Network
from chainrule.train import blas
from chainrule.train.records import right_count

# From this many weights in a layer, its update is folded into the gradient's matrix product:
# W ← W − η·δᵀa as one BLAS call (`blas.update_weights`), which saves a pass over the weights and
# the gradient's buffer; below it a ctypes call costs more than the pass it saves.
FUSED_MIN_WEIGHTS = 65_536


class LeanSGD:
    """In-place gradient descent on a network's own layer arrays, one batch at a time."""

    def __init__(self, net: Network, batch: int) -> None:
        self.net = net
        self.dtype = net.layers[0].weight.dtype
        self.batch = batch
        self.right = 0.0  # examples of the last batch classified right, before its update (with_loss)
        self.frozen = set(net.training.freeze)
        self.fused = net.loss.fused_activation == net.output_layer.activation.name
        self.z = [np.empty((batch, la.units), dtype=self.dtype) for la in net.layers]
        # relu runs in kept buffers (the registry's numbers, without its allocations)
        self.relu = [la.activation.name == "relu" for la in net.layers]
        relu_units = [la.units if r else 0 for r, la in zip(self.relu, net.layers, strict=True)]
        self.a = [np.empty((batch, u), self.dtype) for u in relu_units]
        self.zeros = np.zeros(batch * max(relu_units), self.dtype)
        self.masks = [la.frozen_mask(self.frozen) for la in net.layers]
        self.b_masks = [self._mask([la.bias_names]) for la in net.layers]
        self.d_prev = [np.empty((batch, la.weight.shape[1]), dtype=self.dtype) for la in net.layers]
        # Per layer: whether one BLAS call updates its weights (nothing frozen in it), or product
        # into a buffer, then subtract.
        self.in_place = [
            la.weight.size >= FUSED_MIN_WEIGHTS and m is None and blas.available(self.dtype)
            for la, m in zip(net.layers, self.masks, strict=True)
        ]
        self.output = np.empty((0, net.output_layer.units), self.dtype)  # the last batch's ŷ
        self.targets = self.output
        self.d_w: list[np.ndarray | None] = [
            None if f else np.empty_like(la.weight) for f, la in zip(self.in_place, net.layers, strict=True)
        ]

    def _mask(self, names: list[list[str]]) -> np.ndarray | None:
        flat = [n for row in names for n in row]
        if not any(n in self.frozen for n in flat):
            return None  # nothing frozen: skip the multiplication
        return np.array([[n not in self.frozen for n in row] for row in names], dtype=self.dtype).reshape(-1)

    def step(self, x: np.ndarray, y: np.ndarray, lr: float, mean: bool = True, with_loss: bool = True) -> float:
        """One update on the batch (x, y); returns the batch loss before the update (nan without it)
        and, with it, sets `right`: the batch's examples classified right by that same output."""
        net = self.net
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        n = x.shape[0]
        acts: list[np.ndarray] = [x]
        for i, layer in enumerate(net.layers):
            z = self.z[i][:n]
            np.matmul(acts[-1], layer.weight.T, out=z)
            if layer.bias_mode != "none":
                z += layer.bias
            if self.relu[i]:  # the registry's max(z, 0), into a kept buffer
                # against an array of zeros: NumPy's loop for two contiguous arrays is 2.5x faster
                zeros = self.zeros[: z.size].reshape(z.shape)
                acts.append(np.maximum(z, zeros, out=self.a[i][:n]))
            else:
                acts.append(layer.activation.value(z, layer.alpha_value()))
        out_z, out_a = self.z[-1][:n], acts[-1]
        # The loss as the engine's `example_losses` computes it (the fused form from z where there
        # is one): it is the epoch's running loss that `chainrule train` reports.
        losses = None
        if with_loss:
            fused_value = net.loss.fused_value if self.fused else None
            losses = fused_value(out_z, y) if fused_value is not None else net.loss.value(out_a, y)
            self.right = right_count(net, out_a, y)
        if self.fused and net.loss.fused_gradient is not None:
            d_z = net.loss.fused_gradient(out_z, out_a, y)
        else:
            d_z = net.loss.gradient(out_a, y)
        scale = 1.0 / n if mean else 1.0
        if scale != 1.0:
            d_z *= scale
        for i in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[i]
            if i < len(net.layers) - 1 or not self.fused:
                d_a = d_z
                if self.relu[i]:  # δ·1 where z > 0, δ·0 elsewhere: the registry's numbers
                    d_z = np.multiply(d_a, self.z[i][:n] > 0, out=d_a)
                elif layer.activation.elementwise:
                    d_z = layer.activation.derivative(self.z[i][:n], acts[i + 1], layer.alpha_value()) * d_a
                else:
                    d_z = softmax_backward(acts[i + 1], d_a)
                if layer.alpha_name and layer.activation.alpha_derivative and layer.alpha_name not in self.frozen:
                    da_dalpha = layer.activation.alpha_derivative(self.z[i][:n], acts[i + 1], layer.alpha_value())
                    layer.alpha -= lr * np.array([np.sum(da_dalpha * d_a)], dtype=self.dtype)
            if i > 0:  # δ for the layer below, through the weights as they were before this update
                d_next = np.matmul(d_z, layer.weight, out=self.d_prev[i][:n])
            self._update(i, d_z, acts[i], lr)
            if i > 0:
                d_z = d_next
        if losses is None:
            return float("nan")
        return float(losses.sum() / n if mean else losses.sum())

    def _update(self, i: int, d_z: np.ndarray, a_prev: np.ndarray, lr: float) -> None:
        """θ ← θ − η·∂L/∂θ in place. Large layers: one BLAS call, W + (−η)·δᵀa. Others: η scales δ
        (batch × units) before the weight-gradient product rather than the product itself (units ×
        fan-in), one pass over a small array instead of a large one, then the subtraction. Either
        differs from W − η·(δᵀa) by rounding only."""
        layer = self.net.layers[i]
        if layer.bias_mode != "none":
            d_b = d_z.sum(axis=0) if layer.bias_mode == "neuron" else np.array([d_z.sum()], dtype=self.dtype)
            step = lr * d_b
            b_mask = self.b_masks[i]
            if b_mask is not None:
                step = step * b_mask
            layer.bias -= step
        if self.in_place[i] and blas.update_weights(layer.weight, d_z, a_prev, -lr):
            return
        d_z *= lr  # d_z is this step's own array: scaling it in place is safe
        grad = np.matmul(d_z.T, a_prev, out=self.d_w[i])  # a new array when the BLAS call could not
        mask = self.masks[i]
        if mask is not None:
            grad *= mask
        layer.weight -= grad
