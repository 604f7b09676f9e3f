"""The page in a real browser: Playwright driving Debian's chromium (scripts/check installs it).

The server runs in a thread on a free loopback port; every number asserted is the engine's, as
the page shows it (views.numbers.fmt) or as independent arithmetic gives it.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from chainrule.cli.serve import bind
from chainrule.io import netfile
from chainrule.views.numbers import fmt
from chainrule.web.server import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
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
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    expect(pg.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    yield pg
    context.close()
    assert errors == []


def node(page: Page, name: str) -> str:
    return page.locator(f'[data-node="{name}"] .node-value').text_content() or ""


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_the_page_shows_the_reference_numbers(page: Page) -> None:
    assert [node(page, n) for n in ("x1", "x2", "h1", "h2", "out")] == ["0.05", "0.1", "0.5933", "0.5969", "0.7514"]
    assert page.locator('[data-node="loss"] text').text_content() == "L = 0.2748"
    assert page.locator('[data-edge="w5"] .edge-label').text_content() == "w5 0.4"


def test_hover_and_focus_show_the_exact_value(page: Page) -> None:
    page.locator('[data-node="out"]').hover()
    tip = page.locator("#tooltip")
    expect(tip).to_be_visible()
    a_out = sigmoid(sigmoid(0.3775) * 0.4 + sigmoid(0.3925) * 0.45 + 0.6)
    assert tip.inner_text().endswith(f"a_out = {a_out!r}")
    page.locator('[data-edge="w6"]').focus()
    expect(tip).to_have_text("weight w6 (h2 → out) = 0.45")


def test_stepping_shows_the_w5_gradient_equation(page: Page) -> None:
    page.get_by_role("button", name="Next ▶").click()
    expect(page.locator("#step-title")).to_have_text("Forward: neuron h1")
    assert page.locator('[data-node="h1"]').get_attribute("class") == "node hl"
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
    lines = page.locator("#equations .eq")
    last = lines.last
    assert last.get_attribute("aria-label") == "∂L/∂w5 = 0.7414 · 0.1868 · 0.5933 ≈ 0.0822"
    assert last.locator("math mfrac").count() == 1 and "0.0822" in (last.locator("math").text_content() or "")
    assert "hl" in (page.locator('[data-edge="w5"]').get_attribute("class") or "")
    page.keyboard.press("End")
    expect(page.locator("#step-title")).to_have_text("Update: every parameter takes one step down its gradient")
    page.keyboard.press("Home")
    expect(page.locator("#step-count")).to_have_text("step 0 of 13")


def test_editing_w5_recomputes_downstream(page: Page) -> None:
    page.locator('[data-edge="w5"]').focus()
    page.keyboard.press("Enter")
    editor = page.locator("#inline-value")
    expect(editor).to_be_focused()
    editor.fill("0.1")
    editor.press("Enter")
    expected = fmt(sigmoid(sigmoid(0.3775) * 0.1 + sigmoid(0.3925) * 0.45 + 0.6))
    expect(page.locator('[data-node="out"] .node-value')).to_have_text(expected)
    assert expected != "0.7514" and node(page, "h1") == "0.5933"
    field = page.locator('#values input[data-name="w5"]')
    assert field.input_value() == "0.1"
    field.fill("abc")
    field.press("Enter")
    expect(page.locator("#status")).to_have_text('w5: expected a number, got "abc"')


def losses_after_updates(count: int) -> list[str]:
    """The reference network's loss after 1, 2, ... updates, by the engine, as the page writes it."""
    net, shown = netfile.load(), []
    for _ in range(count):
        net = net.updated(net.backward(net.forward(net.x), net.y))
        shown.append(fmt(net.batch_loss(net.forward(net.x), net.y)))
    return shown


def test_one_epoch_draws_the_loss_curve_and_lowers_the_loss(page: Page) -> None:
    assert page.locator("#loss-curve polyline").count() == 0
    first, second = losses_after_updates(2)
    assert first == "0.2578" and second < first
    page.get_by_role("button", name="One epoch").click()
    # On a fresh install the first training answer waits for the compiled loop to be built.
    expect(page.locator("#epoch")).to_have_text(f"epoch 1, loss {first}", timeout=120_000)
    page.get_by_role("button", name="One epoch").click()
    expect(page.locator("#epoch")).to_have_text(f"epoch 2, loss {second}")
    points = page.locator("#loss-curve polyline").get_attribute("points") or ""
    assert len(points.split()) == 2
    assert page.locator('#values input[data-name="w5"]').input_value() != "0.4"  # trained


