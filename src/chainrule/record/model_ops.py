"""Per op of a shaped network, the numbers its explanation needs (computed here, shown by the views).

- conv2d: each output's window as a sum of products (`forward`); ∂L/∂W as the correlation of the
  input with ∂L/∂z and ∂L/∂b as the sum of ∂L/∂z (`weight_grads`); ∂L/∂x as the full convolution
  of ∂L/∂z with the flipped kernel (`input_grads`, each term a ∂L/∂z times a kernel element).
- maxpool2d / avgpool2d: each output's window (`windows`, the winner marked for max); ∂L/∂x routed
  to the winner (max) or shared 1/k (avg) (`input_grads`).
- batchnorm: μ, σ², x̂ and ∂L/∂x̂, ∂L/∂μ, ∂L/∂σ² (`stats`, by name) and each input's gradient as
  its three paths (`paths`: direct, through μ, through σ²).
- residual: each input's gradient as the inner path's plus the skip's (`paths`).
- rnn: each element of ∂L/∂W_h and ∂L/∂W_x as its per-step terms and their sum (`weight_grads`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.engine.layers.base import Cache, Op, cancelled, d_activation, element_name
from chainrule.record.model_rnn import rnn_detail
from chainrule.record.model_types import OpDetail, OpInfo, Sum, Term, Window, op_settings

MAX_TERMS = 200_000  # beyond this many products an op's sums are not kept (`truncated`), only its values


def pair(value: Any, default: int) -> tuple[int, int]:
    """A size given as one number or two (kernel, stride, padding) as (rows, cols)."""
    if value is None:
        return default, default
    if isinstance(value, tuple | list | np.ndarray):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def op_detail(
    op: Op, info: OpInfo, cache: Cache, d_a: np.ndarray, d_z: np.ndarray, d_x: np.ndarray, suffixes: list[str]
) -> OpDetail:
    if op.kind == "conv2d":
        return _conv(op, info, cache, d_z, suffixes)
    if op.kind in ("maxpool2d", "avgpool2d"):
        return _pool(op, info, cache, d_z, suffixes)
    if op.kind == "batchnorm":
        return _batchnorm(op, info, cache, d_z, d_x, suffixes)
    if op.kind == "residual":
        return _residual(op, info, cache, d_z, suffixes)
    if op.kind == "rnn":
        return rnn_detail(op, info, cache, d_a, suffixes)
    if op.kind == "dense" and len(info.in_shape) == 1:
        return _dense(op, info, cache, d_z, suffixes)
    return OpDetail(info.name, op.kind)


def _positions(size: int, out: int, k: int, stride: int, pad: int) -> list[list[tuple[int, int]]]:
    """For each output index, the (kernel offset, input index) pairs its window covers inside the input."""
    return [[(p, o * stride - pad + p) for p in range(k) if 0 <= o * stride - pad + p < size] for o in range(out)]


def _conv(op: Op, info: OpInfo, cache: Cache, d_z: np.ndarray, suffixes: list[str]) -> OpDetail:
    weight, bias = op.params()["weight"], op.params().get("bias")
    w_name, b_name = info.tensors["weight"], info.tensors.get("bias", "")
    n_out, n_in, kh, kw = weight.shape
    (_, h, w), (_, oh, ow) = info.in_shape, info.out_shape
    (sh, sw), (ph, pw) = pair(info.settings.get("stride"), 1), pair(info.settings.get("padding"), 0)
    rows, cols = _positions(h, oh, kh, sh, ph), _positions(w, ow, kw, sw, pw)
    if len(suffixes) * n_out * oh * ow * n_in * kh * kw > MAX_TERMS:
        return OpDetail(info.name, op.kind, truncated=True)
    fwd, w_terms, x_terms = [], {}, {}  # type: ignore[var-annotated]
    # names and numbers looked up once (a step names each element many times)
    wn_of = {ix: element_name(w_name, ix) for ix in np.ndindex(*weight.shape)}
    xn_of = {ix: info.input_element(ix) for ix in np.ndindex(n_in, h, w)}
    wl, xl, dzl, zl = weight.tolist(), cache.x.tolist(), d_z.tolist(), cache.z.tolist()
    for k, s in enumerate(suffixes):
        for o, i, j in np.ndindex(n_out, oh, ow):
            terms, dz_name = [], element_name(f"dL/dz_{info.name}", (o, i, j)) + s
            dz = dzl[k][o][i][j]
            for c in range(n_in):
                for p, r in rows[i]:
                    for q, col in cols[j]:
                        wn, xn = wn_of[(o, c, p, q)], xn_of[(c, r, col)] + s
                        wv, xv = wl[o][c][p][q], xl[k][c][r][col]
                        terms.append(Term(wn, xn, wv, xv))
                        w_terms.setdefault((o, c, p, q), []).append(Term(dz_name, xn, dz, xv))
                        x_terms.setdefault((k, c, r, col), []).append(Term(dz_name, wn, dz, wv))
            b = float(bias[o]) if bias is not None and bias.size else 0.0
            bn = element_name(b_name, (o,)) if b_name else ""
            fwd.append(Sum(element_name(f"z_{info.name}", (o, i, j)) + s, tuple(terms), zl[k][o][i][j], bn, b))
    grads = [
        Sum(
            element_name(f"dL/d{w_name}", ix),
            tuple(w_terms.get(ix, ())),
            _dot(w_terms.get(ix, ())),
        )
        for ix in np.ndindex(*weight.shape)
    ]
    if b_name:
        for o in range(n_out):
            dzs = tuple(
                Term(element_name(f"dL/dz_{info.name}", (o, i, j)) + s, "", float(d_z[k, o, i, j]), 1.0)
                for k, s in enumerate(suffixes)
                for i, j in np.ndindex(oh, ow)
            )
            grads.append(Sum(element_name(f"dL/d{b_name}", (o,)), dzs, _dot(dzs)))
    inputs = [
        Sum(
            info.input_element((c, r, col), "dL/d") + s,
            tuple(x_terms.get((k, c, r, col), ())),
            _dot(x_terms.get((k, c, r, col), ())),
        )
        for k, s in enumerate(suffixes)
        for c, r, col in np.ndindex(n_in, h, w)
    ]
    return OpDetail(info.name, op.kind, forward=tuple(fwd), weight_grads=tuple(grads), input_grads=tuple(inputs))


def _dense(op: Op, info: OpInfo, cache: Cache, d_z: np.ndarray, suffixes: list[str]) -> OpDetail:
    """z_j = Σ_i W[j,i] x_i + b_j; ∂L/∂W[j,i] = Σ over the batch of ∂L/∂z_j x_i; ∂L/∂x_i = Σ_j ∂L/∂z_j W[j,i]."""
    weight, bias = op.params()["weight"], op.params().get("bias")
    w_name, b_name = info.tensors["weight"], info.tensors.get("bias", "")
    units, fan_in = weight.shape
    if len(suffixes) * units * fan_in * 3 > MAX_TERMS:
        return OpDetail(info.name, op.kind, truncated=True)
    fwd, inputs = [], []
    for k, s in enumerate(suffixes):
        for j in range(units):
            terms = tuple(
                Term(
                    element_name(w_name, (j, i)),
                    info.input_element((i,)) + s,
                    float(weight[j, i]),
                    float(cache.x[k, i]),
                )
                for i in range(fan_in)
            )
            b = float(bias[j]) if bias is not None and bias.size else 0.0
            bn = element_name(b_name, (j,)) if b_name else ""
            fwd.append(Sum(element_name(f"z_{info.name}", (j,)) + s, terms, float(cache.z[k, j]), bn, b))
        for i in range(fan_in):
            back = tuple(
                Term(
                    element_name(f"dL/dz_{info.name}", (j,)) + s,
                    element_name(w_name, (j, i)),
                    float(d_z[k, j]),
                    float(weight[j, i]),
                )
                for j in range(units)
            )
            inputs.append(Sum(info.input_element((i,), "dL/d") + s, back, _dot(back)))
    grads = []
    for j, i in np.ndindex(units, fan_in):
        terms = tuple(
            Term(
                element_name(f"dL/dz_{info.name}", (j,)) + s,
                info.input_element((i,)) + s,
                float(d_z[k, j]),
                float(cache.x[k, i]),
            )
            for k, s in enumerate(suffixes)
        )
        grads.append(Sum(element_name(f"dL/d{w_name}", (j, i)), terms, _dot(terms)))
    return OpDetail(info.name, op.kind, forward=tuple(fwd), weight_grads=tuple(grads), input_grads=tuple(inputs))


def _dot(terms: Any) -> float:
    """Σ left·right, 0 where it cancels below float64's rounding of its terms, as the step's own
    gradients are (record.model_paper.settled): 0.075 · 1.2 + (−0.075) · 1.2 is 0, not 6.9×10⁻¹⁷."""
    products = [t.left_value * t.right_value for t in terms]
    return float(cancelled(np.array(sum(products, 0.0)), np.array(sum(map(abs, products), 0.0))))


def _pool(op: Op, info: OpInfo, cache: Cache, d_z: np.ndarray, suffixes: list[str]) -> OpDetail:
    """Windows row-major; max's winner is the first maximum (PyTorch's choice), padding never wins."""
    (ch, h, w), (_, oh, ow) = info.in_shape, info.out_shape
    kh, kw = pair(info.settings.get("kernel"), 2)
    sh, sw = pair(info.settings.get("stride") or (kh, kw), kh)
    ph, pw = pair(info.settings.get("padding"), 0)
    rows, cols = _positions(h, oh, kh, sh, ph), _positions(w, ow, kw, sw, pw)
    is_max, share = op.kind == "maxpool2d", 1.0 / (kh * kw)
    windows, routes = [], {}  # type: ignore[var-annotated]
    for k, s in enumerate(suffixes):
        for c, i, j in np.ndindex(ch, oh, ow):
            cells = [(r, col) for _, r in rows[i] for _, col in cols[j]]
            vals = tuple(float(cache.x[k, c, r, col]) for r, col in cells)
            win = int(np.argmax(vals)) if is_max and vals else -1
            out = element_name(f"z_{info.name}", (c, i, j)) + s
            windows.append(
                Window(
                    out,
                    tuple(info.input_element((c, r, col)) + s for r, col in cells),
                    vals,
                    float(cache.z[k, c, i, j]),
                    win,
                )
            )
            dz = float(d_z[k, c, i, j])
            dz_name = element_name(f"dL/dz_{info.name}", (c, i, j)) + s
            for m, (r, col) in enumerate(cells):
                if not is_max or m == win:
                    routes.setdefault((k, c, r, col), []).append(Term(dz_name, "", dz, 1.0 if is_max else share))
    inputs = tuple(
        Sum(
            info.input_element((c, r, col), "dL/d") + s,
            tuple(routes.get((k, c, r, col), ())),
            _dot(routes.get((k, c, r, col), ())),
        )
        for k, s in enumerate(suffixes)
        for c, r, col in np.ndindex(ch, h, w)
    )
    return OpDetail(info.name, op.kind, windows=tuple(windows), input_grads=inputs)


def _batchnorm(op: Op, info: OpInfo, cache: Cache, d_z: np.ndarray, d_x: np.ndarray, suffixes: list[str]) -> OpDetail:
    """The batch's μ, σ² and x̂ (the engine's, from its cache), ∂L/∂x̂, ∂L/∂μ, ∂L/∂σ², and each input's
    gradient as the engine's three paths (direct, through μ, through σ²)."""
    x, extra = cache.x, cache.extra
    axes = (0, *range(2, x.ndim))
    shape = (1, x.shape[1], *([1] * (x.ndim - 2)))
    count = x.size // x.shape[1]
    paths = op.paths(d_z, cache)  # type: ignore[attr-defined]
    d_xhat = d_z * op.params()["weight"].reshape(shape)
    centred = x - extra["mean"].reshape(shape)
    eps = float(info.settings.get("eps", 1e-5))
    d_var = -0.5 * np.sum(d_xhat * centred, axis=axes) * (extra["var"] + eps) ** -1.5
    d_mu = paths["mean"].reshape(len(x), x.shape[1], -1)[0, :, 0] * count if "mean" in paths else 0 * d_var
    stats: dict[str, float] = {}
    for c in range(x.shape[1]):
        stats[element_name(f"mu_{info.name}", (c,))] = float(extra["mean"][c])
        stats[element_name(f"var_{info.name}", (c,))] = float(extra["var"][c])
        stats[element_name(f"dL/dmu_{info.name}", (c,))] = float(d_mu[c])
        stats[element_name(f"dL/dvar_{info.name}", (c,))] = float(d_var[c])
    found = []
    zero = np.zeros_like(d_z)
    for k, s in enumerate(suffixes):
        for ix in np.ndindex(*x.shape[1:]):
            at = (k, *ix)
            stats[element_name(f"xhat_{info.name}", ix) + s] = float(extra["x_hat"][at])
            stats[element_name(f"dL/dxhat_{info.name}", ix) + s] = float(d_xhat[at])
            parts = tuple(float(paths.get(p, zero)[at]) for p in ("direct", "mean", "variance"))
            found.append((info.input_element(ix, "dL/d") + s, parts, float(d_x[at])))
    return OpDetail(info.name, op.kind, stats=stats, paths=tuple(found))


