"""`chainrule exercise --network conv|rnn`: seeded exercises on a shaped network (check/model_exercise.py),
each in its folder: net.toml, worksheet.md, answers.toml (blanks), key.toml and key.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from chainrule.cli.common import make_folder, write_exercise_set, write_output

if TYPE_CHECKING:
    from chainrule.check.model_exercise import ModelExercise


def write_model_exercises(network: str, output: Path, seed: int, count: int, digits: int) -> None:
    """One exercise into OUTPUT, or a class set into OUTPUT/exercise-NN/ with index.md."""
    from chainrule.check.model_exercise import make_model_exercise

    if count == 1:
        _write(make_model_exercise(network, seed, 1, digits), output)
        return

    def make(number: int) -> tuple[ModelExercise, str]:
        ex = make_model_exercise(network, seed, number, digits)
        return ex, ex.model.title

    write_exercise_set(count, seed, output, make, _write)


def _write(ex: ModelExercise, folder: Path) -> None:
    from chainrule.check.model_exercise import answers_toml
    from chainrule.io.modelwrite import dumps
    from chainrule.views.check_model_sheet import render_key, render_worksheet

    make_folder(folder)
    write_output(dumps(ex.model, folder / "net.toml"), folder / "net.toml")
    write_output(answers_toml(ex, filled=False), folder / "answers.toml")
    write_output(answers_toml(ex, filled=True), folder / "key.toml")
    write_output(render_worksheet(ex), folder / "worksheet.md")
    write_output(render_key(ex), folder / "key.md")
