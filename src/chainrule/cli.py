"""The command line: thin. Parse arguments, call the library, pick a view."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import ChainruleError

# Commands that live in their own modules, imported only when used, so that `chainrule` on the
# reference example starts fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "serve": "chainrule.cli_serve:serve",
}


class _Group(click.Group):
    """Lazy subcommands; turns a ChainruleError anywhere below into one line on stderr and exit 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChainruleError as exc:
            click.echo(f"chainrule: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chainrule")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Backpropagation, every step shown.

    With no command, explains the built-in reference example: a 2-2-1 sigmoid network worked
    through one forward pass, loss, backward pass and update.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(explain)


def write_output(text: str, output: Path | None) -> None:
    """Print text, or write it atomically to a file (never half a file)."""
    if output is None:
        sys.stdout.write(text)
        return
    from .netfile import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        raise ChainruleError(f"{output}: cannot write ({exc.strerror})") from None


@main.command()
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How to show the step.",
)
@click.option(
    "--digits",
    type=click.IntRange(1, 15),
    default=4,
    show_default=True,
    help="Decimal places shown (small numbers keep digits−1 significant digits); computation stays exact.",
)
@click.option(
    "--example",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Which update of the epoch to explain: the example (online) or the batch.",
)
@click.option("--only", metavar="PARAM", help="Show only this parameter's gradient and update (e.g. w3).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
def explain(file: Path | None, fmt: str, digits: int, example: int, only: str | None, output: Path | None) -> None:
    """Work one update step of FILE (default: the reference example), every number explained."""
    from . import netfile
    from .step import explain_step

    net = netfile.load(file)
    record = explain_step(net, example - 1)
    if only and only not in record.chains:
        raise ChainruleError(f"--only {only}: expected a parameter name ({', '.join(net.parameter_names())})")
    if fmt == "json":
        from .views import json as json_view

        write_output(json_view.render(record), output)
        return
    from rich.console import Console

    from .views import text

    if output is None:
        Console(highlight=False).print(text.render(record, digits, only))
    else:
        console = Console(record=True, highlight=False, width=100, file=open("/dev/null", "w"))  # noqa: SIM115
        console.print(text.render(record, digits, only))
        write_output(console.export_text(), output)
