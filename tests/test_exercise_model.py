"""`chainrule exercise --network conv|rnn`: a seeded exercise on a shaped network whose key checks
all ok, whose blanks are every asked number, and which is the same for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainrule.check.answers import load_answers
from chainrule.check.model_checker import check_model
from chainrule.check.model_exercise import make_model_exercise
from chainrule.engine.model import Model
from chainrule.io import loader
from helpers import run_cli


@pytest.mark.parametrize("network", ["conv", "rnn"])
@pytest.mark.parametrize("seed", [0, 5])
def test_the_key_checks_all_ok(tmp_path: Path, network: str, seed: int) -> None:
    result, warnings = run_cli(["exercise", "--network", network, "--seed", str(seed), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not warnings
    model = loader.load(tmp_path / "net.toml")
    assert isinstance(model, Model)
    claims = load_answers(tmp_path / "key.toml")
    report = check_model(model, claims, "key.toml")
    assert report.count("ok") == len(claims) == len(make_model_exercise(network, seed).asked)
    checked, _ = run_cli(["check", str(tmp_path / "net.toml"), str(tmp_path / "key.toml")])
    assert checked.exit_code == 0, checked.output
    blanks = (tmp_path / "answers.toml").read_text(encoding="utf-8")
    assert blanks.count('= ""') == len(claims)
    sheet = (tmp_path / "worksheet.md").read_text(encoding="utf-8")
    assert "To find" in sheet and "W" in sheet


@pytest.mark.parametrize("network", ["conv", "rnn"])
def test_the_same_seed_gives_the_same_exercise_and_another_seed_another(network: str) -> None:
    first, again, other = (make_model_exercise(network, s) for s in (3, 3, 4))
    assert first.key() == again.key()
    assert first.key() != other.key()


def test_a_conv_exercise_asks_the_flipped_kernel_gradient_and_has_no_pooling_ties() -> None:
    ex = make_model_exercise("conv", 1)
    assert any(n.startswith("dL/dx[") for n in ex.asked)  # the full convolution with the flipped kernel
    assert any(n.startswith("dL/dW_conv[") for n in ex.asked)  # the correlation of the input with ∂L/∂z


def test_a_class_set_writes_one_folder_per_student(tmp_path: Path) -> None:
    result, _ = run_cli(["exercise", "--network", "rnn", "--count", "2", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "exercise-1" / "key.toml").is_file() and (tmp_path / "exercise-2" / "net.toml").is_file()
    assert "exercise-2" in (tmp_path / "index.md").read_text(encoding="utf-8")
