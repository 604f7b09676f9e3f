"""The record of one step of a shaped network (`engine.model.Model`): every number by name.

The contract between computing and showing for convolution, pooling, batchnorm, residual and
recurrent layers, as `record.step` is for a dense `Network`. `explain_model_step` runs the engine
once (forward, loss, backward, update) and keeps plain data; the views format it and never
differentiate. `values` is read by name (the checker walks it), with the names of
`engine.layers.base`:

    x[1,3,4]                 an element of the input (1-based, one example's index)
    y_<last>[j]              a target of the last layer's output j
    z_c[2,1,1], a_c[2,1,1]   an op's output before and after its activation
    da_c[…]/dz_c[…]          an elementwise activation's slope at that element
    dL/da_c[…], dL/dz_c[…]   the loss's derivative by them; dL/dx[…] by the input
    W_c[1,1,2,3], dL/dW_c[…] a tensor's element and its gradient; W_c[…]_new after the update
    loss, loss#2             the batch loss, one example's loss
    …#2                      a value of example 2 of the batch (no suffix for a batch of one)

Each op's own explanation (a convolution's windows, pooling's routing, batchnorm's statistics and
three paths, the residual's two gradients, BPTT's terms) is in `ops`, built by `record.model_ops`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.engine import limits
from chainrule.engine.batching import batch_size
from chainrule.engine.layers.base import Op, Shape, element_name
from chainrule.engine.model import Model, ModelBackward, ModelForward
from chainrule.engine.optimizers import Settings
from chainrule.errors import ChainruleError
from chainrule.record.model_ops import inner_values, op_detail
from chainrule.record.model_paper import paper_forward, paper_update, settled
from chainrule.record.model_rnn import rnn_values
from chainrule.record.model_types import OpDetail, OpInfo, op_settings


@dataclass(frozen=True)
class TensorUpdate:
    """One tensor's step: its name, old values, gradient and new values (flat, row-major)."""

    name: str
    shape: Shape
    old: tuple[float, ...]
    gradient: tuple[float, ...]
    new: tuple[float, ...]
    frozen: bool


@dataclass
class ModelStepRecord:
    """Everything that happened in one update of a shaped network, number by number."""

    title: str
    source: str
    input_shape: Shape
    ops: tuple[OpInfo, ...]
    loss: str
    reduction: str
    learning_rate: float
    optimizer: Settings
    examples: tuple[int, ...]  # 0-based indices into the file's examples
    fused: bool
    values: dict[str, float]
    details: tuple[OpDetail, ...] = ()  # per op, in order: the numbers its explanation needs
    updates: tuple[TensorUpdate, ...] = ()
    mean_factor: float = 1.0  # 1/N under a mean reduction
    # A sum that is 0 on paper is 0 here (paper_forward); where float64 training keeps a rounding
    # error across a kink from it, its z by the element's name (z_c[1,1,1]#2); empty elsewhere.
    other_side: dict[str, float] = field(default_factory=dict)

    def suffix(self, k: int) -> str:
        """The name suffix of the k-th example of the batch ('' when the batch has one example)."""
        return "" if len(self.examples) == 1 else f"#{k + 1}"

    @property
    def input_name(self) -> str:
        return self.ops[0].input_name if self.ops else "x"

    def value(self, name: str) -> float:
        try:
            return self.values[name]
        except KeyError:
            raise ChainruleError(f"no value named {name!r} in this step") from None


def model_batches(model: Model) -> list[np.ndarray]:
    """The example indices of each update in one epoch, in file order, by the training's batch."""
    n = int(model.x.shape[0])
    size = batch_size(model.training.batch, n)
    return [np.arange(s, min(s + size, n)) for s in range(0, n, size)]


def updated_on(model: Model, idx: np.ndarray) -> Model:
    """The model after one update on examples `idx`, as the explained steps make it."""
    with np.errstate(all="ignore"):
        back = model.backward(paper_forward(model, model.x[idx])[0], model.y[idx], settle=settled)
        return paper_update(model, back)


