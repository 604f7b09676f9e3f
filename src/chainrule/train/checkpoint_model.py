"""Checkpoints of a shaped network's run (`model_trainer.ModelTrainer`), always binary (.npz).

Beside the run's state (`checkpoint.json`: the same table as a dense run's, with the tensors'
names, shapes and the buffers' keys), the file holds every learnt tensor (``tensor.<i>`` in the
Model's `parameters()` order), every running statistic (``buffer.<i>``: batchnorm's running_mean
and running_var, which prediction uses and a resume must continue from), the optimizer's state by
slot (``optimizer.<slot>.<i>``: v, m, s) and the example order. Loading checks every name and
shape against the run's Model before anything changes, so a resumed run is the uninterrupted one
bit for bit; a damaged or foreign file is refused in one line naming the file and the key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from typing import Any

import numpy as np

from chainrule.engine.optimizers import STATE
from chainrule.errors import ChainruleError
from chainrule.io import netnpz
from chainrule.io.netwrite import write_atomic
from chainrule.train.model_state import model_buffers, with_tensors
from chainrule.train.model_trainer import ModelTrainer

FORMAT = "chainrule-model-checkpoint/1"
DOCUMENT = "checkpoint.json"


def save(trainer: Any, path: str | os.PathLike[str], scalars: dict[str, Any]) -> None:
    """The run's Model and state as one .npz, through a temporary file and a rename."""
    model = trainer.net
    tensors, buffers = model.parameters(), model_buffers(model)
    doc = {
        "format": FORMAT,
        "tensors": [[name, list(a.shape)] for name, a in tensors.items()],
        "buffers": [[key, list(a.shape)] for key, a in buffers.items()],
        "trainer": scalars,
    }
    arrays = {DOCUMENT: np.array(json.dumps(doc, ensure_ascii=False)), "trainer.order": trainer.order}
    for i, (name, a) in enumerate(tensors.items()):
        arrays[f"tensor.{i}"] = a
        for slot, values in model.optimizer_state.get(name, {}).items():
            arrays[f"optimizer.{slot}.{i}"] = np.asarray(values)
    for i, a in enumerate(buffers.values()):
        arrays[f"buffer.{i}"] = a
    write_atomic(path, lambda fh: np.savez(fh, **arrays))


def load(trainer: ModelTrainer, path: str | os.PathLike[str], state_reader: Any) -> None:
    """Continue `trainer` from a checkpoint of the same Model and data; refused in one line otherwise."""
    arrays = netnpz.read_arrays(path, text=(DOCUMENT,))
    doc: object = None
    with contextlib.suppress(ValueError, RecursionError):  # refused below, in one line
        doc = json.loads(str(arrays[DOCUMENT])) if arrays.get(DOCUMENT, np.zeros(1)).ndim == 0 else None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ChainruleError(f"{path}: expected a checkpoint of a shaped network (written by --checkpoint or Ctrl-C)")
    model = trainer.net
    tensors, buffers = model.parameters(), model_buffers(model)
    mine = [[name, list(a.shape)] for name, a in tensors.items()], [[k, list(a.shape)] for k, a in buffers.items()]
    if [doc.get("tensors"), doc.get("buffers")] != list(mine):
        raise ChainruleError(
            f"{path}: expected a checkpoint of {model.title or 'this network'}; it is of another network"
        )
    state = state_reader(path, doc.get("trainer"))
    n = len(trainer.x)
    epoch, position, updates = state.count("epoch"), state.count("position"), state.count("updates")
    if position >= n:
        state.fail("position", f"fewer than the {n} training examples", position)
    state.table["order"] = arrays.get("trainer.order")
    order, rng = state.order(n), state.rng(trainer.rng)
    elapsed, running = state.number("elapsed"), state.running() if position else (0.0, 0.0)
    steps = _steps(state, trainer.optimizer.name)
    new_tensors = {name: _array(path, arrays, f"tensor.{i}", a) for i, (name, a) in enumerate(tensors.items())}
    new_buffers = {key: _array(path, arrays, f"buffer.{i}", a) for i, (key, a) in enumerate(buffers.items())}
    slots: dict[str, dict[str, np.ndarray]] = {}
    if steps:
        for i, (name, a) in enumerate(tensors.items()):
            slots[name] = {
                s.record: _array(path, arrays, f"optimizer.{s.record}.{i}", a) for s in STATE[trainer.optimizer.name]
            }
    # Checked throughout: only now does the trainer change.
    moved = with_tensors(model, new_tensors, new_buffers)
    trainer.net = dataclasses.replace(moved, optimizer_state={k: v for k, v in slots.items() if v}, steps_taken=steps)
    trainer.order[...] = order
    trainer.epoch, trainer.position, trainer.updates, trainer.elapsed = epoch, position, updates, elapsed
    trainer.running = running
    trainer.rng.bit_generator.state = rng
    trainer.session = None


def _steps(state: Any, name: str) -> int:
    table = state.get("optimizer")
    if not isinstance(table, dict) or table.get("optimizer") != name:
        state.fail("optimizer", f"the state of the {name} optimizer (the same --optimizer)", table)
    steps = table.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        state.fail("optimizer.steps", "a whole number ≥ 0", steps)
    return int(steps)


def _array(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], key: str, like: np.ndarray) -> np.ndarray:
    """The array `key`: the shape of `like`, finite numbers, in its precision."""
    value = arrays.get(key)
    if value is None or value.shape != like.shape or value.dtype.kind not in "iuf" or not np.isfinite(value).all():
        got = "none" if value is None else f"{value.dtype} of shape {value.shape}"
        raise ChainruleError(f"{path}: {key}: expected finite numbers of shape {like.shape}, got {got}")
    return value.astype(like.dtype)
