"""What every request passes before the app sees it: the Host it names, the site it comes from
(Origin), the type and size of its body, and the security headers on its answer, errors and
crashes included. Plain ASGI middleware, so that nothing is buffered or parsed before it is checked.

Another web site open in the same browser can send requests to this server: the Host check stops a
name pointed at 127.0.0.1 (DNS rebinding), the Origin check a page of another site posting here,
and accepting only application/json bodies keeps a plain HTML form (or a "simple" fetch, which
needs no permission) from reaching the API at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
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


WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("chainrule.web")


async def answer(send: Any, status: int, detail: str) -> None:
    """A JSON error answer {"detail": ...}, sent straight from the middleware."""
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def header(scope: Message, name: bytes) -> str | None:
    """A request header's value (the first of that name), or None."""
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every answer, errors included.

    A crash inside the app is answered here (500, one line, the headers) and logged: Starlette's
    own last-resort answer is made outside every middleware, so it would carry none of them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if started:  # half an answer is already out: nothing left to say but to drop it
                raise
            log.exception("chainrule serve: %s %s failed", scope.get("method", ""), scope.get("path", ""))
            await answer(with_headers, 500, "server error: the request failed; the server log has the details")


class SameSite:
    """Refuses a request from another web site: an Origin header other than this server's own
    (403), and a body to the API that is not application/json (415).

    Browsers send Origin with every cross-site request and every POST, so a page elsewhere cannot
    leave it out; a request without it (curl, a script) comes from this machine's user.
    """

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = {as_host(n) for n in (*LOCAL_NAMES, *names)}

    def foreign(self, scope: Message) -> str | None:
        """The Origin when it is not this server's (scheme http, the Host the request names), else None."""
        origin = header(scope, b"origin")
        if origin is None:
            return None
        scheme, _, rest = origin.strip().lower().partition("://")
        host = (header(scope, b"host") or "").strip().lower()
        same = scheme == "http" and rest == host and host_name(rest) in self.names
        return None if same else origin

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        origin = self.foreign(scope)
        if origin is not None:
            shown = origin[:80]
            return await answer(send, 403, f"Origin: expected this page's own address, got {shown}")
        if scope.get("method") in WRITES and scope.get("path", "").startswith("/api/"):
            media = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
            if media != "application/json":
                return await answer(send, 415, f"Content-Type: expected application/json, got {media[:60] or 'none'}")
        await self.app(scope, receive, send)


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
    """Reads the body itself, counting bytes as they arrive: 413 past `limit`, 408 when the whole
    body has not arrived within `seconds`, 503 while the bodies being received hold `pending` bytes.

    A Content-Length over the limit is refused before reading; a chunked body (no length) is cut
    off at the limit. Memory per request is bounded by `limit`, and over all requests by `pending`:
    clients that start uploads and stall (or leave) cannot make the server hold more, and what a
    stalled one held is let go when its time is up. The app then reads the body as usual; what
    comes after it (a disconnect) passes through unchanged.
    """

    def __init__(self, app: ASGIApp, limit: int, seconds: float = 10.0, pending: int | None = None) -> None:
        self.app = app
        self.limit, self.seconds = limit, seconds
        self.pending = 4 * limit if pending is None else pending
        self.held = 0  # bytes of bodies being received, over all requests (one event loop: no lock)

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = header(scope, b"content-length") or ""
        if length.isascii() and length.isdigit() and int(length) > self.limit:
            return await answer(send, 413, f"request: at most {self.limit:,} bytes, got {int(length):,}")
        chunks: list[bytes] = []
        try:
            refusal = await self._read(receive, chunks)
        finally:
            self.held -= sum(map(len, chunks))
        if refusal is None:  # the client left while sending
            return
        if refusal:
            status, detail = refusal
            return await answer(send, status, detail)
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
        del chunks

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Any, chunks: list[bytes]) -> tuple[int, str] | tuple[()] | None:
        """Receive the body into `chunks`: () when whole, (status, detail) when refused, None when
        the client left. Every byte in `chunks` is counted in `self.held` (the caller gives it back)."""
        deadline = time.monotonic() + self.seconds
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return 408, f"request: the body did not arrive within {self.seconds:g} s"
            if message["type"] != "http.request":
                return None
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                return 413, f"request: at most {self.limit:,} bytes, got more"
            if self.held + len(body) > self.pending:
                return 503, "server busy: other requests are still being received; try again in a moment"
            chunks.append(body)
            self.held += len(body)
            if not message.get("more_body", False):
                return ()
