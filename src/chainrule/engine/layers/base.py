"""Layers as types: the one interface every layer of a shaped network implements.

A dense (fully connected) network is `engine.network.Network`, with its own long-tuned record,
views and fast paths. A network with any other layer type (conv2d, pooling, flatten, batchnorm, a
residual block, a recurrent layer) is an `engine.model.Model`: a sequence of `Op`s, each with its
forward, backward and parameters in one place (as PyTorch modules or tinygrad's ops), so the views,
the checker and the trainers dispatch on `Op.kind` instead of assuming a dense layer.

Conventions (shared by every op, the file reader, the views and the checker):

- Arrays hold a batch first: one example's shape is `Shape` ((features,), (channels, height,
  width) or (steps, features)), a batch is (n, *shape). float64 unless the file asks float32.
- `params()` maps a role to its array; the roles are PyTorch's state_dict names for the module
  (``weight``, ``bias``; batchnorm's ``weight`` is γ and ``bias`` β; an RNN's ``weight_ih_l0``,
  ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``), so `to_torch` maps them one to one.
- `tensor_names()` maps the same roles to the tensor's chainrule name (``W_c``, ``b_c``,
  ``gamma_bn``, ``beta_bn``, ``Wx_r``, ``Wh_r``, ``bx_r``, ``bh_r`` for layers c, bn, r; a file may rename
  them); an element is named ``<tensor>[i,j,…]`` with 1-based indices (`element_name`).
- An op's activation is applied element by element (softmax over the last axis) with the
  activation's own, fixed α (`dataclasses.replace(act, alpha=…)` for another): a shaped network
  learns no α.
- A layer's outputs are named like a neuron's: ``z_<layer>[i,…]`` before its activation and
  ``a_<layer>[i,…]`` after (a feature map's element [channel,row,col]; an RNN's hidden state at
  time t and unit j is ``a_<layer>[t,j]``), so `record.names` reads them with no new grammar.
- `forward` returns the output and a cache; `backward` takes ∂L/∂output and the cache and returns
  ∂L/∂input and ∂L/∂param per role (through `backward_z`, from ∂L/∂z, which the model calls
  directly where the loss is fused with the last op's activation). Ops are immutable: `with_params` makes the updated op, and an
  op with running statistics (batchnorm) returns its new buffers from `forward` in its cache
  (`Cache.buffers`) for `Model.updated` to keep.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from chainrule.engine.activations import Activation, Array

Shape = tuple[int, ...]


def element_name(tensor: str, index: tuple[int, ...]) -> str:
    """``W_c[1,2,3,3]``: a tensor's element by 1-based index (a 1-element tensor keeps ``[1]``)."""
    return f"{tensor}[{','.join(str(i + 1) for i in index)}]"


@dataclass
class Cache:
    """What an op's forward keeps for its backward: its input, its pre-activation and output, and
    anything else it needs (``extra``: a max-pool's winners, batchnorm's x̂, μ and σ², an RNN's
    states). ``buffers`` holds new running statistics (role -> array) when training updates them."""

    x: Array
    z: Array
    a: Array
    extra: dict[str, Any] = field(default_factory=dict)
    buffers: dict[str, Array] = field(default_factory=dict)


class Op(ABC):
    """One layer of a shaped network. Subclasses are dataclasses with `name` and `activation`."""

    kind: ClassVar[str]  # the file's ``type``: dense, conv2d, maxpool2d, avgpool2d, flatten, batchnorm, residual, rnn
    name: str
    activation: Activation  # applied after the layer's own map (identity where it has none)

    @abstractmethod
    def out_shape(self, in_shape: Shape) -> Shape:
        """One example's output shape for an input of one example's shape `in_shape`."""

    def params(self) -> dict[str, Array]:
        """The learnt tensors by role (PyTorch's state_dict key for the module)."""
        return {}

    def buffers(self) -> dict[str, Array]:
        """Tensors kept but not learnt (batchnorm's running_mean, running_var), by role."""
        return {}

    def tensor_names(self) -> dict[str, str]:
        """Each learnt tensor's chainrule name, by role."""
        return {}

    @abstractmethod
    def forward(self, x: Array, training: bool = True) -> Cache:
        """The layer on a batch x of shape (n, *in_shape): z (its map) and a = f(z)."""

    def backward(self, d_a: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """From ∂L/∂a (n, *out_shape): ∂L/∂x (n, *in_shape) and ∂L/∂param per role. The chain
        through the activation first (`d_activation`), then the layer's own map (`backward_z`)."""
        return self.backward_z(d_activation(self, cache, d_a), cache)

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """From ∂L/∂z (the gradient past the activation; the model gives it directly where the loss
        is fused with the last activation): ∂L/∂x and ∂L/∂param per role. Every op but one that
        overrides `backward` itself (whose activation is inside its map) implements this."""
        raise NotImplementedError(f"{type(self).__name__} computes its backward from ∂L/∂a only")

    @abstractmethod
    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Op:
        """A copy with these parameters (and buffers) in place of its own."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The layer's table in the network file (``type``, its sizes, its tensors as nested lists)."""


def activated(op: Op, x: Array, z: Array, **extra: Any) -> Cache:
    """The cache of a layer whose map gave z: a = f(z) with the activation's α, fixed: a shaped
    network learns no α (its file reader refuses PReLU; an op given one keeps its α constant)."""
    act = op.activation
    return Cache(x=x, z=z, a=act.value(z, float(act.alpha or 0.0)), extra=dict(extra))


def tensor_name(op: Op, role: str, prefix: str, renames: Mapping[str, str]) -> str:
    """A tensor's chainrule name: the file's own (``renames[role]``) or ``<prefix>_<layer>``."""
    return renames.get(role, f"{prefix}_{op.name}")


def cancelled(total: Array, scale: Array) -> Array:
    """`total`, except where it is below the rounding of the terms it was summed from (`scale`: the
    sum of their sizes), where it is 0: what float64 cannot tell from 0 is shown as the 0 it is on
    paper (a bias before batch normalisation: its gradient's terms cancel exactly), not as 10⁻¹⁷."""
    eps = float(np.finfo(total.dtype).eps) if np.issubdtype(total.dtype, np.floating) else 0.0
    return np.where(np.abs(total) <= 16 * eps * scale, 0.0, total).astype(total.dtype, copy=False)


def nested(array: Array) -> Any:
    """A tensor as nested lists of floats, for the network file."""
    return np.asarray(array, dtype=np.float64).tolist()


def d_activation(op: Op, cache: Cache, d_a: Array) -> Array:
    """∂L/∂z from ∂L/∂a through the op's (elementwise or softmax) activation."""
    act = op.activation
    alpha = float(act.alpha or 0.0)
    if not act.elementwise:
        from chainrule.engine.activations import softmax_backward

        return softmax_backward(cache.a, d_a)
    return np.asarray(act.derivative(cache.z, cache.a, alpha) * d_a)
