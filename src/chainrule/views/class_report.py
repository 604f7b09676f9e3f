"""A class's grades shown: the CSV of marks, the class report (Markdown or HTML), each feedback file.

Nothing is computed here beyond counting what grading.ClassGrades holds; every diagnosis is worded
by views.check, as `chainrule check` words it for one student, and every mark is the one
grading.marks_of gives, so the report, the feedback files and the CSV count the same marks.
Every CSV cell of user text goes through views.escape.csv_cell; numbers are written with an ASCII
minus, so a spreadsheet reads them as numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from rich.console import Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from chainrule.check.grading import MARKS, ClassGrades, Graded, MarkingScheme
from chainrule.views import html, markdown
from chainrule.views.check import MARKS as MARK_SHOWN
from chainrule.views.check import detail, render_text
from chainrule.views.doc import Block, Bullets, Heading, Para, Table
from chainrule.views.escape import csv_cell, terminal
from chainrule.views.numbers import fmt
from chainrule.views.text import plain_text

CSV_COLUMNS = (
    "student",
    "file",
    "exercise",
    *MARKS,
    "score",
    "first_wrong",
    "written",
    "exact",
    "diagnosis",
    "misnamed",
    "not_graded",
)
MARK_WORDS = {m: MARK_SHOWN[m][2] for m in MARKS}
# The checker's mistakes as a teacher names them (the JSON keeps the ids).
MISTAKE_WORDS = {
    "half_factor": "the ½ of the loss",
    "activation_derivative_dropped": "f′(z) left out of the chain",
    "z_instead_of_a": "z used where a belongs",
    "updated_weights_in_backprop": "updated weights used in backpropagation",
    "learning_rate": "another learning rate",
    "sign": "a sign flipped",
    "shared_bias_one_path": "a shared bias through one path",
    "bias_omitted": "a bias left out",
    "sum_vs_mean": "sum and mean confused",
    "momentum_dropped": "the momentum term dropped",
    "velocity_ema": "the velocity as a running average",
    "bias_correction_omitted": "Adam without bias correction",
    "rounded_too_early": "rounded too early",
    "slip": "an arithmetic slip",
}
GRADEBOOK_COLUMNS = ("Student", "SIS Login ID", "Exercise", "Score")  # Canvas and Moodle map these on import


def plain_number(x: float, digits: int) -> str:
    """A number for a CSV: fixed decimals, ASCII minus, no thousands separator (a spreadsheet's number)."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def scheme_words(scheme: MarkingScheme) -> str:
    """The marking scheme in one sentence, for the report and the terminal."""
    weights = ", ".join(f"{MARK_SHOWN[m][0]} {MARK_WORDS[m]} {fmt(scheme.weight(m), 3)}" for m in MARKS)
    return (
        f"Each asked value earns a mark ({weights}); the score is the marks' total as a percentage of the values asked. "
        "A conceptual mistake costs once, however many values it moves (the rest follow through); a slip costs "
        "the value it touches; fewer decimals than asked is too coarse."
    )


def feedback_name(g: Graded) -> str:
    """The feedback file of a student (their file's stem, which no folder separator is in)."""
    return f"{g.student}.txt"


def _misnamed(g: Graded) -> str:
    parts = []
    for m in g.report.misnamed:
        meant = f" (did you mean {m.suggestions[0]}?)" if m.suggestions else ""
        parts.append(f"{m.key}{meant}")
    return "; ".join(parts)


def _diagnosis(g: Graded) -> tuple[str, str, str, str]:
    """(first wrong key, what was written, the exact value, the diagnosis in words), or blanks."""
    c = g.first_wrong
    if c is None:
        return "", "", "", ""
    key = c.name if c.step == 1 else f"step.{c.step}.{c.name}"
    words = "; ".join(detail(d, c, g.report) for d in c.diagnosis)
    return key, c.written, fmt(c.exact, max(c.decimals + 2, 4)), words


def render_csv(grades: ClassGrades) -> str:
    """One row per student: those graded (in the order given), then those not graded, with the reason."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in grades.graded:
        key, written, _, words = _diagnosis(g)
        c = g.first_wrong
        exact = plain_number(c.exact, max(c.decimals + 2, 4)) if c is not None else ""
        text = [csv_cell(t) for t in (g.student, g.path, g.exercise)]
        words = words.replace("−", "-")  # one minus sign per format: the CSV's is ASCII
        tail = [csv_cell(t) for t in (key, written)] + [exact] + [csv_cell(t) for t in (words, _misnamed(g), "")]
        writer.writerow([*text, *(g.count(m) for m in MARKS), f"{g.score:.1f}", *tail])
    for r in grades.refused:
        blanks = [""] * (len(MARKS) + 6)
        writer.writerow([csv_cell(r.student), csv_cell(r.path), "", *blanks, csv_cell(r.reason)])
    return out.getvalue()


def render_gradebook(grades: ClassGrades) -> str:
    """The scores alone, one row per graded student, for a gradebook's CSV import (Moodle, Canvas):
    the student's name twice (as the name and as the login to match on), the exercise, the score."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GRADEBOOK_COLUMNS)
    for g in grades.graded:
        writer.writerow([csv_cell(g.student), csv_cell(g.student), csv_cell(g.exercise), f"{g.score:.1f}"])
    return out.getvalue()


def _students(grades: ClassGrades) -> Table:
    rows = []
    for g in grades.graded:
        key, written, exact, words = _diagnosis(g)
        first = f"{key} = {written} (exact {exact}): {words}" if key else "—"
        rows.append(((g.student,), *((str(g.count(m)),) for m in MARKS), (f"{g.score:.1f}",), (first,)))
    header = ("student", *(MARK_WORDS[m] for m in MARKS), "score", "first wrong number")
    return Table(header, tuple(rows), (False, *([True] * (len(MARKS) + 1)), False))


def _wrong_most(grades: ClassGrades) -> list[Block]:
    ranked = grades.wrong_most()
    if not ranked:
        return [Para(("No value was wrong.",))]
    rows = tuple(((k,), (str(w),), (str(f),)) for k, w, f in ranked)
    return [Table(("value", "students wrong", "then carried forward correctly"), rows, (False, True, True))]


def _mistakes(grades: ClassGrades) -> list[Block]:
    counted = grades.common_mistakes()
    if not counted:
        return [Para(("No mistakes.",))]
    rows = []
    for m in counted:
        g, c, d = m.example
        example = f"{g.student}: {c.name} = {c.written} (exact {fmt(c.exact, max(c.decimals + 2, 4))}): {detail(d, c, g.report)}"
        rows.append(((MISTAKE_WORDS.get(m.mistake, m.mistake),), (str(m.students),), (example,)))
    return [Table(("mistake", "students", "example"), tuple(rows), (False, True, False))]


def report_blocks(grades: ClassGrades) -> list[Block]:
    """The class report: the marking scheme, each student, what went wrong most, what was refused."""
    graded, refused = len(grades.graded), len(grades.refused)
    title = f"Class report: {grades.title or grades.network}"
    blocks: list[Block] = [
        Heading(1, title),
        Para(
            (
                f"{graded} submissions graded against {grades.network}, {refused} not graded. ",
                scheme_words(grades.scheme),
            )
        ),
        Para(
            (
                "Follow-through: a number wrong only because it correctly uses the student's own earlier wrong "
                "number earns the follow-through mark (error carried forward).",
            )
        ),
        Heading(2, "Students"),
        _students(grades),
        Heading(2, "Values the class got wrong most"),
        *_wrong_most(grades),
        Heading(2, "Most common mistakes"),
        *_mistakes(grades),
    ]
    misnamed = [g for g in grades.graded if g.report.misnamed]
    if misnamed:
        note = "Each costs the value it was meant to be (graded as blank); the rest of the submission is graded."
        blocks += [Heading(2, "Misnamed values"), Para((note,))]
        blocks.append(Bullets(tuple((f"{g.student}: {_misnamed(g)}",) for g in misnamed)))
    if grades.refused:
        blocks += [Heading(2, "Not graded"), Bullets(tuple((f"{r.student}: {r.reason}",) for r in grades.refused))]
    return blocks


def render_report(grades: ClassGrades, fmt_: Literal["markdown", "html"]) -> str:
    blocks = report_blocks(grades)
    return html.render_blocks(blocks) if fmt_ == "html" else markdown.render_blocks(blocks)


def feedback_text(g: Graded, scheme: MarkingScheme) -> str:
    """A student's own feedback: `chainrule check`'s report (the first mistake worked out) and the marks."""
    counts = ", ".join(f"{g.count(m)} {MARK_WORDS[m]}" for m in MARKS)
    tail = f"\nMarks: {counts}. Score {g.score:.1f} of 100.\n{scheme_words(scheme)}\n"
    return plain_text(render_text(g.report, g.marks)) + tail


def render_summary(grades: ClassGrades) -> RenderableType:
    """The class in the terminal: one row per student, then what was not graded and why."""
    table = RichTable(box=None, show_header=True, header_style="bold", padding=(0, 1))
    for col in ("student", *(MARK_WORDS[m] for m in MARKS), "score", "first wrong number"):
        table.add_column(col, no_wrap=col != "first wrong number")
    for g in grades.graded:
        key, written, exact, words = _diagnosis(g)
        first = f"{key} = {written} (exact {exact}): {words}" if key else "—"
        table.add_row(terminal(g.student), *(str(g.count(m)) for m in MARKS), f"{g.score:.1f}", terminal(first))
    parts: list[RenderableType] = [Text(terminal(f"Grading against {grades.network}"), style="bold"), table]
    parts += [Text(terminal(f"not graded: {r.student}: {r.reason}"), style="red") for r in grades.refused]
    parts.append(Text(scheme_words(grades.scheme)))
    return Group(*parts)
