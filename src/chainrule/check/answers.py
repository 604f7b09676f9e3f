"""The answers file: hand-worked numbers by name, each keeping the precision it was written with.

z_h1 = "0.3775"          # a string keeps its digits exactly: 4 decimals claimed
"dL/dw5" = 0.0822        # a number is read as written too (the TOML text, not the float)
[step.2]                 # values of the second update, after one update
loss = "0.2670"
[names]                  # the author's own names: net_h1 = "z_h1" (see conventions.py)
[conventions]            # how the author writes errors, biases and names
[exercise]               # the exercise answered (chainrule exercise writes it): id = "7.1", digits = 4
[digits]                 # the decimals asked of one value, where it differs: "dL/dw1" = 6

A number's written precision is bounded before anything is computed from it: its exponent within
±MAX_EXPONENT and its decimals within MAX_DECIMALS (more than a float holds), so "1e-999999999"
costs one line, not gigabytes.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chainrule.check.conventions import Conventions, read_conventions
from chainrule.engine import limits
from chainrule.errors import ChainruleError, describe, shown_path
from chainrule.record.names import without_example

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
MAX_EXPONENT = 400  # beyond a float's range either way (1e308, 5e-324)
MAX_DECIMALS = 400  # decimals a written number may claim: more than any float has
MAX_ASKED = 15  # the most decimals an exercise or teacher may ask of a value


@dataclass(frozen=True)
class Claim:
    """One number as someone wrote it: ``decimals`` is the precision it claims (may be negative: 1.2e3)."""

    name: str
    step: int
    written: str
    value: float  # in chainrule's convention (an error term written as t − y is read as ŷ − y)
    decimals: int
    as_written: str = ""  # the author's name for it, where the [names] table or a built-in set maps it
    threshold: bool = False  # a bias's claim written for θ = −b (the checker reads it as b)
    velocity_step: bool = False  # a velocity written as the step v ← μv − η·g (the checker reads it as v/(−η))
    sign: float = 1.0  # the number written is sign·value: −1 where a convention flips it
    asked: int | None = None  # the decimals asked of it ([digits] or [exercise] digits), if the file says

    @property
    def key(self) -> str:
        """The claim as the file names it: ``step.2.loss``; an author's name with what it was read as."""
        name = f"{self.as_written} (read as {self.name})" if self.as_written else self.name
        return name if self.step == 1 else f"step.{self.step}.{name}"


class _Written(str):
    """A TOML/JSON float kept as the text it was written with."""


def parse_number(text: str) -> tuple[float, int] | None:
    """The value and the decimal places of a written number ('0.3589' → 4, '1.5e-3' → 4, '12' → 0).

    None for text that is not a number, or one beyond what a float holds (see ``number_problem``)."""
    t = text.strip().replace("_", "")
    m = _NUMBER.match(t)
    if not m or number_problem(t) is not None:
        return None
    mantissa, exponent = m.group(1), m.group(2)
    places = len(mantissa.partition(".")[2])
    if exponent:
        places -= int(exponent[1:])
    return float(t), places


def number_problem(text: str) -> str | None:
    """What is wrong with a well-formed written number, checked on its text before any arithmetic:
    an exponent or decimals beyond a float's, or a value that overflows (1e309); None if nothing."""
    t = text.strip().replace("_", "")
    m = _NUMBER.match(t)
    if not m:
        return None
    mantissa, exponent = m.group(1), m.group(2)
    digits = (exponent or "e0")[1:].lstrip("+-").lstrip("0")
    if len(digits) > len(str(MAX_EXPONENT)) or (digits and int(digits) > MAX_EXPONENT):
        return f"an exponent within ±{MAX_EXPONENT}"
    places = len(mantissa.partition(".")[2]) - int(exponent[1:] if exponent else 0)
    if places > MAX_DECIMALS:
        return f"at most {MAX_DECIMALS} decimal places"
    if not math.isfinite(float(t)):
        return "a number within a float's range (about ±1.8e308)"
    return None


