"""`chainrule check` on the built-in `conv` example: a planted spread max-pool gradient and a planted
unflipped kernel are found and named, with the dense checker's exit status (1 when a number is
wrong, 0 when none is, 2 with one line on bad input)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from chainrule.check.model_slips import catalogue
from chainrule.check.model_values import replay
from chainrule.engine.model import Model
from chainrule.io import loader
from chainrule.record.model_step import explain_model_steps
from helpers import run_cli


def _answers(values: dict[str, float], path: Path) -> Path:
    """Every worked number of the update to 4 places, as a student writes them (given ones left out)."""
    lines = [
        f'"{name}" = "{value:.4f}"' for name, value in values.items() if name.startswith(("z_", "a_", "dL/", "loss"))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _conv() -> Model:
    model = loader.load("conv")
    assert isinstance(model, Model)
    return model


def test_the_correct_answers_exit_0(tmp_path: Path) -> None:
    result, warnings = run_cli(["check", "conv", str(_answers(replay(_conv()).values, tmp_path / "a.toml"))])
    assert result.exit_code == 0, result.output
    assert "0 wrong" in result.output and not warnings


@pytest.mark.parametrize(
    ("mistake", "words"),
    [
        ("maxpool_spread", "max-pool gradient of pool1 spread over the window"),
        ("kernel_not_flipped", "kernel of conv1 not flipped for the input gradient"),
    ],
)
def test_a_planted_slip_is_named(tmp_path: Path, mistake: str, words: str) -> None:
    net = Path("conv")  # its kernels are lopsided, so an unflipped one changes the input's gradient
    model = loader.load(net)
    assert isinstance(model, Model)
    slip = next(s for s in catalogue(model) if s.id == mistake)
    answers = _answers(replay(model, slip).values, tmp_path / "a.toml")
    result, _ = run_cli(["check", str(net), str(answers)])
    assert result.exit_code == 1, result.output
    why = result.output.split("why:", 1)[1]
    assert " ".join(words.split()) in " ".join(why.split())
    assert "1 wrong" in result.output  # one slip told once: the numbers after it follow from it
    data, _ = run_cli(["check", str(net), str(answers), "--format", "json"])
    first = next(c for c in json.loads(data.output)["claims"] if c["status"] == "wrong")
    assert first["diagnosis"][0]["mistake"] == mistake


def test_a_name_the_network_lacks_is_one_line(tmp_path: Path) -> None:
    answers = tmp_path / "a.toml"
    answers.write_text('"z_conv9[1,1,1]#1" = "0.5"\n', encoding="utf-8")
    result, _ = run_cli(["check", "conv", str(answers)])
    assert result.exit_code == 2
    assert "z_conv9[1,1,1]#1" in result.output and "expected a value name" in result.output


@pytest.mark.parametrize("example", ["conv", "rnn"])
def test_later_updates_are_checked_as_explain_steps_works_them(example: str, tmp_path: Path) -> None:
    """[step.2] and [step.3]: the numbers `explain --steps 3` shows for those updates are all ok; one
    changed in step 2 is the one wrong number, named with its step."""
    model = loader.load(example)
    assert isinstance(model, Model)
    records = explain_model_steps(model, 0, 3)
    lines = [f'"loss" = "{records[0].values["loss"]:.4f}"']
    for step in (2, 3):
        worked = {k: v for k, v in records[step - 1].values.items() if k.startswith(("z_", "a_", "dL/", "loss"))}
        lines += [f"[step.{step}]", *(f'"{k}" = "{v:.4f}"' for k, v in worked.items())]
    answers = tmp_path / "a.toml"
    answers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, _ = run_cli(["check", example, str(answers), "--format", "json"])
    assert result.exit_code == 0, result.output
    claims = json.loads(result.output)["claims"]
    assert {c["status"] for c in claims} <= {"ok", "rounding"} and {c["step"] for c in claims} == {1, 2, 3}
    text = answers.read_text()
    first = text.split("[step.2]\n", 1)[1].split("\n", 1)[0]
    name = first.split(" = ")[0]
    answers.write_text(text.replace(first, f'{name} = "9.1234"', 1), encoding="utf-8")
    result, _ = run_cli(["check", example, str(answers), "--format", "json"])
    assert result.exit_code == 1
    wrong = [c for c in json.loads(result.output)["claims"] if c["status"] == "wrong"]
    assert [(c["name"], c["step"]) for c in wrong] == [(name.strip('"'), 2)]


def test_a_class_of_shaped_exercises_is_graded_each_against_its_own(tmp_path: Path) -> None:
    """`exercise --network conv --count 3`: each key scores full marks against its own exercise (not
    against exercise 1), a planted wrong number costs that value, and the slip's row names it."""
    made, _ = run_cli(["exercise", "--network", "conv", "--count", "3", "--seed", "4", "-o", str(tmp_path / "class")])
    assert made.exit_code == 0, made.output
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in (1, 2, 3):
        (subs / f"s{i}.toml").write_text((tmp_path / "class" / f"exercise-{i}" / "key.toml").read_text())
    text = (subs / "s2.toml").read_text()
    name = next(line.split(" = ")[0] for line in text.splitlines() if line.startswith('"a_conv'))
    (subs / "s2.toml").write_text(text.replace(f'{name} = "', f'{name} = "9', 1))
    result, _ = run_cli(["check", str(tmp_path / "class"), str(subs), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(result.output))}
    assert [rows[s]["exercise"] for s in ("s1", "s2", "s3")] == ["4.1", "4.2", "4.3"]
    assert rows["s1"]["score"] == rows["s3"]["score"] == "100.0"
    assert (
        rows["s2"]["wrong"] == "1" and float(rows["s2"]["score"]) < 100 and rows["s2"]["first_wrong"] == name.strip('"')
    )


def test_bptt_stopped_at_one_step_is_named_on_the_rnn_example(tmp_path: Path) -> None:
    model = loader.load("rnn")
    assert isinstance(model, Model)
    slip = next(s for s in catalogue(model) if s.id == "bptt_one_step")
    answers = _answers(replay(model, slip).values, tmp_path / "a.toml")
    result, _ = run_cli(["check", "rnn", str(answers)])
    assert result.exit_code == 1, result.output
    assert "stopped at one step" in " ".join(result.output.split("why:", 1)[1].split())
