"""The slips of batch, multi-step and optimizer work named: 1/N in the gradients only, the momentum
term dropped, Adam without bias correction; and every slip's explanation states its constants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chainrule.check.answers import load_answers
from chainrule.check.checker import CheckReport, check
from chainrule.check.mistakes import bias_correction_omitted, momentum_dropped, other_reduction_in_gradients
from chainrule.engine.network import Network
from chainrule.io import netfile
from chainrule.record.graph import StepGraph, build, evaluate
from chainrule.record.optimizer_step import carried
from chainrule.views.check import detail, render_text
from chainrule.views.text import plain_text

REFERENCE = Path(__file__).resolve().parent.parent / "src" / "chainrule" / "examples" / "forward-backprop.toml"


def network(**training: Any) -> Network:
    doc = netfile.to_dict(netfile.load(REFERENCE))
    doc["training"] |= training
    return netfile.from_dict(doc)


def batch_network(reduction: str) -> Network:
    doc = netfile.to_dict(netfile.load(REFERENCE))
    doc["examples"].append({"x": [0.3, -0.1], "y": [0.7]})
    doc["training"] |= {"batch": "full", "reduction": reduction}
    return netfile.from_dict(doc)


def made(net: Network, rewrite: Any, steps: int) -> list[dict[str, float]]:
    """Every value of each step when the mistake is made in every update (as a student repeats it)."""
    graph: StepGraph = build(net, net.batches()[0])
    params: dict[str, float] = {}
    out = []
    for _ in range(steps):
        values = evaluate(rewrite(graph), params)
        out.append(values)
        params = carried(net, values)
    return out


def checked(net: Network, tmp_path: Path, claims: dict[tuple[int, str], float], places: int = 6) -> CheckReport:
    lines = [f'"{n}" = "{v:.{places}f}"' for (s, n), v in claims.items() if s == 1]
    for step in sorted({s for s, _ in claims if s > 1}):
        lines.append(f"[step.{step}]")
        lines += [f'"{n}" = "{v:.{places}f}"' for (s, n), v in claims.items() if s == step]
    path = tmp_path / "a.toml"
    path.write_text("\n".join(lines) + "\n")
    return check(net, load_answers(path), str(path))


def mistakes_of(report: CheckReport, name: str, step: int = 1) -> list[tuple[str, str]]:
    (c,) = [c for c in report.claims if (c.name, c.step) == (name, step)]
    assert c.status == "wrong", c
    return [(d.mistake, d.kind) for d in c.diagnosis]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_mean_in_the_loss_but_not_in_the_gradients_is_named(tmp_path: Path, reduction: str) -> None:
    net = batch_network(reduction)
    (values,) = made(net, other_reduction_in_gradients, 1)
    report = checked(net, tmp_path, {(1, "loss"): values["loss"], (1, "dL/dw5"): values["dL/dw5"]})
    assert report.claims[0].status == "ok"  # the loss is reduced as the file says
    other = "sum" if reduction == "mean" else "mean"
    assert (("sum_vs_mean", f"{other}_gradients")) in mistakes_of(report, "dL/dw5")
    assert ("sum_vs_mean", other) not in mistakes_of(report, "dL/dw5")  # the right loss contradicts it


def test_the_momentum_term_dropped_is_named_in_the_second_step(tmp_path: Path) -> None:
    net = network(optimizer="momentum", momentum=0.9)
    values = made(net, momentum_dropped, 2)
    report = checked(net, tmp_path, {(2, "v_w5"): values[1]["v_w5"], (2, "w5_new"): values[1]["w5_new"]})
    assert ("momentum_dropped", "") in mistakes_of(report, "v_w5", 2)
    (c,) = [c for c in report.claims if c.name == "v_w5"]
    d = next(d for d in c.diagnosis if d.mistake == "momentum_dropped")
    assert "v = μ·v_prev + g" in detail(d, c, report)


def test_adam_without_bias_correction_is_named(tmp_path: Path) -> None:
    net = network(optimizer="adam", beta1=0.9, beta2=0.999, eps=1e-8)
    (values,) = made(net, bias_correction_omitted, 1)
    report = checked(net, tmp_path, {(1, "mhat_w5"): values["mhat_w5"], (1, "w5_new"): values["w5_new"]})
    assert ("bias_correction_omitted", "") in mistakes_of(report, "mhat_w5")


def test_a_slip_in_a_change_states_minus_eta_and_in_a_mean_states_one_over_n(tmp_path: Path) -> None:
    net = netfile.load(REFERENCE)
    exact = evaluate(build(net, [0]))
    report = checked(net, tmp_path, {(1, "dw5"): exact["dw5"] * 1.37 + 0.01}, places=4)
    (c,) = report.claims
    words = detail(c.diagnosis[-1], c, report)
    assert "the constant −0.5" in words, words
    net = batch_network("mean")
    exact = evaluate(build(net, net.batches()[0]))
    report = checked(net, tmp_path, {(1, "loss"): exact["loss"] * 1.37 + 0.01}, places=4)
    (c,) = report.claims
    slip = next(d for d in c.diagnosis if d.mistake == "slip")
    words = detail(slip, c, report)
    assert "times 0.5 gives" in words, words


def test_rounding_carried_from_the_authors_own_previous_step_values(tmp_path: Path) -> None:
    """[step.2] w1_new written to 2 places, then [step.3] dL/dw1 worked from that rounded weight:
    rounding that follows from the author's own w1_new, exactly as if they had written [step.3] w1."""
    net = netfile.load(REFERENCE)
    after = net
    for _ in range(2):
        back = after.backward(after.forward(after.x[[0]]), after.y[[0]])
        after = after.updated(back)
    w1 = evaluate(build(after, [0]))["w1"]
    rounded = round(w1, 2)
    assert abs(rounded - w1) > 1e-4
    from_rounded = evaluate(build(after, [0]), {"w1": rounded})["dL/dw1"]
    text = f'[step.2]\nw1_new = "{rounded:.2f}"\n[step.3]\n"dL/dw1" = "{from_rounded:.10f}"\n'
    (tmp_path / "a.toml").write_text(text)
    report = check(net, load_answers(tmp_path / "a.toml"), "a.toml")
    status = {(c.name, c.step): c.status for c in report.claims}
    assert status == {("w1_new", 2): "ok", ("dL/dw1", 3): "rounding"}
    (c,) = [c for c in report.claims if c.step == 3]
    assert "step 2's w1_new" in detail(c.diagnosis[0], c, report)
    # the same number with a wrong step-2 weight follows from that wrong weight: follow-through
    (tmp_path / "b.toml").write_text(text.replace(f'"{rounded:.2f}"', f'"{rounded + 0.3:.2f}"'))
    report = check(net, load_answers(tmp_path / "b.toml"), "b.toml")
    assert [c.status for c in report.claims] == ["wrong", "wrong"]
    assert report.claims[1].first_wrong == ("w1_new", 2)


