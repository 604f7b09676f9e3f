"""PyTorch for shaped networks: an `nn.Sequential` of Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d/2d,
Flatten, Linear and activations as an `engine.model.Model`, and back.

`from_torch` reads each layer module into its layer table of the network file (an activation
module is attached to the layer before it) and builds the Model through `modelfile.from_dict`, so a
module and a file are checked by the same rules. The module positions are kept
(``Model.extra["torch"]``: each op's layer index and activation index), so that `to_torch` gives a
Sequential whose `state_dict()` keys are the original's. A module it cannot take is refused with
one line naming it and its position. `io.torch.from_torch` / `to_torch` dispatch here; PyTorch is
imported on first use.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

import numpy as np

from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.io import modelfile, modelops
from chainrule.io.torch_common import SOFTPLUS_THRESHOLD, TORCH_MODULES, _activation_of, _torch

LAYER_MODULES = ("Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Flatten")
Positions = list[tuple[int, int | None]]  # per op: (the layer module's index, its activation's or None)


def _pair(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, tuple | list) else [int(value), int(value)]


def _values(tensor: Any) -> Any:
    return tensor.detach().cpu().double().numpy().tolist()


def _refuse(where: str, module: Any, expected: str) -> ChainruleError:
    return ChainruleError(f"{where} ({type(module).__name__}): expected {expected}")


def _conv(m: Any, where: str) -> dict[str, Any]:
    if _pair(m.dilation) != [1, 1] or m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise _refuse(where, m, "Conv2d with dilation 1, groups 1 and padding of zeros given as numbers")
    table = {"type": "conv2d", "channels": int(m.out_channels), "kernel": _pair(m.kernel_size)}
    table |= {"stride": _pair(m.stride), "padding": _pair(m.padding), "weights": _values(m.weight)}
    return table | {"bias": _values(m.bias) if m.bias is not None else False}


def _pool(m: Any, where: str, kind: str) -> dict[str, Any]:
    if kind == "maxpool2d" and (_pair(m.dilation) != [1, 1] or m.ceil_mode or m.return_indices):
        raise _refuse(where, m, "MaxPool2d with dilation 1, ceil_mode=False and return_indices=False")
    if kind == "avgpool2d" and (m.ceil_mode or not m.count_include_pad or m.divisor_override is not None):
        raise _refuse(where, m, "AvgPool2d with ceil_mode=False, count_include_pad=True and no divisor_override")
    stride = m.stride if m.stride is not None else m.kernel_size
    return {"type": kind, "kernel": _pair(m.kernel_size), "stride": _pair(stride), "padding": _pair(m.padding)}


def _batchnorm(m: Any, where: str) -> dict[str, Any]:
    if not m.affine or not m.track_running_stats or m.momentum is None:
        raise _refuse(where, m, "BatchNorm with affine=True, track_running_stats=True and a momentum")
    table = {"type": "batchnorm", "gamma": _values(m.weight), "beta": _values(m.bias)}
    table |= {"running_mean": _values(m.running_mean), "running_var": _values(m.running_var)}
    return table | {"eps": float(m.eps), "momentum": float(m.momentum)}


def _layer_table(m: Any, where: str) -> dict[str, Any]:
    """The layer table of one layer module."""
    kind = type(m).__name__
    if kind == "Linear":
        bias = _values(m.bias) if m.bias is not None else False
        table = {"type": "dense", "units": int(m.out_features), "activation": "identity"}
        return table | {"weights": _values(m.weight), "bias": bias}
    if kind == "Conv2d":
        return _conv(m, where)
    if kind in ("MaxPool2d", "AvgPool2d"):
        return _pool(m, where, kind.lower())
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return _batchnorm(m, where)
    if m.start_dim != 1 or m.end_dim != -1:
        raise _refuse(where, m, "Flatten(start_dim=1, end_dim=-1): one vector per example")
    return {"type": "flatten"}


def _is_layer(module: Any) -> bool:
    nn = _torch().nn
    return any(type(module) is getattr(nn, kind) for kind in LAYER_MODULES)


def is_shaped(model: Any) -> bool:
    """Whether an nn.Sequential has a layer module other than Linear (so it is a Model's)."""
    nn = _torch().nn
    children = list(model.children()) if isinstance(model, nn.Sequential) else []
    return any(_is_layer(m) and type(m) is not nn.Linear for m in children)


def _layers(model: Any) -> tuple[list[dict[str, Any]], Positions]:
    """Each layer module's table, its activation module attached, and where each sat."""
    tables: list[dict[str, Any]] = []
    positions: Positions = []
    for i, module in enumerate(model.children()):
        where = f"module {i}"
        if _is_layer(module):
            tables.append(_layer_table(module, where))
            positions.append((i, None))
            continue
        if type(module).__name__ not in TORCH_MODULES.values():
            raise _refuse(where, module, "one of " + ", ".join(LAYER_MODULES) + " or an activation module")
        if not tables or positions[-1][1] is not None:
            raise _refuse(where, module, "a layer module (Linear, Conv2d, …) before each activation")
        name, extra = _activation_of(module, where)
        if name == "prelu":
            raise _refuse(where, module, "an activation without a learnt α (PReLU is taken in all-Linear models only)")
        tables[-1] |= {"activation": name, **extra}
        positions[-1] = (positions[-1][0], i)
    if not tables:
        raise ChainruleError("expected an nn.Sequential with at least one layer module, got an empty one")
    return tables, positions


def _input_shape(model: Any, x: np.ndarray | None, input_shape: tuple[int, ...] | None) -> list[int]:
    if x is not None:
        return [int(n) for n in x.shape[1:]]
    if input_shape is not None:
        return [int(n) for n in input_shape]
    first = next(iter(model.children()))
    if type(first).__name__ == "Linear":
        return [int(first.in_features)]
    raise ChainruleError(
        f"module 0 ({type(first).__name__}): expected x= (the examples) or input_shape= to give the input's shape"
    )


def settings(learning_rate: float | None, batch: Any, reduction: str | None, dtype: str) -> dict[str, Any]:
    """The [training] table of the keywords given to `from_torch`."""
    given = {"learning_rate": learning_rate, "batch": batch, "reduction": reduction}
    return {"dtype": dtype} | {k: v for k, v in given.items() if v is not None}


def examples(x: Any, y: Any, loss: str) -> list[dict[str, Any]]:
    """[[examples]] from arrays (or tensors); class indices become one-hot rows for cross_entropy."""
    xs = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float)
    ys = np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y)
    if ys.ndim == 1 and loss == "cross_entropy" and np.issubdtype(ys.dtype, np.integer):
        ys = np.eye(int(ys.max()) + 1)[ys]
    ys = ys.reshape(len(ys), -1) if ys.ndim == 1 else ys
    return [{"x": xi.tolist(), "y": yi.astype(float).tolist()} for xi, yi in zip(xs, ys, strict=True)]


