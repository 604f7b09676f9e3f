"""Data sets: the file's examples, CSV files, built-in 2-D sets, and scikit-learn's bundled real sets.

A `Dataset` holds inputs x (examples × features, numbers) and either class labels (with the class
names) or numeric targets. `targets_for` turns it into the y a given network trains on: one-hot
for a softmax layer, 0/1 (or −1/1 for hinge) for a single output, the numbers themselves for
regression. Randomness comes from a numpy Generator passed in, never from global state.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from chainrule.engine import limits
from chainrule.engine.functions import target_refusal
from chainrule.engine.network import DataInfo, Network
from chainrule.errors import ChainruleError, describe, one_line, shown_path

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


# -- CSV ------------------------------------------------------------------------------------------


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_csv(path: str | os.PathLike[str]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV file, every row as wide as the header.

    A byte-order mark (which spreadsheet programs write) is not part of the first column's name.
    """
    src = shown_path(path)
    text = limits.read_text(path, "a CSV file", encoding="utf-8-sig")
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as exc:
        raise ChainruleError(f"{src}: expected a CSV file ({exc})") from None
    if len(rows) < 2:
        raise ChainruleError(f"{src}: expected a header row and at least one row of data")
    limits.EXAMPLES.check(len(rows) - 1, f"{src}: rows")
    header = [h.strip() for h in rows[0]]
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ChainruleError(f"{src}: row {i}: expected {len(header)} values (as the header), got {len(row)}")
    return header, [[c.strip() for c in row] for row in rows[1:]]


def _listed(names: Sequence[str], most: int = 12) -> str:
    """Column names for a message: the first few, each on the same line."""
    shown = [one_line(n) for n in names[:most]]
    return ", ".join(shown) + (f", … ({len(names)} in all)" if len(names) > most else "")


def _column(path: object, header: list[str], rows: list[list[str]], j: int) -> Array | list[str]:
    """A column as numbers, or as category names when no cell of it is a number."""
    cells = [row[j] for row in rows]
    for i, cell in enumerate(cells):
        if cell == "":
            raise ChainruleError(
                f"{shown_path(path)}: row {i + 2}, column {describe(header[j])}: expected a value, got an empty cell"
            )
    numbers = [_float(c) for c in cells]
    if all(v is None for v in numbers):
        return cells
    for i, v in enumerate(numbers):
        if v is None:
            raise ChainruleError(
                f"{shown_path(path)}: row {i + 2}, column {describe(header[j])}: expected a number, got {describe(cells[i])}"
            )
    return np.array(numbers, dtype=np.float64)


def load_csv(path: str | os.PathLike[str], target: str | None) -> Dataset:
    """A CSV file with a header row: the target column by name, the other columns the inputs.

    A column with no numbers in it is a category, one-hot encoded as inputs named column=value.
    """
    header, rows = read_csv(path)
    if not target:
        raise ChainruleError(
            f"{shown_path(path)}: expected --target naming the column to learn (one of {_listed(header)})"
        )
    if target not in header:
        raise ChainruleError(f"{shown_path(path)}: --target {target!r}: expected one of the columns {_listed(header)}")
    columns: list[str] = []
    features: list[Array] = []
    labels = values = None
    classes: list[str] = []
    for j, name in enumerate(header):
        col = _column(path, header, rows, j)
        if name == target:
            if isinstance(col, list):
                classes = sorted(set(col))
                labels = np.array([classes.index(c) for c in col], dtype=np.int64)
            else:
                values = col[:, None]
        elif isinstance(col, list):
            for category in sorted(set(col)):
                columns.append(f"{name}={category}")
                features.append(np.array([c == category for c in col], dtype=np.float64))
        else:
            columns.append(name)
            features.append(col)
    if not features:
        raise ChainruleError(f"{shown_path(path)}: expected at least one input column besides the target {target!r}")
    return Dataset(np.column_stack(features), columns, str(path), target, labels, classes, values)


def encode_inputs(path: str | os.PathLike[str], columns: Sequence[str]) -> Array:
    """Read a CSV's inputs for a trained network whose inputs are `columns` (column or column=value)."""
    header, rows = read_csv(path)
    out = np.empty((len(rows), len(columns)))
    for k, name in enumerate(columns):
        base, _, category = name.partition("=") if name not in header else (name, "", "")
        if base not in header:
            raise ChainruleError(f"{shown_path(path)}: expected a column {base!r} (the network was trained on it)")
        j = header.index(base)
        if category:
            out[:, k] = [row[j] == category for row in rows]
        else:
            col = _column(path, header, rows, j)
            if isinstance(col, list):
                raise ChainruleError(f"{shown_path(path)}: column {base!r}: expected numbers, got {describe(col[0])}")
            out[:, k] = col
    return out


# -- from a data set to what a network trains on ---------------------------------------------------


def from_network(net: Network) -> Dataset:
    """The file's own [[examples]] as a data set (targets as given)."""
    return Dataset(net.x, list(net.input_names), net.source, values=net.y)


def load(
    spec: str, rng: np.random.Generator, *, target: str | None = None, size: int = 200, noise: float | None = None
) -> Dataset:
    """--data: a built-in set's name, a scikit-learn set's name, or a CSV file."""
    if spec in BUILTIN:
        return builtin(spec, rng, size, noise)
    if spec in REAL:
        return real(spec)
    if Path(spec).suffix.lower() == ".csv" or os.path.lexists(spec):
        return load_csv(spec, target)
    names = ", ".join(BUILTIN + REAL)
    raise ChainruleError(f"--data: expected a CSV file or one of {names}, got {describe(shown_path(spec))}")


def targets_for(net: Network, data: Dataset) -> Array:
    """y for this network: one-hot labels, 0/1 (−1/1 for hinge) with one output, or the numbers."""
    outputs = net.output_layer.units
    if data.labels is None:
        assert data.values is not None
        if data.values.shape[1] != outputs:
            raise ChainruleError(
                f"{data.source}: expected {outputs} target column(s) for the network's outputs, got {data.values.shape[1]}"
            )
        problem = target_refusal(net.loss, outputs, data.values)  # the engine's rule, as for a file's examples
        if problem is not None:
            raise ChainruleError(f"{shown_path(data.source)}: target {describe(data.target)}: expected {problem}")
        return data.values
    k = len(data.classes)
    if outputs == 1 and k == 2:
        low = -1.0 if net.loss.name == "hinge" else 0.0
        return np.where(data.labels == 1, 1.0, low)[:, None]
    if outputs == k:
        return np.eye(k)[data.labels]
    raise ChainruleError(
        f"{data.source}: the target {data.target!r} has {k} classes; expected a network with {k} outputs"
        + (" (or 1 for two classes)" if k == 2 else "")
        + f", got {outputs}"
    )


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
