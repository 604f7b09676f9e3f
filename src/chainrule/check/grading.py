"""Grading a class: every student's answers file checked against one network, marked and summed.

Each asked number gets one mark (the symbol feedback shows it with):

* **ok** ✓ — equal to the exact value at the precision asked;
* **rounding** ≈ — off only as rounding explains (the checker's ``rounding``);
* **too_coarse** … — right at its own precision but written with fewer decimals than asked;
* **follow_through** → — wrong, but only because it correctly uses the student's own earlier wrong
  number ("error carried forward", as exam boards mark), or wrong by a conceptual mistake (a
  known one: f′ dropped, the sign of the update, …) that already cost an earlier value: a
  conceptual mistake costs once however many values it moves, a slip the value it touches;
* **wrong** ✗ — any other wrong number (the first value a conceptual mistake moves, a slip);
* **blank** — asked (a name of the answers template) but not filled in, or filled in under a
  name the network lacks (flagged with the name it most likely meant).

score = 100 · Σ weight(mark) / (number of asked values), each mark weighted by the MarkingScheme
(default ok 1, rounding 1, too_coarse 0.5, follow_through 1, wrong 0, blank 0). Numbers a student
adds beyond those asked are counted but earn no score. A submission that cannot be graded (not a
regular file, unreadable, empty, or any failure at all while grading it) is listed as not graded
with the reason, and the others are graded as usual.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from chainrule.check.answers import SETTINGS, Precision, load_answers, read_document
from chainrule.check.checker import CheckReport, ClaimResult, Diagnosis, check
from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError, shown_path

Mark = Literal["ok", "rounding", "too_coarse", "follow_through", "wrong", "blank"]
MARKS: tuple[Mark, ...] = ("ok", "rounding", "too_coarse", "follow_through", "wrong", "blank")
ANSWERS_SUFFIXES = (".toml", ".json")
SLIPS = ("slip",)  # a diagnosis that costs every value it touches (not a conceptual mistake)


@dataclass(frozen=True)
class MarkingScheme:
    """What each mark is worth, out of 1 per asked value."""

    ok: float = 1.0
    rounding: float = 1.0
    too_coarse: float = 0.5
    follow_through: float = 1.0
    wrong: float = 0.0
    blank: float = 0.0

    def weight(self, mark: Mark) -> float:
        return float(getattr(self, mark))

    @classmethod
    def parse(cls, text: str) -> MarkingScheme:
        """``ok=1,too_coarse=0.25``: the weights named, each 0 to 1; the others as by default."""
        weights: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",") if p.strip()):
            name, eq, value = part.partition("=")
            name = name.strip().replace("-", "_")
            try:
                weight = float(value) if eq and value.strip().isascii() and len(value) < 20 else -1.0
            except ValueError:
                weight = -1.0
            if name not in MARKS or not 0 <= weight <= 1:
                raise ChainruleError(
                    f"--marks {part}: expected MARK=WEIGHT with a weight 0 to 1, MARK one of {', '.join(MARKS)}"
                )
            weights[name] = weight
        return cls(**weights)


def mark_of(claim: ClaimResult) -> Mark:
    """The claim's own mark: the checker's status, with a wrong number that only carries forward the
    student's own earlier wrong one (``propagated``, not ``partly``) made follow_through."""
    if claim.status != "wrong":
        return claim.status
    first = claim.diagnosis[0] if claim.diagnosis else None
    if first is not None and first.mistake == "propagated" and first.kind != "partly":
        return "follow_through"
    return "wrong"


def marks_of(report: CheckReport) -> dict[str, Mark]:
    """Every claim's mark by its key: a conceptual mistake marks wrong only the first value it moves
    (in the order the numbers are computed), follow_through every later one; a slip each it touches."""
    marks: dict[str, Mark] = {}
    charged: set[tuple[str, str, str]] = set()
    for c in report.claims:
        mark = mark_of(c)
        own = own_mistake(c) if mark == "wrong" else None
        if own is not None and own.mistake not in SLIPS:
            if (own.mistake, own.kind, own.where) in charged:
                mark = "follow_through"
            charged.add((own.mistake, own.kind, own.where))
        marks[claim_key(c)] = mark
    return marks


