"""What the commands share: the -o option and writing a document to it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from chainrule.errors import ChainruleError

# The commands that print a document share one way to write it to a file instead.
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)


def write_output(text: str, output: Path | None) -> None:
    """Print text, or write it atomically to a file (never half a file); `-` is standard output."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    from chainrule.io.netfile import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        raise ChainruleError(f"{output}: cannot write ({exc.strerror})") from None


def show(renderable: Any, output: Path | None) -> None:
    """Print a rich renderable to the terminal, or write it as plain text to `output`."""
    from rich.console import Console

    from chainrule.views.text import plain_text

    if output is not None and str(output) != "-":
        write_output(plain_text(renderable), output)
        return
    console = Console(highlight=False)
    # Piped or redirected: no colour (rich's default) and no hard wrapping of long equations.
    console.soft_wrap = not console.is_terminal
    console.print(renderable)
