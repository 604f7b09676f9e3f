"""Conv2d: a kernel slid over a zero-padded feature map, and its two backward rules.

Forward, for output channel o at position (h, w) (PyTorch's cross-correlation):

    z[o, h, w] = b[o] + Σ_c Σ_i Σ_j W[o, c, i, j] · x_pad[c, h·s_h + i, w·s_w + j]

Backward, the two rules every course teaches, each one function here (`correlate`,
`full_convolution`) so that the views and the checker name the same computation:

- ∂L/∂W is the correlation of the input with ∂L/∂z: ∂L/∂W[o,c,i,j] = Σ_h Σ_w δ[o,h,w] x_pad[c, h·s_h+i, w·s_w+j];
- ∂L/∂x is the full convolution of ∂L/∂z (stride zeros put back) with the kernel flipped 180°:
  ∂L/∂x_pad[c, r, q] = Σ_o Σ_i Σ_j δ_dilated_pad[o, r + i, q + j] · W[o, c, kh−1−i, kw−1−j].

Both are vectorised over every position: `sliding_window_view` gives the windows, `columns` lays
them out one per row (im2col), and each sum over windows is one matrix product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from chainrule.engine.activations import Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated, cancelled, nested, tensor_name
from chainrule.engine.layers.dense import IDENTITY
from chainrule.errors import ChainruleError

Pair = tuple[int, int]


def windows(x_pad: Array, kernel: Pair, stride: Pair) -> Array:
    """Every window of a (padded) batch (n, C, H, W): (n, C, H_out, W_out, kh, kw), a view, no copy."""
    view = sliding_window_view(x_pad, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def columns(x_pad: Array, kernel: Pair, stride: Pair) -> Array:
    """im2col: one row per window (example, row, column), its C·kh·kw inputs in (c, i, j) order,
    so that a kernel's sum over its window is one matrix product (rows in this order copy fast)."""
    view = windows(x_pad, kernel, stride)
    n, c, rows, cols, kh, kw = view.shape
    return np.ascontiguousarray(view.transpose(0, 2, 3, 1, 4, 5)).reshape(n * rows * cols, c * kh * kw)


def by_position(d_z: Array) -> Array:
    """(n, O, H_out, W_out) as one row per position and a column per channel, in `columns`' row order."""
    return np.ascontiguousarray(d_z.transpose(0, 2, 3, 1)).reshape(-1, d_z.shape[1])


def pad(x: Array, padding: Pair, value: float = 0.0) -> Array:
    """x with `padding` rows above and below and columns left and right, filled with `value`."""
    if padding == (0, 0):
        return x
    (ph, pw), width = padding, [(0, 0)] * (x.ndim - 2)
    return np.pad(x, [*width, (ph, ph), (pw, pw)], constant_values=value)


