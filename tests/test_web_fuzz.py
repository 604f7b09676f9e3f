"""Schema-driven fuzzing: request bodies drawn from the API's own OpenAPI description, sent to
every endpoint; whatever the body, the answer is a success or a 4xx with one line, never a 500.

Each request model's schema (with the network document's Layer, Example, Training, ... it
refers to) becomes a strategy: objects, arrays, unions and $refs are walked here, every leaf
(strings, numbers, enums with their bounds) is drawn by hypothesis-jsonschema. (Its own object
strategy uses a Hypothesis internal that the installed Hypothesis no longer has.) The conftest
profile fixes the seed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from chainrule.io import netfile, netparts
from chainrule.web.server import create_app

APP = create_app()
CLIENT = TestClient(APP, base_url="http://127.0.0.1", raise_server_exceptions=True)
SCHEMA = APP.openapi()
POSTS = {path: op["post"] for path, op in SCHEMA["paths"].items() if "post" in op}
EXAMPLES_PER_ENDPOINT = 60


def strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid by `schema` (the subset pydantic writes), $refs resolved in the description."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return st.deferred(lambda: strategy(SCHEMA["components"]["schemas"][name]))
    if "anyOf" in schema and schema.get("type") == "object":  # keys of which one at least is required (Layer)
        base = {k: v for k, v in schema.items() if k != "anyOf"}
        need = base.get("required", [])
        return st.one_of([strategy({**base, "required": [*need, *option["required"]]}) for option in schema["anyOf"]])
    if "anyOf" in schema:
        return st.one_of([strategy(option) for option in schema["anyOf"]])
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: strategy(v) for k, v in properties.items() if k in required},
            optional={k: strategy(v) for k, v in properties.items() if k not in required},
        )
    if schema.get("type") == "array":
        most = min(schema.get("maxItems", 6), 6)  # the bounds themselves are tested by hand
        return st.lists(strategy(schema.get("items", {})), min_size=schema.get("minItems", 0), max_size=most)
    leaf = {k: v for k, v in schema.items() if k not in ("title", "description", "default")}
    return from_schema(leaf) if leaf else st.none()


def body_strategy(path: str) -> st.SearchStrategy[Any]:
    """Bodies valid by the schema of `path`'s request."""
    return strategy(POSTS[path]["requestBody"]["content"]["application/json"]["schema"])


def near_valid(path: str) -> st.SearchStrategy[Any]:
    """The reference network with some of its top-level keys (training, loss, title, ...) drawn
    and some of each layer's keys left out (weights, bias, name), and the request's other
    fields drawn: a drawn network mostly fails netfile's shape checks early, so this reaches the
    engine, the edits, the stepper and the exports too.
    """
    reference = netfile.to_dict(netfile.load())
    keys = st.sets(st.sampled_from(sorted(netfile.TOP_KEYS)), max_size=2)
    dropped = st.lists(st.sets(st.sampled_from(["weights", "bias", "name"])), min_size=2, max_size=2)

    def mixed(drawn: dict[str, Any], taken: set[str], left_out: list[set[str]]) -> dict[str, Any]:
        layers = [
            {k: v for k, v in layer.items() if k not in out}
            for layer, out in zip(reference["layers"], left_out, strict=True)
        ]
        network = {**reference, "layers": layers, **{k: v for k, v in drawn["network"].items() if k in taken}}
        if "layer" in drawn:  # an edit of a layer the reference has
            drawn["layer"] %= len(layers)
        return {**drawn, "network": network}

    return st.builds(mixed, body_strategy(path), keys, dropped)


SEEN: Counter[tuple[str, int]] = Counter()


def send(path: str, body: Any) -> None:
    if path == "/api/train/stream" and isinstance(body, dict):  # a stream trains for seconds unless told less
        body = {**body, "epochs": min(body.get("epochs", 3), 3)}
    response = CLIENT.post(path, json=body)
    SEEN[path, response.status_code] += 1
    assert response.status_code < 500 or response.status_code == 503, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail, detail


@pytest.mark.parametrize("path", sorted(POSTS))
def test_no_body_drawn_from_the_schema_is_a_server_error(path: str) -> None:
    @settings(max_examples=EXAMPLES_PER_ENDPOINT, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.one_of(body_strategy(path), near_valid(path)))
    def check(body: Any) -> None:
        send(path, body)

    check()


def test_every_request_model_is_described_fully() -> None:
    """No untyped object anywhere in the request schemas: a fuzzer can draw every part."""
    for name, schema in SCHEMA["components"]["schemas"].items():
        if schema.get("type") == "object" and name != "HTTPValidationError":
            for key, prop in schema.get("properties", {}).items():
                assert prop != {} and prop.get("additionalProperties") is not True, (name, key)
    assert set(SCHEMA["components"]["schemas"]["NetworkDocument"]["properties"]) == set(netfile.TOP_KEYS)
    assert set(SCHEMA["components"]["schemas"]["Layer"]["properties"]) == set(netparts.LAYER_KEYS)
    assert set(SCHEMA["components"]["schemas"]["Training"]["properties"]) == set(netparts.TRAINING_KEYS)


def test_the_fuzzing_reached_the_engine() -> None:
    """Runs after the fuzzing (file order): some drawn bodies were answered in full."""
    for path in POSTS:
        assert SEEN[path, 200] >= 2 and SEEN[path, 422] >= 2, SEEN
