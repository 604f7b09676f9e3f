"""The page's Run button: epochs a second on a 2-6-5-1 network over the spirals, in Chromium.

A `chainrule serve` in a thread, Debian's chromium through Playwright; the page is opened on the
network (the address holds it), Run is pressed, and the epochs on the loss curve are counted over
SECONDS. Prints the figure; never a test (a loaded machine is slower).

    python benchmarks/page_run.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from typing import Any

import numpy as np

SIZES = [6, 5]  # hidden layers: 2-6-5-1
CHROMIUM = "/usr/bin/chromium"


def spirals_network() -> dict[str, Any]:
    from chainrule.io.data import builtin

    data = builtin("spirals", np.random.default_rng(0), size=100)
    rng = np.random.default_rng(1)
    sizes, layers = [2, *SIZES, 1], []
    for i, units in enumerate(sizes[1:]):
        act = "sigmoid" if i == len(SIZES) else "tanh"
        layers.append({"activation": act, "weights": rng.uniform(-0.5, 0.5, (units, sizes[i])).round(2).tolist()})
    assert data.labels is not None
    examples = [{"x": x.tolist(), "y": [float(y)]} for x, y in zip(data.x, data.labels, strict=True)]
    return {
        "title": "2-6-5-1 on the spirals",
        "inputs": 2,
        "loss": "binary_cross_entropy",
        "layers": layers,
        "examples": examples,
        "training": {"learning_rate": 0.1, "batch": 10},
    }


def link(url: str, network: dict[str, Any]) -> str:
    state = json.dumps({"network": network, "example": 1, "step": 0}).encode()
    return url + "#s=" + base64.urlsafe_b64encode(state).decode().rstrip("=")


def serve() -> str:
    import uvicorn

    from chainrule.cli.serve import bind
    from chainrule.train.compiled import loop
    from chainrule.web.server import create_app

    loop.warm_up()
    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    seconds = parser.parse_args().seconds
    from playwright.sync_api import sync_playwright

    url = serve()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(link(url, spirals_network()))
        page.wait_for_selector('[data-node="out"]')
        page.get_by_role("button", name="Run").click()
        while page.evaluate("app.losses.length") < 2:  # the first epochs are in: the stream runs
            page.wait_for_timeout(20)
        start, first = time.monotonic(), page.evaluate("app.losses.length")
        page.wait_for_timeout(seconds * 1000)
        epochs, elapsed = page.evaluate("app.losses.length") - first, time.monotonic() - start
        page.get_by_role("button", name="Pause").click()
        browser.close()
    print(
        f"2-6-5-1 spirals, 100 points, batch 10: {epochs / elapsed:,.0f} epochs/s in the page ({epochs} in {elapsed:.1f} s)"
    )


if __name__ == "__main__":
    main()
