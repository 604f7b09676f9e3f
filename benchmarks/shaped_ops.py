"""The shaped-network engine's ops beside PyTorch's (CPU, float64): one forward and backward each.

    python benchmarks/shaped_ops.py                  # batch 64 of 8×28×28 maps
    python benchmarks/shaped_ops.py --batch 16 --repeats 3

For each op (conv2d 3×3 stride 1 and 2, max and average pooling, batchnorm) the best of `--repeats`
forward + backward times is printed for chainrule (engine.layers) and for torch autograd, with the
ratio. Each side runs in its own process (`--side chainrule|torch`), warmed up by one untimed run
per op, on the same seeded input and upstream gradient, with one thread (OMP, OpenBLAS, MKL and
torch's own pool set to 1, and reported). Nothing here is a test: timings belong here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d

THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def best(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: first-call costs (allocation, dispatch caches) are not the op's
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def ops(rng: np.random.Generator, channels: int) -> list[tuple[Op, torch.nn.Module]]:
    weight, bias = rng.normal(size=(16, channels, 3, 3)), rng.normal(size=16)
    pairs: list[tuple[Op, torch.nn.Module]] = []
    for stride in (1, 2):
        conv = torch.nn.Conv2d(channels, 16, 3, stride, 1, dtype=torch.float64)
        conv.load_state_dict({"weight": torch.tensor(weight), "bias": torch.tensor(bias)})
        pairs.append((Conv2d(f"conv s{stride}", weight, bias, (stride, stride), (1, 1)), conv))
    pairs.append((MaxPool2d("maxpool 2×2", (2, 2)), torch.nn.MaxPool2d(2)))
    pairs.append((AvgPool2d("avgpool 2×2", (2, 2)), torch.nn.AvgPool2d(2)))
    ones, zeros = np.ones(channels), np.zeros(channels)
    pairs.append(
        (BatchNorm("batchnorm", ones, zeros, zeros, ones), torch.nn.BatchNorm2d(channels, dtype=torch.float64))
    )
    return pairs


def side(args: argparse.Namespace) -> dict[str, float]:
    """One contender's best time per op, in ms (this process times only that side)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.channels, args.size, args.size))
    times: dict[str, float] = {}
    for op, module in ops(rng, args.channels):
        upstream = rng.normal(size=(args.batch, *op.out_shape(x.shape[1:])))

        def ours(op: Op = op, upstream: np.ndarray = upstream) -> object:
            return op.backward(upstream, op.forward(x))

        def theirs(module: torch.nn.Module = module, upstream: np.ndarray = upstream) -> object:
            tx = torch.tensor(x, requires_grad=True)
            module(tx).backward(torch.tensor(upstream))
            return tx.grad

        times[op.name] = best(ours if args.side == "chainrule" else theirs, args.repeats) * 1e3
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--side", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(side(args)))
        return
    results = {}
    for name in ("chainrule", "torch"):
        command = [sys.executable, __file__, *sys.argv[1:], "--side", name]
        done = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, **THREADS})
        results[name] = json.loads(done.stdout)
    print(f"threads: 1 per side ({', '.join(f'{k}=1' for k in THREADS)}, torch.set_num_threads(1))")
    print(f"{'op':<14}{'chainrule ms':>14}{'torch ms':>10}{'ratio':>8}")
    for op, mine in results["chainrule"].items():
        reference = results["torch"][op]
        print(f"{op:<14}{mine:>14.1f}{reference:>10.1f}{mine / reference:>8.1f}")


if __name__ == "__main__":
    main()
