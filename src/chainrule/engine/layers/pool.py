"""Pooling: MaxPool2d routes each window's gradient to its winner, AvgPool2d spreads it evenly.

Both slide a kh × kw window with a stride (default: the kernel, so windows tile the map) over a
padded map, per channel, with no parameters, as PyTorch's MaxPool2d and AvgPool2d (ceil_mode off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from chainrule.engine.activations import Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated
from chainrule.engine.layers.conv import Pair, out_size, pad, windows
from chainrule.engine.layers.dense import IDENTITY
from chainrule.errors import ChainruleError


@dataclass
class _Pool(Op):
    name: str
    kernel: Pair
    stride: Pair | None = None  # None: the kernel's size, as PyTorch
    padding: Pair = (0, 0)
    activation: Activation = IDENTITY

    @property
    def steps(self) -> Pair:
        return self.kernel if self.stride is None else self.stride

    def out_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise ChainruleError(
                f"layer {self.name}: expected an input of shape [channels, height, width], got {list(in_shape)}"
            )
        if any(2 * p > k for p, k in zip(self.padding, self.kernel, strict=True)):
            raise ChainruleError(
                f"layer {self.name}: expected a padding at most half the kernel {list(self.kernel)}, got {list(self.padding)}"
            )
        return (in_shape[0], *out_size(self.name, in_shape[1:], self.kernel, self.steps, self.padding))

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> _Pool:
        return self

    def to_dict(self) -> dict[str, Any]:
        table: dict[str, Any] = {"type": self.kind, "name": self.name, "kernel": list(self.kernel)}
        table |= {"stride": list(self.steps), "padding": list(self.padding), "activation": self.activation.name}
        return table


@dataclass
class MaxPool2d(_Pool):
    """z[c, h, w] = the largest x in the window; padding is −∞, so it never wins.

    Ties go to the FIRST maximum of the window in row-major order (the lowest row, then the
    lowest column), as PyTorch's CPU kernel does (it replaces its running maximum only by a
    strictly larger value; the tests check an input of equal values against torch). The winners'
    positions (row, column in the unpadded input, 0-based) are kept in the cache as ``winners``,
    shape (n, C, H_out, W_out, 2); the backward routes each δ to its winner and adds where windows
    overlap and share one."""

    kind: ClassVar[str] = "maxpool2d"

    def forward(self, x: Array, training: bool = True) -> Cache:
        self.out_shape(x.shape[1:])
        view = windows(pad(x, self.padding, -np.inf), self.kernel, self.steps)
        flat = view.reshape(*view.shape[:4], -1)
        first = np.argmax(flat, axis=-1)  # np.argmax returns the first of equal maxima
        z = np.take_along_axis(flat, first[..., None], axis=-1)[..., 0]
        kw = self.kernel[1]
        rows = np.arange(view.shape[2])[:, None] * self.steps[0] + first // kw - self.padding[0]
        cols = np.arange(view.shape[3])[None, :] * self.steps[1] + first % kw - self.padding[1]
        return activated(self, x, z, winners=np.stack([rows, cols], axis=-1))

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂x[winner] += δ for each window; every other input gets 0 from it."""
        winners = cache.extra["winners"]
        grid = np.indices(d_z.shape[:2])[..., None, None]  # each window's example and channel
        d_x = np.zeros_like(cache.x)
        np.add.at(d_x, (grid[0], grid[1], winners[..., 0], winners[..., 1]), d_z)
        return d_x, {}


@dataclass
class AvgPool2d(_Pool):
    """z[c, h, w] = the mean of the window; zero padding counts in the mean (PyTorch's default,
    count_include_pad=True), so every window divides by kh·kw. The backward spreads δ/(kh·kw) to
    every input of the window."""

    kind: ClassVar[str] = "avgpool2d"

    def forward(self, x: Array, training: bool = True) -> Cache:
        self.out_shape(x.shape[1:])
        view = windows(pad(x, self.padding), self.kernel, self.steps)
        return activated(self, x, view.mean(axis=(4, 5)))

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂x += δ/(kh·kw) over each window: one slice per kernel offset, every position at once."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.steps, self.padding
        n, c, rows, cols = cache.x.shape
        d_x_pad = np.zeros((n, c, rows + 2 * ph, cols + 2 * pw), dtype=d_z.dtype)
        share = d_z / (kh * kw)
        out_rows, out_cols = d_z.shape[2:]
        for i in range(kh):
            for j in range(kw):
                d_x_pad[:, :, i : i + sh * out_rows : sh, j : j + sw * out_cols : sw] += share
        return d_x_pad[:, :, ph : ph + rows, pw : pw + cols], {}