def read_document(path: Path) -> dict[str, Any]:
    """An answers file (or template) as a table, read by the guarded reader: size, devices, nesting."""
    src = shown_path(path)
    text = limits.read_text(path, "an existing answers file (TOML or JSON)")
    try:
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            data = json.loads(text, parse_float=_Written, parse_int=_Written)
        else:
            data = tomllib.loads(text, parse_float=_Written)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        hint = _QUOTE_HINT if _UNQUOTED.search(text) else ""
        raise ChainruleError(f"{src}: expected a TOML (or JSON) answers file: {exc}{hint}") from None
    except RecursionError:
        raise ChainruleError(f"{src}: expected {limits.nesting()}, got nesting too deep to read") from None
    except ValueError as exc:  # TOML's whole numbers of more than 4,300 digits
        raise ChainruleError(f"{src}: expected numbers of at most 4,300 digits ({exc})") from None
    problem = limits.document_problem(data)
    if problem is not None:
        raise ChainruleError(f"{src}: {problem[0]}: expected {problem[1]}")
    if not isinstance(data, dict):
        raise ChainruleError(f"{src}: expected a table of name = number at the top level")
    return data


# A bare key holding / or ∂ (dL/dw5 = 0.1): TOML needs it in quotes, which its error never says.
_UNQUOTED = re.compile(r"^[ \t]*[^\s\"'#\[=]*[/∂][^\"'=]*=", re.MULTILINE)
_QUOTE_HINT = '; a name with / goes in quotes: "dL/dw5" = "0.0822"'
SETTINGS = ("names", "conventions", "exercise", "digits")  # top-level tables that are settings, not claims


@dataclass(frozen=True)
class Precision:
    """The decimals asked, as the answers file says: for every value, and per value where it differs."""

    digits: int | None = None
    per_value: dict[str, int] | None = None

    def of(self, key: str) -> int | None:
        return (self.per_value or {}).get(key, self.digits)


def exercise_id(src: str, data: dict[str, Any]) -> str | None:
    """The id of the exercise an answers file answers ([exercise] id = "7.1"), or None if it names none."""
    table = data.get("exercise")
    if not isinstance(table, dict) or "id" not in table:
        return None
    ident = table["id"]
    if not isinstance(ident, str) or not re.fullmatch(r"\d{1,18}(\.\d{1,18})?", ident):
        raise ChainruleError(
            f'{src}: exercise.id: expected an exercise id in quotes such as "7.1", got {describe(ident)}'
        )
    return ident


def _asked_digits(src: str, key: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, str | int) or not str(raw).isascii() or not str(raw).isdigit():
        raise ChainruleError(f"{src}: {key}: expected a whole number of decimal places 0 to {MAX_ASKED}")
    value = int(str(raw)) if len(str(raw)) <= 3 else MAX_ASKED + 1
    if value > MAX_ASKED:
        raise ChainruleError(f"{src}: {key}: expected a whole number of decimal places 0 to {MAX_ASKED}")
    return value


def read_precision(src: str, data: dict[str, Any]) -> Precision:
    """[exercise] digits and the [digits] table, checked (one line naming the key if not)."""
    table = data.get("exercise")
    digits = None
    if isinstance(table, dict) and "digits" in table:
        digits = _asked_digits(src, "exercise.digits", table["digits"])
    per = data.get("digits")
    per_value = None
    if isinstance(per, dict):
        per_value = {}
        for name, raw in per.items():
            if name == "step" and isinstance(raw, dict):
                for n, inner in raw.items():
                    if isinstance(inner, dict):
                        for k, v in inner.items():
                            per_value[f"step.{n}.{k}"] = _asked_digits(src, f"digits.step.{n}.{json.dumps(k)}", v)
                continue
            per_value[name] = _asked_digits(src, f"digits.{json.dumps(name)}", raw)
    return Precision(digits, per_value)


