"""Errors meant for people: one line that names the file, the key and what was expected."""

from __future__ import annotations


class ChainruleError(Exception):
    """An error in what the user gave us; the CLI prints it on one line and exits with status 2."""


class NetfileError(ChainruleError):
    """A network file that cannot be used, with the file and the key at fault."""

    def __init__(self, source: str, key: str, expected: str, got: object = None) -> None:
        self.source, self.key, self.expected = source, key, expected
        where = f"{source}: {key}: " if key else f"{source}: "
        message = f"{where}expected {expected}"
        if got is not None:
            message += f", got {describe(got)}"
        super().__init__(message)


class Shown(str):
    """Text that already describes the offending value (not the value itself): shown as it is."""


def describe(value: object) -> str:
    """A short, readable rendering of an offending value for an error message."""
    text = repr(value) if isinstance(value, str) and not isinstance(value, Shown) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def one_line(text: str) -> str:
    """The text with every line break and other unprintable character escaped (\\n, \\ud800), so it stays one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def shown_path(path: object, most: int = 120) -> str:
    """A file name for a message: a name thousands of characters long is cut in the middle."""
    text = str(path)
    return text if len(text) <= most else f"{text[: most - 40]}…{text[-39:]}"
