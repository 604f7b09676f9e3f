"""What every request passes before the app sees it: the Host it names, the size of its body,
and the security headers on its answer. Plain ASGI middleware, so that nothing is buffered or
parsed before it is checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

ASGIApp = Any  # an ASGI application: async (scope, receive, send) -> None
Message = dict[str, Any]

# The page's own files only: no inline script or style, nothing from another origin, no frames.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")


async def answer(send: Any, status: int, detail: str) -> None:
    """A JSON error answer {"detail": ...}, sent straight from the middleware."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: "[::1]:8000" -> "[::1]", "LocalHost" -> "localhost"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def as_host(name: str) -> str:
    """A --host value as a Host header names it (an IPv6 address in brackets)."""
    name = name.strip().lower()
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


class HostCheck:
    """Answers 400 to a Host this server does not go by: a page on another site that has pointed
    its own name at 127.0.0.1 (DNS rebinding) must not reach the API.
    """

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = {as_host(n) for n in (*LOCAL_NAMES, *names)}

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if host_name(given) not in self.names:
            shown = given[:60] or "none"
            return await answer(send, 400, f"Host: expected one of {', '.join(sorted(self.names))}, got {shown}")
        await self.app(scope, receive, send)


class BodyLimit:
    """Reads the body itself, counting bytes as they arrive, and answers 413 past `limit`.

    A Content-Length over the limit is refused before reading; a chunked body (no length) is cut
    off at the limit. Memory per request is bounded by `limit`. The app then reads the body as
    usual; what comes after it (a disconnect) passes through unchanged.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), "")
        if length.isdigit() and int(length) > self.limit:
            return await answer(send, 413, f"request: at most {self.limit:,} bytes, got {int(length):,}")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left while sending
                return
            size += len(message.get("body", b""))
            if size > self.limit:
                return await answer(send, 413, f"request: at most {self.limit:,} bytes, got more")
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
        del chunks

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