def own_mistake(claim: ClaimResult) -> Diagnosis | None:
    """The first diagnosis that is the claim's own mistake (not what it carries forward), if any."""
    return next((d for d in claim.diagnosis if d.mistake != "propagated"), None)


@dataclass(frozen=True)
class Graded:
    """One student's graded submission."""

    student: str
    path: str
    report: CheckReport
    marks: dict[str, Mark]  # by the claim's key (name, or step.N.name), asked blanks included
    score: float
    exercise: str = ""  # the id of the exercise it was graded against, in a class of exercises

    def count(self, mark: Mark) -> int:
        return sum(1 for m in self.marks.values() if m == mark)

    @property
    def first_wrong(self) -> ClaimResult | None:
        """The first number that is wrong by itself (a follow-through one never comes first)."""
        return next((c for c in self.report.claims if self.marks[claim_key(c)] == "wrong"), None)


@dataclass(frozen=True)
class Refused:
    """A submission that could not be graded, and why (the one line `chainrule check` would print)."""

    student: str
    path: str
    reason: str


@dataclass(frozen=True)
class MistakeCount:
    mistake: str
    students: int
    example: tuple[Graded, ClaimResult, Diagnosis]  # the first student (in order) who made it


@dataclass(frozen=True)
class ClassGrades:
    network: str
    title: str
    asked: tuple[str, ...]
    scheme: MarkingScheme
    graded: tuple[Graded, ...]
    refused: tuple[Refused, ...] = field(default_factory=tuple)

    def wrong_most(self) -> list[tuple[str, int, int]]:
        """(value key, students wrong, students with follow-through), most often wrong first."""
        wrong: Counter[str] = Counter()
        carried: Counter[str] = Counter()
        for g in self.graded:
            wrong.update(k for k, m in g.marks.items() if m == "wrong")
            carried.update(k for k, m in g.marks.items() if m == "follow_through")
        order = {k: i for i, k in enumerate(self.asked)}
        keys = sorted(wrong, key=lambda k: (-wrong[k], order.get(k, len(order)), k))
        return [(k, wrong[k], carried[k]) for k in keys]

    def common_mistakes(self) -> list[MistakeCount]:
        """Each known mistake (or slip) with the number of students who made it, most common first."""
        students: Counter[str] = Counter()
        example: dict[str, tuple[Graded, ClaimResult, Diagnosis]] = {}
        for g in self.graded:
            seen: set[str] = set()
            for c in g.report.claims:
                d = own_mistake(c) if g.marks[claim_key(c)] == "wrong" else None
                if d is None or d.mistake in seen:
                    continue
                seen.add(d.mistake)
                students[d.mistake] += 1
                example.setdefault(d.mistake, (g, c, d))
        return [MistakeCount(m, n, example[m]) for m, n in students.most_common()]


def claim_key(c: ClaimResult) -> str:
    return c.name if c.step == 1 else f"step.{c.step}.{c.name}"


def asked_keys(path: str | Path) -> tuple[str, ...]:
    """The names an answers template asks for (every entry, blank or not), as claim keys; read by
    the guarded reader (size, devices, FIFOs, nesting), one line naming the key if malformed."""
    src = shown_path(path)
    refused = not_a_file(Path(path))
    if refused:
        raise ChainruleError(f"{src}: expected an answers template (TOML or JSON), got {refused}")
    data = read_document(Path(path))
    keys: list[str] = []
    for name, value in data.items():
        if name in SETTINGS and isinstance(value, dict):
            continue
        if name == "step" and isinstance(value, dict):
            for n, table in value.items():
                if not isinstance(table, dict):
                    raise ChainruleError(f"{src}: step.{n}: expected a table of name = number")
                keys += [f"step.{n}.{k}" if n != "1" else k for k in table]
        else:
            keys.append(name)
    return tuple(keys)


