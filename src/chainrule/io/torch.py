"""PyTorch: a network as an `nn.Sequential` and back (the `.pt` file that carries it: `io.torchfile`).

`to_torch(net)` gives Linear, activation, Linear, activation, … (nn.Identity where the layer has
none, so layer i is always modules 2i and 2i+1) with the network's weights and dtype. It is the one
place a chainrule layer becomes PyTorch: `chainrule export` saves it, and `--backend torch`
(train/torch_backend.py) trains it, its parameters taken in the trainer's order by
`ordered_parameters`. Two things PyTorch has no plain form for are kept exactly:

- a bias shared by a layer's neurons is a parametrization of `Linear.bias`: one trainable number
  b, expanded to every neuron, so ∂L/∂b = Σ_j ∂L/∂b_j as in the engine;
- a frozen parameter: a tensor wholly frozen has requires_grad = False; one partly frozen keeps a
  0/1 buffer `<name>_frozen` and a gradient hook g ← g ⊙ mask. (A frozen weight still decays under
  PyTorch's weight_decay, which is applied after the hook; the engine masks the decay too.)

The `.pt` export is ``{"format", "architecture", "state_dict"}``: plain types and tensors only, so
``torch.load(path, weights_only=True)`` reads it without running code. PyTorch is imported here
only, on first use (the `torch` extra).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule.engine.model import Model
from chainrule.engine.network import Layer, Network
from chainrule.errors import ChainruleError
from chainrule.io.netfile import from_dict
from chainrule.io.netwrite import to_dict
from chainrule.io.torch_common import SOFTPLUS_THRESHOLD, TORCH_MODULES, _activation_of, _torch

if TYPE_CHECKING:
    from torch import nn

FORMAT = "chainrule-torch/1"


@functools.cache
def _own_modules() -> tuple[Any, Any]:
    """The two modules chainrule adds to torch.nn (defined on first use: torch is imported lazily)."""
    nn = _torch().nn

    class SharedBias(nn.Module):  # type: ignore[name-defined]
        """A parametrization: the bias of every neuron is one number b (stored with shape (1,))."""

        def __init__(self, units: int) -> None:
            super().__init__()
            self.units = units

        def forward(self, b: Any) -> Any:
            return b.expand(self.units)

        def right_inverse(self, bias: Any) -> Any:
            return bias[:1].clone()

    class BinaryStep(nn.Module):  # type: ignore[name-defined]
        """a = 1 where z ≥ 0, else 0; flat, so its derivative is 0 everywhere, as the engine's."""

        def forward(self, z: Any) -> Any:
            return (z >= 0).to(z.dtype) + 0.0 * z  # + 0·z: a zero gradient rather than none

    return SharedBias, BinaryStep


def _activation_module(layer: Layer, portable: bool) -> Any:
    nn = _torch().nn
    name = layer.activation.name
    if name == "binary_step" and not portable:
        return _own_modules()[1]()
    if name not in TORCH_MODULES:
        known = ", ".join(TORCH_MODULES)
        raise ChainruleError(
            f"layer {layer.name!r}: activation {name} has no PyTorch module (PyTorch export takes {known})"
        )
    alpha = layer.alpha_value()
    if name == "leaky_relu":
        return nn.LeakyReLU(alpha)
    if name == "elu":
        return nn.ELU(alpha)
    if name == "prelu":
        return nn.PReLU(1, init=alpha, dtype=_torch_dtype(layer))
    if name == "softmax":
        return nn.Softmax(dim=-1)
    if name == "gelu":
        return nn.GELU(approximate="none")
    if name == "softplus":
        return nn.Softplus(threshold=SOFTPLUS_THRESHOLD)
    return getattr(nn, TORCH_MODULES[name])()


def _torch_dtype(layer: Layer) -> Any:
    torch = _torch()
    return torch.float64 if layer.weight.dtype == np.float64 else torch.float32


def _freeze(linear: Any, attr: str, mask: np.ndarray | None) -> None:
    """Freeze a parameter wholly (requires_grad off) or partly (a mask buffer and a gradient hook)."""
    torch = _torch()
    param = (
        linear.parametrizations.bias.original
        if attr == "bias" and hasattr(linear, "parametrizations")
        else getattr(linear, attr)
    )
    if mask is None:
        return
    if not mask.any():
        param.requires_grad_(False)
        return
    linear.register_buffer(f"{attr}_frozen", torch.tensor(mask, dtype=param.dtype))
    # the buffer is looked up at each call: after model.to(device, dtype) it is the moved one
    param.register_hook(lambda g: g * getattr(linear, f"{attr}_frozen"))


