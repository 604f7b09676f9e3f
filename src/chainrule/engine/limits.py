"""How big a network, a data set or a file may be: checked from the sizes before anything is allocated.

Each limit can be raised by an environment variable named in its message (CHAINRULE_MAX_UNITS=…),
so a mistyped size (units = 100000000000) is answered with one line at once instead of the machine
allocating for minutes, while a user who really has a big network can still run it. The reading of
a user's file lives here too, because every layer that reads one (io, check) sits above the engine.
See docs/limits.md.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from chainrule.errors import ChainruleError, shown_path


@dataclass(frozen=True)
class Limit:
    """One limit: ``what`` it counts, its default, and the environment variable that raises it."""

    name: str
    default: int
    what: str

    @property
    def variable(self) -> str:
        return f"CHAINRULE_MAX_{self.name.upper()}"

    def value(self) -> int:
        """The limit in force: the environment variable's whole number, else the default."""
        text = os.environ.get(self.variable, "").replace("_", "").replace(",", "").strip()
        if not text:
            return self.default
        count = whole_number(text)
        if count is None or count < 1:
            raise ChainruleError(f"{self.variable}: expected a whole number ≥ 1, got {text[:40]!r}")
        return count

    def exceeded(self, count: int) -> str | None:
        """What was expected when `count` is over the limit (for an error message); None when within it."""
        most = self.value()
        if count <= most:
            return None
        return f"at most {most:,} {self.what} (the limit; raise it with {self.variable}={count})"

    def check(self, count: int, where: str) -> None:
        """Raise a one-line ChainruleError naming `where` when `count` is over the limit."""
        expected = self.exceeded(count)
        if expected is not None:
            raise ChainruleError(f"{where}: expected {expected}, got {count:,}")


INPUTS = Limit("inputs", 100_000, "inputs")
UNITS = Limit("units", 100_000, "neurons in one layer")
LAYERS = Limit("layers", 1_000, "layers")
PARAMETERS = Limit("parameters", 20_000_000, "parameters (weights, biases and α)")
EXAMPLES = Limit("examples", 10_000_000, "examples (rows of data)")
STEPS = Limit("steps", 20_000, "updates one after another")
EXPLAINED = Limit("explained", 100_000, "parameters × updates explained at once (each gets its chain of factors)")
BYTES = Limit("bytes", 200_000_000, "bytes in one file")
DEPTH = Limit("depth", 64, "levels of lists and tables inside one another")
CATEGORIES = Limit("categories", 1_000, "different values in one text column (each becomes an input or a class)")
CELLS = Limit("cells", 100_000_000, "numbers in one data set (examples × columns)")


def whole_number(text: str) -> int | None:
    """The whole number written in ASCII digits (at most 30 of them), else None.

    `str.isdigit` is true of "²" and "١", which `int` refuses or reads as another number; sizes and
    counts are written in ASCII digits only, and no limit needs more than 30 of them."""
    if not (text.isascii() and text.isdigit()) or len(text) > 30:
        return None
    return int(text)


_REASONS = {
    errno.ENOENT: "no such file",
    errno.EISDIR: "a folder",
    errno.EACCES: "a file it has no permission to read",
    errno.EPERM: "a file it has no permission to read",
    errno.ENAMETOOLONG: "a name too long for the file system",
    errno.ENOTDIR: "a path through something that is not a folder",
    errno.ELOOP: "a loop of symbolic links",
}


def unreadable(exc: OSError) -> str:
    """Why a file could not be opened, in words ('no such file', 'a folder', …)."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    return (exc.strerror or exc.__class__.__name__).lower()


def read_text(path: str | os.PathLike[str], what: str, encoding: str = "utf-8") -> str:
    """A user's text file, at most BYTES long, with one-line errors naming the file and what was expected.

    A regular file's size is checked before reading; a pipe is read up to the limit; a device
    (/dev/zero) or a folder is refused without reading.
    """
    src = shown_path(path)
    most = BYTES.value()
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                raise ChainruleError(f"{src}: expected {what}, got a device")
            if info.st_size > most:
                raise ChainruleError(f"{src}: expected {what} of {BYTES.exceeded(info.st_size)}, got {info.st_size:,}")
            data = fh.read(most + 1)
    except OSError as exc:
        raise ChainruleError(f"{src}: expected {what}, got {unreadable(exc)}") from None
    except ValueError:  # a NUL or a lone surrogate in the name, which no file system holds
        raise ChainruleError(f"{src}: expected {what}, got a name no file system holds") from None
    if len(data) > most:
        raise ChainruleError(f"{src}: expected {what} of {BYTES.exceeded(len(data))}, got more")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ChainruleError(f"{src}: expected {what} in UTF-8, got a byte that is not UTF-8 at {exc.start}") from None


def nesting() -> str:
    """What a parsed document's nesting must be, for a file too deeply nested to parse at all."""
    return f"lists and tables nested at most {DEPTH.value()} deep"


def document_problem(data: object) -> tuple[str, str] | None:
    """The first place a parsed document is nested deeper than DEPTH or holds text that is not
    Unicode (a lone surrogate such as JSON's "\\ud800"): (its key, what was expected); None when fine.

    Walked with a stack, not recursion, so that the walk itself cannot overflow; numbers are not
    visited one by one, so a trained network's two million weights add little to its reading.
    """
    most = DEPTH.value()
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > most:
            return _key(path), DEPTH.exceeded(len(path)) or ""
        if isinstance(value, str) and not _is_unicode(value):
            return _key(path), "text without lone surrogates (\\ud800 to \\udfff are halves of a pair, not characters)"
        if isinstance(value, dict):
            for name, item in value.items():
                if not _is_unicode(str(name)):
                    return _key(path) or "(top level)", "key names without lone surrogates (\\ud800 to \\udfff)"
                stack.append((item, (*path, str(name))))
        elif isinstance(value, list) and not set(map(type, value)) <= _NUMBERS:  # (a row of weights: done)
            stack.extend((item, (*path, i)) for i, item in enumerate(value) if not isinstance(item, int | float))
    return None


_NUMBERS = {int, float}


def _key(path: tuple[str | int, ...]) -> str:
    """A path as the messages write it: layers[0].weights[1]."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
