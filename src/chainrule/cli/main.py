"""The command line: thin. Parse arguments, call the library, pick a view."""

from __future__ import annotations

import importlib
from typing import Any

import click

from chainrule import __version__
from chainrule.errors import ChainruleError

# Commands that live in their own modules, imported only when used, so that `chainrule` on the
# reference example starts fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "check": "chainrule.cli.check:check",
    "explain": "chainrule.cli.explain:explain",
    "functions": "chainrule.cli.functions:functions",
    "train": "chainrule.cli.train:train",
    "predict": "chainrule.cli.train:predict",
    "serve": "chainrule.cli.serve:serve",
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
        explain = main.get_command(ctx, "explain")
        assert explain is not None
        ctx.invoke(explain)
