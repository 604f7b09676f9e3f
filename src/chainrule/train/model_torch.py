"""`--backend torch` for a shaped network: the Model's updates on the nn.Sequential `to_torch` makes.

The module carries the Model's tensors and running statistics (its `state_dict` keys are the
original's, ``<position>.<role>``); torch.optim's optimizer is made with the file's constants
(`torch_model.make_optimizer`) and given the Model's optimizer state (the slots of
`engine.optimizers.STATE`: ``v`` ↔ momentum_buffer, ``m`` ↔ exp_avg, ``s`` ↔ square_avg or
exp_avg_sq) and step count. Each update is PyTorch's forward, the loss from the last layer's z
where the engine fuses it (`torch_model.example_losses`), backward and the optimizer's step; the
tensors, buffers and optimizer state come back into the Model between epochs and on Ctrl-C
(`into_model`), so records, checkpoints and -o hold what the run has. In float64 the parameters
are the engine's to rounding (tests: 1e-10).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from chainrule.engine.model import Model
from chainrule.engine.optimizers import STATE
from chainrule.errors import ChainruleError
from chainrule.train.model_state import model_buffers, right_count, with_tensors

Array = np.ndarray


def state_key(op: Any, position: int, role: str) -> str:
    """The `state_dict` key of an op's tensor: ``<position>.<role>``; a residual block's inner op k
    (role ``<k>.<role>``) sits in the block's own Sequential at its own position there."""
    if op.kind != "residual":
        return f"{position}.{role}"
    from chainrule.io.torch_shaped import default_positions

    k, _, rest = role.partition(".")
    return f"{position}.inner.{default_positions(op.inner)[int(k)][0]}.{rest}"


class Session:
    """The module, its learnt tensors in the Model's order, and torch.optim's optimizer."""

    def __init__(self, model: Model) -> None:
        try:
            import torch
        except ImportError:
            raise ChainruleError(
                "--backend torch: needs PyTorch; install it with pip install 'chainrule[torch]'"
            ) from None
        from chainrule.io.torch_shaped import default_positions, to_torch
        from chainrule.train import torch_model

        if model.training.freeze:
            raise ChainruleError(
                "--backend torch: a shaped network with training.freeze trains on the built-in path only"
            )
        self.torch, self.examples = torch, torch_model.example_losses
        self.module = to_torch(model)
        self.module.train()
        positions = model.extra.get("torch")
        if positions is None or len(positions) != len(model.ops):
            positions = default_positions(model.ops)
        self.positions = [li for li, _ in positions]
        last_act = positions[-1][1] if positions else None
        children = list(self.module.children())
        cut = list(self.module._modules).index(str(last_act)) if last_act is not None else len(children)
        self.body, self.head = children[:cut], children[cut:]  # z is the body's output, a the head's
        named = dict(self.module.named_parameters())
        self.keys: list[tuple[str, str]] = []  # (chainrule name, state_dict key) in the Model's order
        for op, li in zip(model.ops, self.positions, strict=True):
            names = op.tensor_names()
            self.keys += [(names[role], state_key(op, li, role)) for role in op.params()]
        self.params = [named[key] for _, key in self.keys]
        self.slots = {slot.record: slot.torch for slot in STATE[model.training.optimizer.name]}
        self.opt = torch_model.make_optimizer(model.training.optimizer, self.params, 1.0)
        self.steps = model.steps_taken
        if self.steps and self.slots:
            for (name, _), p in zip(self.keys, self.params, strict=True):
                entry: dict[str, Any] = {"step": torch.tensor(float(self.steps))}
                held = model.optimizer_state.get(name, {})
                for ours, theirs in self.slots.items():
                    values = held.get(ours, np.zeros(tuple(p.shape)))
                    entry[theirs] = torch.tensor(np.array(values), dtype=p.dtype)
                self.opt.state[p] = entry

    def update(self, model: Model, x: Array, y: Array, lr: float) -> tuple[float, float, Array]:
        """One update: (Σ example losses, the outputs before it) from the forward pass it made."""
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        z = torch.from_numpy(np.ascontiguousarray(x))
        for layer in self.body:
            z = layer(z)
        a = z
        for layer in self.head:
            a = layer(a)
        target = torch.from_numpy(np.ascontiguousarray(y))
        losses = self.examples(model.loss.name, z, a, target)
        scale = 1.0 / len(x) if model.training.reduction == "mean" else 1.0
        (losses.sum() * scale).backward()
        self.opt.step()
        self.steps += 1
        return float(losses.detach().sum()), 0.0, a.detach().numpy()


def torch_update(trainer: Any, x: Array, y: Array, lr: float) -> tuple[float, float]:
    """One update of the run (a `model_trainer.ModelTrainer`) on PyTorch (the session made from
    the Model when there is none)."""
    if trainer.session is None:
        trainer.session = Session(trainer.net)
    loss, _, output = trainer.session.update(trainer.net, x, y, lr)
    return loss, right_count(trainer.net, output, y)


def into_model(trainer: Any) -> None:
    """The session's tensors, running statistics and optimizer state into the run's Model."""
    session: Session = trainer.session
    model = trainer.net
    state = {k: v.detach().numpy().copy() for k, v in session.module.state_dict().items()}
    tensors = {name: state[key] for name, key in session.keys}
    buffers = {}
    for op, li in zip(model.ops, session.positions, strict=True):
        for role in op.buffers():
            buffers[f"{op.name}.{role}"] = state[state_key(op, li, role)]
    slots: dict[str, dict[str, Array]] = {}
    for (name, _), p in zip(session.keys, session.params, strict=True):
        held = session.opt.state.get(p, {})
        if session.slots:
            slots[name] = {
                ours: held[theirs].detach().numpy().copy() for ours, theirs in session.slots.items() if theirs in held
            }
    moved = with_tensors(model, tensors, buffers)
    trainer.net = dataclasses.replace(moved, optimizer_state=slots, steps_taken=session.steps)
    assert set(model_buffers(moved)) == set(buffers)
