"""The author's own numbers put in place of the computed ones in a replay (`model_values.replay`):
a number worked correctly from an earlier wrong number of the author's follows from it, as on paper.

A pin is an element of an op's map or output (``z_c[1,2,2]#1``, ``a_c[…]``) or of the gradient by
one (``dL/da_c[…]``, ``dL/dz_c[…]``); the replay writes it in where it computes that array, and a
pinned z gives its a through the op's activation. (An RNN's states and the tensors' gradients are
not pinned: a number worked from a wrong one there is judged on its own.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from chainrule.engine.activations import Array

_ELEMENT = re.compile(r"^(z|a|dL/da|dL/dz)_(.+)\[(\d+(?:,\d+)*)\](?:#(\d+))?$")
KINDS = ("z", "a", "dL/da", "dL/dz")


class Pins:
    """Pinned elements by (kind, op name): each as (example, *index) 0-based, and its value."""

    def __init__(self, values: Mapping[str, float]):
        self.elements: dict[tuple[str, str], list[tuple[tuple[int, ...], float]]] = {}
        for name, value in values.items():
            m = _ELEMENT.match(name)
            if m is None:
                continue
            kind, op, index, example = m.groups()
            at = (int(example or 1) - 1, *(int(i) - 1 for i in index.split(",")))
            self.elements.setdefault((kind, op), []).append((at, value))

    def apply(self, kind: str, op: str, array: Array) -> Array:
        """The array with this op's pins of this kind written in (a copy; the same array if none)."""
        pinned = self.elements.get((kind, op))
        if not pinned:
            return array
        out = np.array(array, dtype=np.float64, copy=True)
        for at, value in pinned:
            if len(at) == out.ndim and all(0 <= i < n for i, n in zip(at, out.shape, strict=True)):
                out[at] = value
        return out