def from_torch(model: Any, *, loss: str | None = None, **given: Any) -> Model:
    """A Model from an nn.Sequential (see the module's docstring); ``given``: x, y, learning_rate,
    batch, reduction (the [training] table) and input_shape (where there is no x)."""
    x, y = given.get("x"), given.get("y")
    tables, positions = _layers(model)
    params = list(model.parameters())
    dtype = "float32" if params and params[0].dtype == _torch().float32 else "float64"
    doc: dict[str, Any] = {"inputs": _input_shape(model, x, given.get("input_shape")), "layers": tables}
    doc["loss"] = loss or "half_squared_error"
    doc["training"] = settings(given.get("learning_rate"), given.get("batch"), given.get("reduction"), dtype)
    if x is not None and y is not None:
        doc["examples"] = examples(x, y, doc["loss"])
    made = modelfile.from_dict(doc, source="<torch module>", require_examples=False)
    made.extra["torch"] = positions
    return made


# -- to PyTorch --------------------------------------------------------------------------------------


def activation_module(name: str, alpha: float | None) -> Any:
    nn = _torch().nn
    if name not in TORCH_MODULES or name == "prelu":
        raise ChainruleError(f"activation {name} has no PyTorch module in a shaped network")
    made: dict[str, Any] = {
        "leaky_relu": lambda: nn.LeakyReLU(alpha),
        "elu": lambda: nn.ELU(alpha),
        "softmax": lambda: nn.Softmax(dim=-1),
        "gelu": lambda: nn.GELU(approximate="none"),
        "softplus": lambda: nn.Softplus(threshold=SOFTPLUS_THRESHOLD),
    }
    return made[name]() if name in made else getattr(nn, TORCH_MODULES[name])()


