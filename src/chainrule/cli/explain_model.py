"""`chainrule explain` on a shaped network (conv2d, pooling, batchnorm, residual, rnn layers).

The step is worked layer by layer in every document format (views.story_model) and as JSON
(views.model_json); the options that belong to the dense network's forms are refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chainrule.cli.common import show, write_output
from chainrule.errors import ChainruleError

FORMATS = "text, json, markdown, latex, html or dot"


def refused(fmt: str, form: str, hand: int | None, gradcheck: bool) -> str | None:
    """The one line refusing an option a shaped network's explanation does not take, or None."""
    what = "a shaped network is explained layer by layer"
    if form != "scalar":
        return f"--form {form}: not available for a shaped network ({what}, as --form scalar)"
    for name, given in (("--hand", hand), ("--gradcheck", gradcheck or None)):
        if given is not None:
            return f"{name}: not available for a shaped network ({what}); use --format {FORMATS}"
    return None


def explain_model(
    model: Any,
    fmt: str,
    digits: int | None,
    example: int,
    only: str | None,
    steps: int,
    options: tuple[str, int | None, Path | None, bool],
    output: Path | None,
) -> None:
    """Work `steps` updates of `model` from update `example` (1-based) and write them in `fmt`."""
    from chainrule.record.model_step import explain_model_steps

    form, hand, figures, gradcheck = options
    refusal = refused(fmt, form, hand, gradcheck)
    if refusal:
        raise ChainruleError(refusal)
    tensors = list(model.parameters())
    if only is not None and only not in tensors:
        raise ChainruleError(f"--only {only}: expected a tensor name ({', '.join(tensors)})")
    records = explain_model_steps(model, example - 1, steps)
    shown = digits if digits is not None else 4
    if fmt == "dot":
        from chainrule.views.model_dot import render_model_dot

        write_output(render_model_dot(records, shown), output)
        return
    if fmt == "json":
        from chainrule.views.model_json import render_model

        write_output(render_model(records), output)
        return
    from chainrule.views import html, latex, markdown, text
    from chainrule.views.story_model import model_story

    blocks = model_story(records, shown, only)
    if fmt == "text":
        show(text.render_blocks(blocks), output)
        return
    if fmt == "markdown":
        write_output(markdown.render_blocks(blocks, _figures(blocks, figures, output)), output)
        return
    _figures(blocks, figures, output)
    write_output((html if fmt == "html" else latex).render_blocks(blocks), output)


def _figures(blocks: list[Any], folder: Path | None, output: Path | None) -> str | None:
    """With --figures DIR: each drawing written as DIR/<name>.svg; the folder as the document links it."""
    if folder is None:
        return None
    import os

    from chainrule.views.doc import Figure

    for b in blocks:
        if isinstance(b, Figure):
            write_output(b.svg, folder / f"{b.name}.svg")
    base = output.resolve().parent if output is not None else Path.cwd()
    return Path(os.path.relpath(folder.resolve(), base)).as_posix()
