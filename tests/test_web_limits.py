"""What a request may cost, and how the server says no: each fault found by hand, as a test.

Bounded strings and sizes, numbers JSON allows but Python cannot hold, lone surrogates, security
headers on every answer, no CDN, the Host check; the workers' limits; chunked training exact.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import threading
import time
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from chainrule.io import netfile
from chainrule.train.trainer import TrainConfig, fit
from chainrule.web import limits, training
from chainrule.web.server import create_app
from chainrule.web.workers import Busy, Job, Stopped, Workers
from helpers import CASES, random_document


@pytest.fixture
def doc() -> dict[str, Any]:
    return netfile.to_dict(netfile.load())


def refused(client: TestClient, path: str, body: Any = None, raw: bytes | None = None, status: int = 422) -> str:
    """The one-line detail of a refused request, after checking it was refused with `status`."""
    content = raw if raw is not None else json.dumps(body).encode()
    response = client.post(path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text[:300]
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(detail) < 400
    return detail


@pytest.mark.parametrize("path", ["/api/step", "/api/export", "/api/train", "/api/edit"])
@pytest.mark.parametrize("length", [10_000, 1_000_000])
def test_a_long_name_is_refused_at_once(client: TestClient, doc: dict[str, Any], path: str, length: int) -> None:
    doc["layers"][0]["name"] = "h" * length
    started = time.monotonic()
    detail = refused(client, path, {"network": doc, "format": "html", "op": "add_neuron"})
    assert time.monotonic() - started < 2
    assert detail == f"network: layers[0].name: expected at most {limits.MAX_NAME} characters, got {length:,}"


@pytest.mark.parametrize(
    ("where", "value"),
    [("title", "T" * (limits.MAX_TITLE + 1)), ("inputs", ["x" * 65, "x2"]), ("bias_names", "b" * 65)],
)
def test_every_string_is_bounded(client: TestClient, doc: dict[str, Any], where: str, value: Any) -> None:
    if where == "bias_names":
        doc["layers"][0]["bias_names"] = value
    else:
        doc[where] = value
    assert "expected at most" in refused(client, "/api/step", {"network": doc})


def test_a_name_at_the_limit_is_served(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][0]["name"] = "h" * limits.MAX_NAME
    response = client.post("/api/export", json={"network": doc, "format": "html"})
    assert response.status_code == 200 and "h" * limits.MAX_NAME in response.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e400", "network: layers[1].weights[0][0]: expected a finite number, got inf"),
        ("-1e400", "network: layers[1].weights[0][0]: expected a finite number, got -inf"),
        ("1" + "0" * 400, "network: layers[1].weights[0][0]: expected a valid number, got 1000000"),
        ("9" * 5000, "body: expected JSON that Python can read (ValueError)"),
    ],
)
def test_numbers_json_allows_but_python_cannot_hold(
    client: TestClient, doc: dict[str, Any], text: str, expected: str
) -> None:
    raw = json.dumps({"network": doc}).replace("0.4,", text + ",", 1)
    assert refused(client, "/api/step", raw=raw.encode()).startswith(expected)


@pytest.mark.parametrize("path", ["/api/step", "/api/edit", "/api/export"])
def test_a_lone_surrogate_is_a_clear_refusal(client: TestClient, doc: dict[str, Any], path: str) -> None:
    raw = json.dumps({"network": doc, "op": "loss", "name": "mse"}).replace('"h"', '"h\\ud800"', 1)
    assert "\\ud800" in raw
    detail = refused(client, path, raw=raw.encode())
    assert detail.startswith("network: layers[0].name: expected a valid string")
    detail = refused(client, "/api/edit", raw=json.dumps({"network": doc, "op": "loss", "name": "\ud800"}).encode())
    assert detail.startswith("name: expected a valid string")


def test_invalid_utf8_and_deep_nesting_are_refused(client: TestClient) -> None:
    assert refused(client, "/api/step", raw=b'{"network": "\xff"}').startswith("body: expected JSON")
    assert refused(client, "/api/step", raw=b"[" * 100_000 + b"]" * 100_000).startswith("body: expected JSON")


def test_a_data_set_on_layers_without_weights(client: TestClient) -> None:
    doc = {
        "inputs": 3,
        "layers": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "sigmoid"}],
        "examples": [{"x": [0.1, 0.2, 0.3], "y": [0.0, 1.0]}],
    }
    response = client.post("/api/dataset", json={"network": doc, "name": "circle"})
    assert response.status_code == 200, response.text
    network = response.json()["network"]
    assert network["inputs"] == ["x1", "x2"] and len(network["examples"]) == 100
    assert [len(layer["weights"]) for layer in network["layers"]] == [4, 1]
    added = client.post("/api/edit", json={"network": doc, "op": "add_neuron", "layer": 0})
    assert added.status_code == 200 and len(added.json()["network"]["layers"][0]["weights"]) == 5


def test_unknown_keys_are_named(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][0]["activaton"] = "relu"
    assert refused(client, "/api/step", {"network": doc}) == (
        "network: layers[0].activaton: expected a known key, got an unknown key"
    )


def csp_of(response: Any) -> str:
    assert response.headers["x-content-type-options"] == "nosniff"
    policy: str = response.headers["content-security-policy"]
    return policy


def test_every_answer_carries_the_security_headers(client: TestClient, doc: dict[str, Any]) -> None:
    answers = [
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/api/network"),
        client.get("/openapi.json"),
        client.get("/nowhere"),
        client.post("/api/step", json={"network": {}}),
        client.post("/api/step", content=b" " * (limits.MAX_BODY + 1), headers={"Content-Type": "application/json"}),
        TestClient(client.app).get("/api/network"),  # Host: testserver, refused
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 404, 422, 413, 400]
    for answer in answers:
        policy = csp_of(answer)
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "http" not in policy


def test_the_page_keeps_to_its_policy(client: TestClient) -> None:
    """No inline script, style or handler that a 'self'-only policy would block."""
    page = client.get("/").text
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page and " style=" not in page
    assert re.findall(r"\son[a-z]+\s*=", page) == []
    for name in ("app.js", "diagram.js"):
        script = client.get(f"/static/{name}").text
        assert 'setAttribute("style"' not in script and "eval(" not in script and "new Function" not in script


def test_no_api_docs_from_a_cdn(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(path)
        assert re.findall(r"https?://", response.text) == [] or response.status_code == 404
    schema = client.get("/openapi.json").json()
    layer = schema["components"]["schemas"]["Layer"]
    assert layer["properties"]["name"]["anyOf"][0]["maxLength"] == limits.MAX_NAME
    assert schema["components"]["schemas"]["NetworkDocument"]["additionalProperties"] is False
    body = schema["paths"]["/api/train"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TrainRequest"}


def test_the_host_check_accepts_the_name_given() -> None:
    app = create_app(hosts=["lab.local"])
    assert TestClient(app, base_url="http://lab.local:8000").get("/api/network").status_code == 200
    assert TestClient(app, base_url="http://LAB.LOCAL").get("/api/network").status_code == 200
    assert TestClient(app, base_url="http://[::1]:8000").get("/api/network").status_code == 200
    refused = TestClient(app, base_url="http://lab.local.evil.example").get("/api/network")
    assert refused.status_code == 400 and refused.json()["detail"].startswith("Host: expected one of ")


# -- the workers ----------------------------------------------------------------------------------


def idle(pool: Workers) -> bool:
    """Whether every worker is free within 10 s (a stopped thread ends at its next check, within
    milliseconds; the margin is for a loaded machine)."""
    for _ in range(1000):
        if pool.busy == 0:
            return True
        time.sleep(0.01)
    return False


async def never_gone() -> bool:
    return False


def test_a_full_pool_answers_busy_and_a_slow_job_is_stopped() -> None:
    pool = Workers(size=1, queue_seconds=0.2, time_limit=0.5)
    release = threading.Event()
    checks: list[float] = []

    def slow(job: Job) -> str:
        while not release.wait(0.01):
            checks.append(time.monotonic())
            job.check()
        return "done"

    async def scenario() -> tuple[BaseException | str, BaseException | str]:
        first = asyncio.create_task(pool.run(never_gone, slow))
        await asyncio.sleep(0.05)
        second = await asyncio.gather(pool.run(never_gone, lambda job: "quick"), return_exceptions=True)
        outcome = await asyncio.gather(first, return_exceptions=True)
        return second[0], outcome[0]

    started = time.monotonic()
    second, first = asyncio.run(scenario())
    assert isinstance(second, Busy) and "server busy" in str(second)
    assert isinstance(first, Stopped) and "took over 0.5 s" in str(first)
    answered = time.monotonic() - started
    assert 0.5 <= answered < 5.0  # the limit, and at most ten times it on a loaded machine
    assert idle(pool) and checks[-1] - started < answered + 0.5  # the thread stopped at its next check


def test_a_job_whose_client_left_is_stopped() -> None:
    pool = Workers(size=2, queue_seconds=1, time_limit=60)
    stopped_at: list[float] = []

    def forever(job: Job) -> None:
        try:
            while True:
                job.check()
                time.sleep(0.01)
        finally:
            stopped_at.append(time.monotonic())

    left = time.monotonic() + 0.2

    async def gone() -> bool:
        return time.monotonic() > left

    with pytest.raises(Stopped, match="the client left"):
        asyncio.run(pool.run(gone, forever))
    assert idle(pool) and stopped_at and stopped_at[0] - left < 1.0


def test_training_stops_between_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "CHUNK_WORK", 1)  # one epoch a chunk
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise Stopped("stop")

    with pytest.raises(Stopped):
        training.train(netfile.load(), 1000, check)
    assert len(calls) == 4


@pytest.mark.parametrize("chunk", [1, 7, 10**9])
def test_chunked_training_is_one_run(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Chunks of epochs chain to exactly the epochs of one uninterrupted fit, on random networks."""
    rng = np.random.default_rng(chunk)
    for loss, output in CASES:
        net = netfile.from_dict(random_document(rng, loss, output))
        monkeypatch.setattr(training, "CHUNK_WORK", chunk * net.x.shape[0] * net.parameter_count())
        trained, losses, _ = training.train(copy.deepcopy(net), 9)
        whole = fit(
            net, config=TrainConfig(epochs=9, shuffle=False, evaluate_every=1)
        )  # as the page: each epoch evaluated
        assert losses == pytest.approx([r.loss for r in whole.history], abs=1e-12, rel=0)
        expected = whole.network.parameters()
        for name, value in trained.parameters().items():
            assert value == pytest.approx(expected[name], abs=1e-12, rel=0), (loss, output, name)


