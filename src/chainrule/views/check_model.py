"""A shaped network's check report, shown as the dense one is (views/check.py: the same table, marks,
summary and JSON fields), with the shaped networks' slips in words and the first wrong number's rule.

Nothing is computed here: every number comes from the CheckReport (check/model_checker.py).
"""

from __future__ import annotations

import json

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chainrule.check.checker import CheckReport, ClaimResult, Diagnosis
from chainrule.check.grading import claim_key, marks_of
from chainrule.views import check as dense
from chainrule.views.escape import terminal
from chainrule.views.numbers import fmt

# Each slip of check/model_slips.py in words; {w} is the op it is made in.
SLIPS = {
    ("kernel_not_flipped", ""): "the kernel of {w} not flipped for the input gradient: the full convolution of "
    "∂L/∂z with the kernel as it is, where the kernel turned 180° belongs",
    ("padding_forgotten", "forward"): "the zero padding of {w} forgotten in the forward pass: "
    "the kernel slid over the input without its border",
    ("padding_forgotten", "gradient"): "the zero padding of {w} forgotten in the input gradient: the padded "
    "input's gradient read from its corner instead of cropped by the padding",
    ("maxpool_spread", "copied"): "the max-pool gradient of {w} spread over the window (every input given the "
    "window's ∂L/∂z) instead of routed to the window's maximum",
    ("maxpool_spread", "averaged"): "the max-pool gradient of {w} spread over the window (shared equally, as for "
    "average pooling) instead of routed to the window's maximum",
    ("batchnorm_direct_only", ""): "batch norm {w}'s input gradient through x̂ only (γ·∂L/∂z/√(σ² + ε)): "
    "the paths through μ and σ² left out",
    ("skip_gradient_dropped", ""): "the residual block {w}'s skip gradient not added: ∂L/∂x through the block "
    "only, where ∂L/∂z through the skip connection is added to it",
    ("bptt_one_step", ""): "backpropagation through time of {w} stopped at one step: the weight and bias "
    "gradients of the last time step only, where the sum over every step belongs",
}


def detail(d: Diagnosis, claim: ClaimResult, report: CheckReport) -> str:
    """The diagnosis in words: a shaped network's slip, or as the dense checker says it."""
    gives = f" (gives {fmt(d.value, max(claim.decimals + 2, 4))})" if d.value is not None else ""
    if (d.mistake, d.kind) in SLIPS:
        return SLIPS[(d.mistake, d.kind)].format(w=d.where) + gives
    if d.mistake == "slip":
        return f"no known mistake gives this: an arithmetic slip (the exact value is {fmt(claim.exact, max(claim.decimals + 2, 4))})"
    return dense.detail(d, claim, report)


def render_json(report: CheckReport) -> str:
    data = dense.to_dict(report)
    for entry, c in zip(data["claims"], report.claims, strict=True):
        for d_entry, d in zip(entry["diagnosis"], c.diagnosis, strict=True):
            d_entry["detail"] = detail(d, c, report)
        if c.status == "wrong":
            entry["rule"] = c.derivation.function
    return json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def render_text(report: CheckReport) -> RenderableType:
    """The claims in computation order with their marks, the first wrong number with its rule and
    its slip, and the marks counted (views/check.py's words)."""
    marks = marks_of(report)
    heading = terminal(f"Checking {report.answers} against {report.title or report.network}")
    parts: list[RenderableType] = [Rule(Text(heading, style="bold"), style="cyan")]
    first = report.first_wrong
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1))
    for col in ("", "value", "written", "exact", "note"):
        table.add_column(col, no_wrap=col != "note")
    for c in report.claims:
        mark, style, _ = dense.MARKS[marks[claim_key(c)]]
        note = "← first wrong number" if c is first else "; ".join(detail(d, c, report) for d in c.diagnosis)
        name = terminal(f"{c.as_written} ({c.name})" if c.as_written else c.name)
        exact = fmt(c.sign * c.exact, max(c.decimals + 2, 4))
        table.add_row(
            Text(mark, style=style), name, c.written, exact, terminal(note), style="bold red" if c is first else None
        )
    parts.append(table)
    if first is not None:
        parts.append(Rule(Text(f"First wrong number: {first.name}", style="bold red"), align="left", style="red"))
        value = fmt(first.exact, max(first.decimals, 4))
        parts.append(Text(terminal(f"  correct: {first.name} = {value}: {first.derivation.function}")))
        parts.append(Text(terminal(f"  written: {first.as_written or first.name} = {first.written}")))
        for d in first.diagnosis:
            parts.append(Text(terminal("  why:     " + detail(d, first, report))))
    style = "bold red" if report.count("wrong") else "bold green"
    parts.append(Text(dense.summary_line(len(report.claims), marks), style=style))
    return Group(*parts)
