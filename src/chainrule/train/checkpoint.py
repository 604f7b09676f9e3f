"""Checkpoints: the state of a run, saved so that resuming gives the uninterrupted run's numbers.

A checkpoint holds what the next update needs and nothing that grows with the run: the network's
parameters (as a network document without examples), the optimizer's state, the random stream,
the epoch, the position in the epoch, its example order and its running metrics so far (the sums
the epoch's reported loss and accuracy are made of). Not the history: `--history FILE`
keeps that on disk as training goes. Written atomically (a temporary file, then a rename).

    trainer = Trainer(net, x, y, config)
    load_checkpoint(trainer, "run.checkpoint.json")   # continue where it stopped
    trainer.run()
    save_checkpoint(trainer, "run.checkpoint.json")
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError, shown_path
from chainrule.io import netfile, netnpz
from chainrule.train import checkpoint_model
from chainrule.train.trainer import Trainer

FORMAT = "chainrule-checkpoint/2"
FORMATS = ("chainrule-checkpoint/1", FORMAT)  # /1 also held the whole history, which is ignored


# Parameters above which `train` saves -o and its checkpoints as binary .npz, not TOML/JSON: a
# 784-1024-1024-10 network's TOML is 41 MB and its JSON checkpoint 117 MB, seconds to write, where
# Ctrl-C promises a second; as .npz they are the arrays' own bytes (a tenth of a second). Below it
# the readable files stay (a 784-128-10 network's TOML takes about 0.2 s).
BINARY_ABOVE = 200_000
STATE = "checkpoint.json"  # in a binary checkpoint: the format and the run's state but its arrays


def is_large(parameters: int) -> bool:
    """Whether a network of this many parameters is saved binary (`BINARY_ABOVE`)."""
    return parameters > BINARY_ABOVE


def beside(output: str | os.PathLike[str], binary: bool = False) -> Path:
    """Where an interrupted run's checkpoint goes when none was named: next to its -o file."""
    out = Path(output)
    return out.with_name(f"{out.stem}.checkpoint.{'npz' if binary else 'json'}")


def _scalars(trainer: Trainer) -> dict[str, Any]:
    """The run's state but its arrays (the example order, the optimizer's state, the best parameters)."""
    best = None if trainer.best is None else {"val_loss": trainer.best[0], "epoch": trainer.best[1]}
    return {
        "epoch": trainer.epoch,
        "position": trainer.position,
        "running": list(trainer.running),  # Σ losses, Σ right of the epoch's updates so far
        "updates": trainer.updates,
        "elapsed": trainer.elapsed,
        "rng": json.dumps(trainer.rng.bit_generator.state),
        "optimizer": {"optimizer": trainer.optimizer.name, "steps": trainer.optimizer.steps},
        "best": best,
    }


def _flat(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)


def state_of(trainer: Trainer) -> dict[str, Any]:
    """Everything beyond the parameters that an exact resume needs, as plain data."""
    state = _scalars(trainer)
    state["order"] = [int(i) for i in trainer.order]
    state["optimizer"] |= {k: _flat(v).tolist() for k, v in trainer.optimizer.state.items()}
    if trainer.best is not None:
        state["best"]["parameters"] = _flat(trainer.best[2]).tolist()
    return state


def save_checkpoint(trainer: Trainer, path: str | os.PathLike[str], *, binary: bool | None = None) -> None:
    """The network's parameters and the trainer's state, written atomically: readable JSON, or
    binary .npz (`binary`; by default for a name ending .npz or a network over `BINARY_ABOVE`).
    A shaped network's (`engine.model.Model`) is always binary (`checkpoint_model`)."""
    if isinstance(trainer.net, Model):
        checkpoint_model.save(trainer, path, _scalars(trainer))
        return
    if binary is None:
        binary = str(path).lower().endswith(".npz") or is_large(trainer.net.parameter_count())
    if binary:
        netnpz.save_npz(trainer.net, path, examples=False, extra=_arrays(trainer))
        return
    doc = {
        "format": FORMAT,
        "network": netfile.to_dict(trainer.net, include_examples=False),
        "trainer": state_of(trainer),
    }
    netfile.write_atomic(path, json.dumps(doc) + "\n")


