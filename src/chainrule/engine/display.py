"""Rich display hooks (Jupyter's `_repr_markdown_`, `_repr_html_`), filled in from the views side.

The engine and the record know nothing of how they are shown: `chainrule.views.notebook` registers
a renderer per (type, format) when it is imported (in Jupyter, `import chainrule` does that), and
until then a network or a step shows as its plain repr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_RENDERERS: dict[tuple[str, str], Callable[[Any], str]] = {}


def register(cls: type, mime: str, render: Callable[[Any], str]) -> None:
    """Show instances of `cls` as `mime` ("markdown" or "html") with `render`."""
    _RENDERERS[(cls.__qualname__, mime)] = render


def show(obj: object, mime: str) -> str | None:
    """`obj` rendered as `mime`, or None where no view registered one (the caller falls back to repr)."""
    render = _RENDERERS.get((type(obj).__qualname__, mime))
    return render(obj) if render is not None else None
