"""The update of the story: every parameter's θ − η·∂L/∂θ, written so that its arithmetic holds as shown."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from chainrule.record.rounding import places as rounding_places
from chainrule.record.step import Update
from chainrule.views.doc import Block, Equations, Math, Para, Table
from chainrule.views.mathtree import Add, Frac, Mul, Node, Note, Num, Paren, Partial, Pow, Rel, Sqrt, Sym, Word
from chainrule.views.numbers import fmt, fmt_change
from chainrule.views.writer import UNROUNDED_NOTE, Writer, formula_row, holds, new_name, places, shown_value


def update(w: Writer, only: str | None) -> Iterator[Block]:
    """The update section: θ_new = θ − η·∂L/∂θ for every parameter, then a table of them all
    (with another optimizer: its state, velocity or moments, then the update)."""
    r, v = w.r, w.v
    yield w.h(1, "5. Update")
    if r.optimizer.name != "sgd":
        yield from optimizer_update(w, only)
        return
    yield Para(
        (
            "Gradient descent moves every parameter a small step against its gradient, all with the gradients computed before this update:",
        )
    )
    eta = w.num(r.learning_rate)
    theta = Sym("θ")
    rule = Add((theta, Mul((Sym("η"), Partial(Sym("L"), theta)), dot=False)), ("", "-"))
    yield Equations(((Sym("θ", Word("new")), Rel(("=", rule, ",", "quad", Sym("η"), "=", eta))),))
    shown = [u for u in r.updates if not only or u.param == only]
    # One precision for every new value of the document: the rows and the table agree to the digit.
    p = _common_precision(w, [u for u in shown if not u.frozen])
    rows: list[tuple[Node | str, Node | str]] = []
    table = []
    for u in shown:
        new = new_name(w, u.param)
        if u.frozen:
            rows.append((new, Rel(("=", w.num(u.old), "", Note("frozen")))))
        elif r.hand is not None and f"eta*dL/d{u.param}" in v:
            step = v[f"eta*dL/d{u.param}"]
            rhs = ("=", _minus(w.sn(u.old), Mul((eta, w.sn(u.gradient)))), "=", _minus(w.sn(u.old), w.sn(step)))
            rows.append((new, Rel((*rhs, w.rel(u.new), w.num(u.new)))))
        else:
            rows.append((new, _update_rhs(w, u, p)))
        new_value = w.num(u.new) if u.frozen or r.hand is not None else _fixed(u.new, p, w.d)
        table.append(
            (
                (w.math(u.param),),
                (Math(w.num(u.old)),),
                (Math(w.num(u.gradient)),),
                (Math(new_value), *((" (frozen)",) if u.frozen else ())),
            )
        )
    yield Equations(tuple(rows))
    yield Table(("parameter", "old value", "gradient", "new value"), tuple(table), (False, True, True, True))


def _minus(a: Node, b: Node) -> Add:
    return Add((a, b), ("", "-"))


# What each optimizer does, in words and as its rule in LaTeX and in plain Unicode (fixed text:
# engine.optimizers holds the arithmetic).
_RULES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "momentum": (
        "Momentum keeps a velocity for every parameter: the gradient added to the velocity of the update before, "
        "scaled by μ. The parameter moves against its velocity:",
        ((r"v_\theta = \mu \, v_\theta^{\text{prev}} + \frac{\partial L}{\partial \theta}", "v_θ = μ·v_θ_prev + ∂L/∂θ"),
         (r"\theta_{\text{new}} = \theta - \eta \, v_\theta", "θ_new = θ − η·v_θ")),
    ),
    "nesterov": (
        "Nesterov momentum keeps a velocity as momentum does, and moves each parameter by the gradient plus μ times the new velocity:",
        ((r"v_\theta = \mu \, v_\theta^{\text{prev}} + \frac{\partial L}{\partial \theta}", "v_θ = μ·v_θ_prev + ∂L/∂θ"),
         (r"\theta_{\text{new}} = \theta - \eta \left(\frac{\partial L}{\partial \theta} + \mu \, v_\theta\right)",
          "θ_new = θ − η(∂L/∂θ + μ·v_θ)")),
    ),
    "rmsprop": (
        "RMSProp keeps a running average s of every parameter's squared gradient and divides the step by its square root:",
        ((r"s_\theta = \rho \, s_\theta^{\text{prev}} + (1 - \rho) \left(\frac{\partial L}{\partial \theta}\right)^2",
          "s_θ = ρ·s_θ_prev + (1 − ρ)(∂L/∂θ)²"),
         (r"\theta_{\text{new}} = \theta - \eta \, \frac{\partial L / \partial \theta}{\sqrt{s_\theta} + \varepsilon}",
          "θ_new = θ − η·(∂L/∂θ)/(√s_θ + ε)")),
    ),
    "adam": (
        "Adam keeps running averages of every parameter's gradient (m) and squared gradient (s), corrects them for "
        "starting at 0 (t counts the updates, from 1), and moves the parameter by their quotient:",
        ((r"m_\theta = \beta_1 \, m_\theta^{\text{prev}} + (1 - \beta_1) \, \frac{\partial L}{\partial \theta}",
          "m_θ = β₁·m_θ_prev + (1 − β₁)·∂L/∂θ"),
         (r"s_\theta = \beta_2 \, s_\theta^{\text{prev}} + (1 - \beta_2) \left(\frac{\partial L}{\partial \theta}\right)^2",
          "s_θ = β₂·s_θ_prev + (1 − β₂)(∂L/∂θ)²"),
         (r"\hat m_\theta = \frac{m_\theta}{1 - \beta_1^t}", "m̂_θ = m_θ/(1 − β₁ᵗ)"),
         (r"\hat s_\theta = \frac{s_\theta}{1 - \beta_2^t}", "ŝ_θ = s_θ/(1 − β₂ᵗ)"),
         (r"\theta_{\text{new}} = \theta - \eta \, \frac{\hat m_\theta}{\sqrt{\hat s_\theta} + \varepsilon}",
          "θ_new = θ − η·m̂_θ/(√ŝ_θ + ε)")),
    ),
}  # fmt: skip


def optimizer_update(w: Writer, only: str | None) -> Iterator[Block]:
    """Momentum, Nesterov, RMSProp or Adam: the rule, then each parameter's state and update, with numbers."""
    r, v, o = w.r, w.v, w.r.optimizer
    words, rule = _RULES[o.name]
    yield Para((words,))
    constants = {
        "momentum": [(Sym("μ"), o.momentum)],
        "nesterov": [(Sym("μ"), o.momentum)],
        "rmsprop": [(Sym("ρ"), o.rho), (Sym("ε"), o.eps)],
    }
    beta = [(Sym("β", Num(1, "1")), o.beta1), (Sym("β", Num(2, "2")), o.beta2), (Sym("ε"), o.eps)]  # β₁ as in the rule
    given = [*constants.get(o.name, beta), (Sym("η"), r.learning_rate)]
    said: list[Node | str] = []
    for sym, x in given:
        said += [",", "quad", sym, "=", w.num(x)]
    rows = [formula_row(tex, plain) for tex, plain in rule]
    last_lhs, last_rhs = rows[-1]
    assert isinstance(last_rhs, Rel)
    rows[-1] = (last_lhs, Rel(last_rhs.parts + tuple(said)))
    yield Equations(tuple(rows))
    t = _adam_t(w, "")
    if o.name == "adam" and t is not None:
        tn = Num(t, str(t))
        yield Para(
            (
                "This is update ",
                Math(Rel((Sym("t"), "=", tn))),
                " of the run (the updates made so far, this one included), so the corrections divide by ",
                Math(Rel((Add((Num(1, "1"), Pow(w.num(o.beta1), tn)), ("", "-")), "=", w.num(v["adam_c1"])))),
                " and ",
                Math(Rel((Add((Num(1, "1"), Pow(w.num(o.beta2), tn)), ("", "-")), "=", w.num(v["adam_c2"])))),
                ":",
            )
        )
    out_rows: list[tuple[Node | str, Node | str]] = []
    table = []
    state = "m" if o.name == "adam" else "s" if o.name == "rmsprop" else "v"
    for u in r.updates:
        if only and u.param != only:
            continue
        out_rows += list(_optimizer_rows(w, u))
        table.append(((w.math(u.param),), (Math(w.num(u.old)),), (Math(w.num(u.gradient)),),
                      (Math(w.num(v[f"{state}_{u.param}"])),),
                      (Math(w.num(u.new)), *((" (frozen)",) if u.frozen else ()))))  # fmt: skip
    yield Equations(tuple(out_rows))
    head = {"v": "velocity v", "m": "average m", "s": "average s"}[state]
    yield Table(
        ("parameter", "old value", "gradient", head, "new value"), tuple(table), (False, True, True, True, True)
    )


