"""The checker's report, shown: a teacher's margin notes in the terminal, or one JSON object.

Nothing is computed here: every number comes from the CheckReport.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chainrule import __version__
from chainrule.check.checker import REPLAY_LIMIT, STATUSES, CheckReport, ClaimResult, Diagnosis
from chainrule.check.derivation import Derivation, Term
from chainrule.check.grading import MARKS as MARK_ORDER
from chainrule.check.grading import Mark, claim_key, marks_of
from chainrule.engine.functions import LOSSES
from chainrule.views.escape import terminal
from chainrule.views.numbers import fmt, signed

# Each mark as feedback shows it (docs/classroom.md): its symbol, its style and its words.
MARKS: dict[Mark, tuple[str, str, str]] = {
    "ok": ("✓", "green", "ok"),
    "rounding": ("≈", "yellow", "rounding"),
    "too_coarse": ("…", "yellow", "too coarse"),
    "follow_through": ("→", "cyan", "follow-through"),
    "wrong": ("✗", "bold red", "wrong"),
    "blank": ("·", "dim", "blank"),
}

_SIMPLE = {
    ("half_factor", "dropped"): "the ½ of the loss dropped: L and ∂L/∂ŷ come out twice the exact ones",
    ("half_factor", "twice"): "the ½ of the loss applied twice: L and ∂L/∂ŷ come out half the exact ones",
    ("half_factor", "gradient_doubled"): "∂L/∂ŷ taken as 2(ŷ − y): the ½ of L kept in L but not in its derivative",
    ("half_factor", "added"): "a ½ put in front of a loss that has none: L and ∂L/∂ŷ come out half the exact ones",
    ("half_factor", "gradient_halved"): "∂L/∂ŷ without the 2 that differentiating the square gives "
    "(ŷ − y where 2(ŷ − y) belongs): it comes out half the exact one",
    ("sign", "update"): "the gradient added instead of subtracted: θ + η·∂L/∂θ",
    ("sign", "gradient"): "∂L/∂ŷ taken as y − ŷ instead of ŷ − y, which flips every gradient",
    ("sum_vs_mean", "sum"): "the batch's loss and gradients summed over its examples where the file says mean",
    ("sum_vs_mean", "mean"): "the batch's loss and gradients averaged over its examples where the file says sum",
    ("sum_vs_mean", "sum_gradients"): "the loss averaged over the batch but its gradients summed: "
    "the 1/N of the mean left out of the gradients only",
    ("sum_vs_mean", "mean_gradients"): "the loss summed over the batch but its gradients averaged: "
    "a 1/N put in the gradients only",
    ("momentum_dropped", ""): "the momentum term left out of the velocity: v = g where v = μ·v_prev + g belongs",
    ("velocity_ema", ""): "the velocity taken as a running average, v = μ·v_prev + (1 − μ)·g, where the file's "
    "v = μ·v_prev + g belongs (its Δw = −η·v comes out (1 − μ) times too small at first)",
    ("bias_correction_omitted", ""): "Adam without bias correction: m̂ = m and ŝ = s where m̂ = m/(1 − β₁ᵗ) "
    "and ŝ = s/(1 − β₂ᵗ) belong",
}
_WHERE = {
    ("activation_derivative_dropped", ""): "the factor f′(z) of layer {w} left out of the chain (∂L/∂z taken as ∂L/∂a)",
    ("z_instead_of_a", "forward"): "layer {w}'s z fed forward where its activation a belongs",
    ("z_instead_of_a", "gradient"): "layer {w}'s z used for ∂z/∂w of the next layer where its activation a belongs",
    ("z_instead_of_a", "derivative"): "f′ of layer {w} written in a but evaluated with z (σ′ as z(1 − z))",
    ("z_instead_of_a", "derivative_at_a"): "f′ of layer {w} evaluated at a where z belongs (f′(a) instead of f′(z))",
    ("z_instead_of_a", "output"): "the loss taken of z_{w} where ŷ = a_{w} belongs",
    ("updated_weights_in_backprop", ""): "layer {w}'s gradients computed through output weights already updated in "
    "this step (w_new where w belongs)",
    ("shared_bias_one_path", ""): "the shared bias's gradient taken through {w} only, instead of summed over its layer",
    ("bias_omitted", "layer"): "the bias left out of layer {w}'s sums",
    ("bias_omitted", "neuron"): "the bias left out of z_{w}",
}


def _n(x: float | None, claim: ClaimResult) -> str:
    return "—" if x is None else fmt(x, max(claim.decimals + 2, 4))


def derivation_text(name: str, d: Derivation, digits: int) -> str:
    """One line: the name, the formula in names, the same with numbers, the result."""
    n = [_term(t, digits) for t in d.terms]
    labels = [t.label for t in d.terms]
    value = fmt(d.value, digits)
    if d.op == "given":
        return f"{name} = {value} (given)"
    if d.op == "sum":
        scale = "" if d.coef == 1 else f"{fmt(d.coef, digits)}·"
        wrap = (lambda s: f"{scale}({s})") if scale else (lambda s: s)
        return f"{name} = {wrap(' + '.join(labels))} = {wrap(' + '.join(n))} = {value}"
    if d.op == "product":
        const = [] if d.coef == 1 else [signed(d.coef, digits)]  # −η of Δθ, 1/(1 − βᵗ) of Adam's m̂
        return f"{name} = {' · '.join(const + labels)} = {' · '.join(const + n)} = {value}"
    if d.op == "update":
        eta = fmt(d.coef, digits)
        return f"{name} = {labels[0]} − η·{labels[1]} = {n[0]} − {eta}·{n[1]} = {value}"
    formula = _loss_formula(name, d, digits)
    if formula is not None:
        return f"{name} = {formula[0]} = {formula[1]} = {value}"
    return f"{name} = {d.function}({', '.join(labels)}) = {d.function}({', '.join(n)}) = {value}"


def _term(t: Term, digits: int) -> str:
    """A term's number: a product's factors written out (0.4 · 0.1385), so the sum can be followed."""
    if t.factors:
        return " · ".join(signed(x, digits) for x in t.factors)
    return signed(t.value, digits)


def _loss_formula(name: str, d: Derivation, digits: int) -> tuple[str, str] | None:
    """The loss as its own formula (½ · (y − ŷ)²), in names and in numbers; None for anything else.

    The operands are the outputs' activations, then their targets (half and half).
    """
    m = len(d.terms) // 2
    a, y = d.terms[:m], d.terms[m:]
    if d.function in LOSSES and LOSSES[d.function].term_plain:
        loss = LOSSES[d.function]

        def written(values: list[tuple[str, str]]) -> str:
            terms = [loss.term_plain.format(y=yi, a=ai) for ai, yi in values]
            total = terms[0] if len(terms) == 1 else "[" + " + ".join(terms) + "]"
            return loss.outer_plain.format(sum=total, m=m)

        nums = [(signed(ai.value, digits), signed(yi.value, digits)) for ai, yi in zip(a, y, strict=True)]
        return written([(ai.label, yi.label) for ai, yi in zip(a, y, strict=True)]), written(nums)
    return None


def detail(d: Diagnosis, claim: ClaimResult, report: CheckReport) -> str:
    """The diagnosis in words, as a teacher would write it beside the number."""
    gives = f" (gives {_n(d.value, claim)})" if d.value is not None else ""
    if d.mistake == "too_coarse":
        if d.digits is None:
            return f"too coarse: no significant digit of the exact {_n(claim.exact, claim)}"
        return f"too coarse: {claim.decimals} decimal places where {d.digits} are asked"
    if d.mistake == "rounded_too_early":
        return (
            f"rounded too early: every intermediate rounded to {d.digits} places moves it beyond rounding "
            f"at the {claim.decimals} places written{gives}"
        )
    if (d.mistake, d.kind) in _SIMPLE:
        return _SIMPLE[(d.mistake, d.kind)] + gives
    if (d.mistake, d.kind) in _WHERE:
        return _WHERE[(d.mistake, d.kind)].format(w=d.where) + gives
    claimed = {(c.name, c.step): c.written for c in report.claims}
    for c in report.claims:  # the author's previous-step values, as the next step reads them (w1 ← w1_new)
        carried = c.name[: -len("_new")] if c.name.endswith("_new") else f"{c.name}_prev"
        claimed.setdefault((carried, c.step + 1), f"{c.written} (step {c.step}'s {c.name})")
    sources = ", ".join(f"{s} = {claimed.get((s, claim.step), '?')}" for s in d.sources)
    if d.mistake == "learning_rate":
        return f"the update used learning rate {fmt(d.implied_learning_rate or 0, 6)} instead of {fmt(report.learning_rate, 6)}{gives}"
    if d.mistake == "propagated" and d.kind == "partly":
        return f"it also reads the wrong {sources}: mend that first"
    if d.mistake == "propagated":
        return f"right given the claimed {sources}, which is wrong: mend that first"
    if d.mistake == "rounding" and d.kind == "upstream":
        return f"follows from the rounded {sources}" if sources else "follows from the numbers written upstream"
    if d.mistake == "rounding" and d.kind == "intermediates":
        return f"what rounding every intermediate to {d.digits} places gives{gives}"
    if d.mistake == "rounding":
        way = "up" if claim.claimed > claim.exact else "down"
        return f"the exact {_n(claim.exact, claim)} rounded {way} instead of to the nearest"
    if d.mistake == "slip" and d.derivation is not None:
        text = _slip(d.derivation, claim)
        if d.kind == "not_replayed":
            return text.replace("no known mistake gives this", f"mistakes are searched only up to step {REPLAY_LIMIT}")
        if d.kind == "last_digit":
            off = round(abs(claim.claimed - claim.exact) * 10**claim.decimals)
            return text.replace(
                "no known mistake gives this", f"off by {off} in the last digit, which no rounding gives"
            )
        return text
    return d.mistake


def _slip(d: Derivation, claim: ClaimResult) -> str:
    """The slip's computation stated whole, constants included (−η, 1/N, 1/(1 − βᵗ)), from the values read."""
    digits = max(claim.decimals + 2, 4)
    terms = ", ".join(
        f"{t.label} = {_term(t, digits)}" + (f" = {fmt(t.value, digits)}" if t.factors else "") for t in d.terms
    )
    total = fmt(d.value, digits)
    if d.op == "sum":
        if d.coef == 1:
            return f"no known mistake gives this: an arithmetic slip in this sum: the terms are {terms} and add up to {total}"
        inner = fmt(sum(t.value for t in d.terms), digits)
        return (
            f"no known mistake gives this: an arithmetic slip in this sum: the terms are {terms}, which add up to "
            f"{inner}, times {fmt(d.coef, digits)} gives {total}"
        )
    if d.op == "product":
        const = "" if d.coef == 1 else f"the constant {fmt(d.coef, digits)}, "
        return (
            f"no known mistake gives this: an arithmetic slip in this product: the factors are {const}{terms} "
            f"and multiply to {total}"
        )
    return f"no known mistake gives this: an arithmetic slip: {derivation_text(claim.name, d, digits)}"