def test_the_first_wrong_number_is_shown_in_the_authors_sign(tmp_path: Path) -> None:
    """Under error = "target_minus_output" the author's dL/dz_out is −∂L/∂z_out: the correct value
    beside what they wrote is given in their sign, not chainrule's."""
    net = netfile.load(REFERENCE)
    exact = evaluate(build(net, [0]))["dL/dz_out"]
    path = tmp_path / "a.toml"
    path.write_text(f'"dL/dz_out" = "{-exact + 0.05:.4f}"\n[conventions]\nerror = "target_minus_output"\n')
    text = plain_text(render_text(check(net, load_answers(path), "a.toml")))
    assert f"in your names and sign: dL/dz_out = {-exact:.4f}".replace("-", "−") in text, text


def test_a_two_step_adam_example_worked_from_the_authors_rounded_values_is_rounding(tmp_path: Path) -> None:
    """As a worked example is written: every step-1 weight rounded to 2 places (moments to 4 digits), step 2 worked from those
    rounded weights and moments (the author's own), its results rounded again. Nothing is wrong."""
    net = network(optimizer="adam", beta1=0.9, beta2=0.999, eps=1e-8)
    batch = net.batches()[0]
    first = evaluate(build(net, batch))
    params = net.parameter_names()
    step1 = {f"{p}_new": first[f"{p}_new"] for p in params} | {
        f"{s}_{p}": first[f"{s}_{p}"] for p in params for s in "ms"
    }
    written1 = {k: float(f"{v:.2f}") if k.endswith("_new") else float(f"{v:.4g}") for k, v in step1.items()}
    after = net.updated(net.backward(net.forward(net.x[batch]), net.y[batch]))
    pins = {p: written1[f"{p}_new"] for p in params} | {
        f"{s}_{p}_prev": written1[f"{s}_{p}"] for p in params for s in "ms"
    }
    second = evaluate(build(after, batch), pins)
    lines = [f'"{k}" = "{v:.2f}"' if k.endswith("_new") else f'"{k}" = "{v:.4g}"' for k, v in step1.items()]
    lines.append("[step.2]")
    lines += [f'"{k}" = "{second[k]:.6g}"' for k in ("dL/dw5", "m_w5", "s_w5")] + [
        f'"w5_new" = "{second["w5_new"]:.4f}"'
    ]
    (tmp_path / "a.toml").write_text("\n".join(lines) + "\n")
    report = check(net, load_answers(tmp_path / "a.toml"), "a.toml")
    assert report.count("wrong") == 0, [
        (c.name, c.step, c.written, c.exact) for c in report.claims if c.status == "wrong"
    ]
    assert "rounding" in {c.status for c in report.claims if c.step == 2}
    # the same step-2 numbers without the author's step-1 values they were worked from: wrong
    (tmp_path / "b.toml").write_text("\n".join(lines[lines.index("[step.2]") :]) + "\n")
    alone = check(net, load_answers(tmp_path / "b.toml"), "b.toml")
    assert alone.count("wrong") > 0


def test_a_velocity_written_as_the_step_is_read_under_its_convention(tmp_path: Path) -> None:
    """v ← μv − η·g with θ_new = θ + v (the step itself): each v is −η times chainrule's v ← μv + g."""
    net = network(optimizer="momentum", momentum=0.9)
    first, second = made(net, lambda g: g, 2)
    eta = net.training.learning_rate
    text = (
        f'"v_w5" = "{-eta * first["v_w5"]:.6f}"\n[step.2]\n"v_w5" = "{-eta * second["v_w5"]:.6f}"\n'
        f'"w5_new" = "{second["w5_new"]:.6f}"\n[conventions]\nvelocity = "step"\n'
    )
    (tmp_path / "a.toml").write_text(text)
    report = check(net, load_answers(tmp_path / "a.toml"), "a.toml")
    assert [c.status for c in report.claims] == ["ok", "ok", "ok"]
    # without the convention the same numbers are wrong
    (tmp_path / "b.toml").write_text(text.replace('velocity = "step"', 'velocity = "gradient"'))
    assert check(net, load_answers(tmp_path / "b.toml"), "b.toml").count("wrong") == 2
