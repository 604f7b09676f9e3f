"""Exercises that ask only what their key works, with optimizers, ids 7.1, 7.2, … and a bounded search."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.exercise import ExerciseSpec, draw_limit, make_exercise, shortcut_names
from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.io.netfile import from_dict


def write(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "ex"
    result = CliRunner().invoke(main, ["exercise", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def key_checks_all_ok(folder: Path) -> list[str]:
    net = netfile.load(folder / "net.toml")
    report = check(net, load_answers(folder / "key.toml"), "key.toml")
    assert [c.status for c in report.claims] == ["ok"] * len(report.claims)
    return [c.name if c.step == 1 else f"step.{c.step}.{c.name}" for c in report.claims]


@pytest.mark.parametrize(("loss", "output"), [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")])
def test_a_shortcut_output_is_asked_only_what_its_key_works(tmp_path: Path, loss: str, output: str) -> None:
    shape = "2-2-2" if output == "softmax" else "2-2-1"
    folder = write(tmp_path, "--shape", shape, "--loss", loss, "--output-activation", output)
    asked = key_checks_all_ok(folder)
    outs = ("out1", "out2") if output == "softmax" else ("out",)
    assert all(f"dL/dz_{n}" in asked for n in outs)  # ŷ − y, the shortcut the key works
    assert not [n for n in asked if n.startswith(tuple(f"dL/da_{o}" for o in outs)) or n.startswith("da_out")]
    assert shortcut_names(netfile.load(folder / "net.toml"))


def test_momentum_over_two_steps_asks_the_velocity_and_its_key_checks_ok(tmp_path: Path) -> None:
    folder = write(tmp_path, "--optimizer", "momentum", "--steps", "2")
    asked = key_checks_all_ok(folder)
    assert "step.2.v_w5" in asked and "step.2.w5_new" in asked
    assert not [n for n in asked if n.endswith("_prev") or n.endswith("momentum")]  # given, not asked
    assert tomllib.loads((folder / "net.toml").read_text())["training"]["optimizer"] == "momentum"


def test_adam_at_eight_digits_key_checks_ok(tmp_path: Path) -> None:
    asked = key_checks_all_ok(write(tmp_path, "--optimizer", "adam", "--digits", "8"))
    assert "mhat_w5" in asked and "shat_w5" in asked


def test_ids_are_seed_dot_number_in_titles_and_answers_files(tmp_path: Path) -> None:
    folder = write(tmp_path, "--seed", "7", "--count", "2")
    for n in (1, 2):
        for name in ("answers.toml", "key.toml"):
            data = tomllib.loads((folder / f"exercise-{n}" / name).read_text())
            assert data["exercise"] == {"id": f"7.{n}", "digits": 4}
        assert tomllib.loads((folder / f"exercise-{n}" / "net.toml").read_text())["title"].startswith(
            f"Exercise 7.{n}:"
        )
    assert "| exercise-2 | 7.2 |" in (folder / "index.md").read_text()
    # exercise 1 of a set is the single exercise of the seed
    single = write(tmp_path / "one", "--seed", "7")
    assert (single / "key.toml").read_text() == (folder / "exercise-1" / "key.toml").read_text()


def test_the_search_is_bounded_by_its_work() -> None:
    heavy = ExerciseSpec((2, 2, 1), steps=5, examples=8, batch="full")
    assert draw_limit(heavy) == 800 and draw_limit(ExerciseSpec((2, 2, 1))) == 4000
    ex = make_exercise(ExerciseSpec((2, 2, 1)), 7, 1, from_dict)
    assert ex.draws <= draw_limit(ex.spec) and ex.ident == "7.1"
