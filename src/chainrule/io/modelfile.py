"""A shaped network's file (conv2d, pooling, flatten, batchnorm, residual, rnn layers): read it into
a validated `engine.model.Model`.

`netfile.from_dict` dispatches here when `is_shaped(doc)`: an input with a shape (``inputs =
[channels, height, width]`` or ``[steps, features]``) or a layer of a type other than dense. A file
of dense layers only stays a `Network`. Each layer table is read by `modellayers`, each op made by
`modelops`; writing back is `modelwrite`. Every problem is a `NetfileError` naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.engine import limits, reserved
from chainrule.engine.functions import LOSSES, Loss, known, pairing_refusal, target_refusal
from chainrule.engine.layers.base import Op
from chainrule.engine.model import Model
from chainrule.errors import Shown, shown_path
from chainrule.io import modellayers, modelops, netparts
from chainrule.io.modelparts import Context, LayerSpec, Shape, described, fits, tensor
from chainrule.io.netparts import MISSING, Reader

TOP_KEYS = ("title", "inputs", "loss", "layers", "examples", "training")


def is_shaped(doc: Mapping[str, Any]) -> bool:
    """Whether a document is a shaped network's: an input shape given as a list of whole numbers,
    or a layer whose type is not dense."""
    inputs = doc.get("inputs")
    if isinstance(inputs, list) and inputs and all(isinstance(n, int) and not isinstance(n, bool) for n in inputs):
        return True
    found = doc.get("layers")
    return isinstance(found, list) and any(isinstance(t, dict) and t.get("type", "dense") != "dense" for t in found)


def shaped_key(doc: Mapping[str, Any]) -> tuple[str, str]:
    """(the key that makes a document a shaped network's, what a dense network has there)."""
    for i, t in enumerate(doc.get("layers") or []):
        if isinstance(t, dict) and t.get("type", "dense") != "dense":
            return f"layers[{i}].type", '"dense" (this reads dense networks only)'
    return "inputs", "input names or their count (this reads dense networks only)"


def input_shape(r: Reader, data: Mapping[str, Any]) -> Shape:
    """``inputs``: one count (features), [features], [steps, features] or [channels, height, width]."""
    raw = data.get("inputs", MISSING)
    expected = "a count of inputs or a shape: [features], [steps, features] or [channels, height, width]"
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, list) or not 1 <= len(raw) <= 3 or len(raw) == 0:
        raise r.fail("inputs", expected, raw)
    shape = tuple(r.integer(n, f"inputs[{i}]", 1) for i, n in enumerate(raw))
    size = 1
    for n in shape:
        size *= n
    r.within(limits.INPUTS, size, "inputs")
    return shape


def _loss(r: Reader, data: Mapping[str, Any]) -> Loss:
    name = data.get("loss", "half_squared_error")
    if not isinstance(name, str) or name not in LOSSES:
        raise r.fail("loss", "one of " + ", ".join(known("loss")), netparts.with_guess(name, LOSSES))
    return LOSSES[name]


