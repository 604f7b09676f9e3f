"""Data sets: the file's examples, CSV files, built-in 2-D sets, and scikit-learn's bundled real sets.

A `Dataset` holds inputs x (examples × features, numbers) and either class labels (with the class
names) or numeric targets. `targets_for` turns it into the y a given network trains on: one-hot
for a softmax layer, 0/1 (or −1/1 for hinge) for a single output, the numbers themselves for
regression. Randomness comes from a numpy Generator passed in, never from global state.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chainrule.engine import limits
from chainrule.engine.functions import target_refusal
from chainrule.engine.losses import Loss
from chainrule.engine.network import DataInfo, Network
from chainrule.errors import ChainruleError, describe, shown_path
from chainrule.io import arrays, arrowtables, tables
from chainrule.io.sources import STDIN, SUFFIXES, read_bytes, resolve

Array = np.ndarray
BUILTIN = ("xor", "circle", "gaussians", "spirals", "moons")
REAL = ("iris", "wine", "breast_cancer", "digits")
REGRESSION = ("plane", "bump")  # 2-D sets with a number to predict (the page's regression sets)


@dataclass(frozen=True)
class Dataset:
    """Inputs and targets: labels (int, with class names) for classification, else numeric targets."""

    x: Array
    columns: list[str]
    source: str
    target: str = ""
    labels: Array | None = None  # (n,) class index per example
    classes: list[str] = field(default_factory=list)
    values: Array | None = None  # (n, k) numeric targets

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, index: Array) -> Dataset:
        return replace(
            self,
            x=self.x[index],
            labels=None if self.labels is None else self.labels[index],
            values=None if self.values is None else self.values[index],
        )


# -- built-in 2-D sets ----------------------------------------------------------------------------


def builtin(name: str, rng: np.random.Generator, size: int = 200, noise: float | None = None) -> Dataset:
    """A seeded 2-D two-class set: size points, Gaussian noise of standard deviation `noise`."""
    if size < 4:
        raise ChainruleError(f"--size: expected at least 4 points, got {size}")
    limits.EXAMPLES.check(size, "--size")
    if noise is not None and noise < 0:
        raise ChainruleError(f"--noise: expected a number ≥ 0, got {noise}")
    s = {"xor": 0.05, "circle": 0.05, "gaussians": 0.5, "spirals": 0.04, "moons": 0.1}[name] if noise is None else noise
    half = size // 2
    labels = np.repeat([0, 1], [half, size - half])
    if name == "xor":
        x = rng.uniform(-1.0, 1.0, size=(size, 2))
        labels = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    elif name == "circle":
        # Inner disc r < 0.5 and outer ring 0.7 < r < 1: the class is inside or outside.
        r = np.where(labels == 0, 0.5 * np.sqrt(rng.uniform(size=size)), rng.uniform(0.7, 1.0, size=size))
        t = rng.uniform(0.0, 2 * math.pi, size=size)
        x = np.column_stack([r * np.cos(t), r * np.sin(t)])
    elif name == "gaussians":
        centres = np.array([[-1.0, -1.0], [1.0, 1.0]])
        x = centres[labels]
    elif name == "spirals":
        # Two interleaved arms of 1.5 turns, the second the first turned by π; arms 1/3 apart.
        t = np.sqrt(rng.uniform(size=size)) * 3.0 * math.pi
        r = t / (3.0 * math.pi)
        angle = t + math.pi * labels
        x = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    else:  # moons: two interleaved half circles
        t = rng.uniform(0.0, math.pi, size=size)
        upper = np.column_stack([np.cos(t), np.sin(t)])
        lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
        x = np.where(labels[:, None] == 0, upper, lower)
    x = x + rng.normal(0.0, s, size=x.shape) if s else x
    return Dataset(x, ["x1", "x2"], name, "class", labels, ["0", "1"])


def regression(name: str, rng: np.random.Generator, size: int = 200, noise: float | None = None) -> Dataset:
    """A seeded 2-D regression set: x uniform in [−1, 1]², a target y(x) plus Gaussian noise.

    plane: y = (x1 + x2) / 2, what a single linear neuron can fit exactly;
    bump: y = exp(−2 (x1² + x2²)), a hill that needs a hidden layer.
    """
    if size < 4:
        raise ChainruleError(f"--size: expected at least 4 points, got {size}")
    limits.EXAMPLES.check(size, "--size")
    if noise is not None and noise < 0:
        raise ChainruleError(f"--noise: expected a number ≥ 0, got {noise}")
    x = rng.uniform(-1.0, 1.0, size=(size, 2))
    y = (x[:, 0] + x[:, 1]) / 2 if name == "plane" else np.exp(-2.0 * (x[:, 0] ** 2 + x[:, 1] ** 2))
    s = 0.02 if noise is None else noise
    y = y + rng.normal(0.0, s, size=size) if s else y
    return Dataset(x, ["x1", "x2"], name, "y", values=y.reshape(-1, 1))


# -- scikit-learn's bundled sets --------------------------------------------------------------------


def real(name: str) -> Dataset:
    """iris, wine, breast_cancer or digits as scikit-learn ships them (the `data` extra)."""
    try:
        from sklearn import datasets
    except ImportError:
        raise ChainruleError(
            f"--data {name}: needs scikit-learn; install it with pip install 'chainrule[data]'"
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    columns = [str(c) for c in getattr(bunch, "feature_names", [])] or [f"x{i + 1}" for i in range(bunch.data.shape[1])]
    classes = [str(c) for c in bunch.target_names]
    return Dataset(np.asarray(bunch.data, dtype=np.float64), columns, name, "class", bunch.target, classes)


# -- tables: CSV, TSV, Parquet ---------------------------------------------------------------------


def read_csv(path: str | os.PathLike[str], delimiter: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV file (see `tables.read_csv`)."""
    return tables.read_csv(path, delimiter)


