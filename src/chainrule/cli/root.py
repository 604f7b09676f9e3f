"""The command line: thin. Parse arguments, call the library, pick a view."""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import os
import signal
from collections.abc import Iterator
from typing import Any

import click

from chainrule import __version__
from chainrule.cli.signals import interrupted
from chainrule.errors import ChainruleError, describe, one_line

# Commands that live in their own modules, imported only when used, so that `chainrule` on the
# reference example starts fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "check": "chainrule.cli.check:check",
    "exercise": "chainrule.cli.exercise:exercise",
    "explain": "chainrule.cli.explain:explain",
    "functions": "chainrule.cli.functions:functions",
    "train": "chainrule.cli.train:train",
    "predict": "chainrule.cli.predict:predict",
    "serve": "chainrule.cli.serve:serve",
    "export": "chainrule.cli.export:export",
    "import": "chainrule.cli.export:import_command",
    "examples": "chainrule.cli.export:examples",
    "cache": "chainrule.cli.cache:cache",
}


@contextlib.contextmanager
def _command_takes_ctrl_c() -> Iterator[None]:
    """While a command runs, Ctrl-C raises KeyboardInterrupt (the command stops and saves, or
    `_Group.invoke` says "interrupted" and exits 130); before and after, `cli.interrupted` ends
    the process at once. (Under a test runner `main` installed nothing: this changes nothing.)"""
    if signal.getsignal(signal.SIGINT) is not interrupted:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, interrupted)


def _short_help(name: str, width: int) -> str:
    """A lazy command's one-line help, from its function's docstring in its module's source."""
    module, _, attr = LAZY_COMMANDS[name].partition(":")
    import ast  # (here: only `chainrule --help` reads the commands' docstrings)

    spec = importlib.util.find_spec(module)
    doc = None
    if spec is not None and spec.origin:
        with open(spec.origin, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == attr]
        doc = ast.get_docstring(found[0]) if found else None
    if doc is None:  # not found that way: ask the command itself
        command = getattr(importlib.import_module(module), attr)
        return str(command.get_short_help_str(max(45, width - 6 - len(name))))
    return click.Command(name, help=doc).get_short_help_str(max(45, width - 6 - len(name)))


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of --help, each line from the command's docstring read from its source
        file, so that `chainrule --help` imports no command (and with it no NumPy)."""
        rows = [(name, _short_help(name, formatter.width)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        try:
            if cmd_name in LAZY_COMMANDS:
                module, _, attr = LAZY_COMMANDS[cmd_name].partition(":")
                command = getattr(importlib.import_module(module), attr)
                assert isinstance(command, click.Command)
                return command
            return super().get_command(ctx, cmd_name)
        finally:
            gc.enable()  # the start's imports are done (cli.main turned the collector off for them)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib  # (here: only a mistyped command needs it)

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
        try:
            with _command_takes_ctrl_c():
                import numpy as np

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