def _residual(op: Op, info: OpInfo, cache: Cache, d_z: np.ndarray, suffixes: list[str]) -> OpDetail:
    """z = inner(x) + x: ∂L/∂x is the inner path's gradient plus the skip's (∂L/∂z itself), the engine's
    two; each inner layer explained as a layer of its own (its statistics among the block's)."""
    paths, _ = op.paths(d_z, cache)  # type: ignore[attr-defined]
    found = []
    for k, s in enumerate(suffixes):
        for ix in np.ndindex(*d_z.shape[1:]):
            at = (k, *ix)
            inner, skip = float(paths["inner"][at]), float(paths["skip"][at])
            found.append((info.input_element(ix, "dL/d") + s, (inner, skip), inner + skip))
    inner_details = []
    stats: dict[str, float] = {}
    for inner_info, (inner_op, c, d_a, d_zk, d_x) in zip(_inner_infos(op, info), _walk(op, cache, d_z), strict=True):
        detail = op_detail(inner_op, inner_info, c, d_a, d_zk, d_x, suffixes)
        stats |= detail.stats
        inner_details.append((inner_info, detail))
    return OpDetail(info.name, "residual", paths=tuple(found), stats=stats, inner=tuple(inner_details))


def _inner_infos(op: Op, info: OpInfo) -> list[OpInfo]:
    """Each inner layer as the views name it: the first reads the block's input, the next its output."""
    infos, reading, lead, shape = [], info.input_name, info.input_lead, info.in_shape
    for inner in op.inner:  # type: ignore[attr-defined]
        out = tuple(inner.out_shape(shape))
        names, params = inner.tensor_names(), inner.params()
        infos.append(
            OpInfo(
                inner.name,
                inner.kind,
                inner.activation.name,
                shape,
                out,
                dict(names),
                {names[r]: tuple(np.shape(params[r])) for r in names if r in params},
                op_settings(inner),
                reading,
                lead,
            )
        )
        reading, lead, shape = f"a_{inner.name}", (), out
    return infos


