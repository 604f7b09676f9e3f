"""The chain of factors behind each gradient: every path from the loss down to a parameter.

A gradient is a sum over paths while that stays readable (the 2-2-1 reference); past MAX_PATHS
paths per parameter, or for a batch, it is δ · input (the delta form). Each factor is a local
derivative ∂num/∂den with its value, read from the values the step record already holds.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Literal

from chainrule.engine.network import Forward, Network
from chainrule.record.exact import exact_paths
from chainrule.record.names import parse

# A gradient is written as a sum over paths while that stays readable; past this many paths
# per parameter (deep or wide networks, or a batch of examples) the record uses the delta form.
MAX_PATHS = 4

FactorKind = Literal["loss", "activation", "fused", "softmax", "weight", "input", "one", "alpha", "delta"]


@dataclass(frozen=True)
class Factor:
    """One local derivative ∂num/∂den in a chain, with its value."""

    num: str  # "L", "a_out", "z_out", ...
    den: str  # "a_out", "z_out", "w5", ...
    value: float
    kind: FactorKind
    source: str = ""  # the name whose value this factor is (w5 for ∂z_out/∂a_h1, a_h1 for ∂z_out/∂w5)
    parts: tuple[float, ...] = ()  # numbers whose product it is, as the registry writes it (a, 1 − a)


@dataclass(frozen=True)
class Path:
    """One route from the loss down to a parameter: the product of its factors."""

    factors: tuple[Factor, ...]
    value: float
    via: str = ""  # what sets this path apart from the parameter's others (h1 for b1's first; "" when alone)
    partials: tuple[float, ...] = ()  # running products, left to right: f1, f1·f2, ..., value


@dataclass(frozen=True)
class Chain:
    """∂L/∂θ for one example, as a sum of paths (form 'paths') or as δ·input (form 'delta')."""

    param: str
    form: Literal["paths", "delta"]
    paths: tuple[Path, ...]
    value: float


def _suffix(size: int, k: int) -> str:
    return "" if size == 1 else f"#{k + 1}"


def _paths_to_z(net: Network, v: dict[str, float], s: str, fused: bool, li: int, j: int) -> list[list[Factor]]:
    """Every route from the loss down to z of neuron j in layer li, as lists of factors."""
    layer = net.layers[li]
    n = layer.neuron_names[j]
    if li == len(net.layers) - 1:
        if fused:
            return [[Factor("L", f"z_{n}", v[f"dL/dz_{n}{s}"], "fused")]]
        if not layer.activation.elementwise:
            return [[Factor("L", f"z_{n}", v[f"dL/dz_{n}{s}"], "softmax")]]
        return [
            [
                Factor("L", f"a_{n}", v[f"dL/da_{n}{s}"], "loss"),
                _activation_factor(net, v, s, li, j),
            ]
        ]
    routes: list[list[Factor]] = []
    nxt = net.layers[li + 1]
    for m, nm in enumerate(nxt.neuron_names):
        for above in _paths_to_z(net, v, s, fused, li + 1, m):
            w = nxt.weight_names[m][j]
            routes.append(
                [
                    *above,
                    Factor(f"z_{nm}", f"a_{n}", float(nxt.weight[m, j]), "weight", w),
                    _activation_factor(net, v, s, li, j),
                ]
            )
    return routes


def _activation_factor(net: Network, v: dict[str, float], s: str, li: int, j: int) -> Factor:
    """∂a_j/∂z_j, with the numbers the registry writes it as (σ: a and 1 − a)."""
    layer = net.layers[li]
    n = layer.neuron_names[j]
    z, a = v[f"z_{n}{s}"], v[f"a_{n}{s}"]
    act = layer.activation
    parts = act.derivative_parts(z, a, layer.alpha_value()) if act.derivative_parts else ()
    return Factor(f"a_{n}", f"z_{n}", v[f"da_{n}/dz_{n}{s}"], "activation", f"a_{n}", tuple(parts))


def _path_count(net: Network, li: int) -> int:
    count = 1
    for layer in net.layers[li + 1 :]:
        count *= layer.units
    return count


def chains_of(
    net: Network, v: dict[str, float], size: int, fused: bool, fwd: Forward, form: str | None = None
) -> dict[str, tuple[Chain, ...]]:
    """Every parameter's chain, one per example of the batch (`size` of them), from the step's values.

    `form` "paths" or "delta" asks for that form on any network; None chooses as MAX_PATHS says.
    """
    chains: dict[str, list[Chain]] = {}
    single = size == 1
    for k in range(size):
        s = _suffix(size, k)
        sending = list(net.input_names)
        for li, layer in enumerate(net.layers):
            neurons_per_param = layer.units if layer.bias_mode == "shared" or layer.alpha_name else 1
            use_paths = single and _path_count(net, li) * neurons_per_param <= MAX_PATHS
            if form is not None:
                use_paths = form == "paths"
            for j, n in enumerate(layer.neuron_names):
                if use_paths:
                    routes = _paths_to_z(net, v, s, fused, li, j)
                else:
                    routes = [[Factor("L", f"z_{n}", v[f"dL/dz_{n}{s}"], "delta")]]
                for i, src in enumerate(sending):
                    a_i = float(fwd.a[li][k, i])
                    last = Factor(f"z_{n}", layer.weight_names[j][i], a_i, "input", src)
                    _add(chains, layer.weight_names[j][i], routes, last, "")
                if layer.bias_mode != "none":
                    b = layer.bias_names[0] if layer.bias_mode == "shared" else layer.bias_names[j]
                    via = n if layer.bias_mode == "shared" and layer.units > 1 else ""
                    _add(chains, b, routes, Factor(f"z_{n}", b, 1.0, "one"), via)
                if layer.alpha_name and layer.activation.alpha_derivative is not None:
                    da = layer.activation.alpha_derivative(fwd.z[li][k], fwd.a[li + 1][k], layer.alpha_value())
                    # α acts on a_j directly: drop the ∂a/∂z factor that ends each route to z_j.
                    if use_paths:
                        to_a = [r[:-1] for r in routes]
                    else:
                        to_a = [[Factor("L", f"a_{n}", v[f"dL/da_{n}{s}"], "delta")]]
                    last = Factor(f"a_{n}", layer.alpha_name, float(da[j]), "alpha", f"z_{n}")
                    _add(chains, layer.alpha_name, to_a, last, n)
            sending = [f"a_{n}" for n in layer.neuron_names]
    return {name: _merge(name, pieces, size) for name, pieces in chains.items()}


def _add(chains: dict[str, list[Chain]], param: str, routes: list[list[Factor]], last: Factor, via: str) -> None:
    every = [(*r, last) for r in routes]
    if len(every) == 1 and len(every[0]) <= 2:  # δ·a: float64's product is the exact one rounded once
        runs = [tuple(accumulate((f.value for f in every[0]), operator.mul))]
    else:
        runs = exact_paths([[f.value for f in factors] for factors in every])[0]  # as the paper multiplies
    paths = [Path(factors, run[-1], via, run) for factors, run in zip(every, runs, strict=True)]
    form: Literal["paths", "delta"] = "delta" if routes and routes[0][0].kind == "delta" else "paths"
    chains.setdefault(param, []).append(Chain(param, form, tuple(paths), _total(paths)))


def _total(paths: Sequence[Path]) -> float:
    """The paths' sum, worked in decimals and rounded once (see record.exact.exact_paths)."""
    if len(paths) == 1:
        return paths[0].value
    return exact_paths([[f.value for f in p.factors] for p in paths])[1]