def to_dict(report: CheckReport) -> dict[str, Any]:
    """The report as plain data; see docs/check.md for every field."""
    claims = []
    marks = marks_of(report)
    for c in report.claims:
        diagnosis = []
        for d in c.diagnosis:
            entry: dict[str, Any] = {"mistake": d.mistake, "detail": detail(d, c, report)}
            if d.kind:
                entry["kind"] = d.kind
            if d.where:
                entry["where"] = d.where
            if d.value is not None:
                entry["value"] = d.value
            if d.implied_learning_rate is not None:
                entry["implied_learning_rate"] = d.implied_learning_rate
            if d.digits is not None:
                entry["digits"] = d.digits
            if d.sources:
                entry["sources"] = list(d.sources)
            diagnosis.append(entry)
        claims.append(
            {
                "name": c.name,
                **({"as_written": c.as_written} if c.as_written else {}),
                **({"sign": c.sign} if c.sign != 1 else {}),
                "step": c.step,
                "claimed": c.claimed,
                "written": c.written,
                "decimals": c.decimals,
                "exact": c.exact,
                "status": c.status,
                "mark": marks[claim_key(c)],
                "first_wrong": None if c.first_wrong is None else {"name": c.first_wrong[0], "step": c.first_wrong[1]},
                "diagnosis": diagnosis,
            }
        )
    return {
        "chainrule": __version__,
        "network": report.network,
        "answers": report.answers,
        "summary": {s: report.count(s) for s in STATUSES},
        "marks": {m: sum(1 for v in marks.values() if v == m) for m in MARK_ORDER if m != "blank"},
        "claims": claims,
        "misnamed": [
            {"name": m.key, "written": m.written, "suggestions": list(m.suggestions)} for m in report.misnamed
        ],
    }


