"""`chainrule check NET ANSWERS`: hand-worked numbers against the exact ones, with the first wrong one and why."""

from __future__ import annotations

from pathlib import Path

import click

from chainrule.cli.common import output_option, show, write_output


@click.command()
@click.argument("net", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("answers", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to show the report.",
)
@output_option
@click.pass_context
def check(ctx: click.Context, net: Path, answers: Path, fmt: str, output: Path | None) -> None:
    """Check the numbers in ANSWERS (by the names `chainrule explain --format json` uses) against NET.

    Each claim is ok (equal at the precision written), rounding (off as rounding intermediates
    makes it) or wrong, with the first wrong number it depends on and the known mistakes that
    reproduce it. Exit status: 0 when no claim is wrong, 1 when one is, 2 on bad input.
    """
    from chainrule.check.answers import load_answers
    from chainrule.check.checker import check as run_check
    from chainrule.io import netfile

    network = netfile.load(net)
    report = run_check(network, load_answers(answers), str(answers))
    if fmt == "json":
        from chainrule.views.check import render_json

        write_output(render_json(report), output)
    else:
        from chainrule.views.check import render_text

        show(render_text(report), output)
    if report.count("wrong"):
        ctx.exit(1)