def test_a_full_pool_is_a_503_over_http(doc: dict[str, Any]) -> None:
    pool = Workers(size=1, queue_seconds=0.1, time_limit=30)
    client = TestClient(create_app(workers=pool), base_url="http://127.0.0.1")
    release, taken = threading.Event(), threading.Event()

    def hold(job: Job) -> None:
        taken.set()
        release.wait(10)

    holder = threading.Thread(target=lambda: asyncio.run(pool.run(never_gone, hold)))
    holder.start()
    assert taken.wait(5)
    try:
        response = client.post("/api/step", json={"network": doc})
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.json()["detail"] == "server busy: every worker (1) is taken; try again in a moment"
    finally:
        release.set()
        holder.join(5)
    assert client.post("/api/step", json={"network": doc}).status_code == 200


def test_a_request_over_its_time_is_a_503(client: TestClient, doc: dict[str, Any]) -> None:
    spirals = client.post("/api/dataset", json={"network": doc, "name": "spirals", "n": 1000}).json()["network"]
    hurried = TestClient(create_app(workers=Workers(2, 1.0, 0.001)), base_url="http://127.0.0.1")
    # No clock here: the whole request takes well under a second, too close to time on a loaded machine.
    # That the job stops at its next look at the clock is test_a_full_pool_answers_busy_and_a_slow_job_is_stopped's and
    # test_training_stops_between_chunks's.
    response = hurried.post("/api/train", json={"network": spirals, "epochs": 1000})
    assert response.status_code == 503
    assert response.json()["detail"] == "request: took over 0.001 s, the limit for one request; ask for less"


def test_a_text_export_leaves_no_file_open(client: TestClient, doc: dict[str, Any]) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        assert client.post("/api/export", json={"network": doc, "format": "text"}).status_code == 200
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def test_time_off_the_clock_does_not_count() -> None:
    """The first training waits for the compiled loop: that wait is not held against the request."""
    pool = Workers(size=1, queue_seconds=0.1, time_limit=0.3)

    def compiled_first(job: Job) -> str:
        with job.off_the_clock():
            time.sleep(0.6)
        time.sleep(0.1)
        return "trained"

    assert asyncio.run(pool.run(never_gone, compiled_first)) == "trained"
