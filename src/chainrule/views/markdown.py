"""The worked example as Markdown with $$ math: renders on GitHub, in Jupyter and in most editors."""

from __future__ import annotations

from chainrule.record.step import StepRecord
from chainrule.views.doc import Block, Bullets, Equations, Figure, Heading, Inline, Math, Para, Strong, Table
from chainrule.views.numbers import DEFAULT_DIGITS


def inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, Math):
            out.append(f"${p.tex}$")
        elif isinstance(p, Strong):
            out.append(f"**{p.text}**" if p.text else "")
        else:
            out.append(p.replace("|", "\\|"))
    return "".join(out)


def equations(eq: Equations) -> str:
    """One $$ block; several rows are aligned on their relation."""
    if len(eq.rows) == 1 and not eq.rows[0][0]:
        return f"$$\n{eq.rows[0][1]}\n$$"
    if len(eq.rows) == 1:
        return f"$$\n{eq.rows[0][0]} {eq.rows[0][1]}\n$$"
    rows = " \\\\\n".join(f"{lhs} &{rhs}" for lhs, rhs in eq.rows)
    return f"$$\n\\begin{{aligned}}\n{rows}\n\\end{{aligned}}\n$$"


def block(b: Block, figures: str | None) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + b.text
    if isinstance(b, Para):
        return inline(b.parts)
    if isinstance(b, Equations):
        return equations(b)
    if isinstance(b, Bullets):
        return "\n".join("- " + inline(item) for item in b.items)
    if isinstance(b, Table):
        head = "| " + " | ".join(b.header) + " |"
        rule = "| " + " | ".join("---:" if n else ":---" for n in b.numeric) + " |"
        rows = ["| " + " | ".join(inline(c) for c in row) + " |" for row in b.rows]
        return "\n".join([head, rule, *rows])
    if isinstance(b, Figure):
        if figures is None:
            return ""
        return f"![{b.caption}]({figures}/{b.name}.svg)\n\n*{b.caption}*"
    raise TypeError(b)


def render_blocks(blocks: list[Block], figures: str | None = None) -> str:
    """Markdown for the blocks; figures are linked as FIGURES/name.svg (omitted without a directory)."""
    parts = [block(b, figures) for b in blocks]
    return "\n\n".join(p for p in parts if p) + "\n"


def render(
    records: list[StepRecord], digits: int = DEFAULT_DIGITS, only: str | None = None, figures: str | None = None
) -> str:
    from chainrule.views.story import story

    return render_blocks(story(records, digits, only, figures is not None), figures)
