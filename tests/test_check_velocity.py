"""The running-average velocity, v ← μ·v + (1 − μ)·g where the file's v ← μ·v + g belongs, is a named
mistake: found in a student's momentum (or Nesterov) answers over random networks, never blamed on right ones."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.mistakes import velocity_ema
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.record.optimizer_step import carried
from chainrule.views.check import detail
from helpers import CASES, random_document


def with_ema(net: Network, steps: int) -> list[dict[str, float]]:
    """Every value of each update when the velocity is the running average in every update."""
    batches, params, out = net.batches(), {}, []
    for s in range(steps):
        values = evaluate(velocity_ema(build(replace(net, updates_made=s), batches[s % len(batches)])), params)
        out.append(values)
        params = carried(net, values)
    return out


def answers(path: Path, claims: dict[tuple[int, str], float]) -> Path:
    lines = []
    for step in sorted({s for s, _ in claims}):
        lines += [f"[step.{step}]"] + [f'"{n}" = "{v:.10f}"' for (s, n), v in claims.items() if s == step]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_the_running_average_velocity_is_named_over_random_networks(optimizer: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(33)
    named = 0
    for i in range(6):
        doc = copy.deepcopy(random_document(rng, *CASES[i % len(CASES)]))
        doc["training"] |= {"optimizer": optimizer, "momentum": 0.9}
        net = netfile.from_dict(doc)
        p = net.parameter_names()[-1]
        made = with_ema(net, 2)
        claims = {(s + 1, f"v_{p}"): made[s][f"v_{p}"] for s in range(2)}
        report = check(net, load_answers(answers(tmp_path / "a.toml", claims)), "a.toml")
        first, second = report.claims
        if abs(first.claimed - first.exact) < 1e-9:
            continue  # a zero gradient: the two conventions agree
        assert first.status == "wrong" and "velocity_ema" in [d.mistake for d in first.diagnosis], (i, first)
        d = next(d for d in first.diagnosis if d.mistake == "velocity_ema")
        assert "v = μ·v_prev + (1 − μ)·g" in detail(d, first, report)
        assert second.status == "wrong" and second.first_wrong == (f"v_{p}", 1)  # it follows from step 1's
        # the second update's velocity alone: the convention replayed through both updates
        alone = check(net, load_answers(answers(tmp_path / "c.toml", {(2, f"v_{p}"): claims[(2, f"v_{p}")]})), "c")
        assert "velocity_ema" in [d.mistake for d in alone.claims[0].diagnosis], (i, alone.claims[0])
        named += 1
        # the file's own velocities are never blamed on it
        right = {(c.step, c.name): c.exact for c in report.claims}
        fine = check(net, load_answers(answers(tmp_path / "b.toml", right)), "b.toml")
        assert [c.status for c in fine.claims] == ["ok", "ok"]
    assert named >= 4
