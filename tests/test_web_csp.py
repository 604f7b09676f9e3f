"""The page under its own Content-Security-Policy, in a real browser: no violation reported while
it loads, steps, edits and trains (an inline style or script would be one)."""

from __future__ import annotations

import threading
import time

import uvicorn
from playwright.sync_api import expect, sync_playwright

from chainrule.cli.serve import bind
from chainrule.web.server import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def test_the_page_runs_without_a_policy_violation() -> None:
    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            response = page.goto(url)
            assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
            expect(page.locator("#title")).not_to_be_empty()
            for _ in range(5):
                page.keyboard.press("ArrowRight")
            page.locator("#diagram").hover()
            page.get_by_role("button", name="One epoch").click()
            expect(page.locator("#status")).not_to_contain_text("error", timeout=20_000)
            page.wait_for_timeout(500)
            browser.close()
        assert problems == []
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
