"""The `.pt` file `chainrule export` writes and `chainrule import` reads: ``{"format",
"architecture", "state_dict"}``, plain types and tensors only, so ``torch.load(path,
weights_only=True)`` reads it without running code. A dense network's architecture is its document
without the tensors (those are the state_dict's); a shaped network's (`engine.model.Model`) is its
whole document, the state_dict that of `to_torch`'s nn.Sequential.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace
from typing import Any

from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import modelfile, modelwrite, torch_shaped
from chainrule.io.netwrite import write_atomic
from chainrule.io.torch import FORMAT, _from_linear, architecture, from_architecture, to_torch
from chainrule.io.torch_common import _torch
from chainrule.io.torch_sizes import check_sizes


def notes(net: Network | Model) -> list[str]:
    """What changes on the way to PyTorch, for the command to say."""
    if isinstance(net, Model):
        return [
            f"the loss ({net.loss.name}) and [training] travel in the file's architecture, not in the nn.Sequential"
        ]
    said = [f"the loss ({net.loss.name}) and [training] travel in the file's architecture, not in the nn.Sequential"]
    shared = [la.name for la in net.layers if la.bias_mode == "shared"]
    if shared:
        said.append(f"the shared bias of layer(s) {', '.join(shared)} is a parametrization of Linear.bias (one number)")
    if net.training.freeze:
        said.append(
            "frozen parameters: requires_grad=False, or a <name>_frozen mask and a gradient hook "
            "(restored by from_torch; PyTorch's weight_decay still moves a masked weight)"
        )
    if net.data is not None and net.data.mean:
        said.append("the nn.Sequential expects standardised inputs, (x − mean) / std: architecture['data'] holds both")
    return said


def save_pt(net: Network | Model, path: str | os.PathLike[str]) -> list[str]:
    """Write `{"format", "architecture", "state_dict"}` atomically; torch.load(weights_only=True) reads it.
    Returns the notes on what changes."""
    torch = _torch()
    model = to_torch(net)
    arch = modelwrite.to_dict(net) if isinstance(net, Model) else architecture(net)
    payload = {"format": FORMAT, "architecture": arch, "state_dict": model.state_dict()}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomic(path, buffer.getvalue())
    return notes(net)


def load_pt(path: str | os.PathLike[str]) -> Network | Model:
    """Read a `.pt` written by `save_pt` (weights only: no code runs) back into a Network or Model."""
    torch = _torch()
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ChainruleError(f"{path}: no such file") from None
    except Exception as exc:  # torch's unpickler raises many kinds; any means: not a readable export
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ChainruleError(
            f"{path}: expected a PyTorch file readable with weights_only=True ({first[:120]})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ChainruleError(
            f"{path}: format: expected {FORMAT!r} (a file from `chainrule export`; for your own nn.Sequential "
            "use chainrule.io.torch.from_torch(model))"
        )
    arch, state = payload.get("architecture"), payload.get("state_dict")
    if not isinstance(arch, dict) or not isinstance(state, dict):
        raise ChainruleError(f"{path}: expected an architecture table and a state_dict")
    if modelfile.is_shaped(arch):
        return _shaped(path, arch, state)
    check_sizes(arch, str(path))  # before from_architecture allocates a placeholder of each size
    try:
        model = from_architecture(arch)
        model.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise ChainruleError(
            f"{path}: state_dict: expected the tensors of its architecture ({str(exc)[:160]})"
        ) from None
    return _from_linear(model, None, {})


def _shaped(path: str | os.PathLike[str], arch: dict[str, Any], state: dict[str, Any]) -> Model:
    """A shaped network's .pt: its document, each tensor then taken from the state_dict."""
    made = modelfile.from_dict(arch, source=str(path), require_examples=False)
    try:
        module = to_torch(made)
        module.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise ChainruleError(
            f"{path}: state_dict: expected the tensors of its architecture ({str(exc)[:160]})"
        ) from None
    ops = []
    for index, op in zip(torch_shaped.default_positions(made.ops), made.ops, strict=True):
        own = module[index[0]].state_dict()
        if op.kind == "residual":  # its inner layers' tensors are the architecture's (the same numbers)
            ops.append(op)
            continue
        params = {role: own[role].numpy() for role in op.params()}
        ops.append(op.with_params(params, {role: own[role].numpy() for role in op.buffers()}))
    return replace(made, ops=ops)
