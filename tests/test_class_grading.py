"""Grades a teacher can sign: the precision asked, one mark scheme, a class of different exercises,
and a class never lost to one hostile submission."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.classroom import find_exercises, grade_class
from chainrule.check.grading import MarkingScheme, grade, submissions
from chainrule.check.mistakes import catalogue
from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.views.check import render_json
from chainrule.views.class_report import feedback_text, render_csv

REFERENCE = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples" / "forward-backprop.toml"


@pytest.fixture(scope="module")
def class_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("class") / "class"
    result = CliRunner().invoke(main, ["exercise", "--seed", "7", "--count", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def key_of(class_set: Path, n: int) -> str:
    return (class_set / f"exercise-{n}" / "key.toml").read_text()


def rewritten(text: str, how: str) -> str:
    """Every quoted number of a key written another way: "int" (nearest integer) or "one" (one decimal)."""

    def sub(m: re.Match[str]) -> str:
        x = float(m.group(2))
        return f'{m.group(1)}"{round(x)}"' if how == "int" else f'{m.group(1)}"{x:.1f}"'

    return re.sub(r'^("[^"]+" = )"(-?[0-9.]+)"$', sub, text, flags=re.MULTILINE)


def grade_folder(class_set: Path, subs: Path, *extra: str) -> list[dict[str, str]]:
    out = subs.parent / "grades.csv"
    args = ["check", str(class_set), str(subs), "--format", "csv", "-o", str(out), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(out.read_text())))


def test_a_class_of_three_exercises_each_answered_by_its_own_key_scores_100(class_set: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for n in (1, 2, 3):
        (subs / f"student{n}.toml").write_text(key_of(class_set, n))
    rows = grade_folder(class_set, subs, "--gradebook", str(tmp_path / "gradebook.csv"))
    assert {r["student"]: (r["exercise"], r["score"]) for r in rows} == {
        "student1": ("7.1", "100.0"),
        "student2": ("7.2", "100.0"),
        "student3": ("7.3", "100.0"),
    }
    book = list(csv.DictReader(io.StringIO((tmp_path / "gradebook.csv").read_text())))
    assert [float(r["Score"]) for r in book] == [100.0, 100.0, 100.0]
    assert list(book[0]) == ["Student", "SIS Login ID", "Exercise", "Score"]


def test_answering_another_exercise_or_none_is_flagged_not_graded_against_the_wrong_one(
    class_set: Path, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "other.toml").write_text(key_of(class_set, 2).replace('id = "7.2"', 'id = "9.1"'))
    (subs / "none.toml").write_text(re.sub(r"^exercise = .*$", "", key_of(class_set, 2), flags=re.MULTILINE))
    rows = {r["student"]: r for r in grade_folder(class_set, subs)}
    assert "expected one of 7.1, 7.2, 7.3, got 9.1" in rows["other"]["not_graded"]
    assert 'expected exercise = { id = "…" }' in rows["none"]["not_graded"]
    assert rows["other"]["score"] == rows["none"]["score"] == ""


@pytest.mark.parametrize("how", ["int", "one"])
def test_integer_or_one_decimal_answers_to_a_four_decimal_exercise_are_too_coarse(
    class_set: Path, tmp_path: Path, how: str
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "coarse.toml").write_text(rewritten(key_of(class_set, 3), how))
    feedback = tmp_path / "feedback"
    (row,) = grade_folder(class_set, subs, "--feedback", str(feedback))
    assert float(row["score"]) <= 50.0  # never full marks: at most the too-coarse half of each value
    assert int(row["ok"]) == 0 and int(row["too_coarse"]) + int(row["wrong"]) >= 16
    text = (feedback / "coarse.txt").read_text()
    assert "too coarse: 0 decimal places where 4 are asked" in text or "too coarse: 1 decimal places" in text


def test_a_zero_for_a_small_nonzero_value_is_not_ok_even_when_nothing_is_asked(tmp_path: Path) -> None:
    net = netfile.load(REFERENCE)
    path = tmp_path / "a.toml"
    path.write_text('"dL/dw1" = "0"\n"dL/dw5" = "0.0822"\n')
    report = check(net, load_answers(path))
    status = {c.name: c.status for c in report.claims}
    assert status == {"dL/dw1": "too_coarse", "dL/dw5": "ok"}


def test_precision_asked_per_value_option_and_tolerance(tmp_path: Path) -> None:
    net = netfile.load(REFERENCE)
    exact = evaluate(build(net, [0]))
    path = tmp_path / "a.toml"
    a_out = exact["a_out"]
    path.write_text(f'a_out = "{a_out:.3f}"\nz_h1 = "{exact["z_h1"] + 1.4e-4:.4f}"\n[digits]\na_out = 3\n')
    by = {c.name: c for c in check(net, load_answers(path), digits=4).claims}
    assert by["a_out"].status == "ok"  # 3 asked of a_out by the file's [digits], 4 of the rest
    assert by["z_h1"].status != "ok"  # one unit of the 4th place off
    by = {c.name: c for c in check(net, load_answers(path), digits=4, tolerance=2).claims}
    assert by["z_h1"].status == "ok"  # the teacher's tolerance: two units of the last place
    by = {c.name: c for c in check(net, load_answers(path), digits=5).claims}
    assert by["z_h1"].status == "too_coarse" or by["z_h1"].status == "wrong"


def test_a_conceptual_mistake_costs_once_a_slip_the_value_it_touches(class_set: Path, tmp_path: Path) -> None:
    """σ′ of the hidden layer dropped: one wrong value, the rest it moves follow through; the
    feedback's marks, its summary line and the CSV count the same."""
    net = netfile.load(class_set / "exercise-1" / "net.toml")
    graph = build(net, net.batches()[0])
    (mistake,) = [m for m in catalogue(graph) if m.id == "activation_derivative_dropped" and m.where == "h"]
    values = evaluate(mistake.rewrite(graph))
    key = tomllib.loads(key_of(class_set, 1))
    lines = [line for line in key_of(class_set, 1).splitlines() if not line.startswith('"')]
    lines += [f"{json.dumps(k)} = {json.dumps(f'{values[k]:.4f}')}" for k in key if k != "exercise"]
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s.toml").write_text("\n".join(lines) + "\n")
    grades = grade_class(find_exercises(class_set, netfile.load), submissions([subs]), MarkingScheme())
    (g,) = grades.graded
    moved = [k for k in key if k != "exercise" and f"{values[k]:.4f}" != key[k]]
    assert len(moved) >= 5
    assert g.count("wrong") == 1 and g.count("follow_through") == len(moved) - 1
    assert g.score == round(100 * (32 - 1) / 32, 1)
    text = feedback_text(g, grades.scheme)
    assert "1 wrong" in text and text.count("✗") == 2  # the row, and ✗ wrong 0 in the scheme's words
    assert text.count("→") == len(moved) - 1 + 1
    (row,) = csv.DictReader(io.StringIO(render_csv(grades)))
    assert (row["wrong"], row["follow_through"], row["score"]) == ("1", str(len(moved) - 1), f"{g.score:.1f}")