def _state(letter: str, w: Writer, p: str, hat: bool = False) -> Sym:
    return Sym(letter, w.name(p), None, hat)


def _optimizer_rows(w: Writer, u: Update) -> Iterator[tuple[Node | str, Node | str]]:
    """One parameter's state (from the state before it) and its new value, numbers in."""
    r, v, o, p = w.r, w.v, w.r.optimizer, u.param
    g, eta = w.sn(u.gradient), w.num(r.learning_rate)
    how: Node
    if o.name in ("momentum", "nesterov"):
        vel = v[f"v_{p}"]
        rhs = Add((Mul((w.num(o.momentum), w.sn(v[f"v_{p}_prev"]))), g), ("", "+"))
        yield _state("v", w, p), Rel(("=", rhs, w.rel(vel), w.num(vel)))
        how = w.sn(vel) if o.name == "momentum" else Paren(Add((g, Mul((w.num(o.momentum), w.sn(vel)))), ("", "+")))
    elif o.name == "rmsprop":
        sq = v[f"s_{p}"]
        rhs = Add(
            (Mul((w.num(o.rho), w.sn(v[f"s_{p}_prev"]))), Mul((w.num(1 - o.rho), Pow(g, Num(2, "2"))))), ("", "+")
        )
        yield _state("s", w, p), Rel(("=", rhs, w.rel(sq), w.num(sq)))
        how = Frac(g, Add((Sqrt(w.num(sq)), w.num(o.eps)), ("", "+")))
    else:
        yield from _adam_rows(w, u)
        how = Frac(w.num(v[f"mhat_{p}"]), Add((Sqrt(w.num(v[f"shat_{p}"])), w.num(o.eps)), ("", "+")))
    new = new_name(w, p)
    if u.frozen:
        yield new, Rel(("=", w.num(u.old), "", Note("frozen")))
    else:
        yield new, Rel(("=", _minus(w.sn(u.old), Mul((eta, how))), w.rel(u.new), w.num(u.new)))


