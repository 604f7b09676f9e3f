"""`--backend torch`: the same run on PyTorch, in one process or N (DistributedDataParallel).

`TorchEpochs` is an `EpochRunner`: the trainer keeps the data, the example order, the learning
rates, the stopping rules, the history and the checkpoints; each epoch runs on PyTorch and its
parameters come back into the network. The epoch's running metrics (Σ example losses and Σ
classified right, from PyTorch's own forward passes) come back with them; where the trainer asks
for an evaluation the engine evaluates the parameters, so evaluated records and the saved file are
the engine's. In float64 the parameters are the engine's to rounding (the tests:
1e-10 after several epochs).

With N processes (gloo on CPU, NCCL on GPU) every update's global batch of k examples is cut into
N contiguous shares; each process sums its share's losses × N/k (× N/1 for reduction "sum"), and
DDP's average of the gradients is then exactly the single process's gradient of the whole batch.
Process 0 sends the parameters and optimizer state back after each epoch.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.train.compiled.codes import CLASSIFY_ARGMAX, CLASSIFY_CUT
from chainrule.train.config import non_finite_parameter
from chainrule.train.optim import Optimizer
from chainrule.train.records import EpochRecord, Measured, classify_mode, evaluate, running_metrics
from chainrule.train.runner import TrainingRun

Array = np.ndarray
MAX_ORDER_BYTES = 64 * 2**20  # the example orders handed to worker processes at once
WAIT_SECONDS = 600.0  # the longest a worker may take over one epoch before the run gives up


@dataclass
class Plan:
    """Everything one process needs (picklable): the network, the data, the epochs' orders and rates."""

    model: Any  # torch_model.Model
    x: Array
    y: Array
    size: int
    mean: bool
    optimizer: str
    momentum: float
    weight_decay: float
    state: dict[str, list[Array]]
    steps: int
    device: str
    classify: int = 0  # codes.CLASSIFY_*: how a forward pass counts an example classified right
    cut: float = 0.0
    orders: Array = field(default_factory=lambda: np.empty((0, 0), np.int64))
    lrs: Array = field(default_factory=lambda: np.empty(0))


