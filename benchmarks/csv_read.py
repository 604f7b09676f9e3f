"""Reading a CSV file: chainrule's reader beside pyarrow.csv.read_csv, on the same file.

    python benchmarks/csv_read.py             # a 60 MB numeric CSV (the issue's yardstick)
    python benchmarks/csv_read.py --mb 20 --text   # with a text label column too

Each reader runs in its own fresh process (so neither warms the other's caches or threads), the
best of `--repeats` is kept, and the ratio chainrule / pyarrow is printed. chainrule's time is the
whole `io.data.load` (reading the bytes, the checks, the table as float64 ready to train on);
pyarrow's is `read_csv` alone, into its own table. Nothing here is a test: timings belong here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHAINRULE = """
import time, numpy as np
from chainrule.io import data
t = time.perf_counter()
ds = data.load({path!r}, np.random.default_rng(0), target="y")
print(time.perf_counter() - t, ds.x.shape)
"""
PYARROW = """
import time, pyarrow.csv as pc
t = time.perf_counter()
table = pc.read_csv({path!r})
print(time.perf_counter() - t, (table.num_rows, table.num_columns))
"""


def write(path: Path, megabytes: float, text: bool) -> None:
    """Columns of random float64 written shortest-exact (as NumPy writes them), a header, y last."""
    rng = np.random.default_rng(0)
    columns = 20
    row_bytes = columns * 20
    rows = int(megabytes * 1e6 / row_bytes)
    x = rng.normal(size=(rows, columns))
    lines = [",".join([*(f"x{j}" for j in range(columns)), "y"])]
    labels = rng.choice(["cat", "dog", "bird"], rows) if text else (rng.random(rows) > 0.5).astype(int).astype(str)
    lines += [",".join([*map(repr, r.tolist()), lab]) for r, lab in zip(x, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def best(script: str, path: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", script.format(path=str(path))], capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(out.stderr)
        times.append(float(out.stdout.split()[0]))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=60.0, help="size of the CSV file in MB")
    parser.add_argument("--text", action="store_true", help="a text label column (three classes)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numbers.csv"
        write(path, args.mb, args.text)
        size = path.stat().st_size / 1e6
        ours, theirs = best(CHAINRULE, path, args.repeats), best(PYARROW, path, args.repeats)
    print(f"{size:.1f} MB CSV: chainrule {ours:.3f} s, pyarrow.csv.read_csv {theirs:.3f} s, ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
