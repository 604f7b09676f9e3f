"""The backward pass of the story: every gradient as its chain of factors, or in the delta form.

A path-form chain (the 2-2-1 reference) is told as the reference tells it: the chain rule in
symbols, each local derivative with its own short derivation the first time it appears, then
the product step by step. Deeper or wider networks use the record's delta form: each
δ_j = ∂L/∂z_j is worked once, from the output down, and every gradient is δ · input.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.step import Chain, Path, StepRecord
from chainrule.views.doc import Block, Bullets, Equations, Inline, Math, Para, Strong, Table, partial
from chainrule.views.story_factors import deltas, factor_note
from chainrule.views.writer import Part, Writer, neuron_tex


def order(r: StepRecord) -> list[str]:
    """Parameters from the output layer down, as a worked example takes them."""
    out: list[str] = []
    by_layer: dict[str, list[str]] = {}
    for ns in r.sums:
        by_layer.setdefault(ns.layer, []).extend(wt for wt, _ in ns.terms)
    for layer in reversed(r.layers):
        out += by_layer[layer.name] + list(layer.bias_names) + ([layer.alpha_name] if layer.alpha_name else [])
    return out


def backward(w: Writer, only: str | None) -> Iterator[Part]:
    """The backward section: the δs (delta form), then each parameter's gradient, then all of them."""
    r = w.r
    intro = Para(
        (
            "Gradient descent needs the gradient of the loss with respect to every weight and bias. "
            "The chain rule gives each one as a product of local derivatives along the way from the loss back to the parameter.",
        )
    )
    yield Part("backward", (w.h(1, "4. Backward pass"), intro))
    if any(c.form == "delta" for chains in r.chains.values() for c in chains):
        yield Part("deltas", tuple(deltas(w)))
    explained: set[tuple[str, str]] = set()
    summary = []
    for param in order(r):
        if only and param != only:
            continue
        yield Part("gradient", tuple(gradient(w, param, explained)), param)
        summary.append(((w.m(param),), (Math(rf"\partial L/\partial {w.t(param)}"),), (w.n(w.v[f"dL/d{param}"]),)))
    if not only:
        table = Table(("parameter", "gradient", "value"), tuple(summary), (False, False, True))
        yield Part("gradients", (w.h(2, "All gradients"), table))


def gradient(w: Writer, param: str, explained: set[tuple[str, str]]) -> Iterator[Block]:
    """One parameter's gradient: its chain, each factor not yet explained, the product."""
    chains = w.r.chains[param]
    yield w.h(2, f"Gradient of {param}")
    if chains[0].form == "delta":
        yield from _delta_gradient(w, param, chains)
    else:
        for k, chain in enumerate(chains):
            yield from _paths_gradient(w, param, chain, k, explained)


def _symbols(w: Writer, path: Path) -> str:
    return r" \cdot ".join(partial(f.num, f.den, w.names) for f in path.factors)


def _product(w: Writer, path: Path) -> str:
    return r" \cdot ".join(w.s(f.value) for f in path.factors)


def _paths_gradient(w: Writer, param: str, chain: Chain, k: int, explained: set[tuple[str, str]]) -> Iterator[Block]:
    s = w.r.suffix(k)
    lhs = rf"\frac{{\partial L{s and f'^{{({k + 1})}}'}}}{{\partial {w.t(param)}}}"
    if len(chain.paths) == 1:
        path = chain.paths[0]
        yield Equations(((lhs, "= " + _symbols(w, path)),))
        yield from _notes(w, path, k, explained)
        yield Para((Strong("Finally"),))
        yield Equations(((lhs, f"= {_product(w, path)} {_result(w, path)}"),))
        yield from _steps(w, path)
        return
    vias = [p.via or str(i + 1) for i, p in enumerate(chain.paths)]
    through = ", ".join(f"through {v}" for v in vias)
    yield Para(
        (
            Math(w.t(param)),
            f" reaches the loss along {len(vias)} paths ({through}): its gradient is the sum of the gradients along each.",
        )
    )
    parts = [rf"\frac{{\partial L}}{{\partial {w.t(param)}}}\Big|_{{\text{{via }} {_via_tex(w, v)}}}" for v in vias]
    yield Equations(((lhs, "= " + " + ".join(parts)),))
    for via, part, path in zip(vias, parts, chain.paths, strict=True):
        yield Para((Strong(f"Path through {via}"),))
        yield Equations(((part, "= " + _symbols(w, path)),))
        yield from _notes(w, path, k, explained)
        yield Equations(((part, f"= {_product(w, path)} {_result(w, path)}"),))
    total = " + ".join(w.s(p.value) for p in chain.paths)
    yield Para((Strong("Total"),))
    yield Equations(((lhs, f"= {total} {w.result(chain.value, w.total([p.value for p in chain.paths]))}"),))


def _via_tex(w: Writer, via: str) -> str:
    """A path's label (h1 → o1) as math: the neuron names upright, joined by arrows."""
    return r" \rightarrow ".join(neuron_tex(w, n) for n in via.split(" → "))


def _result(w: Writer, path: Path) -> str:
    return w.result(path.value, w.product(*(f.value for f in path.factors)))


def _steps(w: Writer, path: Path) -> Iterator[Block]:
    """The product one multiplication at a time, as a person does it with a calculator."""
    if len(path.factors) <= 3:
        return
    items: list[tuple[Inline, ...]] = []
    for i in range(1, len(path.factors)):
        x, before, factor = path.partials[i], path.partials[i - 1], path.factors[i].value
        res = w.n(x)
        if i == len(path.factors) - 1:
            res = rf"\mathbf{{{res}}}"
        note = w.unrounded(x, w.product(before, factor))
        items.append((Math(rf"{w.s(before)} \cdot {w.s(factor)} {w.eq(x)} {res}{note}"),))
    yield Para(("Step by step:",))
    yield Bullets(tuple(items))


def _notes(w: Writer, path: Path, k: int, explained: set[tuple[str, str]]) -> Iterator[Block]:
    for f in path.factors:
        if (f.num, f.den) in explained:
            continue
        explained.add((f.num, f.den))
        note = factor_note(w, f, k)
        if note:
            why, rows = note
            yield Para((Strong(""), Math(partial(f.num, f.den, w.names, slash=True)), " — ", *why))
            yield Equations(rows)


def _delta_gradient(w: Writer, param: str, chains: tuple[Chain, ...]) -> Iterator[Block]:
    r = w.r
    sym, nums = [], []
    printed = 0.0
    for k, chain in enumerate(chains):
        s = r.suffix(k)
        sup = f"^{{({k + 1})}}" if s else ""
        for p in chain.paths:
            delta, last = p.factors[0], p.factors[-1]
            neuron = delta.den[2:]
            d = w.t(f"delta_{neuron}") + sup
            if last.kind == "input":
                sym.append(rf"{d} \, {w.t(last.source + s)}")
            elif last.kind == "one":
                sym.append(d)
            else:
                sym.append(rf"{d} \, \partial {w.t(last.num)}/\partial {w.t(last.den)}")
            nums.append(rf"{w.s(delta.value)} \cdot {w.s(last.value)}")
            printed += w.product(delta.value, last.value)
    lhs = rf"\frac{{\partial L}}{{\partial {w.t(param)}}}"
    value = w.v[f"dL/d{param}"]
    yield Equations(((lhs, "= " + w.join(sym)), ("", f"= {w.join(nums)} {w.result(value, printed)}")))
