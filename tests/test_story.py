"""One story, told once: every view renders the same blocks, and the story is right for every network.

Rules are checked over seeded random networks of every loss/activation pair (helpers.CASES): path
labels name the neurons a path passes through, every factor a number uses is shown, printed
arithmetic holds as printed, and every number of the record appears in every format in the
order it is computed.
"""

from __future__ import annotations

import html as html_lib
import math
import re
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.step import StepRecord, explain_step, explain_steps
from chainrule.views import html, latex, markdown, text
from chainrule.views.doc import Equations, partial
from chainrule.views.markdown import tex
from chainrule.views.numbers import Names, fmt, fmt_change
from chainrule.views.story import story
from chainrule.views.story_backward import order
from chainrule.views.story_update import EXTRA_DECIMALS
from chainrule.views.writer import holds
from helpers import CASES, odd_document, random_document

MAZUR = {
    "title": "Matt Mazur's 2-2-2 network",
    "inputs": 2,
    "loss": "half_squared_error",
    "layers": [
        {"name": "h", "units": 2, "activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35},
        {"name": "o", "units": 2, "activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60},
    ],
    "examples": [{"x": [0.05, 0.10], "y": [0.01, 0.99]}],
    "training": {"learning_rate": 0.5, "reduction": "sum"},
}


def _records(seed: int, loss: str, output: str, odd: bool = False) -> StepRecord:
    rng = np.random.default_rng(seed)
    doc = (odd_document if odd else random_document)(rng, loss, output)
    doc["training"]["batch"] = ["online", "full"][seed % 2]
    return explain_step(netfile.from_dict(doc))


RANDOM = [(i, lo, o) for i, (lo, o) in enumerate(CASES)]


def _terminal(record: StepRecord) -> str:
    return _terminal_steps([record])


def _terminal_steps(records: list[StepRecord]) -> str:
    console = Console(record=True, highlight=False, width=200, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(text.render_records(records))
    return console.export_text()


def _rows(record: StepRecord) -> list[tuple[str, str]]:
    """Every equation row of the story, as LaTeX."""
    rows = [row for b in story([record], figures=False) if isinstance(b, Equations) for row in b.rows]
    return [(tex(a), tex(b)) for a, b in rows]


# -- path labels ----------------------------------------------------------------------------------


def test_mazur_paths_run_through_the_outputs_not_through_two_users_of_w1() -> None:
    record = explain_step(netfile.from_dict(MAZUR))
    (w1,) = record.chains["w1"]
    assert [p.via for p in w1.paths] == ["o1", "o2"]
    (b1,) = record.chains["b1"]
    assert [p.via for p in b1.paths] == ["h1 → o1", "h1 → o2", "h2 → o1", "h2 → o2"]
    out = _terminal(record)
    assert "w1 reaches the loss along 2 paths (through o1, through o2)" in out
    assert "∂L/∂w1 (via o1) = ∂L/∂a_o1 · ∂a_o1/∂z_o1 · ∂z_o1/∂a_h1 · ∂a_h1/∂z_h1 · ∂z_h1/∂w1" in out
    md = markdown.render([record])
    assert "**Path through o1**" in md and "**Path through o2**" in md
    assert "used by 2 neurons (1, 2)" not in md and "through 1" not in out


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_path_labels_name_neurons_each_path_passes_through(case: int, loss: str, output: str) -> None:
    record = _records(900 + case, loss, output)
    for chains in record.chains.values():
        for chain in chains:
            if chain.form != "paths" or len(chain.paths) < 2:
                continue
            labels = [p.via for p in chain.paths]
            assert len(set(labels)) == len(labels)
            for p in chain.paths:
                passed = {n[2:] for f in p.factors for n in (f.num, f.den) if n.startswith(("a_", "z_"))}
                assert set(p.via.split(" → ")) <= passed


# -- every factor shown ---------------------------------------------------------------------------


def test_a_mean_over_two_examples_shows_its_half() -> None:
    doc = {**MAZUR, "loss": "half_squared_error", "training": {"batch": "full", "reduction": "mean"}}
    doc["examples"] = [{"x": [0.05, 0.10], "y": [0.01, 0.99]}, {"x": [0.10, 0.05], "y": [0.99, 0.01]}]
    out = _terminal(explain_step(netfile.from_dict(doc)))
    # The mean's 1/2 is written as a fraction and named in words, never as the loss's ½.
    assert "∂L/∂a_o1⁽¹⁾       = (1/2)(a_o1⁽¹⁾ − y_o1⁽¹⁾) = (1/2)(0.7514 − 0.01) ≈ 0.3707" in out
    assert "∂a_o1⁽¹⁾/∂z_o1⁽¹⁾ = a_o1⁽¹⁾(1 − a_o1⁽¹⁾) = 0.7514 · 0.2486 ≈ 0.1868" in out
    assert "δ_o1⁽¹⁾           = ∂L/∂a_o1⁽¹⁾ · f′(z_o1⁽¹⁾) = 0.3707 · 0.1868 ≈ 0.0692" in out
    assert "mean over the batch: N = 2 examples" in out


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_every_delta_shows_where_its_factors_come_from(case: int, loss: str, output: str) -> None:
    record = _records(700 + case, loss, output)
    if not record.deltas or not any(c.form == "delta" for cs in record.chains.values() for c in cs):
        return
    rows = _rows(record)
    names = Names(record)
    lhs = {a for a, _ in rows}
    n = len(record.examples)
    for k, deltas in enumerate(record.deltas):
        s = record.suffix(k)
        for d in deltas:
            if d.how in ("output", "softmax"):
                # ∂L/∂ŷ with the loss's formula, the mean's 1/N in front of it
                rhs = next(b for a, b in rows if a == partial("L", f"a_{d.neuron}{s}", names))
                if record.reduction == "mean" and n > 1:
                    assert rhs.startswith(rf"= \frac{{1}}{{{n}}}"), rhs
            if d.how in ("output", "hidden"):
                assert partial(f"a_{d.neuron}{s}", f"z_{d.neuron}{s}", names) in lhs  # f′ worked out
            if d.how == "fused" and record.reduction == "mean" and n > 1:
                assert any(rf"\frac{{1}}{{{n}}}" in b for a, b in rows if "delta" in a and d.neuron in a)


def test_mse_over_three_examples_shows_its_two_and_its_third() -> None:
    doc = {
        "inputs": 1,
        "loss": "mse",
        "layers": [{"units": 1, "activation": "sigmoid", "weights": [[0.5]], "bias": 0.1}],
        "examples": [{"x": [1.0], "y": [0.0]}, {"x": [0.5], "y": [1.0]}, {"x": [0.0], "y": [0.5]}],
        "training": {"batch": "full", "reduction": "mean"},
    }
    out = _terminal(explain_step(netfile.from_dict(doc)))
    assert "∂L/∂ŷ⁽¹⁾        = (1/3)(2(ŷ⁽¹⁾ − y⁽¹⁾) / 1) = (1/3)(2(0.6457 − 0) / 1) ≈ 0.4304" in out


# -- printed arithmetic ---------------------------------------------------------------------------

_N = r"(\S+(?: \\times 10\^\{-?\d+\}\S*)?)"  # a number, with its power of ten where it has one
_UNROUNDED = r"\s*\\quad \\text\{\(from the unrounded values\)\}"
_UPDATE = re.compile(rf"= {_N} - {_N} \\cdot {_N} = {_N} - {_N} (?:=|\\approx) {_N}((?:{_UNROUNDED})?)$")


def _number(tex: str) -> float:
    tex = tex.replace(r"\left(", "").replace(r"\right)", "")
    mantissa, _, power = tex.partition(r" \times 10^")
    return float(mantissa) * (10.0 ** int(power.strip("{}")) if power else 1.0)


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_updates_hold_at_the_printed_precision_or_say_they_do_not(case: int, loss: str, output: str) -> None:
    """Over three steps (the later ones from trained parameters, with all of float64's digits): each
    update's shown θ − η·g gives its shown θ_new, or the row says it came from the unrounded values;
    and no row shows more decimals than its change needs, plus EXTRA_DECIMALS."""
    net = netfile.from_dict(random_document(np.random.default_rng(300 + case), loss, output))
    for record in explain_steps(net, 0, 3):
        checked = 0
        widest = max(
            (len(fmt_change(u.new, u.change).partition(".")[2]) for u in record.updates if not u.frozen), default=0
        )
        for lhs, rhs in _rows(record):
            m = _UPDATE.match(rhs)
            if not m or "new" not in lhs:
                continue
            old, eta, grad, old2, step, new, note = m.groups()
            assert old == old2
            checked += 1
            if "times" in step or "times" in new:
                continue  # a step far below the decimals shown: nothing to add up by hand
            step = step.replace(r"\left(", "").replace(r"\right)", "")
            shown_holds = holds(step, _number(eta) * _number(grad)) and holds(new, _number(old) - _number(step))
            assert shown_holds == (not note), rhs
            assert len(new.partition(".")[2]) <= max(widest, 4) + EXTRA_DECIMALS, rhs
        assert checked == sum(not u.frozen for u in record.updates)


def test_xors_hundred_steps_show_their_updates_to_a_few_decimals() -> None:
    """Trained parameters once made the one precision climb to 15 decimals in half the steps."""
    from conftest import EXAMPLES

    out = _terminal_steps(explain_steps(netfile.load(EXAMPLES / "xor.toml"), 0, 100))
    rows = [line for line in out.splitlines() if re.match(r"  [wb]\S*_new +=", line)]  # (not the rule's θ_new)
    assert len(rows) == 900
    news = [re.search(r"[=≈] −?\d+\.(\d+)(?: \(from the unrounded values\))?$", row) for row in rows]
    assert max(len(m.group(1)) for m in news if m) <= 8  # the 7 that show every change, or 8; never 15
    assert any("(from the unrounded values)" in row for row in rows)


def test_a_products_shown_factors_that_do_not_give_its_result_say_so() -> None:
    out = _terminal(explain_step(netfile.load()))
    assert "0.0134 · 0.05 ≈ 0.000668 (from the unrounded values)" in out  # 0.0134 · 0.05 is 0.00067
    assert "0.7414 · 0.1868 ≈ 0.1385\n" in out  # 0.13849: it holds, nothing to say


def test_hand_mode_prints_values_with_the_decimals_it_used() -> None:
    out = CliRunner().invoke(main, ["explain", "--hand", "4"]).output
    assert "≈ 0.1497\n" in out and "0.149700" not in out
    assert "0.6 − 0.0693 ≈ 0.5307" in out


# -- the terminal ---------------------------------------------------------------------------------


def test_the_terminal_computes_each_neuron_before_using_it() -> None:
    out = CliRunner().invoke(main, []).output
    assert out.index("a_h1 = σ(z_h1)") < out.index("z_out = a_h1·w5") < out.index("ŷ     = σ(z_out)")


def test_several_steps_have_one_title_and_numbered_steps() -> None:
    out = CliRunner().invoke(main, ["explain", "--steps", "3"]).output
    assert out.count("Forward & Backpropagation") == 1
    assert [line.strip(" ─") for line in out.splitlines() if line.startswith("Step ") and "(example" in line] == [
        "Step 1 (example 1)",
        "Step 2 (example 1)",
        "Step 3 (example 1)",
    ]


def test_each_step_names_its_own_example(tmp_path: Any) -> None:
    path = tmp_path / "online.toml"
    path.write_text(
        netfile.dumps_toml(
            {**MAZUR, "examples": [{"x": [0.05, 0.1], "y": [0.01, 0.99]}, {"x": [0.1, 0.2], "y": [0.5, 0.5]}]}
        )
    )
    out = CliRunner().invoke(main, ["explain", str(path), "--steps", "3"]).output
    steps = [line.strip(" ─") for line in out.splitlines() if line.startswith("Step ") and "(example" in line]
    assert steps == ["Step 1 (example 1)", "Step 2 (example 2)", "Step 3 (example 1)"]


# -- every number, in every format, in the order it is computed -----------------------------------


def _sequence(record: StepRecord) -> list[tuple[str, float]]:
    """The record's numbers in the order they are computed: forward, loss, gradients, new values."""
    v = record.values
    seq: list[tuple[str, float]] = []
    for k in range(len(record.examples)):
        s = record.suffix(k)
        for layer in record.layers:
            softmax = layer.activation == "softmax"
            for n in layer.neurons:
                seq.append((f"z_{n}{s}", v[f"z_{n}{s}"]))
                if not softmax:
                    seq.append((f"a_{n}{s}", v[f"a_{n}{s}"]))
            if softmax:
                seq += [(f"a_{n}{s}", v[f"a_{n}{s}"]) for n in layer.neurons]
    if len(record.examples) > 1:
        seq += [(f"loss#{k + 1}", v[f"loss#{k + 1}"]) for k in range(len(record.examples))]
    seq.append(("loss", v["loss"]))
    seq += [(f"dL/d{p}", v[f"dL/d{p}"]) for p in order(record)]
    seq += [(f"{u.param}_new", u.new) for u in record.updates]
    return seq


def _plain_text(rendered: str, fmt_name: str) -> str:
    if fmt_name == "html":
        rendered = html_lib.unescape(re.sub(r"<[^>]+>", " ", rendered))
    return rendered.replace("−", "-")


def _as_shown(text: str) -> str:
    """A pattern for a number as the documents write it: 1.5e−7 as 1.5 × 10 to the −7 in any notation."""
    mantissa, e, _ = text.replace("−", "-").partition("e")
    if not e:
        return re.escape(mantissa)
    return re.escape(mantissa) + r"\s*(?:×|\\times|·)\s*10"


def _find_in_order(rendered: str, record: StepRecord) -> list[str]:
    missing, at = [], 0
    for name, x in _sequence(record):
        if not math.isfinite(x):
            continue
        # A new value is written at the one precision of the document's updates (rows and table alike).
        places = range(4, 16) if name.endswith("_new") else [4]
        shown = "|".join(_as_shown(fmt(abs(x), p)) for p in places)
        m = re.compile(rf"(?<![\d.])(?:{shown})(?!\d)").search(rendered, at)
        if m is None:
            missing.append(f"{name} = {shown} after position {at}")
            continue
        at = m.end()
    return missing


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_every_number_appears_in_every_format_in_the_order_it_is_computed(case: int, loss: str, output: str) -> None:
    record = _records(100 + case, loss, output, odd=case % 3 == 0)
    renders = {
        "terminal": _terminal(record),
        "markdown": markdown.render([record]),
        "latex": latex.render([record]),
        "html": html.render([record]),
    }
    for fmt_name, rendered in renders.items():
        missing = _find_in_order(_plain_text(rendered, fmt_name), record)
        assert missing == [], f"{fmt_name}: {missing[:3]}"


# -- the page's stepper cuts the same story ------------------------------------------------------


@pytest.mark.parametrize(("case", "loss", "output"), RANDOM)
def test_the_stepper_has_the_steps_it_counts_and_the_storys_equations(case: int, loss: str, output: str) -> None:
    from chainrule.web.steps import step_count, steps

    record = _records(500 + case, loss, output)
    page = steps(record)
    assert len(page) == step_count(record)
    shown = [line["plain"] for step in page for line in step["lines"] if "plain" in line]
    # the page's last equation is the terminal's last update row, word for word
    out = re.sub(r" +", " ", _terminal(record))
    assert shown[-1] in out
    assert all("<math" in line["mathml"] for step in page for line in step["lines"] if "mathml" in line)


def test_softmax_is_shown_as_its_exponentials_over_their_sum() -> None:
    from conftest import EXAMPLES

    record = explain_step(netfile.load(EXAMPLES / "softmax-classifier.toml"))
    for k in range(len(record.examples)):
        s = record.suffix(k)
        exps = [math.exp(record.values[f"z_{n}{s}"]) for n in record.output_neurons]
        assert [record.exponentials[f"z_{n}{s}"] for n in record.output_neurons] == pytest.approx(exps, rel=1e-15)
        assert record.exponentials[f"Σ_out{s}"] == pytest.approx(sum(exps), rel=1e-15)
    out = _terminal(record)
    assert "= 0.9094/(0.9094 + 1.3034 + 1.1735) = 0.9094/3.3863 ≈ 0.2685" in out  # a quotient alone: no brackets
