"""The page as a person sees it, at a laptop's and a phone's size: every value box shows its whole
text (an exponent below 1e-4), the drawing's text stays readable (≥ 11 px on a laptop for
2-6-5-1, ≥ 10 px on a phone for 2-2-1), → steps the graph in the graph view, the busy mark shows
for slow answers, axe-core finds nothing serious, and nothing leaves the machine or breaks the
page's policy. Run trains on the streamed fast path, never by explained requests.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import until
from chainrule.io import netfile
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from page_run import spirals_network  # the benchmark's network: 2-6-5-1 on the spirals

LAPTOP, PHONE = (1280, 800), (390, 844)
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));
"""


def link(url: str, network: dict[str, Any], step: int = 0) -> str:
    state = json.dumps({"network": network, "example": 1, "step": step}).encode()
    return url + "#s=" + base64.urlsafe_b64encode(state).decode().rstrip("=")


@pytest.fixture
def watched(browser: Browser, url: str) -> Iterator[Any]:
    """new(size) opens a page that records console errors, policy violations and every request's host."""
    contexts, problems, hosts = [], [], set()

    def new(size: tuple[int, int]) -> Page:
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        context.add_init_script(WATCH)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: hosts.add(urlparse(r.url).hostname or r.url.split(":")[0]))
        return page

    yield new
    violations = [v for c in contexts for p in c.pages for v in p.evaluate("window.__violations")]
    for context in contexts:
        context.close()
    assert problems == [] and violations == []
    assert hosts <= {"127.0.0.1", "data"}, hosts  # nothing off the machine (the icon is a data: URL)


def reference_with(**weights: float) -> dict[str, Any]:
    doc = netfile.to_dict(netfile.load())
    names = {"w5": (1, 0, 0), "w6": (1, 0, 1), "w1": (0, 0, 0)}
    for name, value in weights.items():
        layer, row, col = names[name]
        doc["layers"][layer]["weights"][row][col] = value
    return doc


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_value_box_shows_its_whole_text(watched: Any, url: str, size: tuple[int, int]) -> None:
    page = watched(size)
    page.goto(link(url, reference_with(w5=-8.23993651e-17, w6=4.52259696e-34, w1=123456.789012345)))
    expect(page.locator('#values input[data-name="w5"]')).to_have_value("-8.23993651e-17")
    boxes = page.locator("#values input[data-key]").evaluate_all(
        "els => els.map(e => [e.dataset.name, e.value, e.scrollWidth <= e.clientWidth])"
    )
    assert len(boxes) == 11
    assert all(whole for _, _, whole in boxes), boxes
    for name, text, _ in boxes:
        value = float(text)
        assert value == 0 or abs(value) >= 1e-4 or "e" in text, (name, text)
    assert ["w6", "4.52259696e-34", True] in boxes


def font_sizes(page: Page) -> list[float]:
    """Each text of the drawing: its size on the screen, in CSS pixels."""
    sizes: list[float] = page.evaluate(
        """() => { const svg = document.getElementById("diagram");
          const k = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
          return [...svg.querySelectorAll("text")].map((t) => parseFloat(getComputedStyle(t).fontSize) * k); }"""
    )
    return sizes


@pytest.mark.parametrize(("size", "least"), [(LAPTOP, 11), (PHONE, 10)], ids=["laptop", "phone"])
def test_the_drawing_stays_readable(watched: Any, url: str, size: tuple[int, int], least: float) -> None:
    page = watched(size)
    page.goto(link(url, spirals_network()) if size == LAPTOP else url)
    expect(page.locator('[data-node="out"]')).to_be_visible()
    sizes = font_sizes(page)
    assert len(sizes) >= 10 and min(sizes) >= least, min(sizes)
    assert page.evaluate("document.documentElement.scrollWidth") <= size[0]


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_arrow_key_steps_the_graph_in_the_graph_view(watched: Any, url: str, size: tuple[int, int]) -> None:
    page = watched(size)
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    page.get_by_role("radio", name="graph").check()
    expect(page.locator("#circuit-count")).to_contain_text("node 1 of ")
    page.locator("body").click(position={"x": 2, "y": 2})  # the keys go to the page, not the radio button
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#circuit-count")).to_contain_text("node 3 of ")
    assert page.locator("#step-count").text_content() == "step 0 of 13"  # the hidden stepper stayed
    expect(page.locator(".stepper .step-buttons")).to_be_hidden()  # one stepper shown: the graph's
    expect(page.locator(".diagram-wrap")).to_be_hidden()
    current = page.locator("#circuit-graph .op-node.current")
    expect(current).to_be_in_viewport()  # the lit node in view, on a phone too


