"""What the commands share: the -o option, the check of every path a command will write (made
before any work starts), and writing a document to it."""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from chainrule.engine.limits import Limit
from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from chainrule.engine.network import Network

STDOUT = "-"
_WHY = {
    errno.ENAMETOOLONG: "a name too long for the file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "a read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "over the disk quota",
    errno.ENOTDIR: "a path through something that is not a folder",
    errno.ELOOP: "a loop of symbolic links",
    errno.ENOENT: "the folder cannot hold new files",
}


def say(line: str) -> None:
    """A line of the command's own on stderr (a notice, what was saved), with the names and paths
    in it shown safely: no escape sequence, control or bidi character from them reaches the terminal."""
    from chainrule.views.escape import terminal

    click.echo(terminal(line), err=True)


def _why(exc: OSError) -> str:
    return _WHY.get(exc.errno or 0, (exc.strerror or type(exc).__name__).lower())


def writable(value: str | os.PathLike[str] | None, option: str) -> Path | None:
    """`value` as a path a file can be written to atomically, or one line naming the option: a file
    name (not a folder, a device or a pipe), in a folder that exists and takes a new file there (the
    same temporary file `write_atomic` makes, made and removed now). A run that trains for an hour
    and then cannot write its result has lost the hour."""
    if value is None:
        return None
    text = os.fspath(value)
    if not text.strip():
        raise ChainruleError(f"{option}: expected a file name, got an empty one")
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ChainruleError(f"{option} {text}: cannot write there ({_why(exc)})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ChainruleError(f"{option} {text}: is a folder; expected a file name")
    if mode is not None and not stat.S_ISREG(mode):
        raise ChainruleError(f"{option} {text}: is not a regular file (a device or a pipe); expected a file name")
    if not path.parent.is_dir():
        raise ChainruleError(f"{option} {text}: the folder {path.parent} does not exist")
    _try_a_file_beside(path, option)
    return path


def _try_a_file_beside(path: Path, option: str) -> None:
    from chainrule.io.netwrite import temporary_path

    try:
        temporary_path(path).unlink()
    except OSError as exc:
        raise ChainruleError(f"{option} {path}: cannot write in the folder {path.parent} ({_why(exc)})") from None


def checked_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """-o checked as it is parsed: before the command does any work."""
    if value is None or str(value) == STDOUT:
        return value
    return writable(value, "-o")


# The commands that print a document share one way to write it to a file instead.
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=checked_output,
    help="Write to this file instead of standard output.",
)


def write_output(text: str, output: Path | None) -> None:
    """Print text, or write it atomically to a file (never half a file); `-` is standard output."""
    if output is None or str(output) == STDOUT:
        sys.stdout.write(text)
        return
    from chainrule.io.netfile import write_atomic

    try:
        write_atomic(output, text)
    except OSError as exc:
        raise ChainruleError(f"{output}: cannot write ({exc.strerror})") from None


def show(renderable: Any, output: Path | None) -> None:
    """Print a rich renderable to the terminal, or write it as plain text to `output`."""
    from rich.console import Console

    from chainrule.views.text import Lines, plain_text

    if output is not None and str(output) != STDOUT:
        write_output(plain_text(renderable), output)
        return
    console = Console(highlight=False)
    # Piped or redirected: no colour (rich's default) and no hard wrapping of long equations.
    console.soft_wrap = not console.is_terminal
    console.print(renderable, crop=not isinstance(renderable, Lines))  # Lines fit the width already


# What an explained step costs grows with its chains of factors (one per parameter per example of
# the update), in the record and more in the views: about 0.3 ms each on an idle laptop core (text
# output; JSON is cheaper). A file of a hundred bytes can ask for a large network, a large batch
# or many steps; this keeps any one `explain` (and `check`) within seconds, whatever it asks.
CHAINS = Limit("chains", 10_000, "chains of factors explained (parameters × examples in an update × updates)")


def check_explained_work(net: Network, updates: int, where: str) -> None:
    """Refuse, in one line naming `where`, explaining `updates` updates of `net` beyond CHAINS."""
    batch = max((len(b) for b in net.batches()), default=1)
    CHAINS.check(net.parameter_count() * batch * updates, f"{net.source}: {where}")


def make_folder(folder: Path) -> None:
    """FOLDER and its parents, or one line saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChainruleError(f"{folder}: cannot create the folder ({exc.strerror})") from None


def write_exercise_set(
    count: int, seed: int, output: Path, make: Callable[[int], tuple[Any, str]], write: Callable[[Any, Path], None]
) -> None:
    """Exercises 1…count (`make(number)` gives one and its title) into OUTPUT/exercise-NN/, with
    index.md; progress on stderr (a bar on a terminal), so a long set never looks hung."""
    rows = []
    with click.progressbar(range(1, count + 1), label="Writing exercises", file=sys.stderr) as numbers:
        for number in numbers:
            folder = f"exercise-{number:0{len(str(count))}d}"
            ex, title = make(number)
            write(ex, output / folder)
            rows.append(f"| {folder} | {ex.ident} | {title} |")
    index = [f"# {count} exercises, seed {seed}", "", "| folder | id | title |", "| :--- | ---: | :--- |", *rows]
    write_output("\n".join(index) + "\n", output / "index.md")
