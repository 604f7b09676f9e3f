"""Hand mode: the step as a person works it with a calculator, every intermediate rounded.

A person writes each intermediate to N decimal places and carries the written figure on, so the
errors compound: 0.7414 · 0.1868 ≈ 0.1385, 0.1385 · 0.4 = 0.0554, 0.0554 · 0.2413 ≈ 0.0134, ...
`hand_step` redoes the step that way and returns a StepRecord of the same shape as the exact
one, with `hand` set to N and `exact` holding the exact values, so every view can show both.

Sums and products of written figures are done in decimal (a calculator multiplies 0.5 · 0.1385
to 0.06925 exactly, and a person rounds that half up to 0.0693); functions such as σ take the
written figure and return a float, which is then rounded. Small numbers keep N − 1 significant
digits (0.0134 · 0.05 = 0.000670, not 0.0007), as a person writing them does and as the views
print them.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES, softmax_backward
from chainrule.errors import ChainruleError
from chainrule.record.derivations import dead_units, jacobian_names, output_chains
from chainrule.record.names import parse
from chainrule.record.rounding import round_half_up
from chainrule.record.step import Chain, Delta, Factor, LayerInfo, Path, StepRecord, Update


def hand_round(x: float | Decimal, places: int) -> float:
    """x rounded half up to `places` decimals; below 10^−1 at least places − 1 significant digits."""
    return round_half_up(x, places)


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _clean(x: float) -> Decimal:
    """A number computed in float from written figures (1 − 0.5933), without the float noise."""
    return _dec(x).quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP).normalize()


class _Hand:
    """The rounded values, built up in the order a person computes them."""

    def __init__(self, exact: StepRecord, places: int) -> None:
        self.r = exact
        self.n = places
        self.v: dict[str, float] = {}
        outs = exact.output_neurons
        self.terms = [f"loss_{n}" for n in outs if f"loss_{n}{exact.suffix(0)}" in exact.values]
        self.term_scale = 1.0 / len(outs) if "{m}" in LOSSES[exact.loss].outer_plain else 1.0

    def round(self, x: float | Decimal) -> float:
        return hand_round(x, self.n)

    def product(self, *xs: float) -> float:
        out = Decimal(1)
        for x in xs:
            out *= _dec(x)
        return self.round(out)

    def given(self) -> None:
        """Inputs, targets and parameters are given: written as they are."""
        r = self.r
        for k in range(len(r.examples)):
            s = r.suffix(k)
            for name in (*r.inputs, *(f"y_{n}" for n in r.output_neurons)):
                self.v[name + s] = r.values[name + s]
        for u in r.updates:
            self.v[u.param] = u.old

    def forward(self, k: int) -> None:
        """z = Σ w·a + b, rounded; a = f(z) of the written z, rounded; f'(z) likewise."""
        r, s, v = self.r, self.r.suffix(k), self.v
        sending = {ns.neuron: ns for ns in r.sums}
        for layer in r.layers:
            zs = []
            for n in layer.neurons:
                ns = sending[n]
                total = sum((_dec(v[w]) * _dec(v[src + s]) for w, src in ns.terms), Decimal(0))
                if ns.bias:
                    total += _dec(v[ns.bias])
                v[f"z_{n}{s}"] = self.round(total)
                zs.append(v[f"z_{n}{s}"])
            act = ACTIVATIONS[layer.activation]
            alpha = _alpha(layer, v)
            z = np.array(zs)
            a = np.array([self.round(x) for x in act.value(z, alpha)])
            deriv = act.derivative(z, a, alpha)
            for j, n in enumerate(layer.neurons):
                v[f"a_{n}{s}"] = float(a[j])
                if act.derivative_parts and act.derivative_parts_plain == "{0} · {1}":
                    # a · (1 − a) from the written a, multiplied as a person does: in decimal.
                    p, q = act.derivative_parts(float(z[j]), float(a[j]), alpha)
                    v[f"da_{n}/dz_{n}{s}"] = self.round(_clean(p) * _clean(q))
                else:
                    v[f"da_{n}/dz_{n}{s}"] = self.round(float(deriv[j]))
            for name, (a_j, a_i) in jacobian_names(layer.neurons, layer.activation, s).items():
                v[name] = self.product(-v[a_j], v[a_i])  # a softmax's ∂a_j/∂z_i = −a_j·a_i

    def loss(self) -> None:
        r, v = self.r, self.v
        loss = LOSSES[r.loss]
        losses = []
        for k in range(len(r.examples)):
            s = r.suffix(k)
            a, y, z = self._out(k, "a_"), self._out(k, "y_"), self._out(k, "z_")
            fused = r.fused and loss.fused_value is not None
            value = loss.fused_value(z, y) if fused else loss.value(a, y)  # type: ignore[misc]
            losses.append(self.round(float(value[0])))
            if s:
                v[f"loss{s}"] = losses[-1]
            for j, name in enumerate(self.terms):  # each output's share, loss_o1 (see graph.loss_term_names)
                v[name + s] = self.round(self.term_scale * float(loss.value(a[:, j : j + 1], y[:, j : j + 1])[0]))
        total = sum((_dec(x) for x in losses), Decimal(0))
        v["loss"] = self.round(total / len(losses) if r.reduction == "mean" else total)

    def _out(self, k: int, prefix: str) -> np.ndarray:
        s = self.r.suffix(k)
        return np.array([[self.v[f"{prefix}{n}{s}"] for n in self.r.output_neurons]])

    def backward(self, k: int) -> None:
        """dL/da and dL/dz = f'(z) · dL/da per neuron, output first, each rounded."""
        r, s, v = self.r, self.r.suffix(k), self.v
        loss = LOSSES[r.loss]
        scale = 1.0 / len(r.examples) if r.reduction == "mean" else 1.0
        a, y, z = self._out(k, "a_"), self._out(k, "y_"), self._out(k, "z_")
        out = r.layers[-1]
        d_a = loss.gradient(a, y)[0] * scale
        if r.fused and loss.fused_gradient is not None:
            d_z = loss.fused_gradient(z, a, y)[0] * scale
        elif not ACTIVATIONS[out.activation].elementwise:
            d_z = softmax_backward(a, d_a[None, :])[0]
        else:
            d_z = None
        for j, n in enumerate(out.neurons):
            v[f"dL/da_{n}{s}"] = self.round(float(d_a[j]))
            if d_z is not None:
                v[f"dL/dz_{n}{s}"] = self.round(float(d_z[j]))
            else:
                v[f"dL/dz_{n}{s}"] = self.product(v[f"da_{n}/dz_{n}{s}"], v[f"dL/da_{n}{s}"])
        for d in reversed(r.deltas[k]):
            if d.how != "hidden":
                continue
            total = sum((_dec(v[w]) * _dec(v[f"dL/dz_{m}{s}"]) for w, m, _, _ in d.terms), Decimal(0))
            v[f"dL/da_{d.neuron}{s}"] = self.round(total)
            v[f"dL/dz_{d.neuron}{s}"] = self.product(v[f"da_{d.neuron}/dz_{d.neuron}{s}"], v[f"dL/da_{d.neuron}{s}"])

    def factor(self, f: Factor, s: str) -> Factor:
        """The same local derivative, with the written figures."""
        v = self.v
        if f.kind == "loss":
            return dataclasses.replace(f, value=v[f"dL/d{f.den}{s}"])
        if f.kind == "activation":
            parts = f.parts
            if parts:
                layer = next(la for la in self.r.layers if parse(f.num).subject in la.neurons)
                act = ACTIVATIONS[layer.activation]
                assert act.derivative_parts is not None
                written = act.derivative_parts(v[f.den + s], v[f.num + s], _alpha(layer, v))
                parts = tuple(float(_clean(x)) for x in written)
            return dataclasses.replace(f, value=v[f"d{f.num}/d{f.den}{s}"], parts=parts)
        if f.kind == "weight":
            return dataclasses.replace(f, value=v[f.source])
        if f.kind == "input":
            return dataclasses.replace(f, value=v[f.source + s])
        if f.kind in ("fused", "softmax", "delta"):
            return dataclasses.replace(f, value=v[f"dL/d{f.den}{s}"])
        if f.kind == "alpha":
            z = v[f.source + s]
            return dataclasses.replace(f, value=z if z <= 0 else 0.0)
        return f

    def chain(self, c: Chain, k: int) -> Chain:
        s = self.r.suffix(k)
        paths = []
        for p in c.paths:
            factors = tuple(self.factor(f, s) for f in p.factors)
            partials = [factors[0].value]
            for f in factors[1:]:
                partials.append(self.product(partials[-1], f.value))
            paths.append(Path(factors, partials[-1], p.via, tuple(partials)))
        total = self.round(sum((_dec(p.value) for p in paths), Decimal(0)))
        return Chain(c.param, c.form, tuple(paths), total)

    def delta(self, d: Delta, k: int) -> Delta:
        s, v = self.r.suffix(k), self.v
        terms = tuple((w, m, v[w], v[f"dL/dz_{m}{s}"]) for w, m, _, _ in d.terms)
        return dataclasses.replace(
            d,
            d_a=v[f"dL/da_{d.neuron}{s}"],
            derivative=v[f"da_{d.neuron}/dz_{d.neuron}{s}"],
            terms=terms,
            value=v[f"dL/dz_{d.neuron}{s}"],
        )

    def update(self, u: Update, lr: float) -> Update:
        """θ_new = θ − (η · ∂L/∂θ): the product written down, then subtracted."""
        g = self.v[f"dL/d{u.param}"]
        if u.frozen:
            return dataclasses.replace(u, gradient=g)
        step = self.product(lr, g)
        return dataclasses.replace(u, gradient=g, new=self.round(_dec(u.old) - _dec(step)))


