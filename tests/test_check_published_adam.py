"""A published multi-step Adam example, worked by hand from the author's own rounded numbers, checks as
rounding, not wrong; and mistakes replayed over several Adam updates use each update's own t."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.mistakes import derivative_dropped
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import build, evaluate
from chainrule.record.optimizer_step import carried
from chainrule.views.check import detail
from helpers import CASES, random_document

PUBLISHED = Path(__file__).resolve().parent / "published"


def test_basrans_three_adam_iterations_are_rounding_not_wrong() -> None:
    """G. Basran, "ADAM Machine Learning Deepdive" (MATH 3850 course notes), Page 12 "The Full Adam
    Algorithm", Part C (https://gbasran.github.io/ADAM-Machine-Learning-Deepdive/concept-12-full-adam.html):
    f(θ) = θ² from θ₀ = 5, α = 0.1, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, three iterations by hand, each
    from the author's rounded numbers of the one before. Recomputed exactly, three of the 18 boxed
    numbers are not the exact value at the digits written, each for a reason rounding gives:

    - g₃ = 9.6002 is 2·θ₂ with the author's θ₂ = 4.8001; the exact θ₂ is 4.800058, so g₃ = 9.600116.
    - v₃ = 0.28790 adds the two terms rounded to 5 places (0.19574 + 0.09216); the exact sum is
      0.2879063, which rounds to 0.28791: one unit in the last place.
    - θ₃ = 4.7003 is the author's θ₂ = 4.8001 less the step rounded to 0.0998; the exact θ₃ is 4.700213.

    The other 15 (θ₂ = 4.8001 for the exact 4.800058 included) are right at the digits written."""
    net = netfile.load(PUBLISHED / "basran-adam.toml")
    answers = PUBLISHED / "basran-adam-answers.toml"
    report = check(net, load_answers(answers), str(answers))
    status = {(c.as_written or c.name, c.step): c.status for c in report.claims}
    rounding = {("g_t", 3), ("v_t", 3), ("θ_t", 3)}
    assert {k for k, s in status.items() if s != "ok"} == rounding, status
    assert {status[k] for k in rounding} == {"rounding"}
    exact = {(c.as_written, c.step): c.exact for c in report.claims}
    assert exact[("θ_t", 2)] == pytest.approx(4.800058, abs=5e-7)
    assert exact[("g_t", 3)] == pytest.approx(9.600116, abs=5e-7)
    assert exact[("v_t", 3)] == pytest.approx(0.2879063, abs=5e-8)
    assert exact[("θ_t", 3)] == pytest.approx(4.700213, abs=5e-7)
    for name in ("g_t", "θ_t"):  # worked from the author's own θ₂, as they wrote it
        (c,) = [c for c in report.claims if (c.as_written, c.step) == (name, 3)]
        assert "step 2's w1_new" in detail(c.diagnosis[0], c, report)


def adam_network(doc: dict[str, Any]) -> Network:
    doc = copy.deepcopy(doc)
    doc["training"] |= {"optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    return netfile.from_dict(doc)


def made_in_every_update(net: Network, layer: int, steps: int) -> dict[str, float]:
    """Every value of update ``steps`` when f′ of ``layer`` is dropped in each update, each with its own t."""
    batches, params, values = net.batches(), {}, {}
    for s in range(steps):
        graph = build(replace(net, updates_made=s), batches[s % len(batches)])
        values = evaluate(derivative_dropped(layer)(graph), params)
        params = carried(net, values)
    return values


def test_a_mistake_made_in_every_adam_update_is_named_in_the_third_over_random_networks(tmp_path: Path) -> None:
    """f′ of the output layer dropped in three Adam updates: the third update's first moment is named as
    that mistake (replayed with step 1's t, 1 − β₁ᵗ = 0.1 in every update, it matched nothing)."""
    rng = np.random.default_rng(22)
    named = 0
    for i in range(40):
        net = adam_network(random_document(rng, *CASES[i % len(CASES)]))
        last = len(net.layers) - 1
        p = net.parameter_names()[0]
        made = made_in_every_update(net, last, 3)[f"m_{p}"]
        right = check(net, load_answers(_write(tmp_path, p, 0.0)), "").claims[0].exact
        if abs(made - right) < 1e-6 * max(1.0, abs(right)):
            continue  # f′ = 1 here (identity, or a fused loss): dropping it changes nothing
        report = check(net, load_answers(_write(tmp_path, p, made)), "a.toml")
        (c,) = report.claims
        assert c.status == "wrong", (i, c)
        assert "activation_derivative_dropped" in [d.mistake for d in c.diagnosis], (i, c.diagnosis)
        named += 1
        if named == 4:
            break
    assert named == 4


def _write(tmp_path: Path, p: str, value: float) -> Path:
    path = tmp_path / "a.toml"
    path.write_text(f'[step.3]\n"m_{p}" = "{value:.12f}"\n')
    return path