def assemble(
    src: str, header: list[str], columns: list[tables.Column], target: str | None, matrix: Array | None = None
) -> Dataset:
    """A table of named columns as a data set: the target column by name, the others the inputs.

    A column of text is a category, one-hot encoded as inputs named column=value (the count of
    inputs checked before the matrix is made). `matrix`: the same table as one array when all of
    it is numbers (one copy instead of many)."""
    if not target:
        raise ChainruleError(
            f"{shown_path(src)}: expected --target naming the column to learn (one of {tables.listed(header)})"
        )
    if target not in header:
        raise ChainruleError(
            f"{shown_path(src)}: --target {target!r}: expected one of the columns {tables.listed(header)}"
        )
    t = header.index(target)
    if matrix is not None and len(header) > 1:
        # The target first or last (MNIST's label): the inputs are a view, not a copy.
        x = matrix[:, 1:] if t == 0 else matrix[:, :-1] if t == len(header) - 1 else np.delete(matrix, t, axis=1)
        return Dataset(x, header[:t] + header[t + 1 :], str(src), target, values=matrix[:, t : t + 1].copy())
    inputs = [(name, col) for j, (name, col) in enumerate(zip(header, columns, strict=True)) if j != t]
    names = [f"{n}={c}" if isinstance(col, tables.Categories) else n for n, col in inputs for c in _levels(col)]
    if not names:
        raise ChainruleError(f"{shown_path(src)}: expected at least one input column besides the target {target!r}")
    limits.INPUTS.check(len(names), f"{shown_path(src)}: inputs (text columns count one per value)")
    limits.CELLS.check(len(columns[t]) * len(names), f"{shown_path(src)}: cells once text columns are encoded")
    x = np.zeros((len(columns[t]), len(names)))
    at = 0
    for _, col in inputs:
        if isinstance(col, tables.Categories):
            x[np.arange(len(col)), at + col.codes] = 1.0
            at += len(col.names)
        else:
            x[:, at] = col
            at += 1
    goal = columns[t]
    if isinstance(goal, tables.Categories):
        return Dataset(x, names, str(src), target, goal.codes, list(goal.names))
    values = np.array(goal, dtype=np.float64)[:, None]  # a copy: pyarrow's arrays are read-only
    return Dataset(x, names, str(src), target, values=values)


def _levels(col: tables.Column) -> list[str]:
    """What a column adds to the inputs: one name per category, or the column itself."""
    return list(col.names) if isinstance(col, tables.Categories) else [""]


