"""A shaped network's state as the trainers read and write it: its tensors and running statistics
by name, a Model with some of them replaced, and its outputs judged right or wrong."""

from __future__ import annotations

import dataclasses

import numpy as np

from chainrule.engine.model import Model

Array = np.ndarray


def with_tensors(model: Model, tensors: dict[str, Array], buffers: dict[str, Array] | None = None) -> Model:
    """`model` with the tensors named (chainrule names) and buffers (``<op>.<role>``) replaced."""
    ops = []
    for op in model.ops:
        names = op.tensor_names()
        params = {role: tensors.get(names[role], array) for role, array in op.params().items()}
        kept = {role: (buffers or {}).get(f"{op.name}.{role}", array) for role, array in op.buffers().items()}
        ops.append(op.with_params(params, kept or None))
    return dataclasses.replace(model, ops=ops)


def model_buffers(model: Model) -> dict[str, Array]:
    """Every op's running statistics by ``<op>.<role>`` (batchnorm's running_mean, running_var)."""
    return {f"{op.name}.{role}": array for op in model.ops for role, array in op.buffers().items()}


def right_count(model: Model, output: Array, y: Array) -> float:
    """How many examples' outputs say their target's class (0 when the loss does not classify)."""
    if not model.loss.classifies:
        return 0.0
    return float(np.count_nonzero(model.loss.classes(output) == model.loss.classes(y)))
