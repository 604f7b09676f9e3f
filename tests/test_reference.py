"""The reference example as a well-known hand-worked version prints it, number by number.

The example: a 2-2-1 sigmoid network, x = (0.05, 0.10), target 0.01, w1…w4 = 0.15, 0.20,
0.25, 0.30, b1 = 0.35 shared by h1 and h2, w5, w6 = 0.40, 0.45, b2 = 0.60, loss ½(y − ŷ)², η = 0.5.

Each figure the document prints is compared with chainrule's exact value at the precision the
document prints it. A few of the document's figures were computed by hand from rounded
intermediates and differ from the exact values in their last digit; those are listed apart, each
with the reason, and the test checks both that the exact value is within that rounding of the
document's figure and that it really differs (so the list stays exactly the set of artefacts).
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.step import explain_step
from chainrule.views.numbers import fmt

# name in the record -> the figure as the document prints it
PUBLISHED = {
    "x1": "0.05",
    "x2": "0.10",
    "w1": "0.15",
    "w2": "0.20",
    "w3": "0.25",
    "w4": "0.30",
    "w5": "0.40",
    "w6": "0.45",
    "b1": "0.35",
    "b2": "0.60",
    "y_out": "0.01",
    "z_h1": "0.3775",
    "z_h2": "0.3925",
    "a_h1": "0.5933",
    "a_h2": "0.5969",
    "z_out": "1.1059",
    "a_out": "0.7514",
    "loss": "0.2748",
    "dL/da_out": "0.7414",
    "da_out/dz_out": "0.1868",
    "dL/dz_out": "0.1385",  # 0.7414 · 0.1868 ≈ 0.1385, and ∂L/∂b2
    "dL/db2": "0.1385",
    "dL/dw5": "0.0822",
    "dL/dw6": "0.0827",
    "dL/da_h1": "0.0554",  # 0.1385 · 0.40
    "dL/da_h2": "0.0623",  # 0.1385 · 0.45
    "da_h1/dz_h1": "0.2413",
    "dL/dz_h1": "0.0134",  # also ∂L/∂b1 from h1
    "dL/dz_h2": "0.0150",  # also ∂L/∂b1 from h2
    "dL/dw1": "0.00067",
    "dL/dw3": "0.00075",
    "dL/dw4": "0.00150",
    "dL/db1": "0.0284",
    "w5_new": "0.3589",
    "w6_new": "0.4087",
    "w4_new": "0.29925",
    "w3_new": "0.249625",
    "b1_new": "0.3358",
}

# The document's hand-arithmetic artefacts: figure, and why it differs from the exact value.
ARTEFACTS = {
    "da_h2/dz_h2": ("0.2407", "0.5969 · 0.4031 = 0.24061: the document's own factors give 0.2406"),
    "dL/dw2": ("0.00135", "0.0134 · 0.10 = 0.00134; the document wrote 0.0555 for 0.0554 once"),
    "w2_new": ("0.199325", "0.20 − 0.5 · 0.00135, from the rounded gradient above"),
    "w1_new": ("0.149665", "0.15 − 0.5 · 0.00067, from the gradient rounded to 0.00067"),
    "b2_new": ("0.5307", "0.60 − 0.0693, with 0.5 · 0.1385 = 0.06925 rounded up to 0.0693 first"),
    "w6_new": ("0.40865", "0.45 − 0.5 · 0.0827 in the update table, from the rounded gradient"),
    "w5_new": ("0.35890", "0.40 − 0.5 · 0.0822 in the update table, from the rounded gradient"),
}


def at_precision(value: float, published: str) -> str:
    """The value rounded half-up to as many decimals as the published figure has."""
    places = len(published.split(".")[1]) if "." in published else 0
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def ulps(value: float, published: str) -> float:
    places = len(published.split(".")[1])
    return abs(value - float(published)) * 10**places


@pytest.fixture(scope="module")
def values() -> dict[str, float]:
    return explain_step(netfile.load()).values


@pytest.mark.parametrize(("name", "published"), PUBLISHED.items())
def test_every_published_number_at_its_precision(values: dict[str, float], name: str, published: str) -> None:
    assert at_precision(values[name], published) == published


def test_shared_bias_is_the_sum_of_its_two_paths() -> None:
    record = explain_step(netfile.load())
    (chain,) = record.chains["b1"]
    assert [p.via for p in chain.paths] == ["h1", "h2"]
    from_h1, from_h2 = (p.value for p in chain.paths)
    assert at_precision(from_h1, "0.0134") == "0.0134"
    assert at_precision(from_h2, "0.0150") == "0.0150"
    assert from_h1 + from_h2 == pytest.approx(record.values["dL/db1"], rel=1e-15)


def test_the_chain_for_w1_multiplies_the_documents_factors_in_order() -> None:
    (chain,) = explain_step(netfile.load()).chains["w1"]
    (path,) = chain.paths
    shown = [f"∂{f.num}/∂{f.den}" for f in path.factors]
    assert shown == ["∂L/∂a_out", "∂a_out/∂z_out", "∂z_out/∂a_h1", "∂a_h1/∂z_h1", "∂z_h1/∂w1"]
    assert [at_precision(f.value, "0.0000") for f in path.factors] == ["0.7414", "0.1868", "0.4000", "0.2413", "0.0500"]
    # The document's step-by-step running products: 0.1385, 0.0554, 0.0134, 0.00067.
    assert [
        at_precision(p, d) for p, d in zip(path.partials[1:], ["0.1385", "0.0554", "0.0134", "0.00067"], strict=True)
    ] == [
        "0.1385",
        "0.0554",
        "0.0134",
        "0.00067",
    ]


@pytest.mark.parametrize(("name", "artefact"), ARTEFACTS.items())
def test_hand_rounding_artefacts_of_the_document(
    values: dict[str, float], name: str, artefact: tuple[str, str]
) -> None:
    published, _why = artefact
    assert at_precision(values[name], published) != published  # the exact value really differs...
    assert ulps(values[name], published) <= 8  # ...by no more than rounded intermediates explain


def test_the_terminal_shows_every_published_number(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, [])
    assert result.exit_code == 0, result.output
    text = result.output
    record = explain_step(netfile.load())
    # a new value as the update rows print it (one precision for all of them)
    updates = {f"{u.param}_new": re.search(rf"{u.param}_new = .* [=≈] (\S+)\n", text)[1] for u in record.updates}
    for name, published in PUBLISHED.items():
        shown = updates.get(name) or fmt(record.values[name])
        assert shown in text, f"{name} = {shown} is not in the output"
        # what the terminal shows, read back, equals the document at the document's precision
        assert at_precision(float(shown.replace("−", "-")), published) == published, name
    for phrase in ("∂L/∂ŷ · ∂ŷ/∂z_out · ∂z_out/∂w5", "0.7414 · 0.1868 · 0.5933 ≈ 0.0822", "0.0134 + 0.0150 ≈ 0.0284"):
        assert phrase in text


def test_the_terminal_output_has_no_colour_codes_when_piped(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["explain"])
    assert "\x1b[" not in result.output
    assert result.output == runner.invoke(main, []).output


def _independent_reference() -> dict[str, float]:
    """The reference step recomputed in plain Python floats, sharing no code with the engine."""

    def sig(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    x1, x2, y = 0.05, 0.10, 0.01
    w1, w2, w3, w4, w5, w6, b1, b2, lr = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.35, 0.60, 0.5
    z_h1, z_h2 = x1 * w1 + x2 * w2 + b1, x1 * w3 + x2 * w4 + b1
    a_h1, a_h2 = sig(z_h1), sig(z_h2)
    z_out = a_h1 * w5 + a_h2 * w6 + b2
    a_out = sig(z_out)
    d_out = (a_out - y) * a_out * (1 - a_out)
    d_h1 = d_out * w5 * a_h1 * (1 - a_h1)
    d_h2 = d_out * w6 * a_h2 * (1 - a_h2)
    grads = {
        "w1": d_h1 * x1,
        "w2": d_h1 * x2,
        "w3": d_h2 * x1,
        "w4": d_h2 * x2,
        "w5": d_out * a_h1,
        "w6": d_out * a_h2,
        "b1": d_h1 + d_h2,
        "b2": d_out,
    }
    old = {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w6": w6, "b1": b1, "b2": b2}
    v = {"x1": x1, "x2": x2, "y_out": y, **old}
    v |= {"z_h1": z_h1, "z_h2": z_h2, "a_h1": a_h1, "a_h2": a_h2, "z_out": z_out, "a_out": a_out}
    v |= {"loss": 0.5 * (y - a_out) ** 2, "dL/da_out": a_out - y, "dL/dz_out": d_out}
    v |= {"da_out/dz_out": a_out * (1 - a_out), "da_h1/dz_h1": a_h1 * (1 - a_h1), "da_h2/dz_h2": a_h2 * (1 - a_h2)}
    v |= {"dL/da_h1": d_out * w5, "dL/da_h2": d_out * w6, "dL/dz_h1": d_h1, "dL/dz_h2": d_h2}
    v |= {f"dL/d{k}": g for k, g in grads.items()}
    v |= {f"{k}_new": old[k] - lr * g for k, g in grads.items()}
    v |= {f"d{k}": -lr * g for k, g in grads.items()}  # Δθ = −η·∂L/∂θ
    return v


def test_every_json_value_matches_an_independent_recomputation(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(main, ["explain", "--format", "json"])
    assert result.exit_code == 0
    got = json.loads(result.output)["values"]
    expected = _independent_reference()
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-13, abs=1e-16), name
