"""`chainrule check NET ANSWERS` where NET is a shaped network (engine.model.Model): one answers file,
checked by check/model_checker.py and shown by views/check_model.py, with the dense checker's exit
status (0 when no claim is wrong, 1 when one is, 2 on bad input)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chainrule.cli.common import show, write_output

if TYPE_CHECKING:
    from chainrule.engine.model import Model


def check_one(
    ctx: click.Context, model: Model, answers: Path, fmt: str, output: Path | None, digits: int | None, tolerance: float
) -> None:
    """One answers file of a shaped network, checked and shown (a class goes through cli/check.py's
    class grading, as a dense network's does)."""
    from chainrule.check.answers import load_answers
    from chainrule.check.model_checker import check_model

    report = check_model(model, load_answers(answers), str(answers), digits=digits, tolerance=tolerance)
    if fmt == "json":
        from chainrule.views.check_model import render_json

        write_output(render_json(report), output)
    else:
        from chainrule.views.check_model import render_text

        show(render_text(report), output)
    if report.count("wrong"):
        ctx.exit(1)