def not_a_file(path: Path) -> str | None:
    """Why a path cannot be a submission without being opened (a link, FIFO, device, folder), or None."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"a path that cannot be read ({exc.strerror or exc})"
    except ValueError:
        return "a name no file system holds"
    for test, what in ((stat.S_ISLNK, "a link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder")):
        if test(info.st_mode):
            return what
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return "a device"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    return None


def submissions(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(student, answers file) for each path: a file is one student (named by its stem); a folder
    holds one file per student, or one folder per student with its answers.toml (named by the folder).
    Links, FIFOs and devices in a folder are kept, to be listed as not graded (never opened)."""
    found: list[tuple[str, Path]] = []
    for p in paths:
        if not p.is_dir():  # a folder the teacher names is followed, even through a link
            found.append((p.stem, p))
            continue
        for child in sorted(p.iterdir()):
            why = not_a_file(child)
            if why != "a folder":
                if child.suffix.lower() in ANSWERS_SUFFIXES:  # a link or FIFO among them too: listed, not opened
                    found.append((child.stem, child))
                continue
            inner = [child / f"answers{s}" for s in ANSWERS_SUFFIXES if os.path.lexists(child / f"answers{s}")]
            if inner:
                found.append((child.name, inner[0]))
    return found


def check_one(
    net: Network | Model, student: str, path: Path, precision: Precision | None = None, tolerance: float = 0.5
) -> CheckReport | Refused:
    """One submission checked, or refused with the reason (never raised: the class goes on).

    ``precision``: the decimals the teacher asks (--digits, or the exercise's template); where it
    says anything it replaces what the submission itself claims to be asked."""
    shown = shown_path(path)
    why = not_a_file(path)
    if why is not None:
        return Refused(student, shown, f"{shown}: expected a regular answers file, got {why}")
    try:
        claims = load_answers(path)
        if precision is not None and (precision.digits is not None or precision.per_value):
            claims = [
                replace(c, asked=precision.of(c.name if c.step == 1 else f"step.{c.step}.{c.name}")) for c in claims
            ]
        if isinstance(net, Model):  # a shaped network's answers: its own checker, the same report
            from chainrule.check.model_checker import check_model

            return check_model(net, claims, shown, tolerance=tolerance)
        return check(net, claims, shown, tolerance=tolerance, strict=False)
    except ChainruleError as exc:
        return Refused(student, shown, str(exc))
    except OSError as exc:
        return Refused(student, shown, f"{shown}: expected a readable answers file ({exc.strerror})")
    except Exception as exc:  # any failure in one submission is that submission's, never the class's
        first = (str(exc).splitlines() or [""])[0][:200]
        return Refused(student, shown, f"{shown}: could not be graded ({type(exc).__name__}: {first})")


def marked(student: str, report: CheckReport, asked: Sequence[str], scheme: MarkingScheme) -> Graded:
    """Every claim's mark, a blank for each asked value not claimed, and the score."""
    marks: dict[str, Mark] = marks_of(report)
    for k in asked:
        marks.setdefault(k, "blank")
    total = sum(scheme.weight(marks[k]) for k in asked)
    score = 100.0 * total / len(asked) if asked else 0.0
    return Graded(student, report.answers, report, marks, round(score, 1))


def grade(
    net: Network | Model,
    files: Sequence[tuple[str, Path]],
    asked: Sequence[str] | None = None,
    scheme: MarkingScheme | None = None,
    precision: Precision | None = None,
    tolerance: float = 0.5,
) -> ClassGrades:
    """Every submission graded against ``net``. Without ``asked`` (no template), the values asked
    are every name some student's gradable submission claims."""
    scheme = scheme or MarkingScheme()
    checked = [(student, check_one(net, student, path, precision, tolerance)) for student, path in files]
    reports = [(s, r) for s, r in checked if isinstance(r, CheckReport)]
    if asked is None:
        asked = list(dict.fromkeys(claim_key(c) for _, r in reports for c in r.claims))
    return ClassGrades(
        net.source,
        net.title,
        tuple(asked),
        scheme,
        tuple(marked(s, r, asked, scheme) for s, r in reports),
        tuple(r for _, r in checked if isinstance(r, Refused)),
    )
