"""The GEMM peak in a child process: the best of several n×n products (2·n³ FLOP each), through
NumPy or PyTorch, at the thread setting the parent put in the environment.

    python -m gemm '{"lib": "numpy", "dtype": "float32", "threads": 1}'
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from contenders.base import answer

SIZE = 2048


def rate(lib: str, dtype: str, threads: int, repeats: int = 5) -> float:
    """FLOP/s of the fastest of `repeats` products, after one untimed product."""
    a = np.random.default_rng(0).standard_normal((SIZE, SIZE)).astype(dtype)
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        ta = torch.from_numpy(a)
        out = torch.empty_like(ta)

        def product() -> None:
            torch.matmul(ta, ta, out=out)
    else:
        res = np.empty_like(a)

        def product() -> None:
            np.matmul(a, a, out=res)

    product()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t)
    return 2 * SIZE**3 / best


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    answer(flops=rate(job["lib"], job["dtype"], job["threads"]))
