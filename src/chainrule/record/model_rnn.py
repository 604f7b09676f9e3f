"""A recurrent layer's step by name: every hidden state, the gradient reaching it, and BPTT's terms.

The states are named by time and unit, ``z_r[t,j]`` and ``a_r[t,j]`` (= h_t), whether the layer
outputs every state or only the last; ``dL/da_r[t,j]`` is ∂L/∂h_t (its own output's gradient
plus what step t+1 sends back) and ``dL/dz_r[t,j]`` is ∂L/∂z_t. ∂L/∂W_h and ∂L/∂W_x are kept as
their per-step terms (`OpDetail.weight_grads`, one Sum a weight element, terms over t and the
batch) and, by step, in `OpDetail.steps` (each element's term at t = 1 … T).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine.layers.base import Cache, Op, element_name
from chainrule.record.model_types import OpDetail, OpInfo, Sum, Term


def _bptt(op: Op, cache: Cache, d_a: np.ndarray) -> Any:
    return op.through_time(d_a, cache)  # type: ignore[attr-defined]


def rnn_values(op: Op, info: OpInfo, cache: Cache, d_a: np.ndarray, suffixes: list[str]) -> dict[str, float]:
    """z, a (= h), ∂a/∂z, ∂L/∂a (= ∂L/∂h) and ∂L/∂z of every state, by [t,j]."""
    h = cache.extra["h"]
    bptt = _bptt(op, cache, d_a)
    slope = op.activation.derivative(cache.z, h, 0.0)
    v: dict[str, float] = {}
    for k, s in enumerate(suffixes):
        for t, j in np.ndindex(*h.shape[1:]):
            zn, an = element_name(f"z_{info.name}", (t, j)), element_name(f"a_{info.name}", (t, j))
            v[zn + s] = float(cache.z[k, t, j])
            v[an + s] = float(h[k, t, j])
            v[f"d{an}/d{zn}{s}"] = float(slope[k, t, j])
    for k, s in enumerate(suffixes):
        for t, j in np.ndindex(*h.shape[1:]):
            v[element_name(f"dL/da_{info.name}", (t, j)) + s] = float(bptt.d_h[k, t, j])
            v[element_name(f"dL/dz_{info.name}", (t, j)) + s] = float(bptt.d_z[k, t, j])
    return v


def rnn_detail(op: Op, info: OpInfo, cache: Cache, d_a: np.ndarray, suffixes: list[str]) -> OpDetail:
    """∂L/∂W_h[i,j] = Σ_t Σ_examples ∂L/∂z_t[i] · h_{t−1}[j] and ∂L/∂W_x[i,j] = Σ_t ∂L/∂z_t[i] · x_t[j],
    each as its terms; each step's term of every tensor element in `steps`."""
    h, h0, x = cache.extra["h"], cache.extra["h0"], cache.x
    bptt = _bptt(op, cache, d_a)
    names = op.tensor_names()
    wx, wh = names["weight_ih_l0"], names["weight_hh_l0"]
    steps = h.shape[1]
    grads = []
    for role, tensor in (("weight_hh_l0", wh), ("weight_ih_l0", wx)):
        shape = op.params()[role].shape
        for i, j in np.ndindex(*shape):
            terms = []
            for t in range(steps):
                for k, s in enumerate(suffixes):
                    dz = element_name(f"dL/dz_{info.name}", (t, i)) + s
                    if role == "weight_hh_l0":
                        before = element_name(f"a_{info.name}", (t - 1, j)) + s if t else f"h0_{info.name}[{j + 1}]"
                        value = float(h[k, t - 1, j]) if t else float(h0[k, j])
                    else:
                        before = element_name(info.input_name, (t, j)) + s
                        value = float(x[k, t, j])
                    terms.append(Term(dz, before, float(bptt.d_z[k, t, i]), value))
            total = float(bptt.steps[role][:, i, j].sum())
            grads.append(Sum(element_name(f"dL/d{tensor}", (i, j)), tuple(terms), total))
    per_step = {
        element_name("dL/d" + names[role], ix): tuple(float(v) for v in terms[(slice(None), *ix)])
        for role, terms in bptt.steps.items()
        for ix in np.ndindex(*terms.shape[1:])
    }
    stats: dict[str, float] = {}
    for j in range(h0.shape[1]):
        stats[f"h0_{info.name}[{j + 1}]"] = float(h0[0, j])
    return OpDetail(info.name, "rnn", weight_grads=tuple(grads), stats=stats, steps=per_step)