def layer_module(op: Any, in_shape: tuple[int, ...], dtype: Any) -> Any:
    """The torch.nn module of one op, with its tensors and running statistics."""
    torch = _torch()
    nn = torch.nn
    table = modelops.table(op)
    kind, params = op.kind, {**op.params(), **op.buffers()}
    if kind == "dense":
        module = nn.Linear(in_shape[-1], op.out_shape(in_shape)[-1], bias="bias" in params, dtype=dtype)
    elif kind == "conv2d":
        out, _, kh, kw = params["weight"].shape
        size = {"stride": table["stride"], "padding": table["padding"], "bias": "bias" in params}
        module = nn.Conv2d(in_shape[0], out, (kh, kw), **size, dtype=dtype)
    elif kind in ("maxpool2d", "avgpool2d"):
        pool = nn.MaxPool2d if kind == "maxpool2d" else nn.AvgPool2d
        module = pool(tuple(table["kernel"]), tuple(table["stride"]), tuple(table["padding"]))
    elif kind == "batchnorm":
        norm = nn.BatchNorm1d if len(in_shape) == 1 else nn.BatchNorm2d
        module = norm(in_shape[0], eps=table["eps"], momentum=table["momentum"], dtype=dtype)
    elif kind == "flatten":
        module = nn.Flatten()
    elif kind == "residual":
        return _blocks()[1](_sequential(getattr(op, "inner"), in_shape, dtype, None), _activation_of_op(op))  # noqa: B009
    else:
        units = params["weight_hh_l0"].shape[0]
        module = _blocks()[0](in_shape[-1], units, op.activation.name, table["output"], dtype)
    with torch.no_grad():
        for role, values in params.items():
            getattr(module, role).copy_(torch.from_numpy(np.array(values)))
    return module


def _own_activation(op: Any) -> bool:
    """Whether the op's activation is a module of its own after it (an RNN's is its recurrence's,
    a residual block's is applied inside the block, after the sum)."""
    return op.kind not in ("rnn", "residual") and op.activation.name != "identity"


def _activation_of_op(op: Any) -> Any:
    name = op.activation.name
    return _torch().nn.Identity() if name == "identity" else activation_module(name, op.activation.alpha)


@functools.cache
def _blocks() -> tuple[Any, Any]:
    """The two modules a Sequential needs for chainrule's rnn and residual layers (defined on first
    use: torch is imported lazily). Their state_dict keys are nn.RNN's and the inner Sequential's."""
    nn = _torch().nn

    class SequenceRNN(nn.RNN):  # type: ignore[name-defined]
        """nn.RNN (batch first, h_0 = 0) giving every hidden state or only the last, as one tensor."""

        def __init__(self, features: int, units: int, nonlinearity: str, output: str, dtype: Any) -> None:
            super().__init__(features, units, nonlinearity=nonlinearity, batch_first=True, dtype=dtype)
            self.output = output

        def forward(self, x: Any) -> Any:
            every, _ = super().forward(x)
            return every if self.output == "all" else every[:, -1]

    class Residual(nn.Module):  # type: ignore[name-defined]
        """a = f(F(x) + x), F the inner Sequential."""

        def __init__(self, inner: Any, activation: Any) -> None:
            super().__init__()
            self.inner, self.activation = inner, activation

        def forward(self, x: Any) -> Any:
            return self.activation(self.inner(x) + x)

    return SequenceRNN, Residual


def default_positions(ops: list[Any]) -> Positions:
    """Layer, activation (where it has one of its own), layer, …: the Sequential a file's Model becomes."""
    positions: Positions = []
    at = 0
    for op in ops:
        positions.append((at, at + 1 if _own_activation(op) else None))
        at += 2 if _own_activation(op) else 1
    return positions


def _sequential(ops: list[Any], shape: tuple[int, ...], dtype: Any, positions: Positions | None) -> Any:
    """An nn.Sequential of the ops, each at its position (default: `default_positions`)."""
    torch = _torch()
    if positions is None or len(positions) != len(ops):
        positions = default_positions(ops)
    modules: dict[int, Any] = {}
    for op, (li, ai) in zip(ops, positions, strict=True):
        modules[li] = layer_module(op, shape, dtype)
        shape = op.out_shape(shape)
        if ai is not None:
            modules[ai] = activation_module(op.activation.name, op.activation.alpha)
        elif _own_activation(op):
            raise ChainruleError(f"layer {op.name!r}: its activation has no place in the original module positions")
    return torch.nn.Sequential(OrderedDict((str(i), modules[i]) for i in sorted(modules)))


def to_torch(model: Model) -> Any:
    """The Model as an nn.Sequential with its tensors, running statistics and dtype; the module
    positions of the Sequential it came from (``extra["torch"]``), else layer, activation, …"""
    dtype = _torch().float32 if model.training.dtype == "float32" else _torch().float64
    return _sequential(model.ops, model.input_shape, dtype, model.extra.get("torch"))
