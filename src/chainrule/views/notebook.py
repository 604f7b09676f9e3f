"""How a network and a step display in Jupyter: rendered math and tables, from the same views.

A step shows as its worked-example document; a network as its diagram and a table of its
parameters. The HTML is the same self-contained MathML the `--format html` document uses.
"""

from __future__ import annotations

import re

from chainrule.engine import display
from chainrule.engine.network import Network
from chainrule.record.step import StepRecord
from chainrule.views import escape
from chainrule.views.numbers import DEFAULT_DIGITS, fmt


def step_markdown(record: StepRecord, digits: int = DEFAULT_DIGITS) -> str:
    from chainrule.views import markdown

    return markdown.render([record], digits)


def step_html(record: StepRecord, digits: int = DEFAULT_DIGITS) -> str:
    """The step's story as an HTML fragment for a notebook cell: the same blocks the documents render,
    without a page of its own around them (Jupyter styles the cell)."""
    from chainrule.views import html
    from chainrule.views.story import story

    body = "\n".join(html.block(b) for b in story([record], digits))
    # Inside HTML, <math> and <svg> need no namespace (as in the HTML document).
    return "<div>" + re.sub(r' xmlns="[^"]*"', "", body) + "</div>"


def _parameter_rows(net: Network, digits: int) -> list[tuple[str, str]]:
    return [(name, fmt(value, digits)) for name, value in net.parameters().items()]


def network_markdown(net: Network, digits: int = DEFAULT_DIGITS) -> str:
    layers = " → ".join([f"{len(net.input_names)} inputs"] + [f"{la.units} {la.activation.name}" for la in net.layers])
    rows = "\n".join(f"| {escape.markdown(n)} | {v} |" for n, v in _parameter_rows(net, digits))
    title = escape.markdown(net.title or "Network")
    return f"**{title}**: {layers}; loss {net.loss.name}\n\n| parameter | value |\n|---|---|\n{rows}\n"


def network_html(net: Network, digits: int = DEFAULT_DIGITS) -> str:
    from chainrule.views import svg

    head = escape.html(net.title or "Network")
    layers = " → ".join([f"{len(net.input_names)} inputs"] + [f"{la.units} {la.activation.name}" for la in net.layers])
    diagram = ""
    if net.x.shape[0]:
        from chainrule.record.step import explain_step

        diagram = re.sub(r' xmlns="[^"]*"', "", svg.network_svg(explain_step(net), digits))
    rows = "".join(f"<tr><td>{escape.html(n)}</td><td>{v}</td></tr>" for n, v in _parameter_rows(net, digits))
    return (
        f"<div><p><b>{head}</b>: {escape.html(layers)}; loss {net.loss.name}</p>{diagram}"
        f"<table><tr><th>parameter</th><th>value</th></tr>{rows}</table></div>"
    )


def _register() -> None:
    display.register(Network, "markdown", network_markdown)
    display.register(Network, "html", network_html)
    display.register(StepRecord, "markdown", step_markdown)
    display.register(StepRecord, "html", step_html)


_register()
