"""Changes to a network document that the page asks for: add or remove neurons and layers, pick
an activation or the loss, put a 2-D data set in.

Each works on the document (the file schema) and keeps every value the user has; new weights
are small random numbers, rounded to two decimals so that they read well, from the file's seed.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np

from chainrule.engine.functions import LOSSES
from chainrule.errors import ChainruleError
from chainrule.io.data import REGRESSION, builtin, regression


class EditError(ChainruleError):
    """An edit that cannot be made to this network (answered 422)."""


def rng_of(doc: dict[str, Any]) -> np.random.Generator:
    """The generator new weights are drawn from: the file's seed and its size (another edit, other numbers)."""
    return _rng(doc)


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


def initialise(doc: dict[str, Any], scheme: str) -> dict[str, Any]:
    """Every weight drawn afresh (from the file's seed), every bias set to 0, as `scheme` says:

    uniform: U(−0.5, 0.5); xavier: U(−r, r), r = √(6 / (fan_in + fan_out)); he: N(0, 2 / fan_in);
    zeros: all 0 (every neuron of a layer then computes the same thing: symmetry never breaks).
    Values are rounded to three decimals so that they read well.
    """
    doc = copy.deepcopy(doc)
    layers = _layers(doc, 0, hidden=False)
    rng = _rng(doc)
    for index, layer in enumerate(layers):
        units, fan_in = len(layer["weights"]), _fan_in(doc, layers, index)
        if scheme == "xavier":
            r = float(np.sqrt(6.0 / (fan_in + units)))
            weights = rng.uniform(-r, r, size=(units, fan_in))
        elif scheme == "he":
            weights = rng.normal(0.0, float(np.sqrt(2.0 / fan_in)), size=(units, fan_in))
        elif scheme == "zeros":
            weights = np.zeros((units, fan_in))
        else:
            weights = rng.uniform(-0.5, 0.5, size=(units, fan_in))
        layer["weights"] = np.round(weights, 3).tolist()
        if "bias" in layer:
            layer["bias"] = [0.0] * len(layer["bias"]) if isinstance(layer["bias"], list) else 0.0
    return doc


def use_dataset(doc: dict[str, Any], name: str, n: int, noise: float | None, seed: int) -> dict[str, Any]:
    """data.py's built-in set as examples (points rounded to 3 decimals, so the file stays
    readable): a two-class set's labels are 0 or 1; a regression set's targets are numbers."""
    rng = np.random.default_rng(seed)
    if name in REGRESSION:
        data = regression(name, rng, n, noise)
        assert data.values is not None
        y = np.round(data.values, 3)
    else:
        data = builtin(name, rng, n, noise)
        assert data.labels is not None  # the built-in sets are two-class
        y = data.labels.reshape(-1, 1).astype(float)
    doc = use_examples(doc, np.round(data.x, 3), y, regression=name in REGRESSION)
    doc["title"] = f"The {name} data set: {n} points, seed {seed}"
    return doc


def use_examples(doc: dict[str, Any], x: np.ndarray, y: np.ndarray, *, regression: bool) -> dict[str, Any]:
    """Two inputs, one output, the examples (x, y), mini-batches of 10: for classes (y 0 or 1) a
    sigmoid output with binary cross-entropy (or the squared error already chosen); for numbers
    an identity output with the squared error."""
    doc = copy.deepcopy(doc)
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
    out["activation"] = "identity" if regression else "sigmoid"
    out.pop("alpha", None)
    out.pop("weight_names", None)
    out.pop("bias_names", None)
    squared = ("half_squared_error", "squared_error", "mse")
    if regression and doc.get("loss") not in squared:
        doc["loss"] = "half_squared_error"
    if not regression and doc.get("loss") not in (*squared, "binary_cross_entropy"):
        doc["loss"] = "binary_cross_entropy"
    doc["examples"] = [{"x": xi.tolist(), "y": yi.tolist()} for xi, yi in zip(x, y, strict=True)]
    training = doc.setdefault("training", {})
    training["batch"] = 10
    training.pop("freeze", None)
    return doc


def use_csv(doc: dict[str, Any], text: str, most: int) -> dict[str, Any]:
    """The examples of pasted or uploaded CSV text: rows x1, x2, y (a first row of names is skipped).

    Targets that are all 0 or 1 make a two-class set; any other numbers a regression set.
    """
    rows = [re.split(r"[,;\t]", line.strip()) for line in text.splitlines() if line.strip()]
    if rows and not _numbers(rows[0]):
        rows = rows[1:]  # a header of names
    if len(rows) < 4 or len(rows) > most:
        raise EditError(f"data: expected 4 to {most:,} rows of x1, x2, y, got {len(rows):,}")
    values = []
    for number, row in enumerate(rows, 1):
        parsed = _numbers(row)
        if parsed is None or len(parsed) != 3:
            raise EditError(f"data row {number}: expected three numbers x1, x2, y, got {','.join(row)[:60]!r}")
        values.append(parsed)
    table = np.array(values)
    y = table[:, 2:]
    doc = use_examples(doc, table[:, :2], y, regression=not np.all(np.isin(y, (0.0, 1.0))))
    doc["title"] = f"Your data: {len(rows)} points"
    return doc


def _numbers(row: list[str]) -> list[float] | None:
    """The row's cells as finite numbers, or None when one is not."""
    try:
        out = [float(cell.strip().replace("−", "-")) for cell in row]
    except ValueError:
        return None
    return out if all(np.isfinite(out)) else None


def shape(doc: dict[str, Any]) -> str:
    """The network's sizes as a title writes them: inputs, then each layer's neurons ("2-2-1")."""
    inputs = doc["inputs"] if isinstance(doc["inputs"], int) else len(doc["inputs"])
    return "-".join(str(n) for n in [inputs, *(len(layer["weights"]) for layer in doc["layers"])])


def retitled(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`after` with its title following its shape: "a 2-2-1 sigmoid network" becomes "a 2-3-1 sigmoid
    network" when a neuron is added (the old shape as a word of its own; any other title is kept)."""
    title, old, new = after.get("title"), shape(before), shape(after)
    if not isinstance(title, str) or old == new:
        return after
    return {**after, "title": re.sub(rf"(?<![\w.-]){re.escape(old)}(?![\w.-])", new, title)}