def _linear(layer: Layer, frozen: frozenset[str]) -> Any:
    torch = _torch()
    dtype = _torch_dtype(layer)
    units, fan_in = layer.weight.shape
    linear: Any = torch.nn.Linear(fan_in, units, bias=layer.bias_mode != "none", dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(np.array(layer.weight)))
        if layer.bias_mode != "none":
            linear.bias.copy_(torch.from_numpy(np.array(layer.bias_vector())))
    if layer.bias_mode == "shared":
        torch.nn.utils.parametrize.register_parametrization(linear, "bias", _own_modules()[0](units))
    _freeze(linear, "weight", layer.frozen_mask(frozen))
    if layer.bias_names:
        keep = np.array([n not in frozen for n in layer.bias_names], dtype=float)
        _freeze(linear, "bias", None if keep.all() else keep)
    return linear


def to_torch(net: Network | Model, *, portable: bool = True) -> nn.Sequential:
    """The network as nn.Sequential(Linear, activation, …), same weights, dtype, shared biases and
    frozen parameters; `chainrule_architecture` on it lets `from_torch` restore every name.
    `portable=False` (for training here) also takes binary_step, as a module of chainrule's own that
    a file for PyTorch users should not need. A Model: `torch_shaped.to_torch`."""
    if isinstance(net, Model):
        from chainrule.io import torch_shaped

        return torch_shaped.to_torch(net)
    torch = _torch()
    frozen = frozenset(net.training.freeze)
    modules: list[Any] = []
    for layer in net.layers:
        activation = _activation_module(layer, portable)
        modules += [_linear(layer, frozen), activation]
        if layer.alpha_name:
            activation.weight.requires_grad_(layer.alpha_name not in frozen)
            with torch.no_grad():
                activation.weight.fill_(layer.alpha_value())
    model = torch.nn.Sequential(*modules)
    setattr(model, "chainrule_architecture", architecture(net))  # noqa: B010  (an attribute nn.Module does not declare)
    return model


def ordered_parameters(model: nn.Sequential) -> list[tuple[Any, Any]]:
    """Each parameter of a `to_torch` model in the trainer's order (per layer: weight, bias, α), with
    its keep mask: 1 where it learns, 0 where frozen (None: all of it learns)."""
    torch = _torch()
    found: list[tuple[Any, Any]] = []
    for linear, act in _pairs(model):
        for attr, param in (("weight", linear.weight), ("bias", _bias_parameter(linear))):
            if param is None:
                continue
            keep = getattr(linear, f"{attr}_frozen", None)
            found.append((param, keep if param.requires_grad else torch.zeros_like(param)))
        if isinstance(act, torch.nn.PReLU):
            found.append((act.weight, None if act.weight.requires_grad else torch.zeros_like(act.weight)))
    return found


def _bias_parameter(linear: Any) -> Any:
    """The bias as a parameter: the one number of a shared bias, Linear.bias otherwise (or None)."""
    if hasattr(linear, "parametrizations") and "bias" in linear.parametrizations:
        return linear.parametrizations.bias.original
    return linear.bias


def architecture(net: Network, *, examples: bool = True) -> dict[str, Any]:
    """The network's document without its parameter values (those are the state_dict's)."""
    doc = to_dict(net, include_examples=examples)
    for entry, layer in zip(doc["layers"], net.layers, strict=True):
        entry.pop("weights", None)
        entry.pop("bias", None)
        if layer.alpha_name:
            entry.pop("alpha", None)
        entry["bias_mode"] = layer.bias_mode
    return doc


# -- back from PyTorch ------------------------------------------------------------------------------


def _pairs(model: Any) -> list[tuple[Any, Any]]:
    """(Linear, activation or None) for each layer of an nn.Sequential."""
    nn = _torch().nn
    if not isinstance(model, nn.Sequential):
        raise ChainruleError(f"expected an nn.Sequential of Linear and activation modules, got {type(model).__name__}")
    children = list(model.children())
    pairs: list[tuple[Any, Any]] = []
    i = 0
    while i < len(children):
        linear = children[i]
        if not isinstance(linear, nn.Linear):
            raise ChainruleError(f"module {i} ({type(linear).__name__}): expected a Linear layer here")
        after = children[i + 1] if i + 1 < len(children) and not isinstance(children[i + 1], nn.Linear) else None
        pairs.append((linear, after))
        i += 2 if after is not None else 1
    if not pairs:
        raise ChainruleError("expected an nn.Sequential with at least one Linear layer, got an empty one")
    return pairs


