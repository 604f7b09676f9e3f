"""`chainrule explain`: one update step worked, every number explained, in any format."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import click

from chainrule.cli.common import check_explained_work, output_option, show, writable, write_output
from chainrule.errors import ChainruleError


@click.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "latex", "html", "dot"]),
    default="text",
    show_default=True,
    help="How to show the step: the terminal, JSON, or a worked-example document (Markdown with $$ math, "
    "a complete LaTeX document, one self-contained HTML file with MathML); dot: the step as a computational "
    "graph of scalar operations, for Graphviz.",
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
    callback=lambda ctx, param, value: _figures_folder(value),
    metavar="DIR",
    help="Write the network diagrams (SVG) into DIR and show them in the Markdown or LaTeX document "
    "(HTML always embeds them).",
)
@click.option(
    "--form",
    type=click.Choice(["scalar", "paths", "delta", "matrix"]),
    default="scalar",
    show_default=True,
    help="scalar: neuron by neuron, each gradient as every path from the loss while there are few, else in the "
    "delta form; paths: every gradient as the sum over its paths, on any network; delta: each neuron's "
    "δ = ∂L/∂z worked once, from the output down, and every gradient as δ · input; matrix: the same step with "
    "vectors and matrices (examples as columns), each matrix written out with its shape, and a table tying "
    "each entry to its scalar.",
)
@click.option(
    "--gradcheck",
    is_flag=True,
    help="Check every gradient numerically: (L(θ+h) − L(θ−h)) / 2h beside the chain rule's value, "
    "h = 1e-6·max(1, |θ|), with the relative difference.",
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
    gradcheck: bool,
    output: Path | None,
) -> None:
    """Work one update step of FILE (default: the reference example), every number explained."""
    # The record and the story allocate ~10⁶ small objects and free few until the end; the cycle
    # collector's passes over them took ~40% of `--steps 100`. Collected once, when the command ends.
    gc.disable()
    click.get_current_context().call_on_close(gc.enable)
    from chainrule.engine.model import Model
    from chainrule.io import loader
    from chainrule.record.step import explain_steps

    net = loader.load(file)
    if isinstance(net, Model):  # a shaped network: worked layer by layer
        from chainrule.cli.explain_model import explain_model

        explain_model(net, fmt, digits, example, only, steps, (form, hand, figures, gradcheck), output)
        return
    check_explained_work(net, steps, "--steps" if steps > 1 else "the update explained")
    records = explain_steps(net, example - 1, steps)
    if only and only not in records[0].chains:
        raise ChainruleError(f"--only {only}: expected a parameter name ({', '.join(net.parameter_names())})")
    if form == "matrix":
        for name, given in (("--only", only), ("--hand", hand), ("--figures", figures)):
            if given is not None:
                raise ChainruleError(
                    f"{name}: not available with --form matrix (it shows every matrix, worked exactly)"
                )
    if form in ("paths", "delta"):
        from chainrule.record.forms import in_form

        records = in_form(net, records, example - 1, form)
    if gradcheck and fmt == "dot":
        raise ChainruleError("--gradcheck: not with --format dot (the graph holds no table); use another --format")
    checks = _gradchecks(net, records, only) if gradcheck else []
    if hand is not None:
        from chainrule.record.hand import hand_step

        records = [hand_step(r, hand) for r in records]
    shown = digits if digits is not None else (hand if hand is not None else 4)
    if fmt == "dot":
        from chainrule.views import dot

        write_output("".join(dot.render(r, shown) for r in records), output)
        return
    if fmt == "json":
        write_output(_json(records, checks, form == "matrix"), output)
        return
    extra = _gradcheck_blocks(records, checks, shown, only)
    if form == "matrix":
        _matrix_form(records, fmt, shown, output, extra)
        return
    if fmt in ("markdown", "latex", "html"):
        write_output(_document(records, fmt, shown, only, figures, output, extra), output)
        return
    _text(records, shown, only, output, extra)


def _figures_folder(folder: Path | None) -> Path | None:
    """--figures DIR made (with its parents) as the option is read, and checked to take files,
    before any work: a worked document is not computed to end in "cannot create the directory"."""
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainruleError(f"--figures {folder}: cannot create the directory ({exc.strerror})") from None
    writable(folder / "network-step1.svg", "--figures")
    return folder


def _gradchecks(net: Any, records: list[Any], only: str | None) -> list[Any]:
    """The numerical check of every step (from the exact values, before any rounding by hand); with --only, of that one."""
    from chainrule.record.gradcheck import gradcheck

    return [gradcheck(net, r, [only] if only else None) for r in records]


def _gradcheck_blocks(records: list[Any], checks: list[Any], digits: int, only: str | None) -> list[Any]:
    if not checks:
        return []
    from chainrule.views.story_gradcheck import gradcheck_blocks

    blocks: list[Any] = []
    for i, (record, check) in enumerate(zip(records, checks, strict=False)):  # no checks: no blocks
        title = f"Step {i + 1}: the chain rule, checked numerically" if len(records) > 1 else ""
        blocks += gradcheck_blocks(record, check, digits, only, title=title)
    return blocks


def _json(records: list[Any], checks: list[Any], matrices: bool = False) -> str:
    """One JSON object a step (a list for several), with the numerical check under "gradcheck" when asked for."""
    import json

    from chainrule.views import json as json_view

    data = [json_view.to_dict(r, matrices) for r in records]
    for d, check in zip(data, checks, strict=False):
        d["gradcheck"] = check.as_dict()
    return json.dumps(data[0] if len(data) == 1 else data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _document(
    records: list[Any],
    fmt: str,
    digits: int,
    only: str | None,
    figures: Path | None,
    output: Path | None,
    extra: list[Any],
) -> str:
    """A worked-example document (and `extra` blocks after it); with --figures, its diagrams written first."""
    from chainrule.views import html, latex, markdown
    from chainrule.views.story import story

    blocks = story(records, digits, only, figures=True) + extra
    if fmt == "html":
        return html.render_blocks(blocks)
    link = None
    if figures is not None:
        from chainrule.views import svg
        from chainrule.views.opgraph_svg import opgraph_svg

        for i, record in enumerate(records):
            write_output(svg.network_svg(record, digits), figures / f"network-step{i + 1}.svg")
            write_output(svg.network_svg(record, digits, gradients=True), figures / f"gradients-step{i + 1}.svg")
            write_output(opgraph_svg(record, digits), figures / f"graph-step{i + 1}.svg")
        base = output.resolve().parent if output is not None else Path.cwd()
        link = Path(os.path.relpath(figures.resolve(), base)).as_posix()
    if fmt == "markdown":
        return markdown.render_blocks(blocks, link)
    return latex.render_blocks(blocks)


def _matrix_form(records: list[Any], fmt: str, digits: int, output: Path | None, extra: list[Any]) -> None:
    """The step in matrix form (story_matrix.py), in the terminal or as a document."""
    from chainrule.views import html, latex, markdown, text
    from chainrule.views.story_matrix import matrix_story

    blocks = [*matrix_story(records, digits), *extra]
    if fmt == "text":
        show(text.render_blocks(blocks), output)
    else:
        view = {"html": html, "latex": latex, "markdown": markdown}[fmt]
        write_output(view.render_blocks(blocks), output)


def _text(records: list[Any], digits: int, only: str | None, output: Path | None, extra: list[Any]) -> None:
    from chainrule.cli.explain_lines import laid_out
    from chainrule.views import text

    extras = [r for b in extra if (r := text.block(b)) is not None]
    show(text.Lines.join([laid_out(records, digits, only), *extras]), output)
