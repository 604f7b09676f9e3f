"""The story's blocks as the page's lines: each equation as MathML from its LaTeX, with its plain reading.

The MathML is converted from the block's own LaTeX by the same converter as the HTML document
(views.html, with latex2mathml); the plain text (plainmath, as the terminal prints it) is kept
for screen readers. Nothing is parsed back out of another view's output.
"""

from __future__ import annotations

from typing import Any

from chainrule.views.doc import Block, Bullets, Equations, Math, Para
from chainrule.views.html import mathml
from chainrule.views.mathml import NAMESPACE
from chainrule.views.mathml import mathml as tree_mathml
from chainrule.views.mathtree import Add, Node, Rel
from chainrule.views.text import inline, plain


def equation(lhs: Node | str, rhs: Node | str) -> dict[str, str]:
    """One row of an equation: its MathML (display), its plain reading, and no note."""
    if isinstance(lhs, str) and isinstance(rhs, str):
        tex = f"{lhs} {rhs}".strip()
        return {"mathml": mathml(tex, display=True), "note": "", "plain": plain(tex)}
    body = "<mrow>" + "".join(_flat(x) if not isinstance(x, str) else mathml(x) for x in (lhs, rhs) if x) + "</mrow>"
    words = " ".join(plain(x) for x in (lhs, rhs) if x)
    return {"mathml": f'<math xmlns="{NAMESPACE}" display="block">{body}</math>', "note": "", "plain": words}


def _flat(node: Node) -> str:
    """A node's MathML with a chain of relations and the sums in it unwrapped (no mrow of their own),
    so that their =, ≈ and + stand at the line's top level, where the page may wrap a line too wide
    for the screen (app.js, wrapWide). The rendering is the same."""
    if isinstance(node, Rel):
        return "".join(_flat(p) if not isinstance(p, str) else _unwrap(tree_mathml(Rel((p,)))) for p in node.parts)
    out = tree_mathml(node)
    return _unwrap(out) if isinstance(node, Add) else out


def _unwrap(out: str) -> str:
    return out[len("<mrow>") : -len("</mrow>")] if out.startswith("<mrow>") and out.endswith("</mrow>") else out


def lines(blocks: tuple[Block, ...]) -> list[dict[str, Any]]:
    """The page's lines of some blocks: sentences as text, equations row by row; headings, tables
    and figures are left to the page's own title and drawing."""
    out: list[dict[str, Any]] = []
    for b in blocks:
        if isinstance(b, Para):
            out.append({"text": inline(b.parts)})
        elif isinstance(b, Equations):
            out += [equation(lhs, rhs) for lhs, rhs in b.rows]
        elif isinstance(b, Bullets):
            for item in b.items:
                if len(item) == 1 and isinstance(item[0], Math):
                    out.append(equation("", item[0].tex))
                else:
                    out.append({"text": inline(item)})
    return [line for line in out if line.get("text", "x").strip()]
