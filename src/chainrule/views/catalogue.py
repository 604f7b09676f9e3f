"""Views of the function catalogue and the calculator: terminal (rich), Markdown, JSON.

Each is a function from catalogue entries or evaluated values (``chainrule.engine.catalogue``) to a
document; nothing here computes a value or a derivative.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chainrule import __version__
from chainrule.engine.catalogue import ActivationValues, Entry, LossValues, Values
from chainrule.views.numbers import DEFAULT_DIGITS, fmt


def full(x: float) -> str:
    """A float at full precision: the shortest text that reads back as the same float64.

    Written with a true minus sign, as ``fmt`` writes the rounded form beside it; −0.0 is 0.0.
    """
    return repr(float(x) + 0.0).replace("-", "−")


def _labels(e: Entry) -> tuple[str, str]:
    if e.kind == "loss":
        return "formula", "gradient"
    return "formula", "derivative" if e.elementwise else "Jacobian"


def _lhs(formula: str) -> str:
    """The left-hand side of a plain formula: σ(z) of "σ(z) = 1 / (1 + e^(−z))"."""
    return formula.split(" = ", 1)[0]


def _title(e: Entry) -> str:
    return e.name + (f"  (also {', '.join(e.aliases)})" if e.aliases else "")


def _shortcut_line(s: Any) -> tuple[str, str]:
    return ("shortcut", f"{s.activation} output with {s.loss} loss: {s.plain}, the chain ∂L/∂ŷ · ∂ŷ/∂z multiplied out")


# ---------------------------------------------------------------------------------------------
# Terminal


def _entry_block(e: Entry, detailed: bool) -> Iterator[RenderableType]:
    f, df = _labels(e)
    yield Rule(Text(_title(e), style="bold"), align="left", style="cyan")
    yield Text(e.description, style="italic")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    grid.add_row(f, Text(e.formula, style="bold"))
    grid.add_row(df, Text(e.derivative, style="bold"))
    if detailed and e.why:
        grid.add_row("why", e.why)
    grid.add_row("range", e.output_range)
    grid.add_row("use", e.use)
    grid.add_row("caveats", e.caveats)
    for s in e.shortcuts:
        grid.add_row(*_shortcut_line(s))
    if detailed:
        for label, text in e.details:
            grid.add_row(label, text)
    yield grid


def render_entries(entries: Sequence[Entry], detailed: bool = False) -> RenderableType:
    """The catalogue, or the named functions in detail, as one rich renderable."""
    parts: list[RenderableType] = []
    for kind, heading in (("activation", "Activations"), ("loss", "Losses")):
        group = [e for e in entries if e.kind == kind]
        if not group:
            continue
        if not detailed:
            parts.append(Rule(Text(heading, style="bold cyan"), style="cyan"))
        for e in group:
            parts += list(_entry_block(e, detailed))
            parts.append(Text(""))
    return Group(*parts[:-1])


def _number_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(box=None, padding=(0, 2), header_style="bold")
    for c in columns:
        table.add_column(c, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _activation_values(v: ActivationValues, e: Entry, digits: int) -> Iterator[RenderableType]:
    alpha = f"   α = {full(v.alpha)}" if v.alpha is not None else ""
    yield Text.assemble((v.name, "bold"), alpha)
    yield Text(f"  {e.formula}\n  {e.derivative}", style="dim")
    rounded = "≈"
    if v.jacobian is None:
        cols = ["z", _lhs(e.formula), rounded, _lhs(e.derivative), rounded]
        rows = [
            [full(z), full(a), fmt(a, digits), full(d), fmt(d, digits)]
            for z, a, d in zip(v.z, v.value, v.derivative, strict=True)
        ]
        yield _number_table(cols, rows)
        return
    cols = ["i", "zᵢ", "aᵢ", rounded, "∂aᵢ/∂zᵢ", rounded]
    rows = [
        [str(i + 1), full(z), full(a), fmt(a, digits), full(d), fmt(d, digits)]
        for i, (z, a, d) in enumerate(zip(v.z, v.value, v.derivative, strict=True))
    ]
    yield _number_table(cols, rows)
    yield Text("  Jacobian ∂aᵢ/∂zⱼ (row i, column j):")
    n = len(v.z)
    yield _number_table(
        ["", *(f"j={j + 1}" for j in range(n))],
        [[f"i={i + 1}", *(fmt(x, digits) for x in row)] for i, row in enumerate(v.jacobian)],
    )


def _loss_values(v: LossValues, e: Entry, digits: int) -> Iterator[RenderableType]:
    yield Text(v.name, style="bold")
    yield Text(f"  {e.formula}\n  {e.derivative}", style="dim")
    yield Text(f"  L = {full(v.loss)}  ≈ {fmt(v.loss, digits)}")
    rounded = "≈"
    rows = [
        [str(i + 1), full(a), full(y), full(g), fmt(g, digits)]
        for i, (a, y, g) in enumerate(zip(v.prediction, v.target, v.gradient, strict=True))
    ]
    yield _number_table(["i", "ŷᵢ", "yᵢ", "∂L/∂ŷᵢ", rounded], rows)


def render_values(values: Sequence[Values], entries: Sequence[Entry], digits: int = DEFAULT_DIGITS) -> RenderableType:
    """The calculator's answers, full precision beside the rounded form a worked example prints."""
    parts: list[RenderableType] = []
    for v, e in zip(values, entries, strict=True):
        if parts:
            parts.append(Text(""))
        if isinstance(v, ActivationValues):
            parts += list(_activation_values(v, e, digits))
        else:
            parts += list(_loss_values(v, e, digits))
    return Group(*parts)


