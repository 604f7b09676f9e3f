"""Inputs made from the plane's two coordinates, as TensorFlow Playground offers them: x1, x2,
x1², x2², x1·x2, sin x1, sin x2. Each is an input of the network like any other (a column of the
examples, named as here); the page's plots work them out for every point of the plane they draw.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.errors import ChainruleError

Array = np.ndarray
FEATURES: dict[str, Callable[[Array, Array], Array]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1²": lambda a, b: a * a,
    "x2²": lambda a, b: b * b,
    "x1·x2": lambda a, b: a * b,
    "sin x1": lambda a, b: np.sin(a),
    "sin x2": lambda a, b: np.sin(b),
}


def planar(names: Sequence[str]) -> bool:
    """Whether inputs named so are made from the plane (x1 and x2 among them, every one known)."""
    return {"x1", "x2"} <= set(names) and all(name in FEATURES for name in names)


def made(names: Sequence[str], plane: Array) -> Array:
    """The inputs `names` at the points `plane` (rows x1, x2)."""
    a, b = plane[:, 0], plane[:, 1]
    return np.column_stack([FEATURES[name](a, b) for name in names])


def use_features(doc: dict[str, Any], chosen: Sequence[str], rng: np.random.Generator) -> dict[str, Any]:
    """The network with inputs `chosen` (x1 and x2 always among them, in FEATURES' order): each
    example's inputs worked out from its x1 and x2, the first layer's weights kept for the inputs
    kept and new ones small random numbers (two decimals, as every new weight)."""
    unknown = [name for name in chosen if name not in FEATURES]
    if unknown:
        raise ChainruleError(f"name: expected inputs from {', '.join(FEATURES)}, got {unknown[0]!r}")
    inputs = doc["inputs"] if isinstance(doc["inputs"], list) else [f"x{i + 1}" for i in range(doc["inputs"])]
    if not planar(inputs) or not doc.get("examples"):
        raise ChainruleError("inputs: features need a plane's data (inputs x1 and x2): use a built-in data set first")
    names = [name for name in FEATURES if name in {"x1", "x2", *chosen}]
    doc = copy.deepcopy(doc)
    at = {name: i for i, name in enumerate(inputs)}
    plane = np.array([[e["x"][at["x1"]], e["x"][at["x2"]]] for e in doc["examples"]], dtype=float)
    for example, row in zip(doc["examples"], made(names, plane).tolist(), strict=True):
        example["x"] = row
    first = doc["layers"][0]
    first["weights"] = [
        [w[at[name]] if name in at else float(np.round(rng.uniform(-0.5, 0.5), 2)) for name in names]
        for w in first["weights"]
    ]
    first.pop("weight_names", None)
    doc["inputs"] = names
    return doc
