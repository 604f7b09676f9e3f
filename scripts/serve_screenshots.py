"""Regenerate docs/serve.png, docs/serve-training.png, docs/serve-phone.png, docs/serve-graph.png
and docs/serve-matrix.png: the page of
`chainrule serve` in Debian's chromium, driven by Playwright (as tests/test_browser.py does).

    PYTHONPATH=src python scripts/serve_screenshots.py
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, expect, sync_playwright

from chainrule.cli.serve import bind
from chainrule.web.server import create_app

DOCS = Path(__file__).resolve().parent.parent / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def ready(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")


def steps(page: Page, count: int) -> None:
    for _ in range(count):
        page.keyboard.press("ArrowRight")


def main() -> None:
    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        ready(page, url)
        steps(page, 5)
        expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
        page.screenshot(path=DOCS / "serve.png")

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        ready(page, url)
        page.get_by_role("radio", name="graph").check()
        title = page.locator("#circuit-detail h3")
        while not (title.text_content() or "").startswith("∂L/∂b1"):
            page.get_by_role("button", name="Next node ▶").click()
        page.screenshot(path=DOCS / "serve-graph.png")

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        ready(page, url)
        page.get_by_role("radio", name="matrix").check()
        entry = page.locator('#matrix-lines .entry[data-name="dL/dw5"]').first
        entry.scroll_into_view_if_needed()
        entry.hover()
        expect(page.locator("#entry-tip")).to_contain_text("dL/dw5 = 0.0821670405642307")
        page.screenshot(path=DOCS / "serve-matrix.png")

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        ready(page, url)
        page.locator("#dataset").select_option("circle")
        page.get_by_role("button", name="Use", exact=True).click()
        expect(page.locator(".neuron-map")).to_have_count(2)
        page.get_by_role("button", name="one neuron more in h").click()
        expect(page.locator(".neuron-map")).to_have_count(3)
        page.locator("#structure-panel summary").click()  # closed: room for the plots
        page.locator("#test-share").select_option("0.2")
        page.get_by_label("show test data (ringed)").check()
        page.locator("#wires").select_option("gradients")
        page.get_by_role("button", name="Run").click()
        while page.evaluate("app.losses.length") < 1500:
            page.wait_for_timeout(100)
        page.get_by_role("button", name="Pause").click()
        expect(page.get_by_role("button", name="Run")).to_be_enabled()
        page.get_by_role("button", name="enlarge the map of neuron h1").click()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=DOCS / "serve-training.png")

        page = browser.new_page(viewport={"width": 390, "height": 844})
        ready(page, url)
        steps(page, 12)
        expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂b1")
        page.screenshot(path=DOCS / "serve-phone.png")
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