def explain_model_step(model: Model, example: int = 0) -> ModelStepRecord:
    """Run update `example` of the epoch (0-based; the earlier ones made first) and record every number."""
    return explain_model_steps(model, example, 1)[0]


def explain_model_steps(model: Model, example: int = 0, count: int = 1) -> list[ModelStepRecord]:
    """`count` updates one after another from update `example` of the epoch (0-based), the earlier
    ones made first; later ones wrap into the next epoch."""
    batches = model_batches(model)
    if not 0 <= example < len(batches):
        raise ChainruleError(f"--example {example + 1}: expected 1 to {len(batches)} (the updates in one epoch)")
    limits.EXPLAINED.check(model.parameter_count() * count, f"{model.title}: parameters × updates explained")
    for idx in batches[:example]:
        model = updated_on(model, idx)
    records = []
    for i in range(count):
        record, model = model_step_and_next(model, batches[(example + i) % len(batches)])
        records.append(record)
    return records


def model_step_and_next(model: Model, idx: np.ndarray) -> tuple[ModelStepRecord, Model]:
    """The record of the update on examples `idx`, and the model after it."""
    x, y = model.x[idx], model.y[idx]
    with np.errstate(all="ignore"):
        fwd, other = paper_forward(model, x)
        back = model.backward(fwd, y, settle=settled)
        new = paper_update(model, back)
    infos = op_infos(model)
    record = ModelStepRecord(
        title=model.title,
        source=model.source,
        input_shape=tuple(model.input_shape),
        ops=infos,
        loss=model.loss.name,
        reduction=model.training.reduction,
        learning_rate=model.training.learning_rate,
        optimizer=model.training.optimizer,
        examples=tuple(int(i) for i in idx),
        fused=back.fused,
        values={},
        mean_factor=1.0 / len(idx) if model.training.reduction == "mean" else 1.0,
    )
    suffixes = [record.suffix(k) for k in range(len(idx))]
    record.values = model_values(model, infos, fwd, back, y, new, suffixes)
    record.details = tuple(
        op_detail(op, info, cache, back.d_a[i], back.d_z[i], back.d_x[i], suffixes)
        for i, (op, info, cache) in enumerate(zip(model.ops, infos, fwd.caches, strict=True))
    )
    for detail in record.details:
        record.values |= detail.stats
    record.updates = _updates(model, new, back)
    for i, z in other.items():
        for k, *ix in zip(*np.nonzero(~np.isnan(z)), strict=True):
            name = element_name(f"z_{model.ops[i].name}", tuple(int(j) for j in ix)) + suffixes[int(k)]
            record.other_side[name] = float(z[(k, *ix)])
    return record, new


def op_infos(model: Model) -> tuple[OpInfo, ...]:
    shapes = model.shapes()
    infos = []
    reading, lead = model.input_name, tuple[int, ...]()
    for i, op in enumerate(model.ops):
        params = op.params()
        names = op.tensor_names()
        infos.append(
            OpInfo(
                name=op.name,
                kind=op.kind,
                activation=op.activation.name,
                in_shape=tuple(shapes[i]),
                out_shape=tuple(shapes[i + 1]),
                tensors=dict(names),
                tensor_shapes={names[r]: tuple(np.shape(params[r])) for r in names if r in params},
                settings=op_settings(op),
                input_name=reading,
                input_lead=lead,
                inner=_inner(op, tuple(shapes[i])),
            )
        )
        reading = f"a_{op.name}"
        last_state = op.kind == "rnn" and len(shapes[i + 1]) == 1
        lead = (int(shapes[i][0]) - 1,) if last_state else ()
    return tuple(infos)


def _inner(op: Op, shape: Shape) -> tuple[tuple[str, str, Shape], ...]:
    """A residual block's inner layers, each with its output's shape; () for any other op."""
    found = []
    for inner in getattr(op, "inner", []) if op.kind == "residual" else []:
        shape = tuple(inner.out_shape(shape))
        found.append((inner.name, inner.kind, shape))
    return tuple(found)