def _arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    """A binary checkpoint's arrays beside the network's: the state document and the state's arrays."""
    arrays = {STATE: np.array(json.dumps({"format": FORMAT, "trainer": _scalars(trainer)}))}
    arrays["trainer.order"] = trainer.order
    for key, values in trainer.optimizer.state.items():
        arrays[f"trainer.optimizer.{key}"] = _flat(values)
    if trainer.best is not None:
        arrays["trainer.best.parameters"] = _flat(trainer.best[2])
    return arrays


def _read(path: str | os.PathLike[str]) -> tuple[Network, dict[str, Any]]:
    """(the checkpoint's network, its document), JSON or binary (known by the zip signature)."""
    try:
        with open(path, "rb") as fh:
            binary = fh.read(4) == netnpz.ZIP_MAGIC
    except OSError:
        binary = False  # read_document says why in one line
    if not binary:
        doc = netfile.read_document(path)
        if doc.get("format") not in FORMATS or not isinstance(doc.get("network"), dict):
            raise ChainruleError(f"{path}: expected a chainrule checkpoint (written by --checkpoint or Ctrl-C)")
        return netfile.from_dict(doc["network"], source=str(path), require_examples=False), doc
    return _read_npz(path)


def _read_npz(path: str | os.PathLike[str]) -> tuple[Network, dict[str, Any]]:
    """A binary checkpoint: the network document and weights as `netnpz` keeps them, the state
    document, and the state's arrays put back where the JSON form has its lists."""
    network, arrays = netnpz.read_npz(path, text=(STATE,))
    doc: object = None
    with contextlib.suppress(ValueError, RecursionError):  # refused below, in one line
        doc = json.loads(str(arrays[STATE])) if arrays.get(STATE, np.zeros(1)).ndim == 0 else None
    if not isinstance(doc, dict) or doc.get("format") not in FORMATS or not isinstance(doc.get("trainer"), dict):
        raise ChainruleError(f"{path}: {STATE}: expected a chainrule checkpoint's state (written by --checkpoint)")
    saved = netfile.from_dict(network, source=str(path), require_examples=False)
    fan_in = len(saved.input_names)
    for i, layer in enumerate(saved.layers):
        weight = netnpz.array(shown_path(path), arrays, f"layers.{i}.weights", (layer.units, fan_in))
        layer.weight, fan_in = weight.astype(layer.weight.dtype), layer.units
    table = doc["trainer"]
    table["order"] = arrays.get("trainer.order")
    if isinstance(table.get("optimizer"), dict):
        table["optimizer"] |= {k[18:]: v for k, v in arrays.items() if k.startswith("trainer.optimizer.")}
    if isinstance(table.get("best"), dict):
        table["best"]["parameters"] = arrays.get("trainer.best.parameters")
    return saved, doc


def load_checkpoint(trainer: Trainer, path: str | os.PathLike[str]) -> None:
    """Continue `trainer` from a checkpoint of the same network and data; a damaged or foreign
    checkpoint is refused with one line naming the file and the key, and the trainer is unchanged."""
    if isinstance(trainer.net, Model):
        checkpoint_model.load(trainer, path, _State)
        return
    saved, doc = _read(path)
    shapes = [(la.weight.shape, la.bias.shape) for la in saved.layers]
    if saved.parameter_names() != trainer.net.parameter_names() or shapes != [
        (la.weight.shape, la.bias.shape) for la in trainer.net.layers
    ]:
        raise ChainruleError(f"{path}: expected a checkpoint of {trainer.net.source}; it is of another network")
    state = _State(path, doc.get("trainer"))
    n = len(trainer.x)
    epoch, position, updates = state.count("epoch"), state.count("position"), state.count("updates")
    if position >= n:
        state.fail("position", f"fewer than the {n} training examples", position)
    order = state.order(n)
    rng = state.rng(trainer.rng)
    optimizer = state.optimizer(trainer)
    best = state.best(trainer)
    elapsed = state.number("elapsed")
    running = state.running() if position else (0.0, 0.0)
    # Checked throughout: only now does the trainer change.
    for mine, theirs in zip(trainer.net.layers, saved.layers, strict=True):
        mine.weight[...], mine.bias[...], mine.alpha[...] = theirs.weight, theirs.bias, theirs.alpha
    trainer.order[...] = order
    trainer.epoch, trainer.position, trainer.updates, trainer.elapsed = epoch, position, updates, elapsed
    trainer.running = running
    trainer.rng.bit_generator.state = rng
    trainer.optimizer.load_state_dict(optimizer)
    trainer.best = best


