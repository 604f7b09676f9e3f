"""Hand mode: the step as worked with a calculator, every intermediate rounded to N decimals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.hand import hand_round, hand_step
from chainrule.record.step import StepRecord, explain_step

EXAMPLES = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples"


@pytest.fixture(scope="module")
def hand4() -> StepRecord:
    return hand_step(explain_step(netfile.load()), 4)


def test_rounding_is_half_up_and_keeps_small_numbers_significant() -> None:
    assert hand_round(0.5 * 0.1385, 4) == 0.0693  # 0.06925: half up, as a person rounds
    assert hand_round(0.7414 * 0.1868, 4) == 0.1385
    assert hand_round(0.0134 * 0.05, 4) == 0.00067  # not 0.0007: small numbers keep 3 significant digits
    assert hand_round(-0.06925, 4) == -0.0693
    assert hand_round(0.0, 4) == 0.0


def test_reproduces_the_references_hand_rounded_chain_for_w1(hand4: StepRecord) -> None:
    """The reference: 0.7414 · 0.1868 ≈ 0.1385, · 0.40 ≈ 0.0554, · 0.2413 ≈ 0.0134, · 0.05 ≈ 0.00067."""
    (path,) = hand4.chains["w1"][0].paths
    assert [f.value for f in path.factors] == [0.7414, 0.1868, 0.4, 0.2413, 0.05]
    assert path.partials == (0.7414, 0.1385, 0.0554, 0.0134, 0.00067)
    # the exact product differs in the last digit: 0.000668
    assert round(hand4.exact["dL/dw1"], 6) == 0.000668  # type: ignore[index]


def test_reproduces_the_references_hand_figures(hand4: StepRecord) -> None:
    v = hand4.values
    expected = {
        "z_h1": 0.3775,
        "z_h2": 0.3925,
        "a_h1": 0.5933,
        "a_h2": 0.5969,
        "z_out": 1.1059,
        "a_out": 0.7514,
        "loss": 0.2748,
        "dL/da_out": 0.7414,
        "da_out/dz_out": 0.1868,
        "da_h1/dz_h1": 0.2413,
        "dL/dw5": 0.0822,
        "dL/dw6": 0.0827,
        "dL/db2": 0.1385,
        "dL/dw3": 0.00075,
        "dL/dw4": 0.0015,
        "dL/db1": 0.0284,  # 0.0134 + 0.0150
        "eta*dL/db1": 0.0142,
        "b1_new": 0.3358,
        "eta*dL/db2": 0.0693,  # the reference's "0.60 − 0.0693"
        "b2_new": 0.5307,  # where the exact step gives 0.5308
        "w5_new": 0.3589,
    }
    for name, figure in expected.items():
        assert v[name] == figure, name
    (h1, h2) = hand4.chains["b1"][0].paths
    assert (h1.value, h2.value) == (0.0134, 0.0150)
    assert h2.partials == (0.7414, 0.1385, 0.0623, 0.0150, 0.0150)


def test_figures_hand_rounding_does_not_explain(hand4: StepRecord) -> None:
    """The reference's 0.2407 (∂a_h2/∂z_h2) and 0.00135 (∂L/∂w2) are slips, not rounding: 0.5969 · 0.4031
    = 0.24061 and 0.0134 · 0.10 = 0.00134, by hand and exactly alike."""
    assert hand4.values["da_h2/dz_h2"] == 0.2406
    assert hand4.values["dL/dw2"] == 0.00134


def test_markdown_marks_where_rounding_changed_a_last_digit() -> None:
    result = CliRunner().invoke(main, ["explain", "--format", "markdown", "--hand", "4"])
    assert result.exit_code == 0, result.output
    md = result.output
    table = md.split("## Rounding by hand")[1]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| $")}
    assert "last digit changed" in rows[r"$b_{2}^{\text{new}}$"]
    assert "| $0.5307$ | $0.53075072$ |" in rows[r"$b_{2}^{\text{new}}$"]
    assert "last digit changed" not in rows[r"$\hat{y}$"]
    assert r"0.0134 \cdot 0.05 \approx \mathbf{0.000670}" in md
    assert r"0.0623 \cdot 0.2406 \approx 0.0150" in md  # the written figure keeps its zero
    assert r"= 0.6 - 0.0693 \approx 0.5307" in md


def test_text_view_shows_hand_figures() -> None:
    result = CliRunner().invoke(main, ["explain", "--hand", "4"])
    assert result.exit_code == 0, result.output
    assert "0.5307" in result.output and "0.00067" in result.output
    assert "last digit changed" in result.output


@pytest.mark.parametrize("example", ["forward-backprop.toml", "softmax-classifier.toml", "xor.toml"])
def test_more_places_approach_the_exact_step(example: str) -> None:
    exact = explain_step(netfile.load(EXAMPLES / example))
    coarse, fine = hand_step(exact, 3), hand_step(exact, 11)
    for name, x in exact.values.items():
        assert abs(fine.values[name] - x) <= 1e-8 * max(1.0, abs(x)), name
    worst_coarse = max(abs(coarse.values[n] - x) for n, x in exact.values.items())
    assert 0 < worst_coarse < 0.05
    assert set(coarse.values) >= set(exact.values)
    assert [c.form for cs in coarse.chains.values() for c in cs] == [c.form for cs in exact.chains.values() for c in cs]