class Session:
    """The model, optimizer and data on one device; `epoch` runs one epoch of updates."""

    def __init__(self, plan: Plan, rank: int = 0, world: int = 1) -> None:
        import torch

        from chainrule.train import torch_model

        self.plan, self.rank, self.world, self.torch = plan, rank, world, torch
        dtype = torch.float64 if plan.x.dtype == np.float64 else torch.float32
        device = torch.device(f"cuda:{rank}" if plan.device == "cuda" else plan.device)
        self.model, self.ordered = plan.model.build(dtype, device)
        self.trained: Any = self.model
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.trained = DistributedDataParallel(self.model)
        self.params = [p for p, _ in self.ordered]
        self.opt = torch_model.make_optimizer(plan.optimizer, self.params, 1.0, plan.momentum)
        self.names = torch_model.STATE_NAMES.get(plan.optimizer, {})
        self._load_state(plan.state, plan.steps)
        self.x = torch.from_numpy(np.ascontiguousarray(plan.x)).to(device)
        self.y = torch.from_numpy(np.ascontiguousarray(plan.y)).to(device)
        self.example_losses, self.masked_gradients = torch_model.example_losses, torch_model.masked_gradients

    def _load_state(self, state: dict[str, list[Array]], steps: int) -> None:
        if not steps or not self.names:
            return
        torch = self.torch
        for i, p in enumerate(self.params):
            entry: dict[str, Any] = {"step": torch.tensor(float(steps))}
            for ours, theirs in self.names.items():
                entry[theirs] = torch.tensor(state[ours][i], dtype=p.dtype, device=p.device)
            self.opt.state[p] = entry

    def epoch(self, order: Array, lr: float) -> tuple[float, float]:
        """One epoch: updates of `size` examples in `order`; this process's share of each. Returns
        the epoch's running sums over every process's share: (Σ example losses, Σ classified right),
        each from the forward pass before its update."""
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = lr
        n, size, world, rank = len(order), self.plan.size, self.world, self.rank
        index = torch.from_numpy(np.ascontiguousarray(order)).to(self.x.device)
        sums = torch.zeros(2, dtype=torch.float64, device=self.x.device)
        for start in range(0, n, size):
            k = min(size, n - start)
            mine = index[start + rank * k // world : start + (rank + 1) * k // world]
            scale = (1.0 / k if self.plan.mean else 1.0) * world
            self.opt.zero_grad(set_to_none=False)
            out = self.trained(self.x[mine])
            losses = self.example_losses(self.plan.model.loss, out, self.y[mine])
            (losses.sum() * scale).backward()
            sums[0] += losses.detach().sum()
            sums[1] += self._right(out.detach(), self.y[mine])
            self.masked_gradients(self.ordered, self.plan.weight_decay)
            self.opt.step()
        if world > 1:
            import torch.distributed as dist

            dist.all_reduce(sums)
        return float(sums[0]), float(sums[1])

    def _right(self, out: Any, y: Any) -> Any:
        """How many rows of `out` say their target's class, as `records.right_count` counts them."""
        if self.plan.classify == CLASSIFY_CUT:
            return ((out[:, 0] > self.plan.cut) == (y[:, 0] > self.plan.cut)).sum()
        if self.plan.classify == CLASSIFY_ARGMAX:
            return (out.argmax(dim=1) == y.argmax(dim=1)).sum()
        return 0

    def snapshot(self, sums: tuple[float, float]) -> tuple[list[Array], dict[str, list[Array]], tuple[float, float]]:
        """The parameters and the optimizer state, as NumPy arrays, with the epoch's running sums."""
        params = [p.detach().cpu().numpy().copy() for p in self.params]
        state: dict[str, list[Array]] = {ours: [] for ours in self.names}
        for p in self.params:
            for ours, theirs in self.names.items():
                held = self.opt.state.get(p, {}).get(theirs)
                state[ours].append(np.zeros(p.shape) if held is None else held.detach().cpu().numpy().copy())
        return params, state, sums


def _worker(rank: int, world: int, plan: Plan, rendezvous: str, results: Any) -> None:
    """One of N processes: join the group, run the epochs, process 0 reports each one."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    backend = "nccl" if plan.device == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, init_method=f"file://{rendezvous}", rank=rank, world_size=world)
        session = Session(plan, rank, world)
        for order, lr in zip(plan.orders, plan.lrs, strict=True):
            sums = session.epoch(order, float(lr))
            if rank == 0:
                results.put(("epoch", session.snapshot(sums)))
        dist.destroy_process_group()
    except Exception as exc:  # reported as one line by the parent
        results.put(("error", f"process {rank}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
        raise SystemExit(1) from None


class TorchEpochs:
    """Whole epochs on PyTorch, in this process (`nproc` 1) or in `nproc` processes with DDP."""

    name = "torch"

    def __init__(self, optimizer: Optimizer, *, device: str = "cpu", nproc: int = 1) -> None:
        if nproc < 1:
            raise ChainruleError(f"--nproc: expected a whole number ≥ 1, got {nproc}")
        self.optimizer, self.device, self.nproc = optimizer, device, nproc
        self.session: Session | None = None
        self.momentum = getattr(optimizer, "momentum", 0.0)

    def load(self, run: TrainingRun) -> None:
        """Import PyTorch (the `torch` extra) and check the device and the network (one line if not)."""
        try:
            import torch
        except ImportError:
            raise ChainruleError(
                "--backend torch: needs PyTorch; install it with pip install 'chainrule[torch]'"
            ) from None
        if self.device == "cuda" and torch.cuda.device_count() < self.nproc:
            found = torch.cuda.device_count()
            raise ChainruleError(f"--device cuda: expected {self.nproc} CUDA device(s), found {found}")
        from chainrule.train.torch_model import model_of

        model_of(run.net)  # refuses a network PyTorch cannot run here, before training starts

    def begin(self, run: TrainingRun) -> None:
        self.session = None  # rebuilt from the network's parameters as they are now

    def _plan(self, run: TrainingRun) -> Plan:
        from chainrule.train.torch_model import model_of

        opt = self.optimizer
        classify, cut = classify_mode(run.net)
        return Plan(model_of(run.net), run.x, run.y, run.size, run.net.training.reduction == "mean", opt.name,
                    self.momentum, opt.weight_decay, opt.state, opt.steps, self.device, classify, cut)  # fmt: skip

    def epochs(self, run: TrainingRun, limit: int) -> list[EpochRecord]:
        start, per_epoch = time.perf_counter(), -(-len(run.x) // run.size)
        if self.nproc == 1:  # one epoch a call: Ctrl-C (checked between calls) stops within an epoch
            lrs = run.learning_rates(1)
            if self.session is None:
                self.session = Session(self._plan(run))
            session = self.session
            sums = session.epoch(run.next_order(), float(lrs[0]))
            return self._records(run, [session.snapshot(sums)], lrs, per_epoch, start)
        count = max(1, min(limit, MAX_ORDER_BYTES // (8 * len(run.x))))
        lrs = run.learning_rates(count)
        plan = self._plan(run)
        plan.orders = np.stack([run.next_order().copy() for _ in range(count)])
        plan.lrs = lrs
        return self._records(run, _spawned(plan, self.nproc), lrs, per_epoch, start)

    def _records(self, run: TrainingRun, results: Any, lrs: Array, per_epoch: int, start: float) -> list[EpochRecord]:
        """Each epoch's parameters into the network, with its running metrics or evaluated by the
        engine where the trainer asks; stop at the first non-finite one, leaving the parameters of
        the epoch before it."""
        records: list[EpochRecord] = []
        params = self.optimizer.params
        flags = run.evaluations(len(lrs))
        for e, (lr, (values, state, sums)) in enumerate(zip(lrs, results, strict=False)):
            before = [p.copy() for p in params]
            for p, v in zip(params, values, strict=True):
                p[...] = v
            # PyTorch's losses are the definitions (log a), which overflow where the engine's fused
            # forms do not: a non-finite running sum is judged by the engine's evaluation instead.
            finite = math.isfinite(sums[0]) and all(np.isfinite(v).all() for v in values)
            evaluated = bool(flags[e]) or not finite
            loss, acc = (
                evaluate(run.net, run.x, run.y) if evaluated else running_metrics(run.net, sums[0], sums[1], len(run.x))
            )
            val_loss = val_acc = None
            if run.x_val is not None and run.y_val is not None:
                val_loss, val_acc = evaluate(run.net, run.x_val, run.y_val)
            updates = run.updates + per_epoch
            elapsed = run.elapsed + time.perf_counter() - start
            measured: Measured = "evaluated" if evaluated else "running"
            record = EpochRecord(run.epoch + 1, loss, val_loss, acc, val_acc, measured, float(lr), updates, elapsed)
            records.append(record)
            bad = f"the loss became {loss}" if not record.finite() else None
            name = non_finite_parameter(run.net) if bad is None else None
            if bad or name:
                run.divergence = bad or f"parameter {name} became {run.net.parameters()[name or '']}"
                for p, v in zip(params, before, strict=True):
                    p[...] = v
                self.session = None
                break
            self._keep_state(state, per_epoch)
            run.epoch, run.updates = run.epoch + 1, updates
            if run.until_loss is not None and loss <= run.until_loss:
                break
        if self.nproc > 1 or len(records) < len(lrs):
            self.session = None  # the next call starts from the network's parameters
        return records

    def _keep_state(self, state: dict[str, list[Array]], per_epoch: int) -> None:
        """The optimizer state into the trainer's optimizer, so that a checkpoint holds it."""
        for key, arrays in state.items():
            for mine, theirs in zip(self.optimizer.state[key], arrays, strict=True):
                mine[...] = theirs
        self.optimizer.steps += per_epoch


def _spawned(plan: Plan, world: int) -> Any:
    """Run the plan in `world` processes; yield process 0's (parameters, state) epoch by epoch."""
    import torch.multiprocessing as mp

    context = mp.get_context("spawn")
    results = context.Queue()
    with tempfile.TemporaryDirectory(prefix="chainrule-ddp-") as folder:
        rendezvous = os.path.join(folder, "rendezvous")
        workers = [context.Process(target=_worker, args=(r, world, plan, rendezvous, results)) for r in range(world)]
        for w in workers:
            w.start()
        done = False
        try:
            for _ in range(len(plan.lrs)):
                kind, payload = _next(results, workers)
                if kind == "error":
                    raise ChainruleError(f"--backend torch --nproc {world}: {payload}")
                yield payload
            done = True
        finally:
            for w in workers:  # stopped early (a stopping rule, an error): the rest of the work is not wanted
                w.join(timeout=30 if done else 0)
                if w.is_alive():
                    w.kill()
                    w.join()


def _next(results: Any, workers: list[Any]) -> tuple[str, Any]:
    """The next report from process 0; one line if a process died without one."""
    waited = 0.0
    while True:
        try:
            report: tuple[str, Any] = results.get(timeout=1.0)
            return report
        except queue.Empty:
            waited += 1.0
        dead = [w for w in workers if w.exitcode not in (None, 0)]
        if dead or waited > WAIT_SECONDS:
            what = f"a process stopped (exit status {dead[0].exitcode})" if dead else "no epoch finished in time"
            raise ChainruleError(f"--backend torch: {what}")
