"""The backward pass of the story: every gradient as its chain of factors, or in the delta form.

A path-form chain (the 2-2-1 reference) is told as the reference tells it: the chain rule in
symbols, each local derivative with its own short derivation the first time it appears, then
the product step by step. Deeper or wider networks use the record's delta form: each
δ_j = ∂L/∂z_j is worked once, from the output down, and every gradient is δ · input.
"""

from __future__ import annotations

from collections.abc import Iterator

from chainrule.engine.functions import ACTIVATIONS, LOSSES
from chainrule.record.step import Chain, Factor, Path, StepRecord
from chainrule.views.doc import (
    Block,
    Bullets,
    Equations,
    Inline,
    Math,
    Para,
    Strong,
    Table,
    partial,
    plain_to_tex,
    tex_words,
)
from chainrule.views.story import Writer, _split


def order(r: StepRecord) -> list[str]:
    """Parameters from the output layer down, as a worked example takes them."""
    out: list[str] = []
    by_layer: dict[str, list[str]] = {}
    for ns in r.sums:
        by_layer.setdefault(ns.layer, []).extend(wt for wt, _ in ns.terms)
    for layer in reversed(r.layers):
        out += by_layer[layer.name] + list(layer.bias_names) + ([layer.alpha_name] if layer.alpha_name else [])
    return out


def backward(w: Writer, only: str | None) -> Iterator[Block]:
    r = w.r
    yield w.h(1, "4. Backward pass")
    yield Para(
        (
            "Gradient descent needs the gradient of the loss with respect to every weight and bias. "
            "The chain rule gives each one as a product of local derivatives along the way from the loss back to the parameter.",
        )
    )
    delta_form = any(c.form == "delta" for chains in r.chains.values() for c in chains)
    if delta_form:
        yield from _deltas(w)
    explained: set[tuple[str, str]] = set()
    summary = []
    for param in order(r):
        if only and param != only:
            continue
        chains = r.chains[param]
        yield w.h(2, f"Gradient of {param}")
        if chains[0].form == "delta":
            yield from _delta_gradient(w, param, chains)
        else:
            for k, chain in enumerate(chains):
                yield from _paths_gradient(w, param, chain, k, explained)
        summary.append(((w.m(param),), (Math(rf"\partial L/\partial {w.t(param)}"),), (w.n(w.v[f"dL/d{param}"]),)))
    if not only:
        yield w.h(2, "All gradients")
        yield Table(("parameter", "gradient", "value"), tuple(summary), (False, False, True))


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
        yield Equations(((lhs, f"= {_product(w, path)} {w.eq(path.value)} {w.n(path.value)}"),))
        yield from _steps(w, path)
        return
    vias = [p.via or str(i + 1) for i, p in enumerate(chain.paths)]
    yield Para(
        (
            Math(w.t(param)),
            f" is used by {len(vias)} neurons ({', '.join(vias)}), so it reaches the loss along {len(vias)} paths: "
            "its gradient is the sum of the gradients along each.",
        )
    )
    parts = [rf"\frac{{\partial L}}{{\partial {w.t(param)}}}\Big|_{{{tex_words(f'via {v}')}}}" for v in vias]
    yield Equations(((lhs, "= " + " + ".join(parts)),))
    for via, part, path in zip(vias, parts, chain.paths, strict=True):
        yield Para((Strong(f"Path through {via}"),))
        yield Equations(((part, "= " + _symbols(w, path)),))
        yield from _notes(w, path, k, explained)
        yield Equations(((part, f"= {_product(w, path)} {w.eq(path.value)} {w.n(path.value)}"),))
    total = " + ".join(w.s(p.value) for p in chain.paths)
    yield Para((Strong("Total"),))
    yield Equations(((lhs, f"= {total} {w.eq(chain.value)} {w.n(chain.value)}"),))


