"""Grading a class: every student's answers file checked against one network, marked and summed.

Each asked number gets one mark:

* **ok** — equal to the exact value at the precision written;
* **rounding** — off only as rounding explains (the checker's ``rounding``);
* **follow_through** — wrong, but only because it correctly uses the student's own earlier wrong
  number ("error carried forward", as exam boards mark): the checker's ``propagated`` diagnosis
  with nothing else wrong in the claim;
* **wrong** — any other wrong number;
* **blank** — asked (a name of the answers template) but not filled in.

score = 100 · Σ weight(mark) / (number of asked values), each mark weighted by the MarkingScheme
(default ok 1, rounding 1, follow_through 1, wrong 0, blank 0). Numbers a student adds beyond
those asked are counted but earn no score. A submission that cannot be graded (unreadable, empty,
a name the network does not have) is refused with the reason, and the others are graded as usual.
"""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chainrule.check.answers import load_answers
from chainrule.check.checker import CheckReport, ClaimResult, Diagnosis, check
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError, shown_path

Mark = Literal["ok", "rounding", "follow_through", "wrong", "blank"]
MARKS: tuple[Mark, ...] = ("ok", "rounding", "follow_through", "wrong", "blank")
ANSWERS_SUFFIXES = (".toml", ".json")


@dataclass(frozen=True)
class MarkingScheme:
    """What each mark is worth, out of 1 per asked value."""

    ok: float = 1.0
    rounding: float = 1.0
    follow_through: float = 1.0
    wrong: float = 0.0
    blank: float = 0.0

    def weight(self, mark: Mark) -> float:
        return float(getattr(self, mark))


def mark_of(claim: ClaimResult) -> Mark:
    """The claim's mark: the checker's status, with a wrong number that only carries forward the
    student's own earlier wrong one (``propagated``, not ``partly``) made follow_through."""
    if claim.status != "wrong":
        return claim.status
    first = claim.diagnosis[0] if claim.diagnosis else None
    if first is not None and first.mistake == "propagated" and first.kind != "partly":
        return "follow_through"
    return "wrong"


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

    def count(self, mark: Mark) -> int:
        return sum(1 for m in self.marks.values() if m == mark)

    @property
    def first_wrong(self) -> ClaimResult | None:
        """The first number that is wrong by itself (a follow-through one never comes first)."""
        return next((c for c in self.report.claims if self.marks[_key(c)] == "wrong"), None)


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
                d = own_mistake(c) if g.marks[_key(c)] == "wrong" else None
                if d is None or d.mistake in seen:
                    continue
                seen.add(d.mistake)
                students[d.mistake] += 1
                example.setdefault(d.mistake, (g, c, d))
        return [MistakeCount(m, n, example[m]) for m, n in students.most_common()]


def _key(c: ClaimResult) -> str:
    return c.name if c.step == 1 else f"step.{c.step}.{c.name}"


def asked_keys(path: str | Path) -> tuple[str, ...]:
    """The names an answers template asks for (every entry, blank or not), as claim keys."""
    src = shown_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ChainruleError(f"{src}: expected a readable answers template (TOML or JSON): {exc}") from None
    keys: list[str] = []
    for name, value in data.items():
        if name == "step" and isinstance(value, dict):
            keys += [f"step.{n}.{k}" if n != "1" else k for n, table in value.items() for k in table]
        else:
            keys.append(name)
    return tuple(keys)


def submissions(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(student, answers file) for each path: a file is one student (named by its stem); a folder
    holds one file per student, or one folder per student with its answers.toml (named by the folder)."""
    found: list[tuple[str, Path]] = []
    for p in paths:
        if not p.is_dir():
            found.append((p.stem, p))
            continue
        for child in sorted(p.iterdir()):
            if child.is_file() and child.suffix.lower() in ANSWERS_SUFFIXES:
                found.append((child.stem, child))
            elif child.is_dir():
                inner = [child / f"answers{s}" for s in ANSWERS_SUFFIXES if (child / f"answers{s}").is_file()]
                if inner:
                    found.append((child.name, inner[0]))
    return found


def check_one(net: Network, student: str, path: Path) -> CheckReport | Refused:
    """One submission checked, or refused with the reason (never raised: the class goes on)."""
    shown = shown_path(path)
    try:
        return check(net, load_answers(path), shown)
    except ChainruleError as exc:
        return Refused(student, shown, str(exc))
    except OSError as exc:
        return Refused(student, shown, f"{shown}: expected a readable answers file ({exc.strerror})")


def marked(student: str, report: CheckReport, asked: Sequence[str], scheme: MarkingScheme) -> Graded:
    """Every claim's mark, a blank for each asked value not claimed, and the score."""
    marks: dict[str, Mark] = {_key(c): mark_of(c) for c in report.claims}
    for k in asked:
        marks.setdefault(k, "blank")
    total = sum(scheme.weight(marks[k]) for k in asked)
    score = 100.0 * total / len(asked) if asked else 0.0
    return Graded(student, report.answers, report, marks, round(score, 1))


def grade(
    net: Network,
    files: Sequence[tuple[str, Path]],
    asked: Sequence[str] | None = None,
    scheme: MarkingScheme | None = None,
) -> ClassGrades:
    """Every submission graded against ``net``. Without ``asked`` (no template), the values asked
    are every name some student's gradable submission claims."""
    scheme = scheme or MarkingScheme()
    checked = [(student, check_one(net, student, path)) for student, path in files]
    reports = [(s, r) for s, r in checked if isinstance(r, CheckReport)]
    if asked is None:
        asked = list(dict.fromkeys(_key(c) for _, r in reports for c in r.claims))
    return ClassGrades(
        net.source,
        net.title,
        tuple(asked),
        scheme,
        tuple(marked(s, r, asked, scheme) for s, r in reports),
        tuple(r for _, r in checked if isinstance(r, Refused)),
    )