def _walk(op: Op, cache: Cache, d_z: np.ndarray) -> list[tuple[Op, Cache, np.ndarray, np.ndarray, np.ndarray]]:
    """Each inner layer with its cache, ∂L/∂a, ∂L/∂z and ∂L/∂(its input), from the block's ∂L/∂z back."""
    inner_ops, caches = op.inner, cache.extra["inner"]  # type: ignore[attr-defined]
    found: list[tuple[Op, Cache, np.ndarray, np.ndarray, np.ndarray]] = []
    d = d_z
    for k in range(len(inner_ops) - 1, -1, -1):
        d_zk = d_activation(inner_ops[k], caches[k], d)
        d_x, _ = inner_ops[k].backward(d, caches[k])
        found.append((inner_ops[k], caches[k], d, d_zk, d_x))
        d = d_x
    return found[::-1]


def inner_values(op: Op, cache: Cache, d_z: np.ndarray, suffixes: list[str]) -> dict[str, float]:
    """A residual block's inner layers by name, as any layer's: z, a, ∂L/∂a and ∂L/∂z of each element."""
    v: dict[str, float] = {}
    for inner, c, d_a, d_zk, _ in _walk(op, cache, d_z):
        for j, s in enumerate(suffixes):
            for ix in np.ndindex(*c.a.shape[1:]):
                at = (j, *ix)
                v[element_name(f"z_{inner.name}", ix) + s] = float(c.z[at])
                v[element_name(f"a_{inner.name}", ix) + s] = float(c.a[at])
                v[element_name(f"dL/da_{inner.name}", ix) + s] = float(d_a[at])
                v[element_name(f"dL/dz_{inner.name}", ix) + s] = float(d_zk[at])
    return v