def _merge(param: str, pieces: list[Chain], size: int) -> tuple[Chain, ...]:
    """Group a parameter's pieces by example (they were appended example by example, in order)."""
    per = len(pieces) // size
    out = []
    for k in range(size):
        group = pieces[k * per : (k + 1) * per]
        paths = tuple(p for c in group for p in c.paths)
        if group[0].form == "paths" and len(paths) > 1:
            paths = _labelled(paths)
        total = group[0].value if len(group) == 1 else _total(paths)  # (one chain's total is worked already)
        out.append(Chain(param, group[0].form, paths, total))
    return tuple(out)


def _neurons(path: Path) -> list[str]:
    """The neurons a path passes through, from the parameter's up to the output."""
    # every factor's num is a neuron's a or z (or L); its den too, except where it is a parameter
    texts = [n for f in path.factors for n in (f.num, *(() if f.kind in ("input", "one", "alpha") else (f.den,)))]
    names = [parse(t).subject for t in texts if t != "L"]
    return list(reversed(dict.fromkeys(names)))


def _labelled(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """Each path labelled by the neurons that set it apart: h1 and h2 for a shared bias, o1 and o2
    for a weight into h1 that reaches two outputs (the neurons every path passes through are left out)."""
    routes = [_neurons(p) for p in paths]
    common = set.intersection(*(set(r) for r in routes))
    return tuple(
        replace(p, via=" → ".join(n for n in route if n not in common)) for p, route in zip(paths, routes, strict=True)
    )