def _steps(w: Writer, path: Path) -> Iterator[Block]:
    """The product one multiplication at a time, as a person does it with a calculator."""
    if len(path.factors) <= 3:
        return
    items: list[tuple[Inline, ...]] = []
    for i in range(1, len(path.factors)):
        text = rf"{w.s(path.partials[i - 1])} \cdot {w.s(path.factors[i].value)} {w.eq(path.partials[i])} "
        res = w.n(path.partials[i])
        last = i == len(path.factors) - 1
        items.append((Math(text + (rf"\mathbf{{{res}}}" if last else res)),))
    yield Para(("Step by step:",))
    yield Bullets(tuple(items))


def _notes(w: Writer, path: Path, k: int, explained: set[tuple[str, str]]) -> Iterator[Block]:
    for f in path.factors:
        if (f.num, f.den) in explained:
            continue
        explained.add((f.num, f.den))
        note = _factor(w, f, k)
        if note:
            why, rows = note
            yield Para((Strong(""), Math(partial(f.num, f.den, w.names, slash=True)), " — ", *why))
            yield Equations(rows)


def _sum_tex(w: Writer, neuron: str) -> str:
    ns = next(x for x in w.r.sums if x.neuron == neuron)
    terms = [rf"{w.t(src)} \, {w.t(wt)}" for wt, src in ns.terms] + ([w.t(ns.bias)] if ns.bias else [])
    return " + ".join(terms)


def _factor(w: Writer, f: Factor, k: int) -> tuple[tuple[Inline, ...], tuple[tuple[str, str], ...]] | None:
    """Why one local derivative has its value: (words, equations)."""
    r, s, v = w.r, w.r.suffix(k), w.v
    lhs = partial(f.num, f.den, w.names)
    if f.kind == "loss":
        n = f.den.removeprefix("a_")
        loss = LOSSES[r.loss]
        m = str(len(r.output_neurons))
        sym = plain_to_tex(loss.gradient_plain, a=w.t(f.den), y=w.t(f"y_{n}"), m=m)
        nums = plain_to_tex(loss.gradient_plain, a=w.s(v[f.den + s]), y=w.s(v[f"y_{n}{s}"]), m=m)
        words = "the derivative of the loss with respect to the prediction"
        if r.reduction == "mean" and len(r.examples) > 1:
            words += f" (times 1/{len(r.examples)}, for the mean over the batch)"
        return (words + ":",), (
            _split(loss.gradient_formula),
            (lhs, f"= {sym} = {nums} {w.eq(f.value)} {w.n(f.value)}"),
        )
    if f.kind == "activation":
        layer = next(la for la in r.layers if f.num.removeprefix("a_") in la.neurons)
        act = ACTIVATIONS[layer.activation]
        a, z = w.t(f.num), w.t(f.den)
        words = f"the derivative of the activation {act.name}: {act.derivative_words}:"
        rows = [_split(act.derivative_formula)]
        expr = plain_to_tex(act.derivative_plain, a=a, z=z)
        if act.derivative_parts and f.parts:
            nums = plain_to_tex(
                act.derivative_parts_plain.replace("{0}", "{p0}").replace("{1}", "{p1}"),
                **{f"p{i}": w.s(p) for i, p in enumerate(f.parts)},
            )
            rows.append((lhs, f"= {expr} = {nums} {w.eq(f.value)} {w.n(f.value)}"))
        else:
            rows.append((lhs, rf"= {expr} \quad \text{{at }} {z} = {w.n(v[f.den + s])}, \ = {w.n(f.value)}"))
        return (words,), tuple(rows)
    if f.kind in ("weight", "input"):
        neuron = f.num.removeprefix("z_")
        shown = w.t(f.source)
        why: tuple[Inline, ...] = (
            "the weighted sum ",
            Math(rf"{w.t(f.num)} = {_sum_tex(w, neuron)}"),
            " contains the term ",
            Math(rf"{w.t(f.den)} \, {shown}" if f.kind == "weight" else rf"{shown} \, {w.t(f.den)}"),
            ", and the derivative of ",
            Math(r"c \, x"),
            " with respect to ",
            Math("x"),
            " is the constant ",
            Math("c"),
            ":",
        )
        value = v[f.source + s] if f.kind == "input" else v[f.source]
        return why, ((lhs, f"= {shown} {w.eq(value)} {w.n(value)}"),)
    if f.kind == "one":
        return (Math(w.t(f.den)), " is added directly to ", Math(w.t(f.num)), ":"), ((lhs, "= 1"),)
    if f.kind == "alpha":
        return ("α scales the negative part of the activation:",), (
            (lhs, rf"= {w.t(f.source)} \text{{ if }} \le 0 \text{{, else }} 0 = {w.n(f.value)}"),
        )
    if f.kind == "fused":
        out = ACTIVATIONS[r.layers[-1].activation].name
        return (
            f"with {LOSSES[r.loss].name.replace('_', ' ')} and a {out} output the two derivatives simplify together:",
        ), ((lhs, rf"= \hat{{y}} - y = {w.n(f.value)}"),)
    if f.kind == "softmax":
        return ("softmax's output depends on every z, through its full Jacobian:",), ((lhs, rf"= {w.n(f.value)}"),)
    return None