def _bias_values(linear: Any) -> Any:
    """The bias as the file writes it: one number when shared, a list, or None."""
    param = _bias_parameter(linear)
    if param is None:
        return None
    if param is not linear.bias:
        return float(param.detach()[0])
    return param.detach().cpu().double().numpy().tolist()


def from_torch(model: nn.Sequential, *, loss: str | None = None, **given: Any) -> Network | Model:
    """A Network from an nn.Sequential of Linear layers each followed by a known activation (or by
    none: identity), a Model (`torch_shaped`) when it holds Conv2d, pooling, BatchNorm or Flatten.
    Names, loss, examples and [training] come from `chainrule_architecture` when the model was made
    by `to_torch`; otherwise the file's defaults, with `loss` (default half_squared_error) and
    `given`: x, y, learning_rate, batch, reduction. requires_grad = False and `<name>_frozen` masks
    become `freeze`."""
    from chainrule.io import torch_shaped

    if torch_shaped.is_shaped(model):
        return torch_shaped.from_torch(model, loss=loss, **given)
    return _from_linear(model, loss, given)


def _from_linear(model: nn.Sequential, loss: str | None, given: dict[str, Any]) -> Network:
    from chainrule.io.torch_shaped import examples, settings

    pairs = _pairs(model)
    arch = getattr(model, "chainrule_architecture", None)
    doc: dict[str, Any] = dict(arch) if isinstance(arch, dict) and len(arch.get("layers", ())) == len(pairs) else {}
    layers_in = doc.get("layers") or [{} for _ in pairs]
    doc["inputs"] = doc.get("inputs") or int(pairs[0][0].in_features)
    if loss is not None or "loss" not in doc:
        doc["loss"] = loss or "half_squared_error"
    keys = settings(given.get("learning_rate"), given.get("batch"), given.get("reduction"), "float64")
    doc["training"] = {**doc.get("training", {}), **keys, "freeze": [], "dtype": _dtype_name(pairs[0][0].weight)}
    if given.get("x") is not None and given.get("y") is not None:
        doc["examples"] = examples(given["x"], given["y"], doc["loss"])
    layers = []
    for i, ((linear, act), entry) in enumerate(zip(pairs, layers_in, strict=True)):
        name, extra = _activation_of(act, f"module {2 * i + 1}") if act is not None else ("identity", {})
        layer = {k: v for k, v in entry.items() if k not in ("bias_mode", "alpha", "bias", "weights")}
        layer.update(units=int(linear.out_features), activation=name, **extra)
        layer["weights"] = linear.weight.detach().cpu().double().numpy().tolist()
        bias = _bias_values(linear)
        if bias is not None:
            layer["bias"] = bias
        elif "bias_names" in layer:
            del layer["bias_names"]
        layers.append(layer)
    doc["layers"] = layers
    net = from_dict(doc, source="<torch module>", require_examples=False)
    net.training.freeze = tuple(_frozen_names(net, model))
    return net


def _dtype_name(param: Any) -> str:
    return "float64" if param.dtype == _torch().float64 else "float32"


def _frozen_names(net: Network, model: Any) -> list[str]:
    """The names of the parameters frozen in the model (requires_grad off, or 0 in a keep mask)."""
    names: list[str] = []
    per_parameter = [
        list(np.ravel(group))
        for la in net.layers
        for group in (la.weight_names, la.bias_names, [la.alpha_name] if la.alpha_name else [])
        if len(group)
    ]
    for own, (_, keep) in zip(per_parameter, ordered_parameters(model), strict=True):
        if keep is not None:
            names += [n for n, k in zip(own, keep.detach().cpu().numpy().ravel(), strict=True) if k == 0]
    return names


def from_architecture(arch: dict[str, Any], *, portable: bool = True) -> Any:
    """An empty model of the architecture (placeholder values), ready for its state_dict or for the
    trainer's parameters (`--backend torch` builds it so in each worker process)."""
    doc = {**arch, "layers": [dict(entry) for entry in arch.get("layers", [])]}
    for entry in doc["layers"]:
        mode = entry.pop("bias_mode", "neuron")
        if mode == "shared":
            entry["bias"] = 0.0
        elif mode == "neuron":
            entry["bias"] = [0.0] * int(entry.get("units", 0))
    model = to_torch(from_dict(doc, source="<architecture>", require_examples=False), portable=portable)
    setattr(model, "chainrule_architecture", arch)  # noqa: B010
    return model