def render_json(report: CheckReport) -> str:
    return json.dumps(to_dict(report), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def render_text(report: CheckReport, marks: dict[str, Mark] | None = None) -> RenderableType:
    """The claims in computation order with a mark beside each (✓ ≈ … → ✗, the mark scheme's: see
    grading.marks_of), then the first wrong one worked out, then the marks counted."""
    marks = marks if marks is not None else marks_of(report)
    heading = terminal(f"Checking {report.answers} against {report.title or report.network}")
    parts: list[RenderableType] = [Rule(Text(heading, style="bold"), style="cyan")]
    first = report.first_wrong
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1))
    for col in ("", "step", "value", "written", "exact", "note"):
        table.add_column(col, no_wrap=col != "note")
    for c in report.claims:
        mark, style, _ = MARKS[marks[claim_key(c)]]
        # The first wrong number is worked out in full below the table.
        note = "← first wrong number" if c is first else "; ".join(detail(d, c, report) for d in c.diagnosis)
        row_style = "bold red" if c is first else None
        name = terminal(f"{c.as_written} ({c.name})" if c.as_written else c.name)
        exact = _n(c.sign * c.exact, c)  # in the author's sign, beside what they wrote
        note = terminal(note)
        table.add_row(Text(mark, style=style), str(c.step), name, c.written, exact, note, style=row_style)
    parts.append(table)
    if first is not None:
        parts.append(
            Rule(
                Text(f"First wrong number: {first.name} (step {first.step})", style="bold red"),
                align="left",
                style="red",
            )
        )
        digits = max(first.decimals, 4)
        parts.append(Text(terminal("  correct: " + derivation_text(first.name, first.derivation, digits))))
        author = first.as_written or first.name
        if first.sign != 1 or first.as_written:  # the author's name and sign beside chainrule's
            how = "in your names and sign" if first.sign != 1 else "in your names"
            value = fmt(first.sign * first.exact, digits)
            parts.append(Text(terminal(f"           {how}: {author} = {value}")))
        parts.append(Text(terminal(f"  written: {author} = {first.written}")))
        for d in first.diagnosis:
            parts.append(Text("  why:     " + detail(d, first, report)))
    for m in report.misnamed:
        meant = f"; did you mean {m.suggestions[0]}?" if m.suggestions else ""
        parts.append(Text(terminal(f"✗ {m.key} = {m.written}: not a value name of this network{meant}"), style="red"))
    parts.append(
        Text(summary_line(len(report.claims), marks), style="bold red" if report.count("wrong") else "bold green")
    )
    return Group(*parts)


def summary_line(claims: int, marks: dict[str, Mark]) -> str:
    """The counts of the marks, in the scheme's order: the same words in every view."""
    counts = [f"{sum(1 for v in marks.values() if v == m)} {MARKS[m][2]}" for m in MARK_ORDER if m != "blank"]
    blanks = sum(1 for v in marks.values() if v == "blank")
    tail = f", {blanks} blank" if blanks else ""
    return f"{claims} claims: {', '.join(counts)}{tail}"
