"""The local server refuses other sites and lets go of what stalled clients sent: only
application/json bodies reach the API (415), a foreign Origin is refused (403), every answer
(a crash's 500 included) carries the security headers, a body that does not arrive in time is
let go (408), and many stalled uploads leave the server's memory where it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from chainrule.cli.serve import bind
from chainrule.web import guards, limits
from chainrule.web.server import create_app

JSON_ENDPOINTS = [
    "/api/step",
    "/api/views",
    "/api/edit",
    "/api/dataset",
    "/api/train",
    "/api/train/stream",
    "/api/export",
]
HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app()


@pytest.fixture(scope="module")
def local(app: Any) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000")


def secured(response: Any) -> bool:
    return all(name in response.headers for name in HEADERS) and response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
@pytest.mark.parametrize("media", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None])
def test_a_body_that_is_not_json_is_refused_before_anything_runs(
    local: TestClient, path: str, media: str | None
) -> None:
    # What a page on another site can send without asking: a form, or a "simple" fetch of text.
    body = json.dumps({"network": local.get("/api/network").json()["network"], "epochs": 5})
    headers = {"Content-Type": media} if media else {}
    response = local.post(path, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["detail"].startswith("Content-Type: expected application/json, got ")
    assert secured(response)


def test_json_with_a_charset_is_json(local: TestClient) -> None:
    doc = local.get("/api/network").json()["network"]
    response = local.post(
        "/api/step", content=json.dumps({"network": doc}), headers={"Content-Type": "Application/JSON; charset=utf-8"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://127.0.0.1:8000",  # another scheme is another origin
        "http://127.0.0.1:8001",  # another port: another local page
        "http://localhost:8000",  # another name for the same address is another origin too
        "null",  # a sandboxed frame or a file:// page
        "http://127.0.0.1:8000.evil.example",
    ],
)
@pytest.mark.parametrize("path", ["/api/train", "/api/step", "/api/network"])
def test_a_request_from_another_site_is_refused(local: TestClient, origin: str, path: str) -> None:
    doc = local.get("/api/network").json()["network"]
    if path == "/api/network":
        response = local.get(path, headers={"Origin": origin})
    else:
        response = local.post(path, json={"network": doc, "epochs": 3}, headers={"Origin": origin})
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == f"Origin: expected this page's own address, got {origin}"
    assert secured(response)


def test_the_pages_own_origin_and_no_origin_are_served(local: TestClient) -> None:
    doc = local.get("/api/network").json()["network"]
    assert (
        local.post("/api/step", json={"network": doc}, headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
    )
    assert local.post("/api/step", json={"network": doc}).status_code == 200  # curl, a script: no Origin


@given(st.text(max_size=40))
def test_no_origin_but_the_pages_own_is_accepted(origin: str) -> None:
    app = guards.SameSite(None, names=())
    scope = {"headers": [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode("latin-1", "replace"))]}
    same = origin.strip().lower() == "http://127.0.0.1:8000"
    assert (app.foreign(scope) is None) == same


def test_a_crash_is_a_500_with_the_security_headers_and_one_line(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()

    @app.get("/api/crash")
    async def crash() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False).get("/api/crash")
    assert response.status_code == 500
    assert response.json() == {"detail": "server error: the request failed; the server log has the details"}
    assert secured(response)
    assert "a bug" not in response.text and "Traceback" not in response.text
    assert any("GET /api/crash failed" in r.getMessage() for r in caplog.records)  # logged for whoever runs it


def test_the_schema_requires_units_or_weights_as_the_server_does(local: TestClient) -> None:
    layer = local.get("/openapi.json").json()["components"]["schemas"]["Layer"]
    assert layer["anyOf"] == [{"required": ["units"]}, {"required": ["weights"]}]
    doc = {"inputs": 2, "layers": [{"activation": "sigmoid"}], "examples": [{"x": [0, 1], "y": [1]}]}
    response = local.post("/api/step", json={"network": doc})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("network: layers[0]: expected units (the number of neurons)")
    for layer_doc in ({"activation": "sigmoid", "units": 1}, {"activation": "sigmoid", "weights": [[0.1, 0.2]]}):
        assert local.post("/api/step", json={"network": {**doc, "layers": [layer_doc]}}).status_code == 200


# -- slow and stalled uploads, on a real server ---------------------------------------------------


@pytest.fixture(scope="module")
def served(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[tuple[int, Any]]:
    monkeypatch_module.setattr(limits, "BODY_SECONDS", 2.0)
    sock = bind(0)
    app = create_app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        time.sleep(0.05)
    yield sock.getsockname()[1], app
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def stalled(port: int, sent: int, declared: int) -> socket.socket:
    """A connection that declares `declared` bytes of body, sends `sent` and stops."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        f"POST /api/step HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    with contextlib.suppress(OSError):  # refused (503) and closed while still sending: as a busy server should
        sock.sendall(head.encode() + b" " * sent)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    try:
        while b"}" not in data and (part := sock.recv(65536)):
            data += part
    except OSError:
        pass
    return data


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_stalled_body_is_answered_408_and_let_go(served: tuple[int, Any]) -> None:
    port, _ = served
    sock = stalled(port, 1000, 100_000)
    started = time.monotonic()
    answer = answer_of(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"the body did not arrive within 2 s" in answer
    assert b"content-security-policy" in answer.lower()
    assert time.monotonic() - started < 20


def test_two_hundred_stalled_uploads_leave_memory_where_it_was(served: tuple[int, Any]) -> None:
    port, _ = served
    before = resident_bytes()
    socks = [stalled(port, 1_000_000, 4_900_000) for _ in range(200)]  # 200 MB sent, none finished
    during = resident_bytes()
    for sock in socks:
        sock.close()
    time.sleep(0.5)
    after = resident_bytes()
    # Held at most PENDING_BODIES (20 MB) at once: without the bound this was +200 MB, kept after.
    assert during - before < 100_000_000, (before, during)
    assert after - before < 100_000_000, (before, after)
    doc = {"inputs": 1, "layers": [{"units": 1, "activation": "sigmoid"}], "examples": [{"x": 1, "y": 0}]}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # still serving
        body = json.dumps({"network": doc}).encode()
        head = f"POST /api/step HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        assert answer_of(sock).startswith(b"HTTP/1.1 200 ")