def load_csv(path: str | os.PathLike[str], target: str | None, delimiter: str | None = None) -> Dataset:
    """A CSV (or TSV, or stdin) file with a header row; see `assemble`."""
    header, columns, matrix = tables.read_table(path, delimiter=delimiter)
    return assemble(str(path), header, columns, target, matrix)


def _table(
    spec: str, found: str, data: bytes, delimiter: str | None
) -> tuple[list[str], list[tables.Column], Array | None]:
    """A table file's columns (and matrix, for CSV of numbers only)."""
    if found == "parquet":
        header, columns = arrowtables.read_parquet(spec, data)
        return header, columns, None
    return tables.read_table(spec, data, delimiter)


def encode_inputs(path: str | os.PathLike[str], columns: Sequence[str], delimiter: str | None = None) -> Array:
    """Read a data file's inputs for a trained network whose inputs are `columns` (column or
    column=value): a table's columns by name (CSV, TSV, Parquet), or an array file's inputs."""
    spec = str(path)
    found, data = resolve(spec, read_bytes(spec, "a data file"))
    if found in arrays.ARRAY_KINDS:
        return arrays.inputs_only(spec, found, data, len(columns))
    header, cols, _ = _table(spec, found, data, delimiter)
    out = np.empty((len(cols[0]), len(columns)))
    for k, name in enumerate(columns):
        base, _, category = name.partition("=") if name not in header else (name, "", "")
        if base not in header:
            raise ChainruleError(f"{shown_path(path)}: expected a column {base!r} (the network was trained on it)")
        col = cols[header.index(base)]
        if isinstance(col, tables.Categories):
            if not category:
                raise ChainruleError(
                    f"{shown_path(path)}: column {base!r}: expected numbers, got {describe(col.names[0])}"
                )
            out[:, k] = col.codes == col.names.index(category) if category in col.names else False
        else:
            out[:, k] = col if not category else False  # a category the data does not hold: never on
    return out


# -- from a data set to what a network trains on ---------------------------------------------------


def from_network(net: Network) -> Dataset:
    """The file's own [[examples]] as a data set (targets as given)."""
    return Dataset(net.x, list(net.input_names), net.source, values=net.y)


def load(
    spec: str,
    rng: np.random.Generator,
    *,
    target: str | None = None,
    size: int = 200,
    noise: float | None = None,
    labels: str | None = None,
    delimiter: str | None = None,
) -> Dataset:
    """--data: a built-in set's name, a scikit-learn set's name, or a data file (`-`: stdin).

    Files: CSV, TSV, Parquet (columns by name), .npz/.npy (named arrays) and MNIST's IDX
    (`labels`: the labels file; by default the images file's name with images-idx3 → labels-idx1);
    gzipped files by their inner suffix (`iris.csv.gz`). `delimiter`: a CSV file's, else by suffix."""
    if spec in BUILTIN:
        return builtin(spec, rng, size, noise)
    if spec in REAL:
        return real(spec)
    if spec == STDIN or Path(spec).suffix.lower() in SUFFIXES or os.path.lexists(spec):
        return _load_file(spec, target, labels, delimiter)
    names = ", ".join(BUILTIN + REAL)
    raise ChainruleError(f"--data: expected a data file or one of {names}, got {describe(shown_path(spec))}")


def _load_file(spec: str, target: str | None, labels: str | None, delimiter: str | None) -> Dataset:
    found, data = resolve(spec, read_bytes(spec, "a data file"))
    if found in arrays.ARRAY_KINDS:
        x, y = arrays.read_arrays(spec, found, data, target, labels)
        return _from_arrays(spec, x, y, target)
    header, columns, matrix = _table(spec, found, data, delimiter)
    return assemble(spec, header, columns, target, matrix)


def _from_arrays(src: str, x: Array, y: Array, target: str | None) -> Dataset:
    """Inputs and targets read from arrays: whole-number 1-D targets are class indices (by the rule
    of `as_classes`, decided there), others numbers."""
    columns = [f"x{i + 1}" for i in range(x.shape[1])]
    values = y.astype(np.float64).reshape(len(y), -1)
    return Dataset(x.astype(np.float64, copy=False), columns, src, target or "y", values=values)


def targets_for(net: Network, data: Dataset) -> Array:
    """y for this network: one-hot labels, 0/1 (−1/1 for hinge) with one output, or the numbers."""
    return targets_of(net.output_layer.units, net.loss, data)


