"""How a bad request is answered: a 4xx (or 503) with {"detail": one line}, never a traceback.

A pydantic error becomes a line like netfile's: "network: layers[0].units: expected at most
10000, got 1000000"; a union of a number or a list reports the member of the value's own type.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from chainrule.errors import ChainruleError, describe
from chainrule.web.workers import Busy, Stopped

M = TypeVar("M", bound=BaseModel)


class BadBody(ChainruleError):
    """A request body that is not JSON, or not the JSON the endpoint takes (answered 422)."""


def parse(model: type[M], raw: bytes) -> M:
    """The request body as `model`: JSON read by Python's json (so NaN reaches the model and is
    refused there by name), then validated; every failure is a BadBody with one line.
    """
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadBody(f"body: expected JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, an integer of over 4,300 digits, deep nesting
        raise BadBody(f"body: expected JSON that Python can read ({type(exc).__name__})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadBody(first_problem(list(exc.errors()))) from None


_TYPE_TAGS = {"float", "int", "str", "bool"}  # union members pydantic puts in an error's location


def _key(loc: Iterable[Any]) -> str:
    """An error's location as netfile writes keys: "network: layers[0].weights[1]" ("body" dropped)."""
    parts = [p for p in loc if isinstance(p, int) or (p.isidentifier() and p not in _TYPE_TAGS and p != "body")]
    if not parts:
        return "body"
    key = ""
    for part in parts[1:]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return f"{parts[0]}: {key}" if key else str(parts[0])


def validation_message(error: dict[str, Any]) -> str:
    """One pydantic error as one line: the key, what was expected, what came."""
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    where = _key(error["loc"])
    if kind == "missing":
        return f"{where}: expected a value, got nothing (the key is missing)"
    if kind == "extra_forbidden":
        return f"{where}: expected a known key, got an unknown key"
    if kind in ("too_long", "too_short", "string_too_long", "string_too_short") and isinstance(value, str | list):
        unit = "characters" if isinstance(value, str) else "items"
        most = (
            f"at most {ctx.get('max_length', 0):,}"
            if kind.endswith("too_long")
            else f"at least {ctx.get('min_length', 0)}"
        )
        return f"{where}: expected {most} {unit}, got {len(value):,}"
    if kind in ("less_than_equal", "greater_than_equal"):
        bound = f"at most {ctx.get('le')}" if kind == "less_than_equal" else f"at least {ctx.get('ge')}"
        return f"{where}: expected {bound}, got {describe(value)}"
    message = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Input should be ")
    expected = message[0].lower() + message[1:] if message else "a valid value"
    return f"{where}: expected {expected}, got {describe(value)}"


def _one_line(detail: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error answer: {"detail": one line}, writable whatever the request held (a lone surrogate)."""
    line = " ".join(detail.split()).encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"detail": line}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Answer ChainruleError with 422 (503 when busy or stopped) and FastAPI's own validation errors
    with one line each."""

    @app.exception_handler(ChainruleError)
    async def _chainrule_error(request: Request, exc: ChainruleError) -> JSONResponse:
        if isinstance(exc, Busy):
            return _one_line(str(exc), 503, {"Retry-After": "1"})
        return _one_line(str(exc), 503 if isinstance(exc, Stopped) else 422)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _one_line(first_problem(list(exc.errors())), 422)


def first_problem(errors: list[Any]) -> str:
    """One line for a list of pydantic errors."""
    if not errors:
        return "body: invalid"
    if errors[0].get("type") == "json_invalid":
        return f"body: expected JSON ({errors[0].get('ctx', {}).get('error', 'invalid')})"
    # A union (a number or a list) fails once per member: the member of the value's own type
    # says what is wrong with it, where the others only say "not a list".
    first = next((e for e in errors if not str(e.get("type", "")).endswith("_type")), errors[0])
    return validation_message(first)