def _adam_rows(w: Writer, u: Update) -> Iterator[tuple[Node | str, Node | str]]:
    """Adam's moments, then their corrections for starting at 0, worked with t (the update's number)."""
    v, o, p = w.v, w.r.optimizer, u.param
    g = w.sn(u.gradient)
    m, sq, mh, sh = (v[f"{k}_{p}"] for k in ("m", "s", "mhat", "shat"))
    rhs = Add((Mul((w.num(o.beta1), w.sn(v[f"m_{p}_prev"]))), Mul((w.num(1 - o.beta1), g))), ("", "+"))
    yield _state("m", w, p), Rel(("=", rhs, w.rel(m), w.num(m)))
    rhs = Add(
        (Mul((w.num(o.beta2), w.sn(v[f"s_{p}_prev"]))), Mul((w.num(1 - o.beta2), Pow(g, Num(2, "2"))))), ("", "+")
    )
    yield _state("s", w, p), Rel(("=", rhs, w.rel(sq), w.num(sq)))
    t = _adam_t(w, p)
    if t is None:
        yield (
            _state("m", w, p, hat=True),
            Rel((w.rel(mh), w.num(mh), ",", "", _state("s", w, p, hat=True), w.rel(sh), w.num(sh))),
        )
        return
    tn = Num(t, str(t))
    for letter, beta, raw, hat, c in (("m", o.beta1, m, mh, "adam_c1"), ("s", o.beta2, sq, sh, "adam_c2")):
        den = Add((Num(1, "1"), Pow(w.num(beta), tn)), ("", "-"))
        den_n = Add((Num(1, "1"), w.num(1 - v[c])), ("", "-"))  # 1 − β^t, with β^t's number
        rhs_parts: tuple[Node | str, ...] = ("=", Frac(w.num(raw), den), "=", Frac(w.num(raw), den_n))
        rhs_parts += ("=", Frac(w.num(raw), w.num(v[c])))
        yield _state(letter, w, p, hat=True), Rel((*rhs_parts, w.rel(hat), w.num(hat)))


