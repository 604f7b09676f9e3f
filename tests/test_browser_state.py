"""The page's state cannot be overwritten by answers that arrive late: Pause is final at once,
an edit always wins, and a change of shape during Run starts a new loss curve at epoch 0. Every
answer (and every chunk of the training stream) is held back DELAY ms in the page, as on a slow
laptop; at a laptop's and a phone's size.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import until

DELAY = 1500  # ms every answer and every chunk of a stream is held back
SIZES = [(1280, 800), (390, 844)]

# fetch, wrapped: the answer, then each chunk of its body, arrives window.__delay ms late.
SLOW_FETCH = """
window.__delay = 0;
window.__asked = [];
const plainFetch = window.fetch.bind(window);
const later = () => new Promise((done) => setTimeout(done, window.__delay));
window.fetch = async (input, init) => {
  window.__asked.push(String(input));
  const response = await plainFetch(input, init);
  if (!window.__delay) return response;
  await later();
  const reader = response.body.getReader();
  const body = new ReadableStream({
    async pull(out) {
      const { value, done } = await reader.read();
      await later();
      if (done) out.close(); else out.enqueue(value);
    },
    cancel(reason) { return reader.cancel(reason); },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};
"""


@pytest.fixture(params=SIZES, ids=["laptop", "phone"])
def page(request: Any, browser: Browser, url: str) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(SLOW_FETCH)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(url)
    expect(pg.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    yield pg
    context.close()
    assert errors == []


def epochs(page: Page) -> int:
    return int(page.evaluate("app.losses.length ? app.losses.length - 1 : 0"))


def run_until_trained(page: Page) -> None:
    """Run with every answer late, until some epochs are on the curve (and more are on their way)."""
    page.evaluate(f"window.__delay = {DELAY}")
    page.get_by_role("button", name="Run").click()
    until(page, "app.losses.length > 2")


def test_pause_is_final_at_once(page: Page) -> None:
    run_until_trained(page)
    page.get_by_role("button", name="Pause").click()
    paused = (epochs(page), page.evaluate("JSON.stringify(app.doc)"), page.locator("#epoch").text_content())
    page.wait_for_timeout(3 * DELAY)  # the chunks and explanations already on their way arrive now
    assert (epochs(page), page.evaluate("JSON.stringify(app.doc)"), page.locator("#epoch").text_content()) == paused
    assert page.get_by_role("button", name="Run").is_enabled()
    # The paused network is explained: the diagram shows its w5, not the one before training.
    w5 = json.loads(paused[1])["layers"][1]["weights"][0][0]
    until(page, f"app.data.exact.w5 === {json.dumps(repr(float(w5)))}")


@pytest.mark.parametrize("during_run", [False, True], ids=["after-pause", "during-run"])
def test_an_edit_always_wins(page: Page, during_run: bool) -> None:
    run_until_trained(page)
    if not during_run:
        page.get_by_role("button", name="Pause").click()
    page.locator("#values-panel").evaluate("d => { d.open = true; }")
    box = page.locator('#values input[data-name="w5"]')
    box.fill("2")
    box.press("Enter")
    page.wait_for_timeout(3 * DELAY)
    until(page, "app.data.exact.w5 === '2.0'")
    page.wait_for_timeout(DELAY)  # anything else late has arrived by now
    assert page.evaluate("app.doc.layers[1].weights[0][0]") == 2
    assert page.evaluate("app.data.exact.w5") == "2.0"
    assert float(box.input_value()) == 2  # the box keeps what was typed
    assert not page.evaluate("app.running")  # an edit pauses training: the value typed is the one kept


def start_loss(url: str, network: dict[str, Any]) -> float:
    """The loss of `network` before any training, as the server computes it (epoch 0 of a curve)."""
    body = json.dumps({"network": network, "epochs": 1}).encode()
    request = urllib.request.Request(f"{url}api/train", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        loss: float = json.load(answer)["start"]["loss"]
    return loss


def test_a_new_neuron_during_run_starts_a_new_curve_at_epoch_0(page: Page, url: str) -> None:
    run_until_trained(page)
    with page.expect_response("**/api/edit") as edit:
        page.get_by_role("button", name="one neuron more in h").click()
        assert page.evaluate("app.losses.length") == 0  # the old curve is gone at once
    network = edit.value.json()["network"]
    assert len(network["layers"][0]["weights"]) == 3
    until(page, "app.losses.length > 1")  # Run goes on, with the new network
    page.get_by_role("button", name="Pause").click()
    page.wait_for_timeout(3 * DELAY)
    curve = page.evaluate("app.losses")
    assert curve[0] == pytest.approx(start_loss(url, network), rel=1e-12)
    assert page.evaluate("app.doc.layers[0].weights.length") == 3
    assert page.locator("#epoch").text_content() == f"epoch {len(curve) - 1}, loss " + page.evaluate("app.lossShown")