def targets_of(outputs: int, loss: Loss, data: Dataset) -> Array:
    """y for a network with `outputs` outputs and this loss (a shaped network's too): see `targets_for`."""
    if data.labels is None:
        assert data.values is not None
        if data.values.shape[1] != outputs:
            raise ChainruleError(
                f"{data.source}: expected {outputs} target column(s) for the network's outputs, got {data.values.shape[1]}"
            )
        problem = target_refusal(loss, outputs, data.values)  # the engine's rule, as for a file's examples
        if problem is not None:
            raise ChainruleError(f"{shown_path(data.source)}: target {describe(data.target)}: expected {problem}")
        return data.values
    k = len(data.classes)
    if outputs == 1 and k == 2:
        low = -1.0 if loss.name == "hinge" else 0.0
        return np.where(data.labels == 1, 1.0, low)[:, None]
    if outputs == k:
        return np.eye(k)[data.labels]
    raise ChainruleError(
        f"{data.source}: the target {data.target!r} has {k} classes; expected a network with {k} outputs"
        + (" (or 1 for two classes)" if k == 2 else "")
        + f", got {outputs}"
    )


def as_classes(data: Dataset, outputs: int, forced: bool = False) -> Dataset:
    """A numeric target read as class labels: always with --classes (`forced`); without it, when
    it is one column of whole numbers 0 … k−1 and the network has k ≥ 2 outputs (the only way one
    column can feed k outputs). The class names are the numbers as written ("0" … "9")."""
    v = data.values
    if data.labels is not None or v is None or v.shape[1] != 1:
        if forced and data.labels is None:
            raise ChainruleError(f"{shown_path(data.source)}: --classes: expected one target column")
        return data
    column = v[:, 0]
    whole = bool(np.all(column == np.round(column)))
    if not forced and not (outputs >= 2 and whole and column.min() >= 0 and column.max() < outputs):
        return data
    if forced and not whole:
        bad = float(column[column != np.round(column)][0])
        raise ChainruleError(f"{shown_path(data.source)}: --classes: expected whole numbers as labels, got {bad!r}")
    found = np.unique(column)
    span = np.arange(outputs) if not forced and outputs >= 2 else found
    names = [str(int(c)) for c in np.union1d(span, found)]
    index = np.searchsorted(np.array([int(n) for n in names], dtype=np.float64), column).astype(np.int64)
    return replace(data, labels=index, classes=names, values=None)


def split(data: Dataset, fraction: float, rng: np.random.Generator) -> tuple[Dataset, Dataset | None]:
    """A random (seeded) validation split: (training part, validation part or None)."""
    if fraction == 0:
        return data, None
    if not 0 < fraction < 1:
        raise ChainruleError(f"--val: expected a fraction between 0 and 1 (such as 0.2), got {fraction}")
    n_val = round(len(data) * fraction)
    if n_val < 1 or n_val >= len(data):
        raise ChainruleError(f"--val {fraction}: leaves no examples for one side of the split ({len(data)} examples)")
    order = rng.permutation(len(data))
    return data.subset(np.sort(order[n_val:])), data.subset(np.sort(order[:n_val]))


@dataclass(frozen=True)
class Standardizer:
    """x' = (x − μ) / σ per input, μ and σ from the training data (σ = 1 for a constant input)."""

    mean: Array
    std: Array

    @classmethod
    def fit(cls, x: Array) -> Standardizer:
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def apply(self, x: Array) -> Array:
        return (x - self.mean) / self.std


def data_info(data: Dataset, scaler: Standardizer | None) -> DataInfo:
    """What prediction needs to repeat: the input columns, the class names, the standardisation."""
    return DataInfo(
        columns=list(data.columns),
        target=data.target,
        classes=list(data.classes),
        mean=[] if scaler is None else [float(v) for v in scaler.mean],
        std=[] if scaler is None else [float(v) for v in scaler.std],
    )


def prepare_inputs(net: Network, x: Array) -> Array:
    """Raw inputs as the trained network expects them: standardised with the saved statistics."""
    info = net.data
    if info is not None and info.mean:
        return (x - np.asarray(info.mean)) / np.asarray(info.std)
    return x
