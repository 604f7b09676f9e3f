"""Training streamed to the page, and the stepper written out one step at a time.

The stream's losses and final network are web.training.train's (the command line's trainer) to
the last bit, chunked however the stream chunks them; every event carries the page's version.
The step the page asks for is the same step the whole list has, on random networks, and a full
batch of many examples reaches its loss, gradients and update.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from chainrule.io import netfile
from chainrule.record.step import explain_step
from chainrule.web import stream
from chainrule.web.steps import step_at, step_count, steps
from chainrule.web.training import Regime, start_losses, train
from helpers import CASES, post, random_document


def events(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    with client.stream("POST", "/api/train/stream", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    chunks = [c for c in text.split("\n\n") if c]
    assert all(c.startswith("data: ") for c in chunks)
    return [json.loads(c.removeprefix("data: ")) for c in chunks]


def xor_doc() -> dict[str, Any]:
    return netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))


@pytest.mark.parametrize("test_fraction", [0.0, 0.5])
def test_the_stream_is_the_trainers_training_bit_for_bit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, test_fraction: float
) -> None:
    monkeypatch.setattr(stream, "EVENT_SECONDS", 1e-6)  # many small chunks: each must chain exactly
    doc = xor_doc()
    got = events(client, {"network": doc, "epochs": 40, "version": 7, "test_fraction": test_fraction})
    kinds = [e["kind"] for e in got]
    assert kinds[0] == "start" and kinds[-1] == "end" and set(kinds[1:-1]) == {"epochs"} and len(kinds) > 3
    assert all(e["version"] == 7 for e in got)
    net, regime = netfile.from_dict(doc), Regime(test_fraction)
    first, first_test = start_losses(net, regime)
    assert got[0]["loss"] == first and got[0]["test_loss"] == first_test
    after, losses, tested = train(net, 40, regime=regime)
    assert [v for e in got[1:-1] for v in e["losses"]] == losses
    assert [v for e in got[1:-1] for v in e["test_losses"]] == tested
    assert got[-2]["network"]["layers"] == netfile.to_dict(after)["layers"]  # every parameter, bit for bit
    assert got[-1]["epochs"] == 40
    assert got[-2]["boundary"]["values"]  # the picture follows the training


def test_a_diverging_stream_says_so_in_one_line(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][1]["activation"] = "identity"
    doc["loss"] = "squared_error"
    doc["training"]["learning_rate"] = 1e6
    got = events(client, {"network": doc, "epochs": 100})
    assert got[-1]["kind"] == "error"
    assert got[-1]["detail"].startswith("training diverged")


def test_a_bad_stream_request_is_refused_before_it_starts(client: TestClient) -> None:
    response = client.post("/api/train/stream", json={"network": {"inputs": 2, "layers": []}})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("network: layers: expected at least 1 items")


def test_the_page_asks_for_one_step_and_gets_it_with_its_version(client: TestClient) -> None:
    doc = netfile.to_dict(netfile.load())
    answer = post(client, "/api/step", {"network": doc, "at": 5, "version": 42})
    assert "steps" not in answer and answer["at"] == 5 and answer["version"] == 42
    assert answer["step"]["title"] == "Backward: ∂L/∂w5" and answer["step"]["edges"] == ["w5"]
    assert answer["step"]["lines"][-1]["plain"] == "∂L/∂w5 = 0.7414 · 0.1868 · 0.5933 ≈ 0.0822"
    assert post(client, "/api/step", {"network": doc, "at": 0})["step"] is None
    refused = post(client, "/api/step", {"network": doc, "at": 14}, status=422)
    assert refused["detail"] == "at: expected 0 to 13 (the steps of this update), got 14"


@pytest.mark.parametrize(("loss", "output"), CASES)
def test_each_step_alone_is_the_step_of_the_whole_list(loss: str, output: str) -> None:
    rng = np.random.default_rng(hash((loss, output)) % 2**32)
    for _ in range(3):
        record = explain_step(netfile.from_dict(random_document(rng, loss, output)))
        every = steps(record)
        assert len(every) == step_count(record)
        k = int(rng.integers(1, len(every) + 1))
        assert step_at(record, k) == every[k - 1]


def test_a_full_batch_of_many_examples_reaches_its_update(client: TestClient) -> None:
    doc = netfile.to_dict(netfile.load())
    rng = np.random.default_rng(3)
    doc["examples"] = [{"x": rng.uniform(-1, 1, 2).tolist(), "y": [float(rng.integers(0, 2))]} for _ in range(100)]
    doc["training"]["batch"] = "full"
    count = post(client, "/api/step", {"network": doc, "at": 0})["step_count"]
    assert count == 100 * 3 + 1 + 9 + 1  # every example's forward pass, the loss, 9 gradients, the update
    last = post(client, "/api/step", {"network": doc, "at": count})
    assert last["step"]["title"] == "Update: every parameter takes one step down its gradient"
    assert any("w5_new" in line.get("plain", "") for line in last["step"]["lines"])
    loss = post(client, "/api/step", {"network": doc, "at": 301})["step"]
    assert loss["phase"] == "loss"
