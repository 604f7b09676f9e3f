"""A residual block: inner ops whose output has the input's shape, and the input added back.

    z = inner(x) + x,   a = f(z)

The backward adds the two ways x reaches z (`paths`): ∂L/∂x = (the inner ops' ∂L/∂x) + ∂L/∂z (the skip).
The inner ops' tensors and buffers are the block's, under the role ``<k>.<role>`` (k counting the
inner ops from 0, as nn.Sequential's state_dict keys), and keep their own chainrule names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from chainrule.engine.activations import Activation, Array
from chainrule.engine.layers.base import Cache, Op, Shape, activated
from chainrule.engine.layers.dense import IDENTITY
from chainrule.errors import ChainruleError


@dataclass
class Residual(Op):
    """a = f(inner(x) + x) for a list of inner ops that keeps the shape."""

    kind: ClassVar[str] = "residual"
    name: str
    inner: list[Op] = field(default_factory=list)
    activation: Activation = IDENTITY

    def out_shape(self, in_shape: Shape) -> Shape:
        shape = tuple(in_shape)
        for op in self.inner:
            shape = op.out_shape(shape)
        if shape != tuple(in_shape):
            raise ChainruleError(
                f"layer {self.name}: expected inner layers that keep the shape {list(in_shape)}, got {list(shape)}"
            )
        return shape

    def _by_role(self, what: str) -> dict[str, Any]:
        """The inner ops' params(), buffers() or tensor_names(), under the roles ``<k>.<role>``."""
        found: dict[str, Any] = {}
        for k, op in enumerate(self.inner):
            found |= {f"{k}.{role}": value for role, value in getattr(op, what)().items()}
        return found

    def params(self) -> dict[str, Array]:
        return self._by_role("params")

    def buffers(self) -> dict[str, Array]:
        return self._by_role("buffers")

    def tensor_names(self) -> dict[str, str]:
        return self._by_role("tensor_names")

    def forward(self, x: Array, training: bool = True) -> Cache:
        caches: list[Cache] = []
        out = x
        for op in self.inner:
            caches.append(op.forward(out, training))
            out = caches[-1].a
        cache = activated(self, x, out + x, inner=caches)
        for k, inner in enumerate(caches):
            cache.buffers |= {f"{k}.{role}": value for role, value in inner.buffers.items()}
        return cache

    def paths(self, d_z: Array, cache: Cache) -> tuple[dict[str, Array], dict[str, Array]]:
        """∂L/∂x along each way from x to z (``inner``: back through the inner ops; ``skip``: ∂L/∂z
        itself, the identity's gradient), and the inner ops' ∂L/∂θ by role."""
        grads: dict[str, Array] = {}
        d = d_z
        for k in range(len(self.inner) - 1, -1, -1):
            d, inner_grads = self.inner[k].backward(d, cache.extra["inner"][k])
            grads |= {f"{k}.{role}": value for role, value in inner_grads.items()}
        return {"inner": d, "skip": d_z}, grads

    def backward_z(self, d_z: Array, cache: Cache) -> tuple[Array, dict[str, Array]]:
        """∂L/∂x = the inner path's gradient + the skip's: the block's input is used twice."""
        paths, grads = self.paths(d_z, cache)
        return paths["inner"] + paths["skip"], grads

    def with_params(self, params: Mapping[str, Array], buffers: Mapping[str, Array] | None = None) -> Residual:
        inner = []
        for k, op in enumerate(self.inner):
            own = {role.partition(".")[2]: v for role, v in params.items() if role.partition(".")[0] == str(k)}
            kept = {
                role.partition(".")[2]: v for role, v in (buffers or {}).items() if role.partition(".")[0] == str(k)
            }
            inner.append(op.with_params(own, kept or None))
        return replace(self, inner=inner)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "name": self.name,
            "activation": self.activation.name,
            "layers": [op.to_dict() for op in self.inner],
        }
