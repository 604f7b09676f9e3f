"""A node of the step graph (record.graph): one named number and how it is computed from others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Op = Literal[
    "given",
    "sum",
    "product",
    "act",
    "deriv",
    "loss",
    "fused_loss",
    "dloss",
    "fused_dz",
    "softmax_dz",
    "update",
    "alpha",
    "loss_term",
    "average",
    "adam",
    "change",
]


@dataclass(frozen=True)
class Node:
    """How one named number is computed from others.

    ``sum``: Σ v[p]·v[q] over ``pairs`` + Σ v[a] over ``args``; ``product``: Π v[a]; ``update``:
    θ + coef·g with args (θ, g); the rest apply the layer's activation or the loss to the layer's
    vector in ``args`` and take element ``index``. Every result is multiplied by ``coef``
    (except ``update``, where coef is −η). The optimizers' (record.optimizer_graph): ``average``:
    β·prev + (1 − β)·x^index with β = coef, args (prev, x); ``adam``: θ + coef·m̂ / (√ŝ + ε) with
    ε = value, args (θ, m̂, ŝ); ``change``: args[0] − args[1].
    """

    name: str
    op: Op
    args: tuple[str, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    layer: int = -1
    index: int = 0
    coef: float = 1.0
    value: float = 0.0  # for "given"
    at_a: bool = False  # "deriv" evaluated at a instead of z (a mistake)
    alpha: str | None = None  # the name of a learnable α this node reads


Add = Callable[[Node], None]