# ---------------------------------------------------------------------------------------------
# Markdown: LaTeX between $$ for the formulas, as GitHub, Jupyter and pandoc render them


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def _entry_markdown(e: Entry, detailed: bool) -> list[str]:
    aka = f" *(also {', '.join(f'`{a}`' for a in e.aliases)})*" if e.aliases else ""
    lines = [f"### `{e.name}`{aka}", "", e.description[0].upper() + e.description[1:] + ".", ""]
    lines += [f"$${e.formula_latex}$$", "", f"$${e.derivative_latex}$$", ""]
    rows = [("Range", e.output_range), ("Typical use", e.use), ("Caveats", e.caveats)]
    if detailed and e.why:
        rows.insert(0, ("Derivative", e.why))
    rows += [(f"With `{s.loss if e.kind == 'activation' else s.activation}`", f"${s.latex}$") for s in e.shortcuts]
    if detailed:
        rows += list(e.details)
    lines += ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows), ""]
    return lines


def markdown_entries(entries: Sequence[Entry], detailed: bool = False) -> str:
    """The catalogue as a Markdown document."""
    lines: list[str] = []
    if not detailed:
        lines += ["# Activation and loss functions", "", f"From the chainrule {__version__} registry.", ""]
    for kind, heading in (("activation", "Activations"), ("loss", "Losses")):
        group = [e for e in entries if e.kind == kind]
        if group and not detailed:
            lines += [f"## {heading}", ""]
        for e in group:
            lines += _entry_markdown(e, detailed)
    return "\n".join(lines).rstrip() + "\n"


def markdown_values(values: Sequence[Values], entries: Sequence[Entry], digits: int = DEFAULT_DIGITS) -> str:
    """The calculator's answers as Markdown tables, with the formulas in LaTeX."""
    lines: list[str] = []
    for v, e in zip(values, entries, strict=True):
        lines += [f"### `{v.name}`", "", f"$${e.formula_latex}$$", "", f"$${e.derivative_latex}$$", ""]
        if isinstance(v, LossValues):
            lines += [f"$L = {full(v.loss)} \\approx {fmt(v.loss, digits)}$", ""]
            lines += [r"| $i$ | $\hat{y}_i$ | $y_i$ | $\partial L/\partial \hat{y}_i$ | ≈ |", "|--:|--:|--:|--:|--:|"]
            for i, (a, y, g) in enumerate(zip(v.prediction, v.target, v.gradient, strict=True)):
                lines.append(f"| {i + 1} | {full(a)} | {full(y)} | {full(g)} | {fmt(g, digits)} |")
        else:
            if v.alpha is not None:
                lines += [f"$\\alpha = {full(v.alpha)}$", ""]
            hz, hf = ("z", _lhs(e.formula_latex)) if e.elementwise else ("z_i", "a_i")
            hdf = _lhs(e.derivative_latex) if e.elementwise else r"\partial a_i/\partial z_i"
            lines += [f"| ${hz}$ | ${hf}$ | ≈ | ${hdf}$ | ≈ |", "|--:|--:|--:|--:|--:|"]
            for z, a, d in zip(v.z, v.value, v.derivative, strict=True):
                lines.append(f"| {full(z)} | {full(a)} | {fmt(a, digits)} | {full(d)} | {fmt(d, digits)} |")
            if v.jacobian is not None:
                n = len(v.z)
                lines += ["", r"Jacobian $\partial a_i/\partial z_j$:", ""]
                lines += ["| | " + " | ".join(f"$j={j + 1}$" for j in range(n)) + " |", "|--" * (n + 1) + "|"]
                for i, row in enumerate(v.jacobian):
                    lines.append(f"| $i={i + 1}$ | " + " | ".join(fmt(x, digits) for x in row) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# JSON: full precision, for scripts


def json_entries(entries: Sequence[Entry]) -> str:
    """The catalogue as JSON: every entry's text, plain and LaTeX."""
    doc = {"chainrule": __version__, "functions": [asdict(e) for e in entries]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def json_values(values: Sequence[Values]) -> str:
    """The calculator's answers as JSON, every number a full-precision float64."""
    out: list[dict[str, Any]] = []
    for v in values:
        d = {"kind": "activation" if isinstance(v, ActivationValues) else "loss", **asdict(v)}
        if isinstance(v, ActivationValues) and v.jacobian is None:
            d.pop("jacobian")
        out.append(d)
    return json.dumps({"chainrule": __version__, "values": out}, indent=2, ensure_ascii=False) + "\n"
