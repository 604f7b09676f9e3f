"""A softmax output under a loss other than cross-entropy has no shortcut: its worksheet asks the whole
Jacobian (∂a_o/∂z_k for every o and k, the row each ∂L/∂z_k sums over) and ∂L/∂a_o, and the answer key
shows every one of them with the value the key file gives."""

from __future__ import annotations

import re
from itertools import takewhile
from pathlib import Path

import pytest

from chainrule.check.answers import load_answers
from chainrule.check.checker import check
from chainrule.check.exercise import ExerciseSpec, answers_toml, make_exercise
from chainrule.io.netfile import from_dict
from chainrule.views.numbers import Names
from chainrule.views.worksheet import display_name, render_key, render_worksheet


def shown(key: str, tex: str, value: str) -> bool:
    """Whether the key works ``tex`` to ``value``: an equation row that starts with it (continued on
    rows that start with &) whose last result is that value."""
    for match in re.finditer(r"^" + re.escape(tex) + r" &?=", key, re.MULTILINE):
        rows = key[match.start() : key.find("$$", match.start())].split("\\\\\n")
        group = [rows[0], *takewhile(lambda r: r.lstrip().startswith("&"), rows[1:])]
        last = re.sub(r"\\quad.*", "", group[-1].split("\n")[0]).strip()
        if re.search(r"(=|\\approx) " + re.escape(value) + "$", last):
            return True
    return False


@pytest.mark.parametrize("loss", ["half_squared_error", "squared_error"])
@pytest.mark.parametrize("units", [2, 3])
def test_a_softmax_worksheet_asks_the_jacobian_row_and_its_key_shows_it(loss: str, units: int, tmp_path: Path) -> None:
    for seed in (1, 2):
        spec = ExerciseSpec((2, 2, units), output_activation="softmax", loss=loss)
        ex = make_exercise(spec, seed, 1, from_dict)
        outs = ex.network.output_layer.neuron_names
        jacobian = {f"da_{o}/dz_{k}" for o in outs for k in outs}
        asked = {n for _, n in ex.asked}
        assert jacobian | {f"dL/da_{o}" for o in outs} | {f"dL/dz_{o}" for o in outs} <= asked
        (tmp_path / "key.toml").write_text(answers_toml(ex, filled=True))
        report = check(ex.network, load_answers(tmp_path / "key.toml"), "key.toml")
        assert {c.status for c in report.claims} == {"ok"}
        key, written, names = render_key(ex, "markdown"), ex.key(), Names(ex.records[0])
        worksheet = render_worksheet(ex, "markdown")
        for name in sorted(jacobian | {f"dL/da_{o}" for o in outs} | {f"dL/dz_{o}" for o in outs}):
            tex = display_name(name, names).tex
            assert isinstance(tex, str) and tex in worksheet, name
            assert shown(key, tex, written[(1, name)]), (name, written[(1, name)])


@pytest.mark.parametrize(
    "spec",
    [
        ExerciseSpec((2, 2, 2), output_activation="softmax", loss="cross_entropy", steps=2),
        ExerciseSpec((2, 2, 1), output_activation="sigmoid", loss="binary_cross_entropy"),
        ExerciseSpec((2, 2, 3), output_activation="softmax", loss="squared_error"),
        ExerciseSpec((2, 2, 1), optimizer="momentum", steps=2),
        ExerciseSpec((2, 2, 1), optimizer="rmsprop"),
    ],
)
def test_the_key_shows_every_value_the_worksheet_asks(spec: ExerciseSpec) -> None:
    """The worked story shows a hidden ∂L/∂a_h1 or ∂L/∂z_h1 only inside a path's product; the key's last
    table gives every asked value, typeset as the worksheet's "To find" does, with key.toml's number."""
    ex = make_exercise(spec, 4, 1, from_dict)
    key, written, names = render_key(ex, "markdown"), ex.key(), Names(ex.records[0])
    worksheet = render_worksheet(ex, "markdown")
    table = key[key.index("## Every value asked") :]
    for step, name in ex.asked:
        tex = display_name(name, names).tex
        assert isinstance(tex, str) and f"${tex}$" in worksheet, name
        part = table if spec.steps == 1 else table[table.index(f"### Update {step}") :]
        row = r"^\| \$" + re.escape(tex) + r"\$ \| [^|]+ \| \$" + re.escape(written[(step, name)]) + r"\$ \|$"
        assert re.search(row, part, re.MULTILINE), (step, name, written[(step, name)])
