"""`chainrule explain`: one update step worked, every number explained, in any format."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from chainrule.cli.common import output_option, show, write_output
from chainrule.errors import ChainruleError


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "latex", "html"]),
    default="text",
    show_default=True,
    help="How to show the step: the terminal, JSON, or a worked-example document (Markdown with $$ math, "
    "a complete LaTeX document, one self-contained HTML file with MathML).",
)
@click.option(
    "--digits",
    type=click.IntRange(1, 15),
    default=None,
    help="Decimal places shown (small numbers keep digits−1 significant digits); computation stays exact. "
    "[default: 4, or N with --hand N]",
)
@click.option(
    "--example",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Which update of the epoch to explain: the example (online) or the batch.",
)
@click.option("--only", metavar="PARAM", help="Show only this parameter's gradient and update (e.g. w3).")
@click.option(
    "--steps",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Work this many updates one after another, each from the network the previous one left.",
)
@click.option(
    "--hand",
    type=click.IntRange(1, 12),
    metavar="N",
    help="Work it as by hand: round every intermediate to N decimals before using it, and show how far "
    "each rounded value is from the exact one.",
)
@click.option(
    "--figures",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Write the network diagrams (SVG) into DIR and show them in the Markdown or LaTeX document "
    "(HTML always embeds them).",
)
@click.option(
    "--form",
    type=click.Choice(["scalar", "matrix"]),
    default="scalar",
    show_default=True,
    help="scalar: neuron by neuron, every chain of factors; matrix: the same step with vectors and matrices "
    "(examples as columns), each matrix written out with its shape, and a table tying each entry to its scalar.",
)
@output_option
def explain(
    file: Path | None,
    fmt: str,
    digits: int | None,
    example: int,
    only: str | None,
    steps: int,
    hand: int | None,
    figures: Path | None,
    form: str,
    output: Path | None,
) -> None:
    """Work one update step of FILE (default: the reference example), every number explained."""
    from chainrule.io import netfile
    from chainrule.record.step import explain_steps

    net = netfile.load(file)
    records = explain_steps(net, example - 1, steps)
    if only and only not in records[0].chains:
        raise ChainruleError(f"--only {only}: expected a parameter name ({', '.join(net.parameter_names())})")
    if form == "matrix":
        for name, given in (("--only", only), ("--hand", hand), ("--figures", figures)):
            if given is not None:
                raise ChainruleError(
                    f"{name}: not available with --form matrix (it shows every matrix, worked exactly)"
                )
    if hand is not None:
        from chainrule.record.hand import hand_step

        records = [hand_step(r, hand) for r in records]
    shown = digits if digits is not None else (hand if hand is not None else 4)
    if fmt == "json":
        from chainrule.views import json as json_view

        matrices = form == "matrix"
        if len(records) == 1:
            write_output(json_view.render(records[0], matrices), output)
        else:
            write_output("[\n" + ",\n".join(json_view.render(r, matrices).rstrip() for r in records) + "\n]\n", output)
        return
    if form == "matrix":
        _matrix_form(records, fmt, shown, output)
        return
    if fmt in ("markdown", "latex", "html"):
        write_output(_document(records, fmt, shown, only, figures, output), output)
        return
    _text(records, shown, only, output)


def _document(
    records: list[Any], fmt: str, digits: int, only: str | None, figures: Path | None, output: Path | None
) -> str:
    """A worked-example document; with --figures, its diagrams written into that directory first."""
    from chainrule.views import html, latex, markdown

    if fmt == "html":
        return html.render(records, digits, only)
    link = None
    if figures is not None:
        from chainrule.views import svg

        try:
            figures.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainruleError(f"--figures {figures}: cannot create the directory ({exc.strerror})") from None
        for i, record in enumerate(records):
            write_output(svg.network_svg(record, digits), figures / f"network-step{i + 1}.svg")
            write_output(svg.network_svg(record, digits, gradients=True), figures / f"gradients-step{i + 1}.svg")
        base = output.resolve().parent if output is not None else Path.cwd()
        link = Path(os.path.relpath(figures.resolve(), base)).as_posix()
    view = markdown if fmt == "markdown" else latex
    return view.render(records, digits, only, link)


def _matrix_form(records: list[Any], fmt: str, digits: int, output: Path | None) -> None:
    """The step in matrix form (story_matrix.py), in the terminal or as a document."""
    from chainrule.views import html, latex, markdown, text
    from chainrule.views.story_matrix import matrix_story

    blocks = matrix_story(records, digits)
    if fmt == "text":
        show(text.render_blocks(blocks), output)
    else:
        view = {"html": html, "latex": latex, "markdown": markdown}[fmt]
        write_output(view.render_blocks(blocks), output)


def _text(records: list[Any], digits: int, only: str | None, output: Path | None) -> None:
    from chainrule.views import text

    show(text.render_records(records, digits, only), output)
