"""The page's matrix switch and graph view in a real browser (Playwright, Debian's chromium).

The numbers asserted are the engine's (views.numbers.fmt_screen of the record's values); the page must
show them without a policy violation, and fit a phone's width.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from chainrule.io import netfile
from chainrule.record.step import explain_step
from chainrule.views.numbers import fmt_screen as fmt  # as the page writes a number

SIZES = [(1280, 800), (390, 844)]


def opened(browser: Browser, url: str, size: tuple[int, int], problems: list[str]) -> Page:
    """The page at `size`, every console error (a CSP violation is one) and script error kept in `problems`."""
    pg = browser.new_page(viewport={"width": size[0], "height": size[1]})
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.goto(url)
    expect(pg.locator('[data-node="out"] .node-value')).to_have_text("0.7514")
    return pg


def fits(pg: Page, width: int) -> None:
    assert pg.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("size", SIZES)
def test_matrix_switch_shows_matrices_and_names_the_hovered_entry(
    browser: Browser, url: str, size: tuple[int, int]
) -> None:
    problems: list[str] = []
    pg = opened(browser, url, size, problems)
    expect(pg.locator("#matrix-form")).to_be_hidden()
    pg.get_by_role("radio", name="matrix").check()
    expect(pg.locator("#matrix-form")).to_be_visible()
    expect(pg.locator("#equations")).to_be_hidden()
    expect(pg.locator("#matrix-lines mtable").first).to_be_visible()
    # dL/dw5 is entry (1, 1) of ∂L/∂W⁽²⁾: hovering says so, with the exact value
    entry = pg.locator('#matrix-lines .eq:has(math[aria-label^="∂L/∂W⁽²⁾ ="]) .entry[data-name="dL/dw5"]')
    expect(entry).to_have_text("0.0822")
    entry.hover()
    expect(pg.locator("#entry-tip")).to_have_text("dL/dw5 = 0.08216704056423078, entry (1, 1)")
    # the keyboard reaches the same: Tab goes from entry to entry, and the focused one is named
    pg.mouse.move(0, 0)
    pg.locator('.entry[data-name="w5"]').first.focus()
    expect(pg.locator("#entry-tip")).to_have_text("w5 = 0.4, entry (1, 1)")
    pg.keyboard.press("Tab")
    expect(pg.locator("#entry-tip")).to_have_text("w6 = 0.45, entry (1, 2)")
    assert pg.evaluate("document.activeElement.dataset.name") == "w6"
    fits(pg, size[0])
    pg.get_by_role("radio", name="scalar").check()
    expect(pg.locator("#equations")).to_be_attached()
    expect(pg.locator("#matrix-form")).to_be_hidden()
    pg.close()
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_graph_view_steps_backward_to_b1_and_adds_its_two_contributions(
    browser: Browser, url: str, size: tuple[int, int]
) -> None:
    record = explain_step(netfile.load(), 0)
    v = record.values
    problems: list[str] = []
    pg = opened(browser, url, size, problems)
    pg.get_by_role("radio", name="graph").check()
    expect(pg.locator("#circuit")).to_be_visible()
    expect(pg.locator("#diagram")).to_be_hidden()
    title = pg.locator("#circuit-detail h3")
    expect(title).to_have_text("∂L/∂L = 1 (half_squared_error)")
    expect(pg.locator('#circuit-graph [data-node="loss"]')).to_have_class("op-node loss current done")
    # one node back: the output's activation, and what it sends back to z_out
    pg.get_by_role("button", name="Next node ▶").click()
    expect(title).to_have_text(f"∂L/∂a_out = {fmt(v['dL/da_out'], 4)} (sigmoid)")
    local = fmt(v["da_out/dz_out"], 4)
    expect(pg.locator("#circuit-detail .sent li")).to_have_text(
        f"to z_out: ∂a_out/∂z_out = {local}; {local} · {fmt(v['dL/da_out'], 4)} = {fmt(v['dL/dz_out'], 4)}"
    )
    expect(pg.locator("#circuit-graph .op-local")).to_have_text(f"×{local}")
    for _ in range(40):
        if (title.text_content() or "").startswith("∂L/∂b1 ="):
            break
        pg.get_by_role("button", name="Next node ▶").click()
    expect(title).to_have_text(f"∂L/∂b1 = {fmt(v['dL/db1'], 4)}")
    assert round(float(title.get_attribute("title") or "nan"), 6) == 0.028364
    expect(pg.locator('#circuit-graph [data-node="b1"]')).to_contain_class("current")
    h1, h2 = fmt(v["dL/dz_h1"], 4), fmt(v["dL/dz_h2"], 4)
    expect(pg.locator("#circuit-detail .arrived li")).to_have_text(
        [f"from z_h1: 1 · {h1} = {h1}", f"from z_h2: 1 · {h2} = {h2}", f"sum: {h1} + {h2} = 0.0284 = ∂L/∂b1"]
    )
    fits(pg, size[0])
    pg.close()
    assert problems == []
