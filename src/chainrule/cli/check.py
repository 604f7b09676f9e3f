"""`chainrule check NET ANSWERS…`: hand-worked numbers against the exact ones, with the first wrong one
and why; given a folder or several files, a class graded (CSV, class report, feedback files)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chainrule.cli.common import output_option, show, write_output
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.engine.network import Network


@click.command()
@click.argument("net", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("answers", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="How to show the report; csv: one row per student (a class).",
)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Grading a class: also write the class report here (.html for HTML, else Markdown).",
)
@click.option(
    "--feedback",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Grading a class: write each student's feedback (their first mistake worked out) into DIR/<student>.txt.",
)
@click.option(
    "--asked",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The answers template whose names are asked (blanks count). [default: answers.toml beside NET, "
    "else every name some student wrote]",
)
@click.option(
    "--follow-through",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="The mark of a number wrong only because it correctly uses the student's own earlier wrong one.",
)
@output_option
@click.pass_context
def check(
    ctx: click.Context,
    net: Path,
    answers: tuple[Path, ...],
    fmt: str,
    report: Path | None,
    feedback: Path | None,
    asked: Path | None,
    follow_through: float,
    output: Path | None,
) -> None:
    """Check the numbers in ANSWERS (by the names `chainrule explain --format json` uses) against NET.

    Each claim is ok (equal at the precision written), rounding (off as rounding intermediates
    makes it) or wrong, with the first wrong number it depends on and the known mistakes that
    reproduce it. Exit status: 0 when no claim is wrong, 1 when one is, 2 on bad input.

    Given a folder of answers files (or several files), or --format csv, grades a class: one row
    per student with counts ok / rounding / follow-through / wrong / blank and a score (see
    docs/classroom.md); a submission that cannot be read is listed with the reason. Exit status 0.
    """
    from chainrule.io import netfile

    network = netfile.load(net)
    if len(answers) == 1 and not answers[0].is_dir() and fmt != "csv" and not (report or feedback):
        _one(ctx, network, answers[0], fmt, output)
        return
    _class(network, net, answers, fmt, report, feedback, asked, follow_through, output)


def _one(ctx: click.Context, network: Network, answers: Path, fmt: str, output: Path | None) -> None:
    from chainrule.check.answers import load_answers
    from chainrule.check.checker import check as run_check

    result = run_check(network, load_answers(answers), str(answers))
    if fmt == "json":
        from chainrule.views.check import render_json

        write_output(render_json(result), output)
    else:
        from chainrule.views.check import render_text

        show(render_text(result), output)
    if result.count("wrong"):
        ctx.exit(1)


def _class(
    network: Network,
    net: Path,
    answers: tuple[Path, ...],
    fmt: str,
    report: Path | None,
    feedback: Path | None,
    asked: Path | None,
    follow_through: float,
    output: Path | None,
) -> None:
    from chainrule.check.grading import MarkingScheme, asked_keys, grade, submissions
    from chainrule.views import class_report

    if fmt == "json":
        raise ChainruleError("--format json: expected text or csv when grading a class")
    template = asked if asked is not None else net.parent / "answers.toml"
    keys = asked_keys(template) if asked is not None or template.is_file() else None
    files = submissions(list(answers))
    if not files:
        raise ChainruleError(f"{answers[0]}: expected answers files (.toml or .json), found none")
    grades = grade(network, files, keys, MarkingScheme(follow_through=follow_through))
    if report is not None:
        html = report.suffix.lower() in (".html", ".htm")
        write_output(class_report.render_report(grades, "html" if html else "markdown"), report)
    if feedback is not None:
        try:
            feedback.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainruleError(f"--feedback {feedback}: cannot create the folder ({exc.strerror})") from None
        for g in grades.graded:
            write_output(class_report.feedback_text(g, grades.scheme), feedback / f"{g.student}.txt")
    if fmt == "csv":
        write_output(class_report.render_csv(grades), output)
    else:
        show(class_report.render_summary(grades), output)
