"""Published worked examples checked as they are written: their own names, error terms as t − y,
thresholds θ = −b, Δw, per-output losses.

Each example's numbers are worked here by plain arithmetic (math.exp, products, sums, never
chainrule's code); its answers file under tests/published/ holds them at the precision the
author publishes, named and signed the author's way.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.conventions import mazur_name
from chainrule.cli.root import main
from chainrule.io import netfile

PUBLISHED = Path(__file__).resolve().parent / "published"


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def mazur_by_hand() -> dict[str, float]:
    """Mazur's 2-2-2 step in his names: net, out, E_o, E_total, ∂E_total/∂…, w⁺."""
    i1, i2, t1, t2, eta = 0.05, 0.10, 0.01, 0.99, 0.5
    w1, w2, w3, w4, w5, w6, w7, w8, b1, b2 = 0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55, 0.35, 0.60
    nh1, nh2 = w1 * i1 + w2 * i2 + b1, w3 * i1 + w4 * i2 + b1
    oh1, oh2 = sig(nh1), sig(nh2)
    no1, no2 = w5 * oh1 + w6 * oh2 + b2, w7 * oh1 + w8 * oh2 + b2
    oo1, oo2 = sig(no1), sig(no2)
    e1, e2 = 0.5 * (t1 - oo1) ** 2, 0.5 * (t2 - oo2) ** 2
    d1, d2 = -(t1 - oo1) * oo1 * (1 - oo1), -(t2 - oo2) * oo2 * (1 - oo2)  # ∂E_total/∂net_o
    dh1 = d1 * w5 + d2 * w7
    g1 = dh1 * oh1 * (1 - oh1) * i1
    return {
        "net_h1": nh1, "out_h1": oh1, "net_h2": nh2, "out_h2": oh2, "net_o1": no1, "out_o1": oo1,
        "net_o2": no2, "out_o2": oo2, "E_o1": e1, "E_o2": e2, "E_total": e1 + e2,
        "∂E_total/∂out_o1": -(t1 - oo1), "∂out_o1/∂net_o1": oo1 * (1 - oo1), "δ_o1": d1,
        "∂E_total/∂w5": d1 * oh1, "w5⁺": w5 - eta * d1 * oh1, "w6⁺": w6 - eta * d1 * oh2,
        "w7⁺": w7 - eta * d2 * oh1, "w8⁺": w8 - eta * d2 * oh2, "∂E_total/∂out_h1": dh1,
        "∂out_h1/∂net_h1": oh1 * (1 - oh1), "∂E_total/∂w1": g1, "w1⁺": w1 - eta * g1,
    }  # fmt: skip


def negnevitsky_by_hand() -> dict[str, float]:
    """Negnevitsky's XOR step: thresholds on a −1 input, e = y_d − y, δ = y(1 − y)e, Δw = α·y·δ, Δθ = α·(−1)·δ."""
    x1, x2, yd, alpha = 1.0, 1.0, 0.0, 0.1
    w13, w14, w23, w24, w35, w45, t3, t4, t5 = 0.5, 0.9, 0.4, 1.0, -1.2, 1.1, 0.8, -0.1, 0.3
    y3, y4 = sig(x1 * w13 + x2 * w23 - t3), sig(x1 * w14 + x2 * w24 - t4)
    y5 = sig(y3 * w35 + y4 * w45 - t5)
    e = yd - y5
    d5 = y5 * (1 - y5) * e
    d3, d4 = y3 * (1 - y3) * d5 * w35, y4 * (1 - y4) * d5 * w45
    return {
        "y3": y3, "y4": y4, "y5": y5, "e": e, "delta5": d5, "dw35": alpha * y3 * d5, "dw45": alpha * y4 * d5,
        "dtheta5": alpha * -1 * d5, "delta3": d3, "delta4": d4, "dw13": alpha * x1 * d3, "dw14": alpha * x1 * d4,
        "dtheta3": alpha * -1 * d3, "w13": w13 + alpha * x1 * d3, "w35": w35 + alpha * y3 * d5,
        "theta3": t3 - alpha * d3, "theta4": t4 - alpha * d4, "theta5": t5 - alpha * d5,
    }  # fmt: skip


def han_kamber_by_hand() -> dict[str, float]:
    """Han & Kamber's 3-2-1 step: I = Σ w·O + θ, Err = O(1 − O)(T − O), Δw = l·Err·O, θ += l·Err."""
    x1, x2, x3, t, rate = 1.0, 0.0, 1.0, 1.0, 0.9
    w14, w15, w24, w25, w34, w35, w46, w56, th4, th5, th6 = 0.2, -0.3, 0.4, 0.1, -0.5, 0.2, -0.3, -0.2, -0.4, 0.2, 0.1
    o4, o5 = sig(w14 * x1 + w24 * x2 + w34 * x3 + th4), sig(w15 * x1 + w25 * x2 + w35 * x3 + th5)
    o6 = sig(w46 * o4 + w56 * o5 + th6)
    err6 = o6 * (1 - o6) * (t - o6)
    err5, err4 = o5 * (1 - o5) * err6 * w56, o4 * (1 - o4) * err6 * w46
    return {
        "O4": o4, "O5": o5, "O6": o6, "Err6": err6, "Err5": err5, "Err4": err4,
        "w46": w46 + rate * err6 * o4, "w56": w56 + rate * err6 * o5, "w14": w14 + rate * err4 * x1,
        "w15": w15 + rate * err5 * x1, "w34": w34 + rate * err4 * x3, "w35": w35 + rate * err5 * x3,
        "theta6": th6 + rate * err6, "theta5": th5 + rate * err5, "theta4": th4 + rate * err4,
    }  # fmt: skip


