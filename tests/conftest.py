"""Shared fixtures: the reference network and a runner for the command line."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from chainrule.engine.network import Network
from chainrule.io import netfile

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "src" / "chainrule" / "examples"

# Property tests: in CI (CI=true) a fixed seed and no example database, so CI runs the same few hundred cases
# every time; elsewhere the same number of cases, drawn afresh each run, so local runs explore new inputs.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", database=None, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Loops specialised to a network's shape are compiled into the tests' own cache folder, so a test
# run neither reads nor fills the user's ~/.cache/chainrule (command-line subprocesses too). It is
# kept between runs (each loop's file is named by a content hash of everything it depends on, so
# a changed chainrule never loads an old one): one per user, made 0700 by the cache itself, which
# refuses it, for a private temporary folder, if someone else made it.
os.environ["CHAINRULE_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), f"chainrule-test-cache-{os.getuid()}")


@pytest.fixture
def reference() -> Network:
    """The built-in reference example: 2-2-1 sigmoid, x = (0.05, 0.10), target 0.01, b1 shared, η = 0.5."""
    return netfile.load()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# The browser tests drive Debian's chromium (Playwright cannot download its own here).
CHROMIUM = "/usr/bin/chromium"
BROWSER_WAIT_MS = 60_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The page of a `chainrule serve` running in a thread of this process, on a free port."""
    import uvicorn

    from chainrule.cli.serve import bind
    from chainrule.web.server import create_app

    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's assertions wait 5 s by default: an answer takes tens of milliseconds, but a loaded
    # 2-core CI machine (and a first compile) can take seconds. A wait is not a speed claim.
    expect.set_options(timeout=BROWSER_WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def client() -> Any:
    """The server's API in this process (FastAPI's TestClient), as the page reaches it."""
    from fastapi.testclient import TestClient

    from chainrule.web.server import create_app

    return TestClient(create_app(), base_url="http://127.0.0.1")


@pytest.fixture
def doc(client: Any) -> dict[str, Any]:
    """The network document the server starts with (the reference example), a fresh copy per test."""
    import copy

    network: dict[str, Any] = copy.deepcopy(client.get("/api/network").json()["network"])
    return network


@pytest.fixture(scope="module")
def torch_float64() -> Iterator[None]:
    """PyTorch's default dtype float64 for one test module, then as it was: set for the whole
    process (as tests/shaped.py once did), it turned the float32 models of later modules into
    float64 ones."""
    import torch

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)