class _State:
    """The "trainer" table of a checkpoint, read key by key with errors that name the key."""

    def __init__(self, path: str | os.PathLike[str], table: object) -> None:
        self.path = path
        if not isinstance(table, dict):
            raise ChainruleError(f"{path}: trainer: expected a table of the run's state")
        self.table: dict[str, Any] = table

    def fail(self, key: str, expected: str, got: object) -> NoReturn:
        shown = repr(got) if len(repr(got)) < 40 else f"{type(got).__name__} ({len(repr(got))} characters)"
        raise ChainruleError(f"{self.path}: trainer.{key}: expected {expected}, got {shown}")

    def get(self, key: str) -> Any:
        if key not in self.table:
            raise ChainruleError(f"{self.path}: trainer.{key}: missing (the checkpoint is incomplete)")
        return self.table[key]

    def count(self, key: str) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, "a whole number ≥ 0", value)
        return int(value)

    def number(self, key: str) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(key, "a finite number", value)
        return float(value)

    def numbers(self, key: str, values: object, size: int) -> np.ndarray:
        """A list (JSON) or a 1-d array of numbers (binary) of this size, all finite."""
        numeric = isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iuf"
        if not (isinstance(values, list) or numeric) or len(values) != size:  # type: ignore[arg-type]
            self.fail(key, f"a list of {size} numbers", values)
        try:
            array = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            self.fail(key, f"a list of {size} numbers", values)
        if array.shape != (size,) or not np.isfinite(array).all():
            self.fail(key, f"a list of {size} finite numbers", values)
        return array

    def running(self) -> tuple[float, float]:
        """The epoch's running sums so far; a checkpoint written before they were kept has none,
        and its epoch then reports the running metrics of the updates after the resume only."""
        values = self.table.get("running", [0.0, 0.0])
        ok = isinstance(values, list) and len(values) == 2
        if not ok or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            self.fail("running", "a list of 2 numbers (Σ losses, Σ right of the epoch so far)", values)
        return float(values[0]), float(values[1])

    def order(self, n: int) -> np.ndarray:
        order = self.get("order")
        if isinstance(order, np.ndarray) and order.ndim == 1 and order.dtype.kind in "iu":
            order = order.tolist()  # a binary checkpoint's: checked as the JSON list is
        ok = isinstance(order, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in order)
        if not ok or sorted(order) != list(range(n)):
            self.fail("order", f"an order of the {n} training examples (this run's data)", order)
        return np.asarray(order, dtype=np.int64)

    def rng(self, like: np.random.Generator) -> dict[str, Any]:
        text = self.get("rng")
        probe = type(like.bit_generator)()
        try:
            probe.state = json.loads(text) if isinstance(text, str) else None  # type: ignore[assignment]
        except (ValueError, TypeError, KeyError):
            self.fail("rng", f"the state of a {type(like.bit_generator).__name__} random generator", text)
        return dict(probe.state)

    def optimizer(self, trainer: Trainer) -> dict[str, Any]:
        table = self.get("optimizer")
        name = trainer.optimizer.name
        if not isinstance(table, dict) or table.get("optimizer") != name:
            self.fail("optimizer", f"the state of the {name} optimizer (the same --optimizer)", table)
        if isinstance(table.get("steps"), bool) or not isinstance(table.get("steps"), int) or table["steps"] < 0:
            self.fail("optimizer.steps", "a whole number ≥ 0", table.get("steps"))
        size = sum(p.size for p in trainer.optimizer.params)
        for key in trainer.optimizer.state:
            self.numbers(f"optimizer.{key}", table.get(key), size)
        return table

    def best(self, trainer: Trainer) -> tuple[float, int, list[np.ndarray]] | None:
        best = self.table.get("best")
        if best is None:
            return None
        if not isinstance(best, dict):
            self.fail("best", "a table of the best epoch (--patience)", best)
        size = sum(p.size for p in trainer.optimizer.params)
        flat = self.numbers("best.parameters", best.get("parameters"), size)
        epoch = best.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            self.fail("best.epoch", "a whole number ≥ 0", epoch)
        val_loss = best.get("val_loss")
        if isinstance(val_loss, bool) or not isinstance(val_loss, int | float) or not math.isfinite(val_loss):
            self.fail("best.val_loss", "a finite number", val_loss)
        values, start = [], 0
        for p in trainer.optimizer.params:
            values.append(flat[start : start + p.size].reshape(p.shape).astype(p.dtype))
            start += p.size
        return float(val_loss), int(epoch), values