def test_display_notation_is_read_and_a_misnamed_value_costs_that_value_alone(class_set: Path, tmp_path: Path) -> None:
    text = key_of(class_set, 2).replace('"dL/dw5"', '"∂L/∂w5"').replace('"a_out"', '"ŷ"')
    text = text.replace('"dL/dw6"', '"dL/dw_6"')
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s.toml").write_text(text)
    (row,) = grade_folder(class_set, subs)
    assert (row["ok"], row["blank"], row["score"]) == ("31", "1", "96.9")
    assert row["misnamed"] == "dL/dw_6 (did you mean dL/dw6?)"


def test_y_hat_suggests_the_output_and_a_bare_slash_name_says_how_to_quote(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('y_hat = "0.75"\n')
    result = runner.invoke(main, ["check", str(REFERENCE), str(path)])
    assert result.exit_code == 2 and "nearest: a_out" in result.output
    path.write_text("dL/dw5 = 0.0822\n")
    result = runner.invoke(main, ["check", str(REFERENCE), str(path)])
    assert result.exit_code == 2 and 'a name with / goes in quotes: "dL/dw5"' in result.output
    assert len(result.output.strip().splitlines()) == 1


def hostile(subs: Path) -> dict[str, str]:
    """Submissions that once sank a class or hung it, and the words their line must hold."""
    head = 'exercise = { id = "7.1" }\n'
    files = {
        "overflow": head + '"dL/dw5" = "1e309"\n',
        "tiny": head + '"dL/dw5" = "1e-999999999"\n',
        "tinier": head + '"dL/dw5" = "1e-9999999999"\n',
        "deep": head + "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "binary": "\x00\xff garbage",
        "list": "[1, 2, 3]",
    }
    for name, text in files.items():
        (subs / f"{name}.toml").write_text(text, encoding="latin-1" if name == "binary" else "utf-8")
    (subs / "list.toml").rename(subs / "list.json")
    os.symlink("/dev/zero", subs / "zero.toml")
    os.symlink(subs / "missing", subs / "dangling.toml")
    os.mkfifo(subs / "fifo.toml")
    return {
        "overflow": "within a float's range",
        "tiny": "exponent within",
        "tinier": "exponent within",
        "deep": "nest",
        "binary": "",
        "list": "",
        "zero": "a link",
        "dangling": "a link",
        "fifo": "a FIFO",
    }


def test_one_hostile_submission_never_sinks_the_class(class_set: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "=1+2.toml").write_text(key_of(class_set, 1))
    (subs / "good.toml").write_text(key_of(class_set, 2))
    expected = hostile(subs)
    rows = {r["student"]: r for r in grade_folder(class_set, subs)}
    assert rows["'=1+2"]["score"] == rows["good"]["score"] == "100.0"
    for student, words in expected.items():
        reason = rows[student]["not_graded"]
        assert reason and words in reason and "\n" not in reason, (student, reason)
    text = (tmp_path / "grades.csv").read_text()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) and not _number(c) for c in cells)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("kind", ["fifo", "zero", "deep", "list"])
