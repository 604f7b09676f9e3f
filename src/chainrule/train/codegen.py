"""The one way a number or a name enters generated source (the numba loop per shape, the PyTorch script).

Generated code carries numbers and known identifiers only. Text from a network file (a title, a
name, a path) never becomes code: at most a comment, through `comment`, which keeps it on one line
and inside `repr`. Every number goes through `literal`, which refuses what has no finite Python
literal (inf and nan print as bare names that are not defined in the generated module).
"""

from __future__ import annotations

import math
import re

from chainrule.errors import ChainruleError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def literal(value: float | int, what: str = "a value") -> str:
    """`value` as a Python literal that reads back to the same float (or int); non-finite is refused."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        raise ChainruleError(f"{what} is {x}, which generated code cannot hold: expected a finite number")
    return repr(x)


def identifier(name: str) -> str:
    """A known identifier (an activation's or loss's registry name, a generated variable): checked, never trusted."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not an identifier for generated code: {name!r}")
    return name


def comment(text: str) -> str:
    """Text from a file as one comment line: repr keeps quotes, newlines and escapes inert."""
    return "# " + repr(str(text))[:200]
