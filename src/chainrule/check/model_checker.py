"""Hand-worked answers for a shaped network (`engine.model.Model`): ok, rounding or wrong, the first
wrong number in the order of the computation, and the slip that gives it.

The statuses and precision are the dense checker's (checker.py, precision.py): ok when equal at
the places written; rounding when every written number rounded to k places on the way gives it,
or it is one or two units off in its last digit; too coarse when written with fewer places than
asked; else wrong. A wrong number is explained by replaying the update with each slip of
`model_slips.catalogue` (the engine with one rule mistaken); the first wrong number gets the slip
no ok claim contradicts, and every later wrong number that the same slip gives, or that is worked
correctly from the author's own earlier wrong numbers (model_pins.py), follows from it
(``propagated``, marked →), so one slip is told once. Numbers are of the first update, or of
update N under ``[step.N]`` (the network after the N − 1 updates before it, as `explain --steps`
makes them; each update is checked from its exact start, so a slip in one is not carried on).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from chainrule.check.answers import Claim
from chainrule.check.checker import LAST_DIGIT_UNITS, ROUNDING_DIGITS, CheckReport, ClaimResult, Diagnosis, Status
from chainrule.check.derivation import Derivation
from chainrule.check.model_pins import Pins
from chainrule.check.model_rules import rule
from chainrule.check.model_slips import Slip, catalogue
from chainrule.check.model_values import Values, replay
from chainrule.check.names import Misnamed
from chainrule.check.precision import agrees, significant, too_coarse
from chainrule.engine import limits
from chainrule.engine.model import Model
from chainrule.errors import ChainruleError
from chainrule.record.model_step import model_batches, updated_on


def check_model(
    model: Model,
    claims: list[Claim],
    answers: str = "",
    *,
    digits: int | None = None,
    tolerance: float = 0.5,
) -> CheckReport:
    """Check every claim of a shaped network's updates (see the module's doc)."""
    steps = sorted({c.step for c in claims})
    limits.EXPLAINED.check(model.parameter_count() * max(steps, default=1), f"{answers}: parameters × updates checked")
    results: list[ClaimResult] = []
    for step, at in zip(steps, _models_at(model, steps), strict=True):
        exact = replay(at).values
        mine = [replace(c, name=as_recorded(c.name, exact)) for c in claims if c.step == step]
        misnamed = tuple(_misnamed(c, exact, answers) for c in mine if c.name not in exact)
        if misnamed:
            raise ChainruleError(_refusal(misnamed[0]))
        with np.errstate(all="ignore"):
            results += _ModelCheck(at, exact, mine, digits, tolerance, step).run()
    return CheckReport(model.title, model.source, answers, model.training.learning_rate, tuple(results), ())


def _models_at(model: Model, steps: list[int]) -> list[Model]:
    """For each step N (from 1, in order): the model after the N − 1 updates before it, holding only
    update N's examples (so that its first update, the one `replay` works, is update N)."""
    batches = model_batches(model)
    out, done = [], 0
    for step in steps:
        for i in range(done, step - 1):
            model = updated_on(model, batches[i % len(batches)])
        done = step - 1
        idx = batches[(step - 1) % len(batches)]
        out.append(dataclasses.replace(model, x=model.x[idx], y=model.y[idx]))
    return out


# explain prints an element's updated value with "new" beside the tensor's name (W_c_new[1,2]); the
# record names it after the index (W_c[1,2]_new). Either is the same value.
_NEW_BEFORE_INDEX = re.compile(r"(?P<stem>.+)_new(?P<index>\[[0-9,]+\])(?P<k>#[0-9]+)?\Z")


def as_recorded(name: str, exact: Mapping[str, float]) -> str:
    """An answer's name as the record has it: ∂ written d, no spaces, `_new` after the index (unless
    the name is a value as written: a layer may be called new)."""
    name = name.replace("∂", "d").replace(" ", "")
    if name in exact or "_new[" not in name:
        return name
    return _NEW_BEFORE_INDEX.sub(r"\g<stem>\g<index>_new\g<k>", name)


def _misnamed(c: Claim, exact: Mapping[str, float], answers: str) -> Misnamed:
    return Misnamed(f"{answers}: {c.key}", c.written, tuple(difflib.get_close_matches(c.name, list(exact), 1, 0.5)))


def _refusal(m: Misnamed) -> str:
    meant = f" (did you mean {m.suggestions[0]}?)" if m.suggestions else ""
    return f"{m.key}: expected a value name of this network{meant}"