def test_asked_template_is_read_by_the_guarded_reader(runner: CliRunner, tmp_path: Path, kind: str) -> None:
    template = tmp_path / "asked.toml"
    if kind == "fifo":
        os.mkfifo(template)
    elif kind == "zero":
        template = Path("/dev/zero")
    elif kind == "deep":
        template.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    else:
        template = tmp_path / "asked.json"
        template.write_text("[1, 2]")
    answers = tmp_path / "a.toml"
    answers.write_text('z_h1 = "0.3775"\n')
    args = ["check", str(REFERENCE), str(answers), "--format", "csv", "--asked", str(template)]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_the_exact_column_and_scores_read_as_numbers(class_set: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    text = re.sub(r'^"z_h1" = .*$', '"z_h1" = "-9.9999"', key_of(class_set, 1), flags=re.MULTILINE)
    (subs / "s.toml").write_text(text)
    (row,) = grade_folder(class_set, subs)
    assert row["first_wrong"] == "z_h1"
    assert float(row["exact"]) == pytest.approx(0.165, abs=1e-4) and float(row["score"]) < 100
    assert "−" not in (tmp_path / "grades.csv").read_text()  # no U+2212: every minus is ASCII


TEXTS = st.sampled_from(
    [
        '"dL/dw5" = "1e309"',
        '"dL/dw5" = "-1e-99999999999"',
        '"z_h1" = ""',
        '"z_h1" = [1, 2]',
        '"z_h1" = { a = 1 }',
        'exercise = { id = "x" }',
        'exercise = { id = "7.9" }',
        "[step.0]",
        "[step.99999999999999999999]\nz_h1 = 1",
        '[digits]\nz_h1 = "many"',
        "[names]\nz = 3",
        '[conventions]\nerror = "sideways"',
        '"z_h9" = "0.1"',
        '"∂L/∂ŷ" = "0.6"',
        "z_h1 = nan",
        "z_h1 = inf",
        "\x00",
    ]
)


@settings(max_examples=40)
@given(base=st.integers(1, 3), extra=st.lists(TEXTS, max_size=3), cut=st.integers(0, 4000))
def test_class_grading_fuzz_every_submission_graded_or_listed(
    class_set: Path, tmp_path_factory: pytest.TempPathFactory, base: int, extra: list[str], cut: int
) -> None:
    """Keys cut short and mixed with hostile lines: every file is graded or listed with one line."""
    subs = tmp_path_factory.mktemp("fuzz")
    text = key_of(class_set, base)
    (subs / "a.toml").write_text(text[: cut % (len(text) + 1)] + "\n" + "\n".join(extra) + "\n")
    (subs / "b.toml").write_text("\n".join(extra) + "\n" + text)
    exercises = find_exercises(class_set, netfile.load)
    grades = grade_class(exercises, submissions([subs]), MarkingScheme())
    assert sorted([g.student for g in grades.graded] + [r.student for r in grades.refused]) == ["a", "b"]
    assert all(r.reason and "\n" not in r.reason for r in grades.refused)
    for g in grades.graded:
        assert 0 <= g.score <= 100
        render_json(g.report)


def test_a_single_network_class_reads_the_templates_precision(tmp_path: Path) -> None:
    """The single-network form as before, with the digits of the template beside the network."""
    out = tmp_path / "ex"
    assert CliRunner().invoke(main, ["exercise", "--seed", "3", "-o", str(out)]).exit_code == 0
    subs = tmp_path / "subs"
    subs.mkdir()
    key = re.sub(r"^exercise = .*$", "", (out / "key.toml").read_text(), flags=re.MULTILINE)
    (subs / "coarse.toml").write_text(rewritten(key, "one"))  # names no exercise, asks nothing itself
    net = netfile.load(out / "net.toml")
    grades = grade(net, submissions([subs]))
    (g,) = grades.graded
    # no precision asked anywhere: one decimal is too coarse only where it shows no significant digit
    assert all(c.status != "too_coarse" or float(c.written) == 0 for c in g.report.claims)
    result = CliRunner().invoke(main, ["check", str(out / "net.toml"), str(subs), "--format", "csv"])
    (row,) = csv.DictReader(io.StringIO(result.output))
    assert int(row["too_coarse"]) > g.count("too_coarse") and float(row["score"]) <= 50 < g.score


def test_every_mistake_a_class_report_counts_has_a_teachers_name() -> None:
    from chainrule.check.mistakes import MISTAKE_IDS
    from chainrule.views.class_report import MISTAKE_WORDS

    assert set(MISTAKE_IDS) - {"propagated", "rounding", "too_coarse"} == set(MISTAKE_WORDS)


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("1e309", "within a float's range"),
        ("1e-999999999", "an exponent within ±400"),
        ("1e-9999999999", "an exponent within ±400"),
        ("0." + "0" * 500 + "1", "at most 400 decimal places"),
    ],
)
def test_a_number_beyond_a_float_is_one_line_before_any_arithmetic(
    runner: CliRunner, tmp_path: Path, written: str, words: str
) -> None:
    path = tmp_path / "a.toml"
    path.write_text(f'"dL/dw5" = "{written}"\n')
    result = runner.invoke(main, ["check", str(REFERENCE), str(path)])
    assert result.exit_code == 2 and words in result.output
    assert len(result.output.strip().splitlines()) == 1
