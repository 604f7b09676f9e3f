"""The plain data a shaped network's step record is made of: each op as the views name it (`OpInfo`)
and the numbers of its explanation (`OpDetail`: sums of products, pooling windows, paths, BPTT's steps).
Built by record.model_ops and record.model_rnn, held by record.model_step.ModelStepRecord."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chainrule.engine.layers.base import Op, Shape, element_name


@dataclass(frozen=True)
class OpInfo:
    """One layer as the views name it: its kind, shapes, tensors by role and its own settings."""

    name: str
    kind: str
    activation: str
    in_shape: Shape
    out_shape: Shape
    tensors: dict[str, str]  # role -> the tensor's chainrule name (weight -> W_c)
    tensor_shapes: dict[str, Shape]  # the tensor's name -> its shape
    settings: dict[str, Any]  # stride, padding, kernel, eps, output … as the op holds them
    input_name: str  # the values it reads: "x" for the first op, "a_<prev>" after
    input_lead: tuple[int, ...] = ()  # 0-based indices before an input's own (an RNN's last state: (T − 1,))
    inner: tuple[tuple[str, str, Shape], ...] = ()  # a residual block's layers: (name, kind, output shape)

    def input_element(self, index: tuple[int, ...], prefix: str = "") -> str:
        """The name of the input's element at `index` (of one example's input), ``prefix`` before it (dL/d)."""
        return element_name(prefix + self.input_name, (*self.input_lead, *index))


@dataclass(frozen=True)
class Term:
    """One product of a sum: left × right (right "" with right_value a share, 1/k, where no name fits)."""

    left: str
    right: str
    left_value: float
    right_value: float


@dataclass(frozen=True)
class Sum:
    """name = Σ terms (+ constant): a window, a kernel element's gradient, an input's gradient."""

    name: str
    terms: tuple[Term, ...]
    value: float
    constant: str = ""
    constant_value: float = 0.0


@dataclass(frozen=True)
class Window:
    """A pooling window: the inputs it covers, their values, its output and (max) the winner's position."""

    name: str
    inputs: tuple[str, ...]
    values: tuple[float, ...]
    value: float
    winner: int = -1


@dataclass(frozen=True)
class OpDetail:
    op: str
    kind: str
    forward: tuple[Sum, ...] = ()
    windows: tuple[Window, ...] = ()
    weight_grads: tuple[Sum, ...] = ()
    input_grads: tuple[Sum, ...] = ()
    stats: dict[str, float] = field(default_factory=dict)
    paths: tuple[tuple[str, tuple[float, ...], float], ...] = ()  # (gradient's name, its parts, their sum)
    steps: dict[str, tuple[float, ...]] = field(default_factory=dict)  # rnn: a gradient's term at t = 1 … T
    truncated: bool = False
    inner: tuple[tuple[OpInfo, OpDetail], ...] = ()  # a residual block's layers, each explained as any layer


def op_settings(op: Op) -> dict[str, Any]:
    """The op's sizes as plain numbers (stride, padding, kernel, eps, output), where it has them."""
    found: dict[str, Any] = {}
    for key in ("kernel", "stride", "padding", "eps", "momentum", "output", "in_channels", "out_channels", "units"):
        if hasattr(op, key):
            val = getattr(op, key)
            found[key] = tuple(int(v) for v in val) if isinstance(val, tuple | list) else val
    return found
