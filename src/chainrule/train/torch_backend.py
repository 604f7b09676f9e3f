"""`--backend torch`: the same run on PyTorch, in one process or in a process group (DDP).

`TorchEpochs` is an `EpochRunner`: the trainer keeps the data, the example order, the learning
rates, the stopping rules, the history and the checkpoints; each epoch runs on PyTorch and its
parameters come back into the network. PyTorch's speed is kept by doing the work where PyTorch
does it: the data are tensors on the device once per run (`Session`), a batch is an index into
them, the whole epoch is one call with its running sums (Σ example losses, Σ classified right)
accumulated on the device and read once at its end. Where the trainer asks for an evaluation
the engine evaluates the parameters, so evaluated records and the saved file are the engine's.
In float64 the parameters are the engine's to rounding (the tests: 1e-10 after several epochs).

Several processes form one process group (gloo on CPU, NCCL on GPU), joined the way `torchrun`
sets it up: RANK, WORLD_SIZE, LOCAL_RANK (and MASTER_ADDR, MASTER_PORT) in the environment, or
the same given by `chainrule train --nproc N`, which starts N − 1 processes running the same
command (cli/train_torch.py). Every process runs the whole trainer on the same data and order;
every update's global batch of k examples is cut into N contiguous shares, each process sums its
share's losses × N/k (× N for reduction "sum"), and DDP's average of the gradients is then the
single process's gradient of the whole batch, so every process holds the same parameters and
takes the same stopping decisions. Before each epoch and every ASK_EVERY updates the processes
agree whether any was asked to stop (Ctrl-C), so they stop together, mid-epoch, at the same
update, and the run resumes from it. Only rank 0 writes files.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from chainrule.engine.optimizers import Settings
from chainrule.errors import ChainruleError
from chainrule.train.compiled.codes import CLASSIFY_ARGMAX, CLASSIFY_CUT
from chainrule.train.config import non_finite_parameter
from chainrule.train.optim import Optimizer
from chainrule.train.records import EpochRecord, Measured, classify_mode, evaluate, running_metrics
from chainrule.train.runner import TrainingRun

Array = np.ndarray
GROUP_TIMEOUT = timedelta(minutes=10)  # the longest a process waits for the others in one exchange
# A process group agrees on Ctrl-C every ASK_EVERY updates: one all-reduce of one number, small
# beside each update's all-reduce of the gradients, and a stop within a few updates.
ASK_EVERY = 8


@dataclass(frozen=True)
class Group:
    """This process's place in a process group: its rank, the group's size, its rank on this host
    (which GPU it takes) and how the group meets (env:// under torchrun, or tcp://host:port)."""

    rank: int
    world: int
    local_rank: int
    init: str = "env://"

    @classmethod
    def from_env(cls) -> Group | None:
        """The group torchrun (or `--nproc`) describes in the environment; None outside one."""
        names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
        if not all(n in os.environ for n in names):
            return None
        try:
            rank, world, local = (int(os.environ[n]) for n in names)
        except ValueError:
            raise ChainruleError(f"RANK, WORLD_SIZE, LOCAL_RANK: expected whole numbers (torchrun's), got "
                                 f"{', '.join(repr(os.environ[n])[:20] for n in names)}") from None  # fmt: skip
        if not (world >= 1 and 0 <= rank < world and local >= 0):
            raise ChainruleError(f"RANK {rank}, WORLD_SIZE {world}: expected 0 ≤ RANK < WORLD_SIZE")
        return cls(rank, world, local)

    def device(self, kind: str) -> str:
        """cuda:LOCAL_RANK for a GPU run (one GPU a process), else the kind itself."""
        return f"cuda:{self.local_rank}" if kind == "cuda" else kind

    def join(self, kind: str) -> None:
        """Join the process group (once per process); every other rank must join too."""
        import torch.distributed as dist

        if dist.is_initialized():
            return
        if kind == "cuda":  # NCCL's own exchanges go to the current device: this rank's GPU
            import torch

            torch.cuda.set_device(self.local_rank)
        backend = "nccl" if kind == "cuda" else "gloo"
        dist.init_process_group(backend, init_method=self.init, rank=self.rank, world_size=self.world,
                                timeout=GROUP_TIMEOUT)  # fmt: skip


@dataclass
class Plan:
    """Everything a session needs: the network, the data, the optimizer and its state."""

    model: Any  # torch_model.Model
    x: Array
    y: Array
    size: int
    mean: bool
    settings: Settings
    weight_decay: float
    state: dict[str, list[Array]]
    steps: int
    device: str
    classify: int = 0  # codes.CLASSIFY_*: how a forward pass counts an example classified right
    cut: float = 0.0


class Session:
    """The model, optimizer and data on one device; `epoch` runs one epoch of updates."""

    def __init__(self, plan: Plan, rank: int = 0, world: int = 1) -> None:
        import torch

        from chainrule.train import torch_model

        self.plan, self.rank, self.world, self.torch = plan, rank, world, torch
        dtype = torch.float64 if plan.x.dtype == np.float64 else torch.float32
        device = torch.device(plan.device)
        model, self.ordered = plan.model.build(dtype, device)
        self.trained: Any = torch_model.Outputs(model)
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel

            on_gpu = device.type == "cuda"
            self.trained = DistributedDataParallel(self.trained, device_ids=[device.index] if on_gpu else None)
        self.params = [p for p, _ in self.ordered]
        self.opt = torch_model.make_optimizer(plan.settings, self.params, 1.0)
        self.names = torch_model.state_names(plan.settings.name)
        self._load_state(plan.state, plan.steps)
        # the masking pass costs a loop over the parameters: only where something is masked or decays
        self.masked = bool(plan.weight_decay) or any(keep is not None for _, keep in self.ordered)
        self.x = torch.from_numpy(np.ascontiguousarray(plan.x)).to(device)
        self.y = torch.from_numpy(np.ascontiguousarray(plan.y)).to(device)
        # the class each example's target says, once for the whole data (what `_answer` is compared with)
        self.target = self.y.argmax(dim=1) if plan.classify == CLASSIFY_ARGMAX else (self.y[:, 0] > plan.cut).long()
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

    def epoch(
        self, order: Array, lr: float, first: int = 0, stop: Callable[[], bool] | None = None
    ) -> tuple[tuple[float, float], int]:
        """One epoch from example `first` of `order`: updates of `size` examples; this process's
        share of each. Returns the running sums of its updates over every process's share (Σ example
        losses, Σ classified right, each from the forward pass before its update) and the position
        it reached: `len(order)`, or less where `stop()` (Ctrl-C, asked after every update) said so.
        Per update only the losses and the answers are kept (copied into the epoch's buffers, in
        place); the sums are made once, at its end."""
        torch, plan = self.torch, self.plan
        for group in self.opt.param_groups:
            group["lr"] = lr
        n, size, world, rank = len(order), plan.size, self.world, self.rank
        device = self.x.device
        index = torch.from_numpy(np.ascontiguousarray(order)).to(device)
        losses_kept = torch.zeros(n, dtype=self.x.dtype, device=device)  # other ranks' shares stay 0
        answers = torch.full((n,), -1, dtype=torch.int64, device=device)  # −1: never a class
        loss_name, opt, trained, example_losses = plan.model.loss, self.opt, self.trained, self.example_losses
        reached = n
        # One process asks after every update; a group asks together (a collective) every ASK_EVERY.
        every = 1 if world == 1 else ASK_EVERY
        for start in range(first, n, size):
            if stop is not None and start > first and ((start - first) // size) % every == 0 and stop():
                reached = start
                break
            k = min(size, n - start)
            lo, hi = start + rank * k // world, start + (rank + 1) * k // world
            mine = index[lo:hi]
            opt.zero_grad(set_to_none=True)
            z, a = trained(self.x[mine])
            losses = example_losses(loss_name, z, a, self.y[mine])
            losses.sum().mul((1.0 / k if plan.mean else 1.0) * world).backward()
            with torch.no_grad():
                losses_kept[lo:hi] = losses
                if plan.classify:
                    answers[lo:hi] = self._answer(a)
            if self.masked:
                self.masked_gradients(self.ordered, plan.weight_decay)
            opt.step()
        with torch.no_grad():
            sums = torch.stack([losses_kept.sum(dtype=torch.float64), (answers == self.target[index]).sum().double()])
        if world > 1:
            import torch.distributed as dist

            dist.all_reduce(sums)
        loss_sum, right = sums.tolist()
        return (loss_sum, right), reached

    def _answer(self, out: Any) -> Any:
        """The class each row of `out` says (as `records.right_count` judges it): the side of the
        cut for one output, the largest output otherwise."""
        if self.plan.classify == CLASSIFY_CUT:
            return (out[:, 0] > self.plan.cut).long()
        return out.argmax(dim=1)

    def snapshot(self, sums: tuple[float, float]) -> tuple[list[Array], dict[str, list[Array]], tuple[float, float]]:
        """The parameters and the optimizer state, as NumPy arrays, with the epoch's running sums."""
        params = [p.detach().cpu().numpy().copy() for p in self.params]
        state: dict[str, list[Array]] = {ours: [] for ours in self.names}
        for p in self.params:
            for ours, theirs in self.names.items():
                held = self.opt.state.get(p, {}).get(theirs)
                state[ours].append(np.zeros(p.shape) if held is None else held.detach().cpu().numpy().copy())
        return params, state, sums


def preflight(run: TrainingRun, kind: str, gpus: int) -> None:
    """Before any process starts or any epoch runs: PyTorch is installed (the `torch` extra), this
    host has `gpus` CUDA devices where the run asks for cuda, and PyTorch can run the network."""
    try:
        import torch
    except ImportError:
        raise ChainruleError("--backend torch: needs PyTorch; install it with pip install 'chainrule[torch]'") from None
    if kind == "cuda" and torch.cuda.device_count() < gpus:
        found = torch.cuda.device_count()
        raise ChainruleError(f"--device cuda: expected {gpus} CUDA device(s) on this host, found {found}")
    from chainrule.train.torch_model import model_of

    model_of(run.net)  # refuses a network PyTorch cannot run here
    # torch.optim's first optimizer imports torch._dynamo (seconds): here, where Ctrl-C ends the
    # process at once, rather than in the first epoch, where it would wait for the import.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)


class TorchEpochs:
    """Epochs on PyTorch, in this process alone or as one rank of a process group (`group`: given
    by `--nproc`, or read from torchrun's environment)."""

    name = "torch"
    mid_epoch = True  # continues (and stops) an epoch midway: see `epochs`

    def __init__(
        self, optimizer: Optimizer, *, device: str = "cpu", nproc: int = 1, group: Group | None = None
    ) -> None:
        if nproc < 1:
            raise ChainruleError(f"--nproc: expected a whole number ≥ 1, got {nproc}")
        group = group or Group.from_env()
        if group is None and nproc > 1:
            raise ChainruleError(f"--nproc {nproc}: expected the processes started by `chainrule train --nproc` or "
                                 "torchrun (RANK, WORLD_SIZE, LOCAL_RANK set)")  # fmt: skip
        if group is not None and nproc not in (1, group.world):
            raise ChainruleError(f"--nproc {nproc}: torchrun started {group.world} process(es); expected no --nproc")
        self.optimizer, self.kind, self.group = optimizer, device, group
        self.nproc = group.world if group else 1
        self.device = group.device(device) if group else device
        self.session: Session | None = None

    def load(self, run: TrainingRun) -> None:
        """Check PyTorch, the device and the network (one line if not), and join the process group."""
        preflight(run, self.kind, self.group.local_rank + 1 if self.group else 1)
        if self.group is not None and self.nproc > 1:
            self.group.join(self.kind)

    def begin(self, run: TrainingRun) -> None:
        self.session = None  # rebuilt from the network's parameters as they are now

    def _plan(self, run: TrainingRun) -> Plan:
        from chainrule.train.torch_model import model_of

        opt = self.optimizer
        classify, cut = classify_mode(run.net)
        return Plan(model_of(run.net), run.x, run.y, run.size, run.net.training.reduction == "mean", opt.settings,
                    opt.weight_decay, opt.state, opt.steps, self.device, classify, cut)  # fmt: skip

    def _stopping(self, run: TrainingRun) -> bool:
        """Whether any process of the group was asked to stop (Ctrl-C): every process asks at the
        same update, so all stop at the same one. (One process stops by its own flag alone.)"""
        wanted = bool(getattr(run, "stop_requested", False))
        if self.nproc == 1:
            return False
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1.0 if wanted else 0.0], dtype=torch.float64, device=self.device)  # NCCL: on the GPU
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def epochs(self, run: TrainingRun, limit: int) -> list[EpochRecord]:
        """One epoch a call, or the rest of one a checkpoint stopped midway; the session, its tensors
        and the process group live on from call to call. Ctrl-C is checked after every update in one
        process, and every ASK_EVERY updates in a process group, whose processes agree on it and stop
        together; the run stops mid-epoch (no record, `run.position` and `run.running` moved on)."""
        start = time.perf_counter()
        if self._stopping(run):
            return []
        lrs = run.learning_rates(1)
        if self.session is None:
            group = self.group
            self.session = Session(self._plan(run), group.rank if group else 0, self.nproc)
        if self.nproc == 1 and run.stop_requested:  # Ctrl-C while the session was being made
            return []
        session, first = self.session, run.position
        order, (loss0, right0) = (run.order, run.running) if first else (run.next_order(), (0.0, 0.0))
        stop = (lambda: run.stop_requested) if self.nproc == 1 else (lambda: self._stopping(run))
        (loss_sum, right), reached = session.epoch(order, float(lrs[0]), first, stop)
        sums = (loss0 + loss_sum, right0 + right)
        done = -(-(reached - first) // run.size)  # updates made by this call
        if reached < len(order):
            values, state, _ = session.snapshot(sums)
            for p, v in zip(self.optimizer.params, values, strict=True):
                p[...] = v
            self._keep_state(state, done)
            run.position, run.running, run.updates = reached, sums, run.updates + done
            return []
        run.position = 0
        return self._records(run, [session.snapshot(sums)], lrs, done, start)

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
            # a non-finite running sum (or parameter) is judged by the engine's evaluation of the
            # parameters, so the record says what the engine says of them
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
        if len(records) < len(lrs):
            self.session = None  # the next call starts from the network's parameters
        return records

    def _keep_state(self, state: dict[str, list[Array]], per_epoch: int) -> None:
        """The optimizer state into the trainer's optimizer, so that a checkpoint holds it."""
        for key, arrays in state.items():
            for mine, theirs in zip(self.optimizer.state[key], arrays, strict=True):
                mine[...] = theirs
        self.optimizer.steps += per_epoch
