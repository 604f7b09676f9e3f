"""The page under its own Content-Security-Policy, in a real browser: no violation reported while
it loads, steps, edits and trains (an inline style or script would be one)."""

from __future__ import annotations

from playwright.sync_api import Browser, expect


def test_the_page_runs_without_a_policy_violation(browser: Browser, url: str) -> None:
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
    expect(page.locator("#status")).not_to_contain_text("error")
    page.wait_for_timeout(500)
    page.close()
    assert problems == []
