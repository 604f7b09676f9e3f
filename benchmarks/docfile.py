"""docs/performance.md is written in parts: each benchmark script replaces its own section."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def replace_section(heading: str, body: str) -> None:
    """Put `body` under `## heading` (or, with heading "", before the first section), keeping the rest."""
    text = DOC.read_text() if DOC.exists() else "# Performance\n"
    parts = re.split(r"(?m)^(?=## )", text)
    head, sections = parts[0], parts[1:]
    if not heading:
        head = body.rstrip() + "\n\n"
    else:
        new = f"## {heading}\n\n{body.rstrip()}\n\n"
        for i, section in enumerate(sections):
            if section.startswith(f"## {heading}\n"):
                sections[i] = new
                break
        else:
            sections.append(new)
    DOC.write_text((head + "".join(sections)).rstrip() + "\n")
