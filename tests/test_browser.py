"""The page in a real browser: Playwright driving Debian's chromium (scripts/check installs it).

The server runs in a thread on a free loopback port; every number asserted is the engine's, as
the page shows it (views.numbers.fmt_screen) or as independent arithmetic gives it.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from browsing import until
from chainrule.io import netfile
from chainrule.views.numbers import fmt_screen as fmt  # as the page writes a number


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
    expect(tip).to_have_text("weight w6 (h2 → out) = 0.45, ∂L/∂w6 = 0.08266762784753326")


def test_stepping_shows_the_w5_gradient_equation(page: Page) -> None:
    page.get_by_role("button", name="Next ▶").click()
    expect(page.locator("#step-title")).to_have_text("Forward: neuron h1")
    assert page.locator('[data-node="h1"]').get_attribute("class") == "node hl"
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#step-title")).to_have_text("Backward: ∂L/∂w5")
    lines = page.locator("#equations .eq")
    last = lines.last
    assert last.locator("math").first.get_attribute("aria-label") == "∂L/∂w5 = 0.7414 · 0.1868 · 0.5933 ≈ 0.0822"
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
    # said beside the box, which gets its value back
    expect(page.locator("#values .field-error")).to_have_text('w5: expected a number, got "abc"')
    assert field.input_value() == "0.1" and field.get_attribute("aria-invalid") == "true"
    field.fill("0.2")
    field.press("Enter")
    expect(page.locator("#values .field-error")).to_have_count(0)


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
    assert len(points.split()) == 3  # epoch 0, before training, then epochs 1 and 2
    assert page.locator('#values input[data-name="w5"]').input_value() != "0.4"  # trained


def test_the_url_keeps_the_whole_state(page: Page, browser: Browser) -> None:
    field = page.locator('#values input[data-name="b2"]')
    field.fill("−0.25")
    field.press("Enter")
    shown = page.locator('[data-node="out"] .node-value')
    expect(shown).not_to_have_text("0.7514")
    value = shown.text_content() or ""
    field.evaluate("e => e.blur()")  # the arrow keys step the page when no text box has them
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
    # the plane's axes: each input's first and last value and its name, drawn and in the label
    b = page.evaluate("app.data.boundary")
    ticks = [str(float(f"{v:.2g}")).removesuffix(".0").replace("-", "−") for v in (*b["x1"], *b["x2"])]
    label = page.locator("#boundary").get_attribute("aria-label") or ""
    assert f"x1 from {ticks[0]} to {ticks[1]} across, x2 from {ticks[2]} to {ticks[3]} up" in label, label
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#epoch")).to_contain_text("epoch", timeout=30_000)  # the first request done
    assert page.locator("#loss-curve polyline").count() == 1
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Run")).to_be_enabled()


def shown_number(text: str) -> float:
    """A number as the page writes it (−0.3, 1.2×10⁻⁶), read back."""
    mantissa, _, power = text.replace("−", "-").partition("×10")
    return float(mantissa) * 10.0 ** int(power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")) or 0)


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
    # The paused network's map may still be on its way (drawn when its answer arrives): read until
    # it has come, for at most 30 s.
    deadline = time.monotonic() + 30
    while True:
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
        if colours == [0, 1, 1, 0] or time.monotonic() > deadline:
            break
        pg.wait_for_timeout(200)
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


# -- the playground: what issue 15 asked of the page -----------------------------------------------


def step_to(page: Page, title: str) -> None:
    for _ in range(40):
        until(page, "app.data.at === app.step")  # each step is written out when it is shown
        if page.locator("#step-title").text_content() == title:
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"no step titled {title!r}")


def test_b1_is_highlighted_at_its_gradient_step(page: Page) -> None:
    step_to(page, "Backward: ∂L/∂b1")
    bias = page.locator('[data-edge="b1"]')
    assert "hl" in (bias.get_attribute("class") or "").split()
    assert bias.evaluate("e => getComputedStyle(e).opacity") == "1"  # not greyed out with the rest
    assert page.locator('[data-edge="b2"]').evaluate("e => getComputedStyle(e).opacity") != "1"


def test_every_gradient_step_lights_its_parameter_on_random_networks(browser: Browser, url: str) -> None:
    import numpy as np

    from helpers import random_document

    rng = np.random.default_rng(12)
    pg = browser.new_page(viewport={"width": 1280, "height": 800})
    lit: list[str] = []
    for loss, output in [("half_squared_error", "sigmoid"), ("cross_entropy", "softmax"), ("mse", "identity")]:
        pg.goto(state_link(url, random_document(rng, loss, output)))
        pg.reload()
        expect(pg.locator("#step-count")).not_to_be_empty()
        found = []
        for i in range(1, pg.evaluate("app.data.step_count") + 1):  # each step is written out when shown
            pg.evaluate(f"go({i})")
            until(pg, f"app.data.at === {i} && app.step === {i}")
            found += pg.evaluate(
                """() => {
                  const s = app.data.step, e = s.param && document.querySelector(`[data-edge="${CSS.escape(s.param)}"]`);
                  return e ? [[s.param, e.classList.contains("hl"), getComputedStyle(e).opacity]] : [];
                }"""
            )
        assert all(hl and opacity == "1" for _, hl, opacity in found), found
        lit += [name for name, _, _ in found]
    assert any(name.startswith("b") for name in lit) and any(name.startswith("w") for name in lit)
    pg.close()


def boxes(page: Page, selector: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.locator(selector).evaluate_all(
        "els => els.map(e => { const b = e.getBoundingClientRect();"
        " return {text: e.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom}; })"
    )
    return found


def hostile_network(rng: Any, hidden: list[int]) -> dict[str, Any]:
    """Layers of `hidden` units with weights from 1e-6 to 1e4 in size: activations from 1e-9 to 1e8."""
    sizes, layers = [2, *hidden, 1], []
    for i, units in enumerate(sizes[1:]):
        scale = 10.0 ** rng.uniform(-6, 4, size=(units, sizes[i]))
        weights = (scale * rng.choice([-1.0, 1.0], size=scale.shape)).tolist()
        act = str(rng.choice(["identity", "sigmoid", "relu", "softplus"]))
        layers.append({"activation": act, "weights": weights, "bias": float(rng.uniform(-1, 1))})
    return {"inputs": 2, "layers": layers, "examples": [{"x": rng.uniform(-3, 3, 2).tolist(), "y": [0.5]}]}


def test_no_text_overflows_a_neuron_and_no_labels_overlap(browser: Browser, url: str) -> None:
    import numpy as np

    rng = np.random.default_rng(15)
    pg = browser.new_page(viewport={"width": 1280, "height": 800})
    abbreviated = 0
    for hidden in ([2], [2, 2], [3, 2], [2, 2, 2], [3], [3, 3], [2, 3]):
        pg.goto(state_link(url, hostile_network(rng, hidden)))
        pg.reload()  # a new hash alone does not reload the page
        expect(pg.locator('[data-node="out"] .node-value')).not_to_have_text("")
        for n in pg.locator(".node:not(.loss)").all():
            circle, value = n.locator("circle").bounding_box(), n.locator(".node-value").bounding_box()
            assert circle and value
            assert circle["x"] <= value["x"] and value["x"] + value["width"] <= circle["x"] + circle["width"]
            short, exact = n.locator(".node-value").text_content() or "", n.get_attribute("aria-label") or ""
            if "abbreviated" in (n.locator(".node-value").get_attribute("class") or ""):
                abbreviated += 1
                full = float(exact.rsplit("= ", 1)[1])  # on hover: the exact value
                assert shown_number(short) == pytest.approx(full, rel=0.06)
        labels = boxes(pg, "#diagram text")
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                apart = (
                    a["right"] <= b["left"]
                    or b["right"] <= a["left"]
                    or a["bottom"] <= b["top"]
                    or b["bottom"] <= a["top"]
                )
                assert apart, f"{a['text']!r} overlaps {b['text']!r} on a network of hidden layers {hidden}"
    assert abbreviated >= 4  # the networks did put numbers too long for a circle in them
    pg.close()


def test_the_loss_curve_has_axes_ticks_and_values(page: Page) -> None:
    page.get_by_role("button", name="One epoch").click()
    expect(page.locator("#epoch")).to_have_text("epoch 1, loss 0.2578", timeout=120_000)
    page.get_by_role("button", name="One epoch").click()
    expect(page.locator("#epoch")).to_contain_text("epoch 2")
    assert page.locator("#loss-curve .axis").count() >= 2
    y_ticks = [float(t) for t in page.locator("#loss-curve .y-tick").all_text_contents()]
    assert y_ticks[0] == 0 and y_ticks == sorted(y_ticks) and y_ticks[-1] >= 0.2578  # the curve fits under the top
    assert page.locator("#loss-curve .x-tick").all_text_contents()[0] == "0"
    assert page.locator("#loss-curve .axis-title").all_text_contents() == ["epoch", "loss"]


def test_a_new_hidden_layer_resets_the_epochs_and_the_curve(page: Page) -> None:
    page.get_by_role("button", name="One epoch").click()
    expect(page.locator("#epoch")).to_have_text("epoch 1, loss 0.2578", timeout=120_000)
    page.get_by_role("button", name="add a hidden layer before the output layer").click()
    expect(page.locator('[data-node="g1"]')).to_be_visible()
    expect(page.locator("#epoch")).to_have_text("")
    assert page.locator("#loss-curve polyline").count() == 0


def test_only_valid_losses_and_activations_are_offered(page: Page) -> None:
    from chainrule.engine.functions import ACTIVATIONS, LOSSES, pairing_refusal, target_refusal

    net = netfile.load()
    offered = page.locator("#loss option").all_text_contents()
    expected = []
    for name, loss in sorted(LOSSES.items()):  # the engine's rule, asked here directly
        out = ACTIVATIONS[loss.requires_activation[0]] if loss.requires_activation else net.layers[-1].activation
        layers = [(net.layers[0].activation, 2), (out, 1)]
        if pairing_refusal(loss, layers) is None and target_refusal(loss, 1, net.y) is None:
            expected.append(name)
    assert offered == expected and "cross_entropy" not in offered and "hinge" not in offered
    for select in page.locator("#structure select").all():
        assert "softmax" not in select.locator("option").all_text_contents()
    page.locator("#loss").select_option("binary_cross_entropy")
    expect(page.locator("#status")).to_have_text("loss binary_cross_entropy: the output layer keeps sigmoid")
    expect(page.locator('[data-node="loss"] text')).not_to_have_text("L = 0.2748")


def test_hidden_neuron_heat_maps_follow_training_and_enlarge(page: Page) -> None:
    page.locator("#dataset").select_option("circle")
    page.get_by_role("button", name="Use", exact=True).click()
    maps = page.locator(".neuron-map")
    expect(maps).to_have_count(2)
    before = maps.first.locator("canvas").evaluate("c => c.toDataURL()")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#epoch")).to_contain_text("epoch", timeout=120_000)
    deadline = time.monotonic() + 30
    while maps.first.locator("canvas").evaluate("c => c.toDataURL()") == before:
        assert time.monotonic() < deadline, "the heat map never changed while training"
        page.wait_for_timeout(100)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="enlarge the map of neuron h2").press("Enter")
    expect(page.locator("#neuron-large-figure")).to_be_visible()
    expect(page.locator("#neuron-large-caption")).to_contain_text("a_h2 over the plane")


def test_gradients_on_the_wires_with_a_legend(page: Page) -> None:
    page.locator("#wires").select_option("gradients")
    expect(page.locator("#wire-legend")).to_contain_text("|∂L/∂w|")
    widths = {
        w: float(page.locator(f'[data-edge="{w}"] .wire').get_attribute("stroke-width") or 0)
        for w in ("w1", "w2", "w3", "w4", "w5", "w6")
    }
    # the engine's gradients: ∂L/∂w6 is the largest in size, ∂L/∂w1 the smallest
    assert max(widths, key=widths.__getitem__) == "w6" and min(widths, key=widths.__getitem__) == "w1"
    assert widths["w6"] == 7.0
    assert "∂L/∂w5 = 0.08216704056423078" in (page.locator('[data-edge="w5"]').get_attribute("aria-label") or "")


def test_a_test_set_adds_its_curve_and_updates_step_one_by_one(page: Page) -> None:
    page.locator("#dataset").select_option("moons")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#example-max")).to_have_text("10")
    first_x1 = page.locator('[data-node="x1"] .node-value').text_content()
    page.get_by_role("button", name="update ▶").click()
    expect(page.locator("#example")).to_have_value("2")
    x1 = page.evaluate("app.data.network.examples[10].x[0]")  # update 2 starts at example 11
    expect(page.locator('[data-node="x1"] .node-value')).to_have_text(fmt(x1))
    assert first_x1 != fmt(x1)
    page.locator("#test-share").select_option("0.2")
    page.locator("#penalty").select_option("l2")
    page.get_by_role("button", name="One epoch").click()
    expect(page.locator("#epoch")).to_contain_text("test", timeout=120_000)
    assert page.locator("#loss-curve polyline").count() == 2
    expect(page.locator("#loss-legend")).to_be_visible()


def test_pasted_csv_and_a_regression_set(page: Page) -> None:
    page.locator("#csv-panel summary").click()
    page.locator("#csv-text").fill("x1,x2,y\n0,0,0\n1,0,1\n0,1,1\n1,1,0")
    page.get_by_role("button", name="Use these rows").click()
    expect(page.locator("#title")).to_have_text("Your data: 4 points")
    rows = b"x1,x2,y\n0,0,0.5\n1,0,2\n0,1,1\n1,1,3\n0.5,0.5,1\n"
    page.locator("#csv-file").set_input_files(files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": rows}])
    expect(page.locator("#csv-text")).to_have_value(rows.decode())
    page.get_by_role("button", name="Use these rows").click()
    expect(page.locator("#title")).to_have_text("Your data: 5 points")
    page.locator("#dataset").select_option("bump")
    page.get_by_role("button", name="Use", exact=True).click()
    expect(page.locator("#title")).to_contain_text("The bump data set")
    assert page.locator("#structure select").last.input_value() == "identity"
    page.locator("#init").select_option("zeros")
    page.get_by_role("button", name="Re-initialise").click()
    expect(page.locator('#values input[data-name="w1"]')).to_have_value("0.0")


def test_phone_steps_fit_the_screen(browser: Browser, url: str) -> None:
    pg = browser.new_page(viewport={"width": 390, "height": 844})
    pg.goto(url)
    expect(pg.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    expect(pg.locator("#example-pick")).to_be_hidden()
    xor = netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))
    for link in (None, state_link(url, xor)):
        if link:
            pg.goto(link)
            pg.reload()
            expect(pg.locator("#title")).to_have_text("XOR with a 2-2-1 sigmoid network")
        count = int((pg.locator("#step-count").text_content() or "").split()[-1])
        for _ in range(count):
            pg.keyboard.press("ArrowRight")
            # every line's content fits (not just its box): nothing scrolls sideways or is cut
            cut = pg.locator("#equations, #equations > *, #equations math").evaluate_all(
                "els => els.filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > 390).length"
            )
            assert cut == 0, pg.locator("#step-title").text_content()
            assert pg.evaluate("document.documentElement.scrollWidth") <= 390
    pg.close()


def test_a_diagram_label_writes_a_power_of_ten_as_the_math_does(page: Page) -> None:
    """A value too long for its label is cut to a few digits; a very small or large one is written
    1.2×10⁻⁶, as the server's labels and the worked step write it (no 1.2e−6 beside it)."""
    shortened = page.evaluate(
        """() => {
        app.data.shown.w5 = "0.00000123456"; app.data.exact.w5 = "1.23456e-06";
        app.data.shown.w6 = "−45678.9"; app.data.exact.w6 = "-45678.9";
        return [compact("w5", 6, 2), compact("w6", 6, 2)];
      }"""
    )
    assert shortened == ["1.2×10⁻⁶", "−4.6×10⁴"]
