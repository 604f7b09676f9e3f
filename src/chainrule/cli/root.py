"""The command line: thin. Parse arguments, call the library, pick a view."""

from __future__ import annotations

import difflib
import importlib
import os
from typing import Any

import click

from chainrule import __version__
from chainrule.errors import ChainruleError, describe, one_line

# Commands that live in their own modules, imported only when used, so that `chainrule` on the
# reference example starts fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "check": "chainrule.cli.check:check",
    "exercise": "chainrule.cli.exercise:exercise",
    "explain": "chainrule.cli.explain:explain",
    "functions": "chainrule.cli.functions:functions",
    "train": "chainrule.cli.train:train",
    "predict": "chainrule.cli.train:predict",
    "serve": "chainrule.cli.serve:serve",
    "export": "chainrule.cli.export:export",
    "import": "chainrule.cli.export:import_command",
    "examples": "chainrule.cli.export:examples",
}


def _fail(message: str) -> None:
    """The one line every bad input gets on stderr: "chainrule: <message>", unprintables escaped."""
    click.echo(f"chainrule: {one_line(message)}", err=True)


def _holdable(arg: str) -> bool:
    """Whether an argument could have come from a command line: no NUL, and bytes for the file system."""
    if "\x00" in arg:
        return False
    try:
        os.fsencode(arg)
    except UnicodeEncodeError:
        return False
    return True


def usage_line(exc: click.UsageError) -> str:
    """A click usage error in one line with its hint, e.g.
    "explain: no such option '--fromat' (did you mean --format?); see 'chainrule explain --help'"."""
    words: list[str] = []  # the subcommands, whatever the program is called (`python -m chainrule`)
    ctx = exc.ctx
    while ctx is not None and ctx.parent is not None:
        words.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    command = " ".join(["chainrule", *words])
    if isinstance(exc, click.NoSuchOption):
        message = f"no such option {exc.option_name!r}"
        if exc.possibilities:
            message += f" (did you mean {', '.join(sorted(exc.possibilities))}?)"
    else:
        message = exc.format_message().strip().rstrip(".")
    where = f"{' '.join(words)}: " if words else ""
    return f"{where}{message}; see '{command} --help'"


class _Group(click.Group):
    """Lazy subcommands; every bad input below (a ChainruleError, a usage error) becomes one line
    on stderr and exit status 2; numpy's floating-point warnings never reach the terminal (a
    non-finite result is reported by the code that computed it)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise click.UsageError(f"no such command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        bad = next((a for a in args if not _holdable(a)), None)
        if bad is not None:  # a real command line cannot carry one; os.stat would raise on it
            _fail(f"argument {describe(bad)}: expected no NUL character or lone surrogate (no file name holds one)")
            raise click.exceptions.Exit(2)
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _fail(usage_line(exc))
            raise click.exceptions.Exit(2) from None

    def invoke(self, ctx: click.Context) -> Any:
        import numpy as np

        try:
            with np.errstate(all="ignore"):
                return super().invoke(ctx)
        except click.UsageError as exc:
            _fail(usage_line(exc))
            ctx.exit(2)
        except ChainruleError as exc:
            _fail(str(exc))
            ctx.exit(2)
        except KeyboardInterrupt:  # Ctrl-C before a command took it over (while it loads, say)
            _fail("interrupted; nothing was written")
            ctx.exit(130)


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