def examples(
    r: Reader, raw: object, shapes: tuple[Shape, Shape], required: bool, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``[[examples]]``: x nested to the input's shape, y to the output's."""
    in_shape, out_shape = shapes
    if raw is None and not required:
        return np.zeros((0, *in_shape), dtype=dtype), np.zeros((0, *out_shape), dtype=dtype)
    if not isinstance(raw, list) or not raw:
        got = MISSING if raw is None else (Shown("an empty list") if raw == [] else raw)
        raise r.fail("examples", "one or more [[examples]] tables with x and y", got)
    r.within(limits.EXAMPLES, len(raw), "examples")
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for i, ex in enumerate(raw):
        where = f"examples[{i}]"
        if not isinstance(ex, dict):
            raise r.fail(where, "a table with x and y", ex)
        r.check_keys(ex, netparts.EXAMPLE_KEYS, where)
        for key, shape, what in (("x", in_shape, "the input's shape"), ("y", out_shape, "the output's shape")):
            if key not in ex:
                raise r.fail(f"{where}.{key}", f"{described(shape)} numbers ({what})", MISSING)
            values = tensor(r, ex[key], f"{where}.{key}", shape, what)
            (xs if key == "x" else ys).append(fits(r, values, f"{where}.{key}", dtype))
    return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


def _walk(specs: list[LayerSpec], where: str = "layers") -> list[tuple[str, LayerSpec]]:
    """Every layer with its key, inner layers after their block."""
    found: list[tuple[str, LayerSpec]] = []
    for i, spec in enumerate(specs):
        found.append((f"{where}[{i}]", spec))
        found += _walk(spec.inner, f"{where}[{i}].layers")
    return found


def check_names(r: Reader, input_name: str, specs: list[LayerSpec], ops: list[Op]) -> None:
    """Layer names and tensor names all different, none a value the record derives from another."""
    flat_ops: list[Op] = []
    stack = list(ops)
    while stack:
        op = stack.pop(0)
        flat_ops.append(op)
        stack = list(getattr(op, "inner", [])) + stack
    seen: dict[str, str] = {input_name: "the input"}
    own = {id(op): [] if getattr(op, "inner", None) else list(op.tensor_names().values()) for op in flat_ops}
    for (where, _spec), op in zip(_walk(specs), flat_ops, strict=True):
        for name in (op.name, *own[id(op)]):  # a block's tensors are its inner layers'
            if name in seen:
                raise r.fail(where, f"a name not already used by {seen[name]}", name)
            seen[name] = where
    neurons = [op.name for op in flat_ops]
    params = [n for op in flat_ops for n in own[id(op)]]
    found = reserved.clash([input_name], neurons, params)
    if found is not None:
        name, expected = found
        raise r.fail(seen.get(name, "layers"), expected, name)


def _refuse_impossible(r: Reader, loss: Loss, specs: list[LayerSpec], y: np.ndarray) -> None:
    """The engine's rule on what goes with the loss, on the last layer (softmax needs 2 outputs, …)."""
    outputs = specs[-1].out_shape[-1]
    refusal = pairing_refusal(loss, [(spec.activation, spec.out_shape[-1]) for spec in specs])
    if refusal is not None:
        spec = specs[refusal.layer]
        got = outputs if refusal.key == "units" else spec.activation.name
        raise r.fail(f"layers[{refusal.layer}].{refusal.key}", refusal.expected, got)
    problem = target_refusal(loss, outputs, y)
    if problem is not None:
        raise r.fail("examples", problem, Shown(f"{y.ravel().tolist()[:6]}"))


def _check_freeze(r: Reader, model: Model) -> None:
    names = list(model.parameters())
    for i, entry in enumerate(model.training.freeze):
        base = entry.split("[", 1)[0] if entry.endswith("]") else entry
        if base not in names:
            raise r.fail(
                f"training.freeze[{i}]", f"a tensor's name or one element's ({', '.join(names[:8])}, …)", entry
            )


def from_dict(data: Mapping[str, Any], source: str = "<network>", *, require_examples: bool = True) -> Model:
    """Build a validated Model from a parsed shaped network document."""
    r = Reader(shown_path(source))
    r.check_keys(data, TOP_KEYS, "")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise r.fail("title", "a string", title)
    shape = input_shape(r, data)
    loss = _loss(r, data)
    training = netparts.training(r, data.get("training", {}))
    dtype = np.dtype(training.dtype)
    ctx = Context(r, np.random.default_rng(training.seed), dtype)
    specs = modellayers.layers(ctx, data.get("layers"), "layers", shape, "the input")
    ops = [modelops.build(spec, dtype) for spec in specs]
    check_names(r, "x", specs, ops)
    x, y = examples(r, data.get("examples"), (shape, specs[-1].out_shape), require_examples, dtype)
    _refuse_impossible(r, loss, specs, y)
    model = Model(title, shape, ops, loss, x, y, training, extra={"source": source})
    _check_freeze(r, model)
    return model
