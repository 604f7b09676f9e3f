"""What the browser tests share: waiting on the page's own state.

The page's policy forbids eval, which Playwright's wait_for_function uses; so conditions are
polled with evaluate (run by the browser's debugger, which the policy does not govern).
"""

from __future__ import annotations

import time

from playwright.sync_api import Page


def until(page: Page, condition: str, timeout: float = 60.0) -> None:
    """Wait until the JavaScript expression `condition` is true on `page`."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(condition):
        assert time.monotonic() < deadline, f"not within {timeout} s: {condition}"
        page.wait_for_timeout(50)