class _ModelCheck:
    def __init__(
        self,
        model: Model,
        exact: Mapping[str, float],
        claims: list[Claim],
        digits: int | None,
        tolerance: float,
        step: int = 1,
    ):
        self.model, self.exact, self.digits, self.tolerance, self.step = model, exact, digits, tolerance, step
        order = {name: i for i, name in enumerate(exact)}
        self.claims = sorted(claims, key=lambda c: order[c.name])
        self.position = {c.name: i for i, c in enumerate(self.claims)}
        self.ok = [agrees(c, exact[c.name], tolerance) for c in self.claims]
        self._values: dict[tuple[Slip | None, int | None], Values] = {}
        self._first_off: dict[tuple[Slip | None, int | None, bool], int] = {}
        self._pinned: dict[tuple[str, ...], Values] = {}
        self._slips = catalogue(model)

    def run(self) -> list[ClaimResult]:
        out: list[ClaimResult] = []
        first: ClaimResult | None = None
        own: list[Claim] = []  # the wrong numbers that are the author's own, not carried forward
        for c in self.claims:
            status, found = self._classify(c)
            if status == "wrong" and not found:
                found = (self._follows(c, first) if first is not None else []) or self._carried(c, own)
                found = found or self._slips_matching(c) or [Diagnosis("slip", value=self.exact[c.name])]
            if status == "wrong" and found[0].mistake != "propagated":
                own.append(c)
            asked = c.asked if c.asked is not None else self.digits
            if status != "wrong" and too_coarse(c, self.exact[c.name], asked):
                status, found = "too_coarse", [Diagnosis("too_coarse", digits=asked), *found]
            step = self.step
            where = None if status != "wrong" else ((first.name, step) if first is not None else (c.name, step))
            how = Derivation("rule", rule(self.model, c.name), (), 1.0, self.exact[c.name])
            result = ClaimResult(
                c.name, step, c.written, c.value, c.decimals, self.exact[c.name], status, where, tuple(found), how,
                c.as_written, c.sign,
            )  # fmt: skip
            if status == "wrong" and first is None:
                first = result
            out.append(result)
        return out

    def _classify(self, c: Claim) -> tuple[Status, list[Diagnosis]]:
        """ok, rounding (with how), or wrong (with no diagnosis yet, unless rounded too early)."""
        e = self.exact[c.name]
        if self.ok[self.position[c.name]]:
            return "ok", []
        for k in ROUNDING_DIGITS:
            rounded = self._replayed(None, k)
            if c.name in rounded and agrees(c, rounded[c.name]) and self._along(c, None, k, every=True):
                if k < c.decimals and not agrees(c, e, LAST_DIGIT_UNITS):
                    return "wrong", [Diagnosis("rounded_too_early", value=rounded[c.name], digits=k)]
                return "rounding", [Diagnosis("rounding", "intermediates", value=rounded[c.name], digits=k)]
        if agrees(c, e, 1.0) and significant(c) >= 2:
            return "rounding", [Diagnosis("rounding", "last_digit", value=e)]
        return "wrong", []

    def _replayed(self, slip: Slip | None, decimals: int | None) -> Values:
        if (slip, decimals) not in self._values:
            self._values[(slip, decimals)] = replay(self.model, slip, decimals).values
        return self._values[(slip, decimals)]

    def _along(self, c: Claim, slip: Slip | None, decimals: int | None, every: bool) -> bool:
        """Whether every claim before c (``every``), or every ok one, agrees with this replay: a path
        the author can have taken (a value it cannot compute, after a changed shape, is no evidence)."""
        key = (slip, decimals, every)
        if key not in self._first_off:
            values = self._replayed(slip, decimals)
            off = (
                i
                for i, u in enumerate(self.claims)
                if (every or self.ok[i]) and u.name in values and not agrees(u, values[u.name], 1.0)
            )
            self._first_off[key] = next(off, len(self.claims))
        return self.position[c.name] <= self._first_off[key]

    def _slips_matching(self, c: Claim) -> list[Diagnosis]:
        """The slips that give c (exactly, or with the author's intermediates rounded to the places
        c is written with) and that no ok claim before it contradicts."""
        found = []
        for slip in self._slips:
            for decimals in (None, max(c.decimals, 0)):
                values = self._replayed(slip, decimals)
                if c.name in values and agrees(c, values[c.name], 1.0) and self._along(c, slip, decimals, every=False):
                    found.append(Diagnosis(slip.id, slip.kind, slip.where, value=values[c.name]))
                    break
        return found

    def _carried(self, c: Claim, own: list[Claim]) -> list[Diagnosis]:
        """c worked correctly from the author's own earlier wrong numbers (each pinned to what was written)."""
        if not own:
            return []
        key = tuple(u.name for u in own)
        if key not in self._pinned:
            pins = Pins({u.name: u.value for u in own})
            self._pinned[key] = replay(self.model, pins=pins).values
        values = self._pinned[key]
        if c.name in values and agrees(c, values[c.name], 1.0):
            return [Diagnosis("propagated", value=values[c.name], sources=key)]
        return []

    def _follows(self, c: Claim, first: ClaimResult) -> list[Diagnosis]:
        """c as the first wrong number's slip gives it: carried forward, not a mistake of its own."""
        for d in first.diagnosis:
            slip = next((s for s in self._slips if (s.id, s.kind, s.where) == (d.mistake, d.kind, d.where)), None)
            if slip is None:
                continue
            for decimals in (None, max(c.decimals, 0)):
                values = self._replayed(slip, decimals)
                if c.name in values and agrees(c, values[c.name], 1.0):
                    return [Diagnosis("propagated", value=values[c.name], sources=(first.name,))]
        return []