def out_size(name: str, size: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """H_out = ⌊(H + 2p − k) / s⌋ + 1 per axis (PyTorch's, without ceil mode)."""
    rows, cols = ((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding, strict=True))
    if rows < 1 or cols < 1:
        raise ChainruleError(
            f"layer {name}: expected an input of at least {kernel[0]}×{kernel[1]} once padded, got {size[0]}×{size[1]}"
        )
    return rows, cols


def correlate(x_pad: Array, d_z: Array, kernel: Pair, stride: Pair) -> Array:
    """∂L/∂W: the correlation of the (padded) input with ∂L/∂z, summed over the batch.
    d_z (n, O, H_out, W_out) -> (O, C, kh, kw)."""
    # (columnsᵀ δ)ᵀ, not δᵀ columns: the same sums, and NumPy runs this order several times faster.
    product = (columns(x_pad, kernel, stride).T @ by_position(d_z)).T
    return product.reshape(d_z.shape[1], x_pad.shape[1], *kernel)


def dilate(d_z: Array, stride: Pair) -> Array:
    """∂L/∂z with s − 1 zeros between neighbours: the positions a strided kernel skipped."""
    if stride == (1, 1):
        return d_z
    n, o, rows, cols = d_z.shape
    out = np.zeros((n, o, (rows - 1) * stride[0] + 1, (cols - 1) * stride[1] + 1), dtype=d_z.dtype)
    out[:, :, :: stride[0], :: stride[1]] = d_z
    return out


def full_convolution(d_z: Array, weight: Array, stride: Pair, padded_size: Pair) -> Array:
    """∂L/∂x_pad: the full convolution of ∂L/∂z (dilated by the stride) with the flipped kernel.
    d_z (n, O, H_out, W_out), weight (O, C, kh, kw) -> (n, C, H_pad, W_pad); rows and columns no
    window reached (a stride that does not divide evenly) get 0."""
    in_channels, (kh, kw) = weight.shape[1], weight.shape[2:]
    spread = pad(dilate(d_z, stride), (kh - 1, kw - 1))
    flipped = weight[:, :, ::-1, ::-1]
    product = columns(spread, (kh, kw), (1, 1)) @ flipped.transpose(0, 2, 3, 1).reshape(-1, in_channels)
    rows, cols = spread.shape[2] - kh + 1, spread.shape[3] - kw + 1
    grad = product.reshape(d_z.shape[0], rows, cols, in_channels).transpose(0, 3, 1, 2)
    out = np.zeros((d_z.shape[0], weight.shape[1], *padded_size), dtype=d_z.dtype)
    out[:, :, : grad.shape[2], : grad.shape[3]] = grad
    return out


@dataclass
class Conv2d(Op):
    """A 2-D convolution: weight (out_channels, in_channels, kh, kw), bias (out_channels,) or (0,)
    for none, stride and zero padding per axis (rows, columns)."""

    kind: ClassVar[str] = "conv2d"
    name: str
    weight: Array
    bias: Array
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    activation: Activation = IDENTITY
    renames: dict[str, str] = field(default_factory=dict)

    @property
    def kernel(self) -> Pair:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3 or in_shape[0] != self.in_channels:
            raise ChainruleError(
                f"layer {self.name}: expected an input of shape [{self.in_channels}, height, width], "
                f"got {list(in_shape)}"
            )
        return (self.out_channels, *out_size(self.name, in_shape[1:], self.kernel, self.stride, self.padding))

    def params(self) -> dict[str, Array]:
        return {"weight": self.weight, "bias": self.bias} if self.bias.size else {"weight": self.weight}

    def tensor_names(self) -> dict[str, str]:
        prefixes = {"weight": "W", "bias": "b"}
        return {role: tensor_name(self, role, prefixes[role], self.renames) for role in self.params()}

    def forward(self, x: Array, training: bool = True) -> Cache:
        """z[n,o,h,w] = Σ over the window of W[o] ⊙ x_pad, plus b[o]."""
        x_pad = pad(x, self.padding)
        n, (rows, cols) = x.shape[0], self.out_shape(x.shape[1:])[1:]
        product = columns(x_pad, self.kernel, self.stride) @ self.weight.reshape(self.out_channels, -1).T
        z: Array = product.reshape(n, rows, cols, self.out_channels).transpose(0, 3, 1, 2)
        if self.bias.size:
            z = z + self.bias[:, None, None]
        return activated(self, x, np.ascontiguousarray(z))

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂W = correlate(x, δ), ∂L/∂b = Σ δ per channel, ∂L/∂x = full_convolution(δ, flipped W)."""
        x_pad = pad(cache.x, self.padding)
        grads: dict[str, Array] = {"weight": correlate(x_pad, d_z, self.kernel, self.stride)}
        if self.bias.size:
            grads["bias"] = cancelled(d_z.sum(axis=(0, 2, 3)), np.abs(d_z).sum(axis=(0, 2, 3)))
        d_x_pad = full_convolution(d_z, self.weight, self.stride, x_pad.shape[2:])
        (ph, pw), (rows, cols) = self.padding, cache.x.shape[2:]
        return d_x_pad[:, :, ph : ph + rows, pw : pw + cols], grads

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Conv2d:
        return replace(self, weight=params.get("weight", self.weight), bias=params.get("bias", self.bias))

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"type": self.kind, "name": self.name}
        table |= {"in_channels": self.in_channels, "out_channels": self.out_channels, "kernel": list(self.kernel)}
        table |= {"stride": list(self.stride), "padding": list(self.padding), "activation": self.activation.name}
        table["weight"] = nested(self.weight)
        if self.bias.size:
            table["bias"] = nested(self.bias)
        return table
