"""A class of exercises (`chainrule exercise --count N`): each submission graded against its own.

Every answers.toml and key.toml that `chainrule exercise` writes names its exercise
(``exercise = { id = "7.2", digits = 4 }``); a submission answers the exercise it names. The class
folder holds one folder per exercise (or is one): net.toml beside answers.toml (or key.toml). A
submission naming no exercise, or one the class does not hold, is listed as not graded with the
reason (where the class holds a single exercise, a submission naming none is graded against it).

This module stays in the check layer: loading a network file is passed in (``Load``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chainrule.check.answers import Precision, exercise_id, read_document, read_precision
from chainrule.check.grading import (
    ClassGrades,
    Graded,
    MarkingScheme,
    Refused,
    asked_keys,
    check_one,
    marked,
    not_a_file,
)
from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError, shown_path

Load = Callable[[Path], Network | Model]
TEMPLATES = ("answers.toml", "key.toml", "answers.json")
NETWORK = "net.toml"


@dataclass(frozen=True)
class Template:
    """What an exercise asks: its id (if it names one), the keys asked and the decimals asked."""

    ident: str | None
    asked: tuple[str, ...]
    precision: Precision


def read_template(path: Path) -> Template:
    """An answers template (or key) read by the guarded reader: one line naming the key if malformed."""
    src = shown_path(path)
    keys = asked_keys(path)  # refuses links, FIFOs, devices and malformed files first
    data = read_document(path)
    return Template(exercise_id(src, data), keys, read_precision(src, data))


@dataclass(frozen=True)
class ClassExercise:
    ident: str
    folder: Path
    network: Network | Model
    template: Template


def find_exercises(folder: Path, load: Load) -> dict[str, ClassExercise]:
    """The exercises a class folder holds, by id: the folder itself or each folder in it."""
    found: dict[str, ClassExercise] = {}
    for d in [folder, *sorted(p for p in folder.iterdir() if not_a_file(p) == "a folder")]:
        template = next((d / t for t in TEMPLATES if not_a_file(d / t) is None), None)
        if template is None or not_a_file(d / NETWORK) is not None:
            continue
        read = read_template(template)
        if read.ident is None:
            continue
        if read.ident in found:
            raise ChainruleError(f"{shown_path(template)}: exercise.id: expected each id once, got {read.ident} twice")
        found[read.ident] = ClassExercise(read.ident, d, load(d / NETWORK), read)
    if not found:
        raise ChainruleError(
            f"{shown_path(folder)}: expected exercise folders ({NETWORK} beside an answers.toml naming its exercise), "
            "found none"
        )
    return found


def _which(exercises: dict[str, ClassExercise], path: Path) -> ClassExercise | str:
    """The exercise a submission answers, or why it cannot be told."""
    src = shown_path(path)
    ident = exercise_id(src, read_document(path))
    if ident is None:
        if len(exercises) == 1:
            return next(iter(exercises.values()))
        return f'{src}: expected exercise = {{ id = "…" }} naming one of {", ".join(exercises)}, got none'
    if ident not in exercises:
        return f"{src}: exercise.id: expected one of {', '.join(exercises)}, got {ident}"
    return exercises[ident]


def grade_class(
    exercises: dict[str, ClassExercise],
    files: Sequence[tuple[str, Path]],
    scheme: MarkingScheme,
    digits: int | None = None,
    tolerance: float = 0.5,
    source: str = "",
) -> ClassGrades:
    """Each submission graded against the exercise it names, at the precision that exercise asks
    (or ``digits`` for every value); any failure with one submission lists it as not graded."""
    graded: list[Graded] = []
    refused: list[Refused] = []
    for student, path in files:
        shown = shown_path(path)
        why = not_a_file(path)
        try:
            which = f"{shown}: expected a regular answers file, got {why}" if why else _which(exercises, path)
        except ChainruleError as exc:
            which = str(exc)
        except Exception as exc:  # one submission's failure is never the class's
            which = f"{shown}: could not be graded ({type(exc).__name__})"
        if isinstance(which, str):
            refused.append(Refused(student, shown, which))
            continue
        precision = Precision(digits) if digits is not None else which.template.precision
        report = check_one(which.network, student, path, precision, tolerance)
        if isinstance(report, Refused):
            refused.append(report)
            continue
        g = marked(student, report, which.template.asked, scheme)
        graded.append(Graded(g.student, g.path, g.report, g.marks, g.score, which.ident))
    first = next(iter(exercises.values()))
    title = f"{len(exercises)} exercises" if len(exercises) > 1 else (first.network.title or first.ident)
    asked = tuple(dict.fromkeys(k for e in exercises.values() for k in e.template.asked))
    return ClassGrades(source, title, asked, scheme, tuple(graded), tuple(refused))