def _deltas(w: Writer) -> Iterator[Block]:
    r = w.r
    yield Para(
        (
            "Writing out every path from the loss to every parameter would repeat the same products many times, "
            "so this network is worked in the ",
            Strong("delta form"),
            ": each neuron's ",
            Math(r"\delta_j = \partial L/\partial z_j"),
            " is computed once, from the output layer down, and reused:",
        )
    )
    yield Equations(
        (
            (r"\delta_j", r"= f'(z_j) \sum_k w_{kj} \, \delta_k"),
            (r"\frac{\partial L}{\partial w_{ji}}", r"= \delta_j \, a_i"),
        )
    )
    for k, deltas in enumerate(r.deltas):
        s = r.suffix(k)
        sup = f"^{{({k + 1})}}" if s else ""
        if s:
            yield Para((Strong(f"Example {r.examples[k] + 1}"),))
        rows = []
        by_layer = [[d for d in deltas if d.neuron in layer.neurons] for layer in r.layers]
        for d in (d for layer in reversed(by_layer) for d in layer):
            name = w.t(f"delta_{d.neuron}") + sup
            a, z = w.t(f"a_{d.neuron}{s}"), w.t(f"z_{d.neuron}{s}")
            if d.how == "output":
                rows.append(
                    (
                        name,
                        rf"= \frac{{\partial L}}{{\partial {a}}} \, f'({z}) = {w.s(d.d_a)} \cdot {w.s(d.derivative)} {w.eq(d.value)} {w.n(d.value)}",
                    )
                )
            elif d.how == "fused":
                diff = rf"{a} - {w.t(f'y_{d.neuron}{s}')}"
                if r.reduction == "mean" and len(r.examples) > 1:
                    diff = rf"\frac{{1}}{{{len(r.examples)}}}\left({diff}\right)"
                rows.append((name, rf"= {diff} {w.eq(d.value)} {w.n(d.value)}"))
            elif d.how == "softmax":
                rows.append(
                    (
                        name,
                        rf"= {a}\left(\frac{{\partial L}}{{\partial {a}}} - \sum_m \frac{{\partial L}}{{\partial a_m}} a_m\right) {w.eq(d.value)} {w.n(d.value)}",
                    )
                )
            else:
                total = " + ".join(rf"{w.t(wn)} \, {w.t('delta_' + m)}{sup}" for wn, m, _, _ in d.terms)
                nums = " + ".join(rf"{w.s(wv)} \cdot {w.s(dv)}" for _, _, wv, dv in d.terms)
                rows.append((name, rf"= f'({z}) \left({total}\right)"))
                rows.append(("", rf"= {w.s(d.derivative)} \cdot \left({nums}\right) {w.eq(d.value)} {w.n(d.value)}"))
        yield Equations(tuple(rows))


def _delta_gradient(w: Writer, param: str, chains: tuple[Chain, ...]) -> Iterator[Block]:
    r = w.r
    sym, nums = [], []
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
    lhs = rf"\frac{{\partial L}}{{\partial {w.t(param)}}}"
    yield Equations(
        (
            (lhs, "= " + " + ".join(sym)),
            ("", f"= {' + '.join(nums)} {w.eq(w.v[f'dL/d{param}'])} {w.n(w.v[f'dL/d{param}'])}"),
        )
    )
