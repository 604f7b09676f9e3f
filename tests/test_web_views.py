"""The page's matrix switch and graph view (/api/views): every number sent is the record's."""

from __future__ import annotations

import copy
import html
import re
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from chainrule.io import netfile
from chainrule.record.opgraph import op_graph
from chainrule.record.step import StepRecord, explain_step
from chainrule.views.matrices import SHOWN
from chainrule.views.opgraph_svg import MAX_OPERATIONS
from chainrule.web.matrixform import MAX_LINES
from helpers import CASES, odd_document, random_document

ENTRY = re.compile(r'data-name="([^"]*)" data-exact="([^"]*)" data-entry="\((\d+), (\d+)\)"')


def views(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/views", json={"network": doc})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def record_of(doc: dict[str, Any]) -> StepRecord:
    return explain_step(netfile.from_dict(copy.deepcopy(doc)), 0)


def entries(answer: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """Every named matrix entry the matrix form sends: (names, exact values, row, column)."""
    found = []
    for line in answer["matrix"]["lines"]:
        for names, exact, r, c in ENTRY.findall(line.get("mathml", "")):
            found.append((html.unescape(names), html.unescape(exact), int(r), int(c)))
    return found


def named_values(names: str, exact: str) -> list[tuple[str, float]]:
    """An entry's names and values: "a or b" with one value (equal) or one value each."""
    each, values = names.split(" or "), [float(x) for x in exact.split(" or ")]
    return list(zip(each, values * len(each) if len(values) == 1 else values, strict=True))


def test_reference_matrix_names_dl_dw5_as_entry_1_1_of_the_gradient(client: TestClient) -> None:
    doc = client.get("/api/network").json()["network"]
    answer = views(client, doc)
    gradient = next(line for line in answer["matrix"]["lines"] if line.get("plain", "").startswith("∂L/∂W⁽²⁾ ="))
    named = [(n, float(x), int(r), int(c)) for n, x, r, c in ENTRY.findall(gradient["mathml"]) if n.startswith("dL/dw")]
    assert named == [("dL/dw5", 0.08216704056423078, 1, 1), ("dL/dw6", 0.08266762784753326, 1, 2)]
    assert "[0.0822, 0.0827]" in gradient["plain"]  # read out for a screen reader too


def test_reference_graph_b1_gets_two_contributions_that_add_to_its_gradient(client: TestClient) -> None:
    doc = client.get("/api/network").json()["network"]
    graph = views(client, doc)["circuit"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    into_sums = [e for e in graph["edges"] if e["src"] == "b1"]
    assert [e["dst"] for e in into_sums] == ["z_h1", "z_h2"]
    assert [float(e["local"]["exact"]) for e in into_sums] == [1.0, 1.0]
    products = [float(e["product"]["exact"]) for e in into_sums]
    assert products == pytest.approx([0.013367920422887463, 0.014996075488896856], abs=1e-12)
    assert float(nodes["b1"]["grad"]["exact"]) == pytest.approx(sum(products), abs=1e-15)
    assert round(float(nodes["b1"]["grad"]["exact"]), 6) == 0.028364
    # the backward walk starts at the loss and reaches b1 after both sums it feeds
    order = graph["order"]
    assert order[0] == "loss" and order.index("b1") > max(order.index("z_h1"), order.index("z_h2"))


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_matrix_entries_are_the_records_values(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    loss, output = CASES[seed * 5 % len(CASES)]
    doc = random_document(rng, loss, output)
    record = record_of(doc)
    found = entries(views(client, doc))
    assert found, "no named entry"
    for names, exact, _, _ in found:
        for name, value in named_values(names, exact):
            assert value == pytest.approx(record.values[name], abs=1e-12, rel=1e-12), name
    alphas = {la.alpha_name for la in record.layers}  # a learnable α is one number, not a matrix entry
    params = {u.param for u in record.updates} - alphas
    shown = {n for names, _, _, _ in found for n in names.split(" or ")}
    assert {f"dL/d{p}" for p in params} <= shown  # every parameter's gradient can be hovered


@pytest.mark.parametrize("seed", range(8))
def test_random_networks_graph_sums_contributions_into_each_gradient(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    loss, output = CASES[seed * 7 % len(CASES)]
    doc = random_document(rng, loss, output)
    doc["examples"] = doc["examples"][:1]  # one example: a graph small enough to step
    doc["layers"] = doc["layers"][-2:]
    record = record_of(doc)
    graph = views(client, doc)["circuit"]
    assert op_graph(record).operations <= MAX_OPERATIONS and not graph["note"]
    nodes = {n["id"]: n for n in graph["nodes"]}
    for node_id in graph["order"][1:]:
        arriving = [float(e["product"]["exact"]) for e in graph["edges"] if e["src"] == node_id and e["product"]]
        assert float(nodes[node_id]["grad"]["exact"]) == pytest.approx(sum(arriving), abs=1e-12), node_id
    for u in record.updates:
        assert float(nodes[u.param]["grad"]["exact"]) == pytest.approx(record.values[f"dL/d{u.param}"], abs=1e-12)
    for e in graph["edges"]:  # each product is the local derivative times the gradient it came from
        if e["product"]:
            want = float(e["local"]["exact"]) * float(nodes[e["dst"]]["grad"]["exact"])
            assert float(e["product"]["exact"]) == want


def test_a_large_network_is_answered_in_bounded_size(client: TestClient) -> None:
    doc = client.get("/api/network").json()["network"]
    doc = copy.deepcopy(doc)
    rng = np.random.default_rng(7)
    doc["layers"] = [
        {"units": 12, "activation": "tanh", "weights": rng.normal(0, 0.3, (12, 2)).tolist(), "bias": 0.1},
        {"units": 12, "activation": "tanh", "weights": rng.normal(0, 0.3, (12, 12)).tolist(), "bias": 0.1},
        {"units": 1, "activation": "sigmoid", "weights": rng.normal(0, 0.3, (1, 12)).tolist(), "bias": 0.1},
    ]
    answer = views(client, doc)
    assert answer["circuit"]["nodes"] == [] and "operations: too many" in answer["circuit"]["note"]
    assert len(answer["matrix"]["lines"]) <= MAX_LINES
    tables = [t for line in answer["matrix"]["lines"] for t in line.get("mathml", "").split("<mtable>")[1:]]
    assert max(t.split("</mtable>")[0].count("<mtr>") for t in tables) == SHOWN + 1  # first rows, dots, last
    assert len(str(answer)) < 400_000


@pytest.mark.parametrize("seed", range(3))
def test_hostile_names_reach_the_page_escaped_and_intact(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(500 + seed)
    loss, output = CASES[seed * 3 % len(CASES)]
    doc = odd_document(rng, loss, output)
    record = record_of(doc)
    answer = views(client, doc)
    for line in answer["matrix"]["lines"]:
        assert "<b>" not in line.get("mathml", ""), "a name went into the markup unescaped"
    found = entries(answer)
    for names, exact, _, _ in found:
        for name, value in named_values(names, exact):
            assert value == pytest.approx(record.values[name], abs=1e-12, rel=1e-12), name
    params = {u.param for u in record.updates} - {la.alpha_name for la in record.layers}
    assert {f"dL/d{p}" for p in params} <= {n for names, _, _, _ in found for n in names.split(" or ")}
    labels = {n["label"] for n in answer["circuit"]["nodes"]}
    assert not answer["circuit"]["nodes"] or params <= labels
