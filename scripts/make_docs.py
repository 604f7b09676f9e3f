"""Write the documents under docs/ that `chainrule explain` makes, from the code as it is now.

    .venv/bin/python scripts/make_docs.py

docs/worked-example.md (its diagrams as docs/figures/*.svg) and docs/worked-example.html are the
reference example's worked step. tests/test_documents.py makes them again into a temporary
directory and fails when a committed file differs: rerun this script after changing a view.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"

# (file under docs/, the arguments to `chainrule explain` that write it); FIGURES is the figure directory.
DOCUMENTS: list[tuple[str, list[str]]] = [
    ("worked-example.md", ["--format", "markdown", "--figures", "FIGURES"]),
    ("worked-example.html", ["--format", "html"]),
]
FIGURES = ["figures/network-step1.svg", "figures/gradients-step1.svg", "figures/graph-step1.svg"]


def generate(out: Path) -> list[Path]:
    """Write every generated document into `out` (as docs/ lays them out); the files written."""
    from chainrule.cli.root import main

    for name, args in DOCUMENTS:
        args = [str(out / "figures") if a == "FIGURES" else a for a in args]
        try:
            main(["explain", *args, "-o", str(out / name)], standalone_mode=False)
        except SystemExit as exc:  # click ends a successful command with exit status 0
            if exc.code:
                raise
    return [out / name for name, _ in DOCUMENTS] + [out / f for f in FIGURES]


if __name__ == "__main__":
    for path in generate(DOCS):
        print(path.relative_to(DOCS.parent), file=sys.stderr)
