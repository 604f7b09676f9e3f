"""The shaped-network engine's ops beside PyTorch's (CPU, float64): one forward and backward each.

    python benchmarks/shaped_ops.py                  # batch 64 of 8×28×28 maps
    python benchmarks/shaped_ops.py --batch 16 --repeats 3

For each op (conv2d 3×3 stride 1 and 2, max and average pooling, batchnorm) the best of `--repeats`
forward + backward times is printed for chainrule (engine.layers) and for torch autograd, with the
ratio. Both sides get the same input, the same upstream gradient and one thread each (torch's pool
would otherwise compete with NumPy's BLAS). Nothing here is a test: timings belong here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from chainrule.engine.layers.base import Op
from chainrule.engine.layers.conv import Conv2d
from chainrule.engine.layers.norm import BatchNorm
from chainrule.engine.layers.pool import AvgPool2d, MaxPool2d


def best(run: Callable[[], object], repeats: int) -> float:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.channels, args.size, args.size))
    print(f"{'op':<14}{'chainrule ms':>14}{'torch ms':>10}{'ratio':>8}")
    for op, module in ops(rng, args.channels):
        upstream = rng.normal(size=(args.batch, *op.out_shape(x.shape[1:])))

        def ours(op: Op = op, upstream: np.ndarray = upstream) -> object:
            return op.backward(upstream, op.forward(x))

        def theirs(module: torch.nn.Module = module, upstream: np.ndarray = upstream) -> object:
            tx = torch.tensor(x, requires_grad=True)
            module(tx).backward(torch.tensor(upstream))
            return tx.grad

        mine, reference = best(ours, args.repeats), best(theirs, args.repeats)
        print(f"{op.name:<14}{mine * 1e3:>14.1f}{reference * 1e3:>10.1f}{mine / reference:>8.1f}")


if __name__ == "__main__":
    main()
