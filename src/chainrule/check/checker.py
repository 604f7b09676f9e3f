"""Hand-worked answers against the exact values: ok, rounding or wrong, the first wrong number, and why.

For each claimed number c written with d decimals and the exact value e:

* **ok** when |c − e| ≤ ½·10⁻ᵈ: equal at the precision written.
* **rounding** when it is not, but rounding explains it: recomputed from the numbers the person
  wrote upstream (each pinned to its claim) it agrees at its precision; or the whole step
  recomputed with every intermediate rounded to k places agrees; or it is off by at most two units
  in its last digit and carries two or more significant digits.
* **too_coarse** when it is ok or rounding at its own precision but written with fewer decimals
  than asked (the exercise's digits, ``--digits``, or the answers file's [digits]); with nothing
  asked, a zero for a value showing a digit at 4 decimals ("0" for −0.00136) is too coarse.
* **wrong** otherwise, with the first wrong number upstream and the mistakes that reproduce it.
  Intermediates rounded to fewer places than the claim carries are *rounded too early* (wrong)
  when they move it more than two units of its last place; a rounding path counts only if every
  value the author claimed upstream agrees with it.

The numbers come from the engine (Network.forward/backward/updated and step.explain_step); the
step graph (stepgraph.py) gives the order of the names and recomputes with pinned or mistaken parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from chainrule.check.answers import Claim, as_biases, as_velocities
from chainrule.check.derivation import Derivation, derivation
from chainrule.check.mistakes import Mistake, catalogue, with_rate
from chainrule.check.names import Misnamed, alias, validate
from chainrule.check.precision import agrees, significant, too_coarse
from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.record.graph import StepGraph, build, evaluate, recompute
from chainrule.record.optimizer_step import carried
from chainrule.record.step import explain_step

Status = Literal["ok", "rounding", "too_coarse", "wrong"]
STATUSES: tuple[Status, ...] = ("ok", "rounding", "too_coarse", "wrong")
ROUNDING_DIGITS = (2, 3, 4, 5, 6)  # the places a person plausibly rounds intermediates to
LAST_DIGIT_UNITS = 2  # "off only in the last digit or two": at most this many units of the last place
REPLAY_LIMIT = 50  # mistakes are replayed through at most this many updates for [step.N] claims


@dataclass(frozen=True)
class Diagnosis:
    """A mistake that reproduces a claim, with what it concerns and the numbers that show it."""

    mistake: str  # a stable id: see mistakes.MISTAKE_IDS
    kind: str = ""
    where: str = ""
    value: float | None = None  # what the claim is under this mistake
    implied_learning_rate: float | None = None
    digits: int | None = None
    sources: tuple[str, ...] = ()  # the claims it follows from (propagated, rounding)
    derivation: Derivation | None = None  # slip: the terms and what they add up to


@dataclass(frozen=True)
class ClaimResult:
    name: str
    step: int
    written: str
    claimed: float
    decimals: int
    exact: float
    status: Status
    first_wrong: tuple[str, int] | None  # (name, step) of the earliest wrong claim it depends on, or itself
    diagnosis: tuple[Diagnosis, ...]
    derivation: Derivation  # the correct computation, from exact values
    as_written: str = ""  # the author's name for it, where the answers file maps names
    sign: float = 1.0  # −1 where the answers file's conventions write it with the opposite sign


@dataclass(frozen=True)
class CheckReport:
    title: str
    network: str
    answers: str
    learning_rate: float
    claims: tuple[ClaimResult, ...]
    misnamed: tuple[Misnamed, ...] = ()

    def count(self, status: Status) -> int:
        return sum(1 for c in self.claims if c.status == status)

    @property
    def first_wrong(self) -> ClaimResult | None:
        return next((c for c in self.claims if c.status == "wrong"), None)


def check(
    net: Network,
    claims: list[Claim],
    answers: str = "",
    *,
    digits: int | None = None,
    tolerance: float = 0.5,
    strict: bool = True,
) -> CheckReport:
    """Check every claim; claims of step N are checked against the network after N − 1 updates.

    ``digits``: the decimals asked of every claim its file does not ask otherwise; ``tolerance``:
    how far from the exact value (in units of the claim's last place) is still ok; ``strict``:
    a name the network lacks refuses the file (else it is listed as misnamed and the rest checked)."""
    claims = as_biases(claims, [b for layer in net.layers for b in layer.bias_names])
    claims = as_velocities(claims, net.parameter_names(), net.training.learning_rate)
    steps = sorted({c.step for c in claims})
    batches = net.batches()
    graphs = {s: build(net, batches[(s - 1) % len(batches)]) for s in steps}
    claims = [replace(c, name=alias(c.name, net)) if c.name not in graphs[c.step].nodes else c for c in claims]
    misnamed = validate(claims, graphs, answers, strict)
    claims = [c for c in claims if c.name in graphs[c.step].nodes]
    if not claims and misnamed:
        raise ChainruleError(f"{answers}: {misnamed[0].key}: expected a value name of this network")
    steps = sorted({c.step for c in claims})
    results: list[ClaimResult] = []
    current, done = net, 0
    for s in steps:
        current, done = _advance(current, done, s - 1)
        idx = (s - 1) % len(batches)
        exact = explain_step(current, idx).values
        graph = build(current, batches[idx])
        mine = [c for c in claims if c.step == s]
        carried_in = _carried_claims(net, [r for r in results if r.step == s - 1], s)
        results += _StepCheck(net, graph, exact, mine, s, digits, tolerance, carried_in).run()
    rate = net.training.learning_rate
    return CheckReport(net.title, net.source, answers, rate, tuple(results), tuple(misnamed))


def _advance(net: Network, done: int, target: int) -> tuple[Network, int]:
    """The network after ``target`` updates, continuing from one after ``done``: plain engine steps."""
    batches = net.batches()
    while done < target:
        idx = batches[done % len(batches)]
        back = net.backward(net.forward(net.x[idx]), net.y[idx])
        net = net.updated(back)
        done += 1
    return net, done


def _carried_claims(net: Network, previous: list[ClaimResult], step: int) -> list[tuple[Claim, ClaimResult]]:
    """The author's own values of the previous update as this step's starting values: ``w1_new`` of
    step 1 is w1 of step 2, ``v_w5`` is v_w5_prev. A number worked from the author's rounded weight
    then follows from it (rounding), as it would if they had written it again as ``[step.2] w1``."""
    params = set(net.parameter_names())
    out = []
    for r in previous:
        if r.name.endswith("_new") and r.name[: -len("_new")] in params:
            name = r.name[: -len("_new")]
        elif "_" in r.name and r.name.partition("_")[2] in params and r.name[0] in "vms":
            name = f"{r.name}_prev"
        else:
            continue
        out.append((Claim(name, step, r.written, r.claimed, r.decimals), r))
    return out


class _StepCheck:
    """The claims of one step, checked in the order the numbers are computed."""

    def __init__(
        self,
        original: Network,
        graph: StepGraph,
        exact: Mapping[str, float],
        claims: list[Claim],
        step: int,
        digits: int | None = None,
        tolerance: float = 0.5,
        carried_in: Sequence[tuple[Claim, ClaimResult]] = (),
    ):
        self.original, self.g, self.exact, self.step = original, graph, exact, step
        self.digits, self.tolerance = digits, tolerance
        self.claims = sorted(claims, key=lambda c: graph.order[c.name])
        self.by_name = {c.name: c for c in claims}
        self.status: dict[str, Status] = {}
        self.first: dict[str, tuple[str, int]] = {}
        for c, result in carried_in:  # the previous step's claims, pinned where this step reads them
            if c.name in graph.nodes and c.name not in self.by_name:
                self.by_name[c.name] = c
                self.status[c.name] = "rounding" if result.status == "too_coarse" else result.status
                self.first[c.name] = result.first_wrong or (result.name, result.step)
        self._rounded: dict[int, dict[str, float]] = {}
        self._mistaken: dict[Mistake, dict[str, float]] = {}
        self._mistakes = catalogue(graph)
        self._unfused = build(graph.net, graph.examples, graph.reduction, fuse=False)
        # for each diagnosis offered: every value of the step under that mistake, to test it against the ok claims
        self._effects: dict[tuple[str, Diagnosis], dict[str, float]] = {}

    def run(self) -> list[ClaimResult]:
        found: dict[str, list[Diagnosis]] = {}
        for c in self.claims:
            with np.errstate(all="ignore"):
                status, found[c.name] = self._classify(c)
            self.status[c.name] = status
        out = []
        for c in self.claims:
            status = self.status[c.name]
            first = None
            if status == "wrong":
                upstream = [u for u in self.g.ancestors(c.name) if self.status.get(u) == "wrong"]
                first_name = min(upstream, key=self.g.order.__getitem__) if upstream else c.name
                first = self.first.get(first_name, (first_name, self.step))
                self.first[c.name] = first
            diagnosis = self._consistent(c, found[c.name]) if status == "wrong" else found[c.name]
            asked = c.asked if c.asked is not None else self.digits
            if status != "wrong" and too_coarse(c, self.exact[c.name], asked):
                status = "too_coarse"
                diagnosis = [Diagnosis("too_coarse", digits=asked), *diagnosis]
            out.append(
                ClaimResult(
                    c.name,
                    c.step,
                    c.written,
                    c.value,
                    c.decimals,
                    self.exact[c.name],
                    status,
                    first,
                    tuple(diagnosis),
                    derivation(self.g, c.name, self.exact),
                    c.as_written,
                    c.sign,
                )
            )
        return out

    def _consistent(self, c: Claim, found: list[Diagnosis]) -> list[Diagnosis]:
        """The mistakes no ok claim contradicts, those reproducing more of the wrong claims first.

        A mistake contradicts an ok claim when, made in this step, it moves that claim's number
        away from what was written (more than one unit of its last place). When every mistake is
        contradicted, the claim gets the slip note kept aside for that case.
        """
        kept: list[tuple[int, Diagnosis]] = []
        for d in found:
            values = self._effects.get((c.name, d))
            if values is None:
                continue
            ok = [u for u in self.claims if self.status[u.name] == "ok" and u.name != c.name]
            if any(u.name in values and not agrees(u, values[u.name], 1.0) for u in ok):
                continue
            wrong = [u for u in self.claims if self.status[u.name] == "wrong" and u.name in values]
            kept.append((sum(agrees(u, values[u.name], 1.0) for u in wrong), d))
        kept.sort(key=lambda pair: -pair[0])
        rest = [d for d in found if (c.name, d) not in self._effects and d.mistake != "slip"]
        mistakes = [d for _, d in kept]
        if not mistakes and not rest:
            return [d for d in found if d.mistake == "slip"]
        return rest + mistakes

    def _upstream(self, c: Claim) -> tuple[list[str], float, list[str]]:
        """The claims just upstream of c (its frontier), c recomputed from them, and the wrong ones.

        Where the engine works the loss from z (cross-entropy with softmax or sigmoid), a person
        works it from ŷ: if the fused graph does not reproduce c, the graph from ŷ is tried too.
        """
        best: tuple[list[str], float, list[str]] | None = None
        for g in (self.g, self._unfused):
            front = sorted(g.frontier(c.name, self.by_name), key=g.order.__getitem__)
            pins = {u: self.by_name[u].value for u in front}
            value = evaluate(g, pins)[c.name] if front else self.exact[c.name]
            wrong_up = [u for u in front if self.status.get(u) == "wrong"]
            best = best or (front, value, wrong_up)
            if front and agrees(c, value, 1.0 if wrong_up else 0.5):
                return front, value, wrong_up
        assert best is not None
        return best

    def _classify(self, c: Claim) -> tuple[Status, list[Diagnosis]]:
        e = self.exact[c.name]
        if agrees(c, e, self.tolerance):
            return "ok", []
        front, from_claims, wrong_up = self._upstream(c)
        pins = {u: self.by_name[u].value for u in front}
        if front and agrees(c, from_claims, 1.0 if wrong_up else 0.5):
            if wrong_up:
                return "wrong", [Diagnosis("propagated", value=from_claims, sources=tuple(wrong_up))]
            moved = tuple(u for u in front if self.by_name[u].value != self.exact[u])
            return "rounding", [Diagnosis("rounding", "upstream", value=from_claims, sources=moved)]
        for k in ROUNDING_DIGITS:
            # intermediates rounded, the claimed number itself as precise as it is written
            rounded = self._rounded_values(k)
            r = recompute(self.g, c.name, rounded)
            if agrees(c, r) and self._claimed_along(c, rounded):
                if k < c.decimals and not agrees(c, e, LAST_DIGIT_UNITS):
                    return "wrong", [Diagnosis("rounded_too_early", value=r, digits=k)]
                return "rounding", [Diagnosis("rounding", "intermediates", value=r, digits=k)]
        if agrees(c, e, 1.0) and significant(c) >= 2:
            # the exact value rounded up (or down) instead of to the nearest: a rounding reproduces it
            return "rounding", [Diagnosis("rounding", "last_digit", value=e)]
        good = {u: v for u, v in pins.items() if self.status.get(u) != "wrong"}
        found: list[Diagnosis] = []
        if self.step <= REPLAY_LIMIT:  # beyond it, a mistake would have to be made in thousands of updates
            found = self._mistakes_matching(c, good) + self._learning_rate(c, pins)
        if wrong_up:
            found.insert(0, Diagnosis("propagated", kind="partly", value=from_claims, sources=tuple(wrong_up)))
        values = evaluate(self.g, good) if good else dict(self.exact)
        kind = "" if self.step <= REPLAY_LIMIT else "not_replayed"
        if kind == "" and agrees(c, e, LAST_DIGIT_UNITS) and significant(c) >= 2:
            kind = "last_digit"  # close, but no rounding gives it: the nearest explanation is a slip
        found.append(Diagnosis("slip", kind, value=values[c.name], derivation=derivation(self.g, c.name, values)))
        return "wrong", found

    def _claimed_along(self, c: Claim, values: Mapping[str, float]) -> bool:
        """Whether every value claimed upstream of c agrees with this path (it is then the author's)."""
        ancestors = self.g.ancestors(c.name)
        return all(agrees(u, values[u.name], 1.0) for u in self.claims if u.name in ancestors and u.name in values)

    def _rounded_values(self, k: int) -> dict[str, float]:
        if k not in self._rounded:
            self._rounded[k] = self._replay(None, k)
        return self._rounded[k]

    def _replay(self, mistake: Mistake | None, decimals: int | None) -> dict[str, float]:
        """The step's values when the mistake (and/or rounding) is made in this and every earlier update."""
        net = self.original
        batches = net.batches()
        params: dict[str, float] = {}
        # Past the replay limit only rounding is tried, in this step only, from the exact parameters.
        for s in range(self.step - 1 if self.step <= REPLAY_LIMIT else 0):
            # each update's own count t (Adam's 1 − βᵗ); the weights and state are the replay's pins
            g = build(replace(net, updates_made=net.updates_made + s), batches[s % len(batches)])
            g = mistake.rewrite(g) if mistake else g
            v = evaluate(g, params, decimals)
            params = carried(net, v)
        g = mistake.rewrite(self.g) if mistake else self.g
        return evaluate(g, params, decimals)

    def _mistakes_matching(self, c: Claim, pins: Mapping[str, float]) -> list[Diagnosis]:
        found: list[Diagnosis] = []
        for m in self._mistakes:
            if m not in self._mistaken:
                self._mistaken[m] = self._replay(m, None)
            plain = self._mistaken[m][c.name]
            pinned = evaluate(m.rewrite(self.g), pins)[c.name] if pins else plain
            for x, values in ((plain, self._mistaken[m]), (pinned, None)):
                if agrees(c, x, 1.0) and not agrees(c, self.exact[c.name]):
                    d = Diagnosis(m.id, m.kind, m.where, value=x)
                    self._effects[(c.name, d)] = values or evaluate(m.rewrite(self.g), pins)
                    found.append(d)
                    break
        return found

    def _learning_rate(self, c: Claim, pins: Mapping[str, float]) -> list[Diagnosis]:
        """θ_new = θ − η′·g for a round η′ other than the file's: the rate the claim implies."""
        node = self.g.nodes[c.name]
        if node.op != "update":
            return []
        p, grad = node.args
        own = evaluate(self.g, pins) if pins else self.exact
        theta, g = own[p], own[grad]
        if g == 0:
            return []
        implied = (theta - c.value) / g
        rate = self.g.net.training.learning_rate
        for guess in _round_rates(implied):
            if guess > 0 and not math.isclose(guess, rate) and agrees(c, theta - guess * g, 1.0):
                d = Diagnosis("learning_rate", value=theta - guess * g, implied_learning_rate=guess)
                self._effects[(c.name, d)] = evaluate(with_rate(self.g, guess), pins)
                return [d]
        return []


def _round_rates(x: float) -> list[float]:
    """Rates a person would choose near x: one significant digit (0.1, 0.05), or two ending in 5 (0.25)."""
    if not math.isfinite(x) or x <= 0:
        return []
    out = [float(f"{x:.0e}")]
    two = f"{x:.1e}"
    if two[2] == "5":
        out.append(float(two))
    return out
