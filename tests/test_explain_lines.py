"""`explain --steps N` lays out its later half in a forked child (cli/explain_lines.py): the lines
are the ones one process lays out, one for one, on random networks with odd names; a child that
fails changes nothing; an interrupted parent leaves no child behind."""

from __future__ import annotations

import io
import os
import sys
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

from chainrule.cli import explain_lines
from chainrule.cli.root import main
from chainrule.io import netfile
from chainrule.record.step import StepRecord, explain_steps
from chainrule.views import text
from helpers import CASES, odd_document

# (CI runs on Linux: nothing is skipped there)
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="off Linux one process lays out every step")


def _printed(lines: text.Lines, width: int | None) -> str:
    """The lines as the terminal gets them: piped (no width), or an 80-column terminal."""
    out = io.StringIO()
    console = Console(file=out, highlight=False, width=width or 100, force_terminal=width is not None)
    console.soft_wrap = width is None
    console.print(lines, crop=False)
    return out.getvalue()


def _records(case: int, steps: int) -> list[StepRecord]:
    loss, output = CASES[case % len(CASES)]
    net = netfile.from_dict(odd_document(np.random.default_rng(900 + case), loss, output))
    return explain_steps(net, 0, steps)


@pytest.mark.parametrize("case", range(6))
def test_the_forked_lines_are_the_lines_of_one_process(case: int) -> None:
    records = _records(case, explain_lines.PARALLEL_STEPS + case)
    before = explain_lines.RAN["forked"]
    forked = explain_lines.laid_out(records, 4, None)
    assert explain_lines.RAN["forked"] == before + 1
    alone = text.render_records(records, 4, None)
    for width in (None, 80):
        assert _printed(forked, width) == _printed(alone, width)


def test_a_few_steps_are_laid_out_by_one_process() -> None:
    records = _records(0, explain_lines.PARALLEL_STEPS - 1)
    before = dict(explain_lines.RAN)
    explain_lines.laid_out(records, 4, None)
    assert {**before, "alone": before["alone"] + 1} == explain_lines.RAN


def test_a_child_that_fails_leaves_the_text_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(1, explain_lines.PARALLEL_STEPS)
    parent = os.getpid()
    render = text.render_records

    def failing_in_the_child(*args: Any) -> text.Lines:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return render(*args)

    monkeypatch.setattr(explain_lines.text, "render_records", failing_in_the_child)
    before = dict(explain_lines.RAN)
    lines = explain_lines.laid_out(records, 4, None)
    assert {**before, "alone": before["alone"] + 1} == explain_lines.RAN
    assert _printed(lines, None) == _printed(render(records, 4, None), None)


def test_an_interrupted_parent_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    records = _records(2, explain_lines.PARALLEL_STEPS)
    parent = os.getpid()
    render = text.render_records

    def interrupted_in_the_parent(*args: Any) -> text.Lines:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return render(*args)

    forked: list[int] = []
    fork = os.fork

    def recorded_fork() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(explain_lines.text, "render_records", interrupted_in_the_parent)
    monkeypatch.setattr(explain_lines.os, "fork", recorded_fork)
    with pytest.raises(KeyboardInterrupt):
        explain_lines.laid_out(records, 4, None)
    (child,) = forked
    with pytest.raises(ChildProcessError):  # the child was collected: not left running, not a zombie
        os.waitpid(child, os.WNOHANG)


def test_the_command_prints_the_same_text_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = explain_lines.PARALLEL_STEPS + 3
    args = ["explain", "xor", "--steps", str(steps)]
    before = explain_lines.RAN["forked"]
    forked = CliRunner().invoke(main, args)
    assert forked.exit_code == 0, forked.output
    assert explain_lines.RAN["forked"] == before + 1
    monkeypatch.setattr(explain_lines, "PARALLEL_STEPS", 10**6)
    alone = CliRunner().invoke(main, args)
    assert alone.exit_code == 0
    assert forked.output == alone.output
    assert [f"Step {i + 1} " in forked.output for i in range(steps)] == [True] * steps