def _step_number(src: str, n: str) -> int:
    """The N of a [step.N] table: 1 or more, and within the limit on updates worked one after another."""
    if not re.fullmatch(r"\d+", n) or not n.strip("0"):
        raise ChainruleError(f"{src}: [step.{n}]: expected a step number 1 or more (step 1 is the first update)")
    step = int(n) if len(n) <= 18 else 10**18  # (Python refuses to convert over 4,300 digits)
    limits.STEPS.check(step, f"{src}: [step.{n}]")
    return step


def _claim(src: str, where: str, name: str, raw: object, step: int) -> Claim:
    key = f"{where}.{name}" if where else name
    quoted = key if re.fullmatch(r"[\w.]+", key) else json.dumps(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        got = "a table" if isinstance(raw, dict) else describe(raw)
        raise ChainruleError(f"{src}: {quoted}: expected a number (or a number in quotes), got {got}")
    text = str(raw)
    problem = number_problem(text)
    if problem is not None:
        raise ChainruleError(f"{src}: {quoted}: expected {problem}, got {text[:40]!r}")
    parsed = parse_number(text)
    if parsed is None:
        raise ChainruleError(f'{src}: {quoted}: expected a number such as "0.3589", got {text[:40]!r}')
    return Claim(name, step, text.strip(), parsed[0], parsed[1])


def load_answers(path: str | os.PathLike[str]) -> list[Claim]:
    """Every claim of an answers file; top-level names are the first step's, [step.N] tables the N-th's.

    Each claim comes back under chainrule's name and in chainrule's convention (see conventions.py);
    ``as_written`` keeps the author's name."""
    p = Path(path)
    src = shown_path(path)
    data = read_document(p)
    conventions = read_conventions(src, data)
    precision = read_precision(src, data)
    exercise_id(src, data)  # checked here, so a bad id is one line whatever reads it later
    claims = []
    for c in _claims(src, data, conventions):
        name, sign = conventions.reading(c.name)
        author = c.name if name != c.name else ""
        claims.append(
            replace(
                c,
                name=name,
                value=sign * c.value,
                sign=sign,
                as_written=author,
                threshold=conventions.bias == "threshold",
                velocity_step=conventions.velocity == "step",
                asked=precision.of(c.key),
            )
        )
    return claims


def as_biases(claims: list[Claim], biases: list[str]) -> list[Claim]:
    """Claims written for thresholds θ = −b, read as claims about the biases b (b, b_new, Δb, ∂L/∂b)."""
    about = {
        f"{prefix}{b}{suffix}" for b in biases for prefix, suffix in (("", ""), ("", "_new"), ("d", ""), ("dL/d", ""))
    }
    return [
        replace(c, value=-c.value, sign=-c.sign) if c.threshold and without_example(c.name) in about else c
        for c in claims
    ]


def as_velocities(claims: list[Claim], params: list[str], rate: float) -> list[Claim]:
    """Claims of a velocity written as the step (v ← μv − η·g), read as chainrule's v ← μv + g: v/(−η)."""
    names = {f"v_{p}{suffix}" for p in params for suffix in ("", "_prev")}
    return [
        replace(c, value=c.value / -rate, sign=c.sign * -rate)
        if c.velocity_step and without_example(c.name) in names
        else c
        for c in claims
    ]


def _claims(src: str, data: dict[str, Any], conventions: Conventions) -> list[Claim]:
    claims: list[Claim] = []
    for name, raw in data.items():
        if name in conventions.tables or (name in SETTINGS and isinstance(raw, dict)):
            continue
        if name == "step" and isinstance(raw, dict):
            for n, table in raw.items():
                step = _step_number(src, n)
                if not isinstance(table, dict):
                    raise ChainruleError(f"{src}: step.{n}: expected a table of name = number")
                claims += [_claim(src, f"step.{n}", k, v, step) for k, v in table.items() if v != ""]
        elif raw != "":  # "" is a blank left to fill in (chainrule exercise writes them)
            claims.append(_claim(src, "", name, raw, 1))
    if not claims:
        raise ChainruleError(f'{src}: expected at least one claimed value (name = "number"), got none')
    return claims