def _elements(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(np.ndindex(*shape))


def model_values(
    model: Model,
    infos: tuple[OpInfo, ...],
    fwd: ModelForward,
    back: ModelBackward,
    y: np.ndarray,
    new: Model,
    suffixes: list[str],
) -> dict[str, float]:
    """Every value of the step by name, in the order of the computation."""
    v: dict[str, float] = {}
    last = infos[-1].name if infos else "x"
    in_elems = _elements(tuple(model.input_shape))
    for k, s in enumerate(suffixes):
        for ix in in_elems:
            v[element_name(model.input_name, ix) + s] = float(fwd.x[(k, *ix)])
        for j in range(y.shape[1]):
            v[element_name(f"y_{last}", (j,)) + s] = float(y[k, j])
    old = model.parameters()
    for name, arr in old.items():
        for ix in _elements(arr.shape):
            v[element_name(name, ix)] = float(arr[ix])
    for k, s in enumerate(suffixes):
        for op, info, cache in zip(model.ops, infos, fwd.caches, strict=True):
            if op.kind != "rnn":
                _layer_forward(v, op, info, cache.z[k], cache.a[k], s)
    for i, op in enumerate(model.ops):
        if op.kind == "rnn":
            v |= rnn_values(op, infos[i], fwd.caches[i], back.d_a[i], suffixes)
        elif op.kind == "residual":
            v |= inner_values(op, fwd.caches[i], back.d_z[i], suffixes)
    losses = _example_losses(model, fwd, y, back.fused)
    if len(suffixes) > 1:
        for k, s in enumerate(suffixes):
            v[f"loss{s}"] = float(losses[k])
    v["loss"] = float(back.loss)
    for k, s in enumerate(suffixes):
        for i, info in reversed(list(enumerate(infos))):
            if info.kind == "rnn":
                continue
            for ix in _elements(info.out_shape):
                v[element_name(f"dL/da_{info.name}", ix) + s] = float(back.d_a[i][(k, *ix)])
                v[element_name(f"dL/dz_{info.name}", ix) + s] = float(back.d_z[i][(k, *ix)])
        if back.d_x:
            for ix in in_elems:
                v[infos[0].input_element(ix, "dL/d") + s] = float(back.d_x[0][(k, *ix)])
    for name, g in model.gradients(back).items():
        for ix in _elements(g.shape):
            v[element_name(f"dL/d{name}", ix)] = float(g[ix])
    for name, arr in new.parameters().items():
        for ix in _elements(arr.shape):
            v[element_name(name, ix) + "_new"] = float(arr[ix])
    return v


def _layer_forward(v: dict[str, float], op: Op, info: OpInfo, z: np.ndarray, a: np.ndarray, s: str) -> None:
    """z, a and (for an elementwise activation) da/dz of one op on one example."""
    slope = None
    if op.activation.elementwise and op.activation.name != "identity":
        slope = op.activation.derivative(z, a, float(op.activation.alpha or 0.0))
    for ix in _elements(info.out_shape):
        zn, an = element_name(f"z_{info.name}", ix), element_name(f"a_{info.name}", ix)
        v[zn + s] = float(z[ix])
        v[an + s] = float(a[ix])
        if slope is not None:
            v[f"d{an}/d{zn}{s}"] = float(slope[ix])


def _example_losses(model: Model, fwd: ModelForward, y: np.ndarray, fused: bool) -> np.ndarray:
    return np.asarray(model.example_losses(fwd, y))


def _updates(model: Model, new: Model, back: ModelBackward) -> tuple[TensorUpdate, ...]:
    grads, after = model.gradients(back), new.parameters()
    frozen = set(model.training.freeze)
    return tuple(
        TensorUpdate(
            name,
            tuple(arr.shape),
            tuple(float(t) for t in arr.ravel()),
            tuple(float(t) for t in np.asarray(grads[name]).ravel()),
            tuple(float(t) for t in after[name].ravel()),
            name in frozen,
        )
        for name, arr in model.parameters().items()
    )