def test_the_url_keeps_the_whole_state(page: Page, browser: Browser) -> None:
    field = page.locator('#values input[data-name="b2"]')
    field.fill("−0.25")
    field.press("Enter")
    shown = page.locator('[data-node="out"] .node-value')
    expect(shown).not_to_have_text("0.7514")
    value = shown.text_content() or ""
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
    link = page.url
    assert "#s=" in link
    other = browser.new_page(viewport={"width": 1280, "height": 800})
    other.goto(link)
    expect(other.locator('[data-node="out"] .node-value')).to_have_text(value)
    expect(other.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
    assert other.locator('#values input[data-name="b2"]').input_value() == "-0.25"
    other.reload()
    expect(other.locator('[data-node="out"] .node-value')).to_have_text(value)
    other.close()


def test_a_data_set_shows_its_boundary_and_trains(page: Page) -> None:
    page.locator("#dataset").select_option("xor")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#boundary-figure")).to_be_visible()
    expect(page.locator("#example-pick")).to_be_visible()
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#epoch")).to_contain_text("epoch", timeout=30_000)  # the first request done
    assert page.locator("#loss-curve polyline").count() == 1
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Run")).to_be_enabled()


def state_link(url: str, network: dict[str, Any]) -> str:
    """A page address holding `network`, as the page itself writes one."""
    text = json.dumps({"network": network, "example": 1, "step": 0}).encode()
    return url + "#s=" + base64.urlsafe_b64encode(text).decode().rstrip("=")


def test_xor_trains_until_the_boundary_separates_the_points(browser: Browser, url: str) -> None:
    pg = browser.new_page(viewport={"width": 1280, "height": 800})
    pg.goto(state_link(url, netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))))
    expect(pg.locator("#title")).to_have_text("XOR with a 2-2-1 sigmoid network")
    expect(pg.locator("#boundary-figure")).to_be_visible()
    pg.get_by_role("button", name="Run").click()
    # Polled from here: wait_for_function evaluates a string in the page, which its CSP forbids.
    deadline = time.monotonic() + 60
    while pg.evaluate("app.losses.length") < 2000:
        assert time.monotonic() < deadline
        pg.wait_for_timeout(100)
    pg.get_by_role("button", name="Pause").click()
    expect(pg.get_by_role("button", name="Run")).to_be_enabled()
    # The heatmap's colour just beside each point: blue where the network says 1, orange where 0.
    colours = pg.evaluate(
        """() => {
        const b = app.data.boundary, c = document.getElementById('boundary'), ctx = c.getContext('2d');
        return b.points.map(([x, y]) => {
          const px = (x - b.x1[0]) / (b.x1[1] - b.x1[0]) * c.width, py = (b.x2[1] - y) / (b.x2[1] - b.x2[0]) * c.height;
          const [r, g, bl] = ctx.getImageData(px + (px < c.width / 2 ? 8 : -8), py + (py < c.height / 2 ? 8 : -8), 1, 1).data;
          return bl > r ? 1 : 0;
        });
      }"""
    )
    assert colours == [0, 1, 1, 0]
    pg.close()


def test_downloads_the_network_file(page: Page, tmp_path: Path) -> None:
    with page.expect_download() as info:
        page.get_by_role("button", name="Network file (TOML)").click()
    saved = tmp_path / "net.toml"
    info.value.save_as(saved)
    assert info.value.suggested_filename == "network.toml"
    assert "weights = [[0.4, 0.45]]" in saved.read_text()
    with page.expect_download() as info:
        page.get_by_role("button", name="Worked example").click()
    assert info.value.suggested_filename == "worked-example.html"
    page.locator("#doc-format").select_option("markdown")
    with page.expect_download() as info:
        page.get_by_role("button", name="Worked example").click()
    assert info.value.suggested_filename == "worked-example.md"


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)])
def test_readable_at_desktop_and_phone_size(browser: Browser, url: str, size: tuple[int, int]) -> None:
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.goto(url)
    expect(pg.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    # nothing wider than the screen, and the network drawn large enough to read
    assert pg.evaluate("document.documentElement.scrollWidth") <= size[0]
    box = pg.locator("#diagram").bounding_box()
    assert box is not None and box["width"] >= min(size[0] - 40, 600)
    pg.close()
