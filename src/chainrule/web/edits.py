"""Changes to a network document that the page asks for: add or remove neurons and layers, pick
an activation or the loss, put a 2-D data set in.

Each works on the document (the file schema) and keeps every value the user has; new weights
are small random numbers, rounded to two decimals so that they read well, from the file's seed.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from chainrule.engine.functions import LOSSES
from chainrule.errors import ChainruleError
from chainrule.io.data import builtin


class EditError(ChainruleError):
    """An edit that cannot be made to this network (answered 422)."""


def _rng(doc: dict[str, Any]) -> np.random.Generator:
    seed = doc.get("training", {}).get("seed", 0) if isinstance(doc.get("training"), dict) else 0
    size = sum(len(str(layer.get("weights", ""))) for layer in doc["layers"])
    return np.random.default_rng([int(seed) if isinstance(seed, int) else 0, size])


def _new(rng: np.random.Generator, *shape: int) -> list[Any]:
    values: list[Any] = np.round(rng.uniform(-0.5, 0.5, size=shape), 2).tolist()
    return values


def _layers(doc: dict[str, Any], index: int, *, hidden: bool) -> list[dict[str, Any]]:
    layers = doc.get("layers")
    if not isinstance(layers, list) or not all(isinstance(la, dict) for la in layers):
        raise EditError("layers: expected a list of layer tables")
    last = len(layers) - 1
    if not 0 <= index <= last:
        raise EditError(f"layer: expected 0 to {last}, got {index}")
    if hidden and index == last:
        raise EditError("layer: the output layer has one neuron per target; change the data to change it")
    for layer in layers:
        if "weights" not in layer:
            raise EditError("layers: give every layer its weights before changing the shape")
        layer.pop("weight_names", None)  # default names follow the new shape
        layer.pop("bias_names", None)
    return layers


def _fan_in(doc: dict[str, Any], layers: list[dict[str, Any]], index: int) -> int:
    if index == 0:
        inputs = doc["inputs"]
        return inputs if isinstance(inputs, int) else len(inputs)
    return len(layers[index - 1]["weights"])


def add_neuron(doc: dict[str, Any], index: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    layers = _layers(doc, index, hidden=True)
    rng = _rng(doc)
    layer, after = layers[index], layers[index + 1]
    layer["weights"].append(_new(rng, _fan_in(doc, layers, index)))
    layer["units"] = len(layer["weights"])
    if isinstance(layer.get("bias"), list):
        layer["bias"].append(0.0)
    for row in after["weights"]:
        row.append(_new(rng, 1)[0])
    return doc


def remove_neuron(doc: dict[str, Any], index: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    layers = _layers(doc, index, hidden=True)
    layer, after = layers[index], layers[index + 1]
    if len(layer["weights"]) < 2:
        raise EditError(f"layer {layer.get('name', index)}: a layer keeps at least one neuron (remove the layer)")
    layer["weights"].pop()
    layer["units"] = len(layer["weights"])
    if isinstance(layer.get("bias"), list):
        layer["bias"].pop()
    for row in after["weights"]:
        row.pop()
    return doc


NEW_LAYER_NAMES = "hgkmpqrstuv"  # single letters, so neurons read g1, g2 (not h1_1)


def _unused_name(layers: list[dict[str, Any]]) -> str:
    """A layer name that neither names a layer nor starts any neuron's name already."""
    used = {str(layer.get("name", "")) for layer in layers}
    starts = {name[0] for name in used if name}
    return next(
        (c for c in NEW_LAYER_NAMES if c not in used and c not in starts),
        next(f"layer{k}" for k in range(1, 99) if f"layer{k}" not in used),
    )


def add_layer(doc: dict[str, Any], index: int) -> dict[str, Any]:
    """A hidden layer of two neurons put in before layer `index`; the layer after it is re-wired."""
    doc = copy.deepcopy(doc)
    layers = _layers(doc, index, hidden=False)
    rng = _rng(doc)
    fan_in = _fan_in(doc, layers, index)
    activation = layers[index - 1]["activation"] if index > 0 else "sigmoid"
    new = {
        "name": _unused_name(layers),
        "units": 2,
        "activation": activation,
        "weights": _new(rng, 2, fan_in),
        "bias": [0.0, 0.0],
    }
    following = layers[index]
    following["weights"] = _new(rng, len(following["weights"]), 2)
    layers.insert(index, new)
    return doc


def remove_layer(doc: dict[str, Any], index: int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    layers = _layers(doc, index, hidden=True)
    fan_in = _fan_in(doc, layers, index)
    following = layers[index + 1]
    following["weights"] = _new(_rng(doc), len(following["weights"]), fan_in)
    del layers[index]
    return doc


def set_activation(doc: dict[str, Any], index: int, name: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    layer = _layers(doc, index, hidden=False)[index]
    layer["activation"] = name
    layer.pop("alpha", None)
    return doc


def set_loss(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The loss; one that needs a particular output activation (cross-entropy: softmax) gets it."""
    doc = copy.deepcopy(doc)
    doc["loss"] = name
    loss = LOSSES.get(name)
    layers = doc.get("layers")
    out = layers[-1] if isinstance(layers, list) and layers and isinstance(layers[-1], dict) else {}
    if loss and loss.requires_activation and out and out.get("activation") not in loss.requires_activation:
        out["activation"] = loss.requires_activation[0]
        out.pop("alpha", None)
    return doc


def use_dataset(doc: dict[str, Any], name: str, n: int, noise: float | None, seed: int) -> dict[str, Any]:
    """Two inputs, one sigmoid output, data.py's built-in set as examples, mini-batches of 10.

    Points are rounded to 3 decimals so that the network file stays readable; labels are 0 or 1.
    """
    doc = copy.deepcopy(doc)
    data = builtin(name, np.random.default_rng(seed), n, noise)
    assert data.labels is not None  # the built-in sets are two-class
    x, y = np.round(data.x, 3), data.labels.reshape(-1, 1).astype(float)
    layers = doc["layers"]
    rng = _rng(doc)
    inputs = doc.get("inputs")
    if (len(inputs) if isinstance(inputs, list) else inputs) != 2:
        units = layers[0].get("units") or len(layers[0].get("weights", [])) or 2
        layers[0]["weights"] = _new(rng, units, 2)
        layers[0].pop("weight_names", None)
    doc["inputs"] = ["x1", "x2"]
    out = layers[-1]
    if len(out.get("weights", [])) != 1:
        fan_in = len(layers[-2]["weights"]) if len(layers) > 1 else 2
        out.update(units=1, weights=_new(rng, 1, fan_in), bias=0.0)
    out["activation"] = "sigmoid"
    out.pop("alpha", None)
    out.pop("weight_names", None)
    out.pop("bias_names", None)
    if doc.get("loss") not in ("half_squared_error", "squared_error", "mse", "binary_cross_entropy"):
        doc["loss"] = "binary_cross_entropy"
    doc["title"] = f"The {name} data set: {n} points, seed {seed}"
    doc["examples"] = [{"x": xi.tolist(), "y": yi.tolist()} for xi, yi in zip(x, y, strict=True)]
    training = doc.setdefault("training", {})
    training["batch"] = 10
    training.pop("freeze", None)
    return doc