def test_slow_answers_show_the_busy_mark(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    held: list[Any] = []  # the answer is held until the mark has been seen: no race with a timer
    page.route("**/api/step", lambda route: held.append(route))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#busy")).to_be_visible()
    assert page.locator("body").get_attribute("aria-busy") == "true"
    for route in held:
        route.continue_()
    expect(page.locator("#busy")).to_be_hidden()
    assert page.locator("body").get_attribute("aria-busy") is None


def axe_source() -> str:
    """axe-core itself, as the axe-playwright-python package ships it (a test dependency)."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_axe_finds_nothing_serious_in_the_three_views(watched: Any, url: str, size: tuple[int, int]) -> None:
    source = axe_source()
    page = watched(size)
    page.goto(link(url, netfile.to_dict(netfile.load()), step=5))
    expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
    page.evaluate(source)  # through the debugger: the page's own policy allows no injected script

    def serious() -> list[str]:
        found: list[dict[str, Any]] = page.evaluate("axe.run(document).then((r) => r.violations)")
        return [f"{v['id']} ({v['impact']})" for v in found if v["impact"] in ("serious", "critical")]

    assert serious() == []  # the scalar view, at a step
    page.get_by_role("radio", name="matrix").check()
    expect(page.locator("#matrix-lines mtable").first).to_be_visible()
    assert serious() == []
    page.get_by_role("radio", name="graph").check()
    expect(page.locator("#circuit-count")).to_contain_text("node 1 of ")
    assert serious() == []


def test_run_streams_the_fast_path_and_pause_explains_once(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlparse(r.url).path))
    page.goto(link(url, spirals_network()))
    expect(page.locator('[data-node="out"]')).to_be_visible()
    page.get_by_role("button", name="Run").click()
    until(page, "app.losses.length > 200")  # hundreds of epochs: not one explained request each
    page.get_by_role("button", name="Pause").click()
    trained = page.evaluate("app.losses.length") - 1
    assert "/api/train/stream" in asked and "/api/train" not in asked
    assert asked.count("/api/step") < trained / 10  # explanations follow the training, one at a time
    until(page, "!app.running && app.data.network.layers[0].weights[0][0] === app.doc.layers[0].weights[0][0]")


def test_value_boxes_show_a_focus_ring_and_the_loss_switch_says_what_changes(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    box = page.locator('#values input[data-name="w5"]')
    box.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by the keyboard: :focus-visible
    assert box.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    page.locator("#loss").select_option("binary_cross_entropy")
    expect(page.locator("#status")).to_have_text("loss binary_cross_entropy: the output layer keeps sigmoid")
    page.goto(link(url, netfile.to_dict(netfile.load(netfile.example_path("softmax-classifier.toml")))))
    page.reload()  # a new address that differs only after # does not load the page again
    expect(page.locator("#loss")).to_have_value("cross_entropy")
    page.locator("#loss").select_option("binary_cross_entropy")
    expect(page.locator("#status")).to_have_text(
        "loss binary_cross_entropy: the output layer's activation is now sigmoid (was softmax),"
        " as binary_cross_entropy needs"
    )


def test_points_noise_regenerate_and_a_discretized_output(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    page.locator("#dataset").select_option("circle")
    page.locator("#points").select_option("200")
    page.locator("#noise").select_option("0")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#title")).to_have_text("The circle data set: 200 points, seed 0")
    first = page.evaluate("app.doc.examples.map((e) => e.x)")
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#title")).to_have_text("The circle data set: 200 points, seed 1")
    assert len(page.evaluate("app.doc.examples")) == 200 and page.evaluate("app.doc.examples.map((e) => e.x)") != first
    # The colour at the middle of each of the 41 × 41 cells: the two commonest cover the plane once discretized.
    cells = """() => { const ctx = document.getElementById("boundary").getContext("2d"), seen = {};
      for (let r = 0; r < 41; r++) for (let c = 0; c < 41; c++) {
        const p = ctx.getImageData(c * 6 + 3, r * 6 + 3, 1, 1).data; const k = `${p[0]},${p[1]},${p[2]}`;
        seen[k] = (seen[k] || 0) + 1; }
      const counts = Object.values(seen).sort((a, b) => b - a); return (counts[0] + (counts[1] || 0)) / (41 * 41); }"""
    assert page.evaluate(cells) < 0.5  # shades of the output
    page.get_by_label("discretize output").check()
    assert page.evaluate(cells) > 0.8  # two colours, but where a point covers a cell


def test_the_lit_drawing_stays_in_view_beside_the_result_line(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    page.goto(link(url, netfile.to_dict(netfile.load()), step=13))
    expect(page.locator("#step-title")).to_have_text("Update: every parameter takes one step down its gradient")
    page.locator("#equations .eq").last.scroll_into_view_if_needed()
    expect(page.locator("#equations .eq").last).to_be_in_viewport()
    expect(page.locator('[data-node="out"]')).to_be_in_viewport()


def test_feature_inputs_from_the_train_panel(watched: Any, url: str) -> None:
    page = watched(LAPTOP)
    page.goto(url)
    expect(page.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    expect(page.locator("#features")).to_be_hidden()  # one example: no plane to draw
    page.locator("#dataset").select_option("circle")
    page.get_by_role("button", name="Use", exact=True).click()
    page.get_by_role("checkbox", name="x1²").check()
    expect(page.locator('[data-node="x1²"]')).to_be_visible()
    page.get_by_role("checkbox", name="sin x2").check()
    expect(page.locator('[data-node="sin x2"]')).to_be_visible()
    assert page.evaluate("app.doc.inputs") == ["x1", "x2", "x1²", "sin x2"]
    page.get_by_role("checkbox", name="x1²").uncheck()
    expect(page.locator('[data-node="x1²"]')).to_have_count(0)
    expect(page.locator("#boundary-figure")).to_be_visible()