def _adam_t(w: Writer, p: str) -> int | None:
    """Adam's t (this update's number, from 1), where the record holds it."""
    return int(w.v["adam_t"]) if "adam_t" in w.v else None


# Decimals tried past the fewest that show every change, for arithmetic that holds as shown. A
# trained parameter has all of float64's digits: at each number of decimals a row's shown
# θ − η·g misses its shown θ_new in the last place about one time in four, so with several
# parameters no number of decimals short of all 15 made every row hold (half the steps of xor's
# first hundred printed 15). Past these, a row that misses says it came from the unrounded values.
EXTRA_DECIMALS = 1


def _common_precision(w: Writer, updates: list[Update]) -> int:
    """The fewest decimals, from those that show every change (0.299250, not 0.2993) up to
    EXTRA_DECIMALS more, at which a reader who multiplies and subtracts the shown numbers gets
    every shown result; where none does, the fewest: one for all."""
    start = max((places(fmt_change(u.new, u.change, w.d)) or w.d for u in updates), default=w.d)
    least = max(start, w.d)
    for p in range(least, min(least + EXTRA_DECIMALS, 15) + 1):
        if all(_holds_at(w, u, p) for u in updates):
            return p
    return least


def _holds_at(w: Writer, u: Update, p: int) -> bool:
    eta, d = w.r.learning_rate, w.d
    step_value = eta * u.gradient
    if "e" in fmt(step_value, d):  # a step far below the decimals shown: the value stays as written
        return True
    step = _fixed(step_value, p, d).shown
    if not holds(step, eta * shown_value(fmt(u.gradient, p))):  # (the cheaper test first)
        return False
    return holds(_fixed(u.new, p, d).shown, shown_value(_fixed(u.old, p, d).shown) - shown_value(step))


def _update_rhs(w: Writer, u: Update, p: int) -> Rel:
    """θ − η·g = θ − (η·g) = θ_new, every number with the document's decimals for updates (`p`)."""
    eta = w.r.learning_rate
    old, step, new = (_fixed(x, p, w.d) for x in (u.old, eta * u.gradient, u.new))
    grad = Num(u.gradient, fmt(u.gradient, w.d if "e" in fmt(u.gradient, w.d) else p).replace("−", "-"))
    rel = "=" if shown_value(new.shown) == u.new else "≈"
    old_p, grad_p, step_p = (Paren(x) if x.negative else x for x in (old, grad, step))
    note: tuple[Node | str, ...] = () if _holds_at(w, u, p) else ("", UNROUNDED_NOTE)
    return Rel(("=", _minus(old_p, Mul((w.num(eta), grad_p))), "=", _minus(old_p, step_p), rel, new, *note))


@lru_cache(maxsize=4096)  # the update's precision is tried at several p for the same values
def _fixed(x: float, p: int, digits: int = 0) -> Num:
    """x with p decimals (more for a small x, which keeps digits − 1 significant ones by the one rule),
    trailing zeros dropped where x is exact without them (a given 0.15)."""
    if digits and "e" in fmt(x, digits):  # far below the decimals shown: a power of ten, by the one rule
        return Num(x, fmt(x, digits).replace("−", "-"))
    p = max(p, rounding_places(x, digits)) if digits else p
    text = f"{x:.{p}f}"
    if text[-1] == "0" and "." in text and abs(float(text) - x) <= 10.0 ** -(p + 6):
        text = text.rstrip("0").rstrip(".")
    return Num(x, "0" if text in ("-0", "") else text)
