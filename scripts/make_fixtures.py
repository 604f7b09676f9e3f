"""Write the small data files the tests train on (tests/fixtures/): run once, commit the output.

Synthetic, not downloaded: 48 "digits" of 4×4 pixels (three classes, each a bar in its own place
plus noise), as MNIST's IDX files (plain and .gz), a Parquet table and an .npz of the same data.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SIDE, COUNT, CLASSES = 4, 48, 3


def images(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(COUNT) % CLASSES
    pixels = rng.integers(0, 60, size=(COUNT, SIDE, SIDE))
    for i, label in enumerate(labels):
        pixels[i, :, label] += 180  # class k: a vertical bar in column k
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: two zero bytes, type 0x08 (unsigned byte), the number of dimensions, each size."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1").tobytes()


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    OUT.mkdir(exist_ok=True)
    x, y = images(np.random.default_rng(16))
    for name, array in (("tiny-images-idx3-ubyte", x), ("tiny-labels-idx1-ubyte", y)):
        (OUT / name).write_bytes(idx_bytes(array))
        with gzip.GzipFile(OUT / f"{name}.gz", "wb", mtime=0) as fh:  # mtime 0: the same bytes each run
            fh.write(idx_bytes(array))
    flat = x.reshape(COUNT, -1).astype(np.float64) / 255.0
    np.savez_compressed(OUT / "tiny.npz", x=flat, y=y.astype(np.int64))
    columns = {f"p{i + 1}": flat[:, i] for i in range(flat.shape[1])}
    columns["label"] = np.array(["dark, red", "plain", "wide"])[y]  # a class name with a comma in it
    pq.write_table(pa.table(columns), OUT / "tiny.parquet")


if __name__ == "__main__":
    main()