EXAMPLES = {"mazur": mazur_by_hand, "negnevitsky": negnevitsky_by_hand, "han-kamber": han_kamber_by_hand}


def claims_of(name: str) -> dict[str, str]:
    doc = tomllib.loads((PUBLISHED / f"{name}-answers.toml").read_text())
    return {k: v for k, v in doc.items() if not isinstance(v, dict)}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_answers_files_hold_the_hand_worked_numbers(name: str) -> None:
    """Each answers file is the hand computation above, rounded to the places the author writes."""
    by_hand = EXAMPLES[name]()
    written = claims_of(name)
    assert written.keys() == by_hand.keys()
    for key, text in written.items():
        places = len(text.partition(".")[2])
        assert abs(float(text) - by_hand[key]) <= 0.5 * 10.0**-places + 1e-15, key


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_published_examples_check_as_written(name: str) -> None:
    answers = PUBLISHED / f"{name}-answers.toml"
    result = CliRunner().invoke(main, ["check", str(PUBLISHED / f"{name}.toml"), str(answers), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = check(netfile.load(PUBLISHED / f"{name}.toml"), load_answers(answers), str(answers))
    assert [c.name for c in report.claims if c.status != "ok"] == []
    assert {c.as_written for c in report.claims} == set(claims_of(name))
    signs = {c["as_written"]: c.get("sign", 1) for c in json.loads(result.output)["claims"]}
    flipped = {"negnevitsky": {"e", "delta5", "delta3", "delta4", "dtheta5", "dtheta3", "theta3", "theta4", "theta5"}}
    flipped["han-kamber"] = {"Err6", "Err5", "Err4"}
    assert {n for n, s in signs.items() if s == -1} == flipped.get(name, set())


@pytest.mark.parametrize("name", ["negnevitsky", "han-kamber"])
def test_without_its_conventions_the_same_file_is_wrong(tmp_path: Path, name: str) -> None:
    """The conventions are what make it check: read with chainrule's signs, the error terms are wrong."""
    text = (PUBLISHED / f"{name}-answers.toml").read_text()
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace('error = "target_minus_output"', 'error = "output_minus_target"'))
    report = check(netfile.load(PUBLISHED / f"{name}.toml"), load_answers(plain), str(plain))
    wrong = {c.as_written for c in report.claims if c.status == "wrong"}
    assert {"delta5", "e"} <= wrong if name == "negnevitsky" else {"Err6", "Err5", "Err4"} <= wrong


def test_thresholds_are_minus_the_biases(tmp_path: Path) -> None:
    """θ3 = 0.7962 is −b_h1 after the update; read as a bias it would be wrong."""
    text = (PUBLISHED / "negnevitsky-answers.toml").read_text()
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace('bias = "threshold"', 'bias = "bias"'))
    report = check(netfile.load(PUBLISHED / "negnevitsky.toml"), load_answers(plain), str(plain))
    wrong = {c.as_written for c in report.claims if c.status == "wrong"}
    assert wrong == {"theta3", "theta4", "theta5", "dtheta3", "dtheta5"}


@pytest.mark.parametrize(
    ("author", "ours"),
    [
        ("net_h1", "z_h1"),
        ("out_o2", "a_o2"),
        ("target_o1", "y_o1"),
        ("E_total", "loss"),
        ("E_o1", "loss_o1"),
        ("∂E_total/∂w5", "dL/dw5"),
        ("dE_total/dout_h1", "dL/da_h1"),
        ("∂out_o1/∂net_o1", "da_o1/dz_o1"),
        ("δ_o1", "dL/dz_o1"),
        ("w5⁺", "w5_new"),
        ("w5+", "w5_new"),
        ("b1", "b1"),
    ],
)
def test_mazurs_names(author: str, ours: str) -> None:
    assert mazur_name(author) == ours


def test_a_names_table_maps_the_authors_names(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('net_h1 = "0.3775"\nE_total = "0.2748"\n[names]\nnet_h1 = "z_h1"\nE_total = "loss"\n')
    report = check(
        netfile.load(PUBLISHED.parent.parent / "src/chainrule/examples/forward-backprop.toml"), load_answers(answers)
    )
    assert [(c.as_written, c.name, c.status) for c in report.claims] == [
        ("net_h1", "z_h1", "ok"),
        ("E_total", "loss", "ok"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('z_h1 = "0.3"\n[conventions]\nerror = "t-y"\n', "conventions.error: expected one of output_minus_target"),
        ('z_h1 = "0.3"\n[conventions]\nsign = "x"\n', 'conventions."sign": expected one of names, error, bias'),
        ('z_h1 = "0.3"\n[names]\nz_h1 = 3\n', 'names."z_h1": expected chainrule\'s name in quotes'),
        ('net_h9 = "0.3"\n[conventions]\nnames = "mazur"\n', "net_h9 (read as z_h9): expected a value name"),
    ],
)
def test_bad_conventions_are_one_line_and_exit_2(tmp_path: Path, text: str, message: str) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text(text)
    ref = PUBLISHED.parent.parent / "src/chainrule/examples/forward-backprop.toml"
    result = CliRunner().invoke(main, ["check", str(ref), str(answers)])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1, result.output
