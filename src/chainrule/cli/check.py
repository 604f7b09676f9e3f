"""`chainrule check NET ANSWERS…`: hand-worked numbers against the exact ones, with the first wrong one
and why; given a folder or several files, a class graded (CSV, class report, feedback files);
`chainrule check CLASS/ SUBMISSIONS/`: each submission graded against the exercise it answers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chainrule.cli.common import output_option, show, write_output
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.check.grading import ClassGrades, MarkingScheme
    from chainrule.engine.model import Model
    from chainrule.engine.network import Network


@click.command()
@click.argument("net", type=click.Path(path_type=Path))
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
    default=None,
    help="The mark of a number wrong only because it correctly uses the student's own earlier wrong one. [default: 1]",
)
@click.option(
    "--marks",
    "marks_text",
    default="",
    metavar="MARK=W,…",
    help="The mark scheme's weights, 0 to 1 each, e.g. too_coarse=0.25,rounding=0.5 "
    "(default ok=1, rounding=1, too_coarse=0.5, follow_through=1, wrong=0, blank=0).",
)
@click.option(
    "--digits",
    type=click.IntRange(0, 15),
    default=None,
    help="Decimal places asked of every value: fewer is too coarse. [default: the exercise's, else as written]",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0.5, 1000),
    default=0.5,
    show_default=True,
    help="How far from the exact value is still ok, in units of the last decimal place (0.5: correctly rounded).",
)
@click.option(
    "--gradebook",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Grading a class: also write a gradebook CSV (student, score) that Moodle and Canvas import.",
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
    follow_through: float | None,
    marks_text: str,
    digits: int | None,
    tolerance: float,
    gradebook: Path | None,
    output: Path | None,
) -> None:
    """Check the numbers in ANSWERS (by the names `chainrule explain --format json` uses) against NET.

    Each claim is ok (equal at the precision written), rounding (off as rounding intermediates
    makes it) or wrong, with the first wrong number it depends on and the known mistakes that
    reproduce it. Exit status: 0 when no claim is wrong, 1 when one is, 2 on bad input.

    A value written with fewer decimals than asked (the exercise's digits, --digits) is too coarse.

    Given a folder of answers files (or several files), or --format csv, grades a class: one row
    per student with counts ok / rounding / too coarse / follow-through / wrong / blank and a score
    (see docs/classroom.md); a submission that cannot be graded is listed with the reason. NET may
    be the folder of a class set (`chainrule exercise --count N`): each submission is then graded
    against the exercise it names. Exit status 0.
    """
    from chainrule.check.grading import MarkingScheme
    from chainrule.engine.model import Model
    from chainrule.io import loader

    scheme = MarkingScheme.parse(marks_text)
    if follow_through is not None:
        scheme = replace(scheme, follow_through=follow_through)
    options = _Options(fmt, report, feedback, gradebook, output)
    if net.is_dir():
        _exercises(net, answers, scheme, digits, tolerance, options)
        return
    network = loader.load(net)
    if len(answers) == 1 and not answers[0].is_dir() and fmt != "csv" and not (report or feedback or gradebook):
        if isinstance(network, Model):  # typed layers (conv, pooling, batchnorm, residual, rnn): check/model_*.py
            from chainrule.cli.check_model import check_one

            check_one(ctx, network, answers[0], fmt, output, digits, tolerance)
        else:
            _one(ctx, network, answers[0], fmt, output, digits, tolerance)
        return
    _class(network, net, answers, asked, scheme, digits, tolerance, options)


def _one(
    ctx: click.Context,
    network: Network,
    answers: Path,
    fmt: str,
    output: Path | None,
    digits: int | None,
    tolerance: float,
) -> None:
    from chainrule.check.answers import load_answers
    from chainrule.check.checker import check as run_check

    result = run_check(network, load_answers(answers), str(answers), digits=digits, tolerance=tolerance)
    if fmt == "json":
        from chainrule.views.check import render_json

        write_output(render_json(result), output)
    else:
        from chainrule.views.check import render_text

        show(render_text(result), output)
    if result.count("wrong"):
        ctx.exit(1)


class _Options:
    """Where a class's grades go: the format of standard output and the files asked for."""

    def __init__(
        self, fmt: str, report: Path | None, feedback: Path | None, gradebook: Path | None, output: Path | None
    ) -> None:
        self.fmt, self.report, self.feedback, self.gradebook, self.output = fmt, report, feedback, gradebook, output


def _class(
    network: Network | Model,
    net: Path,
    answers: tuple[Path, ...],
    asked: Path | None,
    scheme: MarkingScheme,
    digits: int | None,
    tolerance: float,
    options: _Options,
) -> None:
    from chainrule.check.answers import Precision
    from chainrule.check.classroom import read_template
    from chainrule.check.grading import grade

    _refuse_json(options)
    template = asked if asked is not None else net.parent / "answers.toml"
    read = read_template(template) if asked is not None or template.is_file() else None
    precision = Precision(digits) if digits is not None else (read.precision if read else None)
    files = _files(answers)
    grades = grade(network, files, read.asked if read else None, scheme, precision, tolerance)
    _write_grades(grades, options)


def _files(answers: tuple[Path, ...]) -> list[tuple[str, Path]]:
    from chainrule.check.grading import submissions

    files = submissions(list(answers))
    if not files:
        raise ChainruleError(f"{answers[0]}: expected answers files (.toml or .json), found none")
    return files


def _exercises(
    folder: Path,
    answers: tuple[Path, ...],
    scheme: MarkingScheme,
    digits: int | None,
    tolerance: float,
    options: _Options,
) -> None:
    from chainrule.check.classroom import find_exercises, grade_class
    from chainrule.io import loader

    _refuse_json(options)
    exercises = find_exercises(folder, loader.load)  # dense or shaped exercises
    files = [
        (s, p) for s, p in _files(answers) if p.parent.resolve() not in {e.folder.resolve() for e in exercises.values()}
    ]
    grades = grade_class(exercises, files, scheme, digits, tolerance, str(folder))
    _write_grades(grades, options)


def _refuse_json(options: _Options) -> None:
    if options.fmt == "json":
        raise ChainruleError("--format json: expected text or csv when grading a class")


def _write_grades(grades: ClassGrades, options: _Options) -> None:
    from chainrule.views import class_report

    if options.report is not None:
        html = options.report.suffix.lower() in (".html", ".htm")
        write_output(class_report.render_report(grades, "html" if html else "markdown"), options.report)
    if options.feedback is not None:
        try:
            options.feedback.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ChainruleError(f"--feedback {options.feedback}: cannot create the folder ({exc.strerror})") from None
        for g in grades.graded:
            write_output(class_report.feedback_text(g, grades.scheme), options.feedback / class_report.feedback_name(g))
    if options.gradebook is not None:
        write_output(class_report.render_gradebook(grades), options.gradebook)
    if options.fmt == "csv":
        write_output(class_report.render_csv(grades), options.output)
    else:
        show(class_report.render_summary(grades), options.output)