def _alpha(layer: LayerInfo, v: dict[str, float]) -> float:
    if layer.alpha_name:
        return v[layer.alpha_name]
    return layer.alpha if layer.alpha is not None else 0.0


def hand_step(exact: StepRecord, places: int) -> StepRecord:
    """The step worked by hand at `places` decimals: same shape as `exact`, `exact` attached."""
    if places < 1:
        raise ValueError("places must be at least 1")
    if exact.optimizer.name != "sgd":  # the hand-worked update is θ − η·g; another optimizer's is not written yet
        raise ChainruleError(
            f'--hand: works plain gradient descent by hand, and {exact.source} says optimizer = "{exact.optimizer.name}"'
        )
    h = _Hand(exact, places)
    h.given()
    n = len(exact.examples)
    for k in range(n):
        h.forward(k)
    h.loss()
    for k in range(n):
        h.backward(k)
    chains = {p: tuple(h.chain(c, k) for k, c in enumerate(cs)) for p, cs in exact.chains.items()}
    for p, cs in chains.items():
        if n > 1:
            for k, c in enumerate(cs):
                h.v[f"dL/d{p}#{k + 1}"] = c.value
        h.v[f"dL/d{p}"] = h.round(sum((_dec(c.value) for c in cs), Decimal(0)))
    deltas = tuple(tuple(h.delta(d, k) for d in ds) for k, ds in enumerate(exact.deltas))
    updates = tuple(h.update(u, exact.learning_rate) for u in exact.updates)
    for u in updates:
        h.v[f"{u.param}_new"] = u.new
        if not u.frozen:
            h.v[f"eta*dL/d{u.param}"] = h.product(exact.learning_rate, u.gradient)
        if f"d{u.param}" in exact.values:  # Δθ = −η·∂L/∂θ, the product written down
            h.v[f"d{u.param}"] = 0.0 if u.frozen else -h.v[f"eta*dL/d{u.param}"]
    values = {name: h.v[name] for name in exact.values if name in h.v}
    values.update({k: x for k, x in h.v.items() if k.startswith("eta*")})
    exact_values = dict(exact.values)
    for u in exact.updates:
        if not u.frozen:
            exact_values[f"eta*dL/d{u.param}"] = exact.learning_rate * u.gradient
    out, suffixes = exact.layers[-1], [exact.suffix(k) for k in range(n)]
    by_output = (output_chains(out.neurons, out.activation, values, s, exact.fused) for s in suffixes)
    return dataclasses.replace(
        exact,
        values=values,
        chains=chains,
        deltas=deltas,
        updates=updates,
        hand=places,
        exact=exact_values,
        output_chains=tuple(c for cs in by_output for c in cs),
        dead=dead_units(((la.neurons, la.activation) for la in exact.layers), values, suffixes),
    )
