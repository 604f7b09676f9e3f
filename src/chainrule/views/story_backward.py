"""The backward pass of the story: every gradient as its chain of factors, or in the delta form.

A path-form chain (the 2-2-1 reference) is told as the reference tells it: the chain rule in
symbols, each local derivative with its own short derivation the first time it appears, then
the product step by step. Deeper or wider networks use the record's delta form: each
δ_j = ∂L/∂z_j is worked once, from the output down, and every gradient is δ · input.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.record.step import Chain, Path, StepRecord
from chainrule.views.doc import Block, Bullets, Equations, Inline, Math, Para, Strong, Table
from chainrule.views.mathtree import Bold, Mul, Node, Paren, Partial, Rel, Sym, Via, Word
from chainrule.views.story_derivations import dead_units
from chainrule.views.story_factors import delta_name, deltas, factor_note
from chainrule.views.writer import UNROUNDED_NOTE, Part, Writer, neuron_node


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
    yield Part("backward", (w.h(1, "4. Backward pass"), intro, *dead_units(w)))
    if any(c.form == "delta" for chains in r.chains.values() for c in chains):
        yield Part("deltas", tuple(deltas(w)))
    explained: set[tuple[str, str]] = set()
    summary = []
    for param in order(r):
        if only and param != only:
            continue
        yield Part("gradient", tuple(gradient(w, param, explained)), param)
        value = w.v[f"dL/d{param}"]
        summary.append(((w.math(param),), (Math(w.d_("L", param, slash=True)),), (Math(w.num(value)),)))
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


def _symbols(w: Writer, path: Path) -> Node:
    return Mul(tuple(w.d_(f.num, f.den) for f in path.factors))


def _product(w: Writer, path: Path) -> Node:
    return Mul(tuple(w.sn(f.value) for f in path.factors))


def _loss_sym(w: Writer, k: int) -> Sym:
    return Sym("L", None, Paren(Word(str(k + 1))) if w.r.suffix(k) else None)


def _paths_gradient(w: Writer, param: str, chain: Chain, k: int, explained: set[tuple[str, str]]) -> Iterator[Block]:
    lhs = Partial(_loss_sym(w, k), w.name(param))
    if len(chain.paths) == 1:
        path = chain.paths[0]
        yield Equations(((lhs, Rel(("=", _symbols(w, path)))),))
        yield from _notes(w, path, k, explained)
        yield Para((Strong("Finally"),))
        yield Equations(((lhs, Rel(("=", _product(w, path), *_result(w, path)))),))
        yield from _steps(w, path)
        return
    vias = [p.via or str(i + 1) for i, p in enumerate(chain.paths)]
    through = ", ".join(f"through {v}" for v in vias)
    yield Para(
        (
            w.math(param),
            f" reaches the loss along {len(vias)} paths ({through}): its gradient is the sum of the gradients along each.",
        )
    )
    parts = [Via(Partial(Sym("L"), w.name(param)), _via_node(w, v)) for v in vias]
    yield Equations(((lhs, Rel(("=", w.terms(parts)))),))
    for via, part, path in zip(vias, parts, chain.paths, strict=True):
        yield Para((Strong(f"Path through {via}"),))
        yield Equations(((part, Rel(("=", _symbols(w, path)))),))
        yield from _notes(w, path, k, explained)
        yield Equations(((part, Rel(("=", _product(w, path), *_result(w, path)))),))
    total = w.terms([w.sn(p.value) for p in chain.paths])
    yield Para((Strong("Total"),))
    yield Equations(((lhs, Rel(("=", total, *w.res(chain.value, w.total([p.value for p in chain.paths]))))),))


def _via_node(w: Writer, via: str) -> Node:
    """A path's label (h1 → o1) as math: the neuron names upright, joined by arrows."""
    names = [neuron_node(w, n) for n in via.split(" → ")]
    return names[0] if len(names) == 1 else Rel(tuple(x for n in names for x in ("→", n))[1:])


def _result(w: Writer, path: Path) -> tuple[Node | str, ...]:
    return w.res(path.value, w.product(*(f.value for f in path.factors)))


def _steps(w: Writer, path: Path) -> Iterator[Block]:
    """The product one multiplication at a time, as a person does it with a calculator."""
    if len(path.factors) <= 3:
        return
    items: list[tuple[Inline, ...]] = []
    for i in range(1, len(path.factors)):
        x, before, factor = path.partials[i], path.partials[i - 1], path.factors[i].value
        res: Node = w.num(x)
        if i == len(path.factors) - 1:
            res = Bold(res)
        printed = w.product(before, factor)
        note = ("", UNROUNDED_NOTE) if w.unrounded(x, printed) else ()
        items.append((Math(Rel((Mul((w.sn(before), w.sn(factor))), w.rel(x), res, *note))),))
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
            yield Para((Math(w.d_(f.num, f.den, slash=True)), " — ", *why))
            yield Equations(rows)


def _delta_gradient(w: Writer, param: str, chains: tuple[Chain, ...]) -> Iterator[Block]:
    nums: list[Node] = []
    printed = 0.0
    for chain in chains:
        for p in chain.paths:
            delta, last = p.factors[0], p.factors[-1]
            nums.append(Mul((w.sn(delta.value), w.sn(last.value))))
            printed += w.value(delta.value) * w.value(last.value)
    # The sum in names is the same every step: built (and printed) once.
    shape = tuple(
        (k, p.factors[0].den, p.factors[-1].kind, p.factors[-1].source, p.factors[-1].num, p.factors[-1].den)
        for k, chain in enumerate(chains)
        for p in chain.paths
    )
    names = w.once(("delta-gradient", param, shape), lambda: Rel(("=", w.terms(_delta_terms(w, shape)))))
    value = w.v[f"dL/d{param}"]
    rows: list[tuple[Node | str, Node | str]] = [(w.d_("L", param), names)]
    rows.append(("", Rel(("=", w.terms(nums), *w.res(value, printed)))))
    yield Equations(tuple(rows))


def _delta_terms(w: Writer, shape: tuple[tuple[int, str, str, str, str, str], ...]) -> list[Node]:
    """δ·a for each path of a gradient in the delta form (δ alone for a bias), in names."""
    terms: list[Node] = []
    for k, delta_den, kind, source, num, den in shape:
        d = delta_name(w, delta_den[2:], k)
        if kind == "input":
            terms.append(Mul((d, w.name(source + w.r.suffix(k))), dot=False))
        elif kind == "one":
            terms.append(d)
        else:
            terms.append(Mul((d, w.d_(num, den, slash=True)), dot=False))
    return terms
