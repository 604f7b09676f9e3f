"""`chainrule exercise`: a seeded exercise (or a class set), its worksheet, answer key and answers file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from chainrule.cli.common import make_folder, write_exercise_set, write_output
from chainrule.engine.batching import parse_batch

# The files of one exercise, by what they hold.
FILES = {
    "network": "net.toml",
    "answers": "answers.toml",
    "key": "key.toml",
}


@click.command()
@click.option(
    "--shape", default="2-2-1", show_default=True, help="Inputs, then each layer's units: 2-2-1, 3-4-2, 2-3-3-1."
)
@click.option(
    "--activation",
    default="sigmoid",
    show_default=True,
    help="The hidden layers' activation (and the output's, unless --output-activation).",
)
@click.option(
    "--output-activation",
    default=None,
    help="The output layer's activation. [default: as the loss needs, else --activation]",
)
@click.option("--loss", default="half_squared_error", show_default=True, help="The loss (see `chainrule functions`).")
@click.option(
    "--bias",
    type=click.Choice(["shared", "neuron", "none"]),
    default="shared",
    show_default=True,
    help="One bias per layer, one per neuron, or none.",
)
@click.option(
    "--examples", type=click.IntRange(1, 8), default=1, show_default=True, help="Training examples in the network file."
)
@click.option("--batch", "batch_text", default="online", show_default=True, help='"online", "full" or a batch size.')
@click.option(
    "--learning-rate",
    type=click.FloatRange(0, 10, min_open=True),
    help="η (default 0.5; 0.1 with --optimizer rmsprop).",
)
@click.option(
    "--steps", type=click.IntRange(1, 5), default=1, show_default=True, help="Updates worked one after another."
)
@click.option(
    "--ask",
    default="forward,gradients,update",
    show_default=True,
    help="What the student computes: some of forward, gradients, update.",
)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "momentum", "nesterov", "rmsprop", "adam"]),
    default="sgd",
    show_default=True,
    help="The update asked: plain gradient descent, momentum or Nesterov (μ = 0.9), RMSProp (ρ = 0.9) or Adam "
    "(β₁ = 0.9, β₂ = 0.999).",
)
@click.option(
    "--digits",
    type=click.IntRange(2, 8),
    default=4,
    show_default=True,
    help="Decimal places asked (and shown in the key).",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The same seed gives the same exercises, byte for byte.",
)
@click.option(
    "--count",
    type=click.IntRange(1, 500),
    default=1,
    show_default=True,
    help="Exercises of the same kind, one per student (exercise-01/, …, and index.md).",
)
@click.option(
    "--network",
    type=click.Choice(["dense", "conv", "rnn"]),
    default="dense",
    show_default=True,
    help="dense: --shape; conv: a 2×2 kernel, ReLU, max-pool and a sigmoid output; rnn: 3 steps of 2 tanh units, "
    "BPTT to a linear output (--digits, --seed and --count apply; the other options are dense only).",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), required=True, help="The folder to write into."
)
def exercise(output: Path, seed: int, count: int, batch_text: str, ask: str, network: str, **kind: Any) -> None:
    """Write a seeded exercise into OUTPUT: the network (net.toml), the worksheet (worksheet.md, .tex,
    .html), the answer key (key.md, key.html, key.toml) and answers.toml with every asked value blank.

    Numbers are pleasant by hand: inputs, weights and biases with one or two decimals, no asked
    value vanishing at the digits asked. Grade the filled-in answers with `chainrule check`.
    """
    if network != "dense":  # a shaped network's exercise: its own sizes, loss and asked values
        from chainrule.cli.exercise_model import write_model_exercises

        write_model_exercises(network, output, seed, count, kind["digits"])
        return
    from chainrule.check.exercise import ExerciseSpec, make_exercise, parse_shape
    from chainrule.io.netfile import from_dict

    spec = ExerciseSpec(
        shape=parse_shape(kind.pop("shape")),
        batch=parse_batch(batch_text),
        ask=tuple(a.strip() for a in ask.split(",") if a.strip()),
        **kind,
    )
    if count == 1:
        _write(make_exercise(spec, seed, 1, from_dict), output)
        return

    def make(number: int) -> tuple[Any, str]:
        ex = make_exercise(spec, seed, number, from_dict)
        return ex, str(ex.document["title"])

    write_exercise_set(count, seed, output, make, _write)


def _write(ex: Any, folder: Path) -> None:
    """Every file of one exercise, each written atomically."""
    from chainrule.check.exercise import answers_toml
    from chainrule.io.netwrite import dumps_toml
    from chainrule.views.worksheet import DIAGRAM, Format, diagram_svg, render_key, render_worksheet

    make_folder(folder)
    write_output(dumps_toml(ex.document), folder / FILES["network"])
    write_output(answers_toml(ex, filled=False), folder / FILES["answers"])
    write_output(answers_toml(ex, filled=True), folder / FILES["key"])
    write_output(diagram_svg(ex), folder / f"{DIAGRAM}.svg")
    formats: tuple[tuple[Format, str], ...] = (("markdown", "md"), ("latex", "tex"), ("html", "html"))
    for fmt, suffix in formats:
        write_output(render_worksheet(ex, fmt), folder / f"worksheet.{suffix}")
    write_output(render_key(ex, "markdown"), folder / "key.md")
    write_output(render_key(ex, "html"), folder / "key.html")
    write_output(render_key(ex, "latex"), folder / "key.tex")
