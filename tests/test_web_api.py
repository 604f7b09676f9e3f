"""The web API behind `chainrule serve`: every endpoint, the reference numbers, and bad bodies."""

from __future__ import annotations

import copy
import math
import re
import tomllib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainrule.io import netfile
from chainrule.record.step import explain_steps
from chainrule.web import limits
from chainrule.web.steps import MAX_STEPS
from conftest import EXAMPLES
from helpers import post


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_network_is_the_reference_example(doc: dict[str, Any]) -> None:
    assert doc["layers"][1]["weights"] == [[0.40, 0.45]]
    assert doc["examples"] == [{"x": [0.05, 0.10], "y": [0.01]}]


def test_choices_list_activations_losses_datasets(client: TestClient) -> None:
    choices = client.get("/api/choices").json()
    assert "sigmoid" in choices["activations"] and "cross_entropy" in choices["losses"]
    assert choices["datasets"] == ["xor", "circle", "gaussians", "spirals", "moons"]
    assert choices["limits"]["parameters"] == 10_000


def test_step_gives_the_reference_numbers(client: TestClient, doc: dict[str, Any]) -> None:
    answer = post(client, "/api/step", {"network": doc, "full_record": True})
    shown = answer["shown"]
    published = {"a_h1": "0.5933", "a_h2": "0.5969", "a_out": "0.7514", "loss": "0.2748", "dL/dw5": "0.0822"}
    assert {k: shown[k] for k in published} == published
    # exact values at full precision, against an independent recomputation
    a_h1 = sigmoid(0.05 * 0.15 + 0.10 * 0.20 + 0.35)
    a_h2 = sigmoid(0.05 * 0.25 + 0.10 * 0.30 + 0.35)
    a_out = sigmoid(a_h1 * 0.40 + a_h2 * 0.45 + 0.60)
    assert float(answer["exact"]["a_out"]) == pytest.approx(a_out, abs=1e-15)
    assert float(answer["exact"]["dL/dw5"]) == pytest.approx((a_out - 0.01) * a_out * (1 - a_out) * a_h1, abs=1e-15)
    assert answer["record"]["values"]["loss"] == pytest.approx(0.5 * (0.01 - a_out) ** 2, abs=1e-15)
    assert answer["parameters"] == 8 and answer["updates_per_epoch"] == 1


def test_steps_go_neuron_by_neuron_then_loss_gradients_update(client: TestClient, doc: dict[str, Any]) -> None:
    steps = post(client, "/api/step", {"network": doc})["steps"]
    titles = [s["title"] for s in steps]
    assert titles[:4] == ["Forward: neuron h1", "Forward: neuron h2", "Forward: neuron out", "Loss: half_squared_error"]
    assert titles[4] == "Backward: ∂L/∂w5" and titles[-1].startswith("Update")
    assert len(steps) == 3 + 1 + 8 + 1
    w5 = steps[4]
    assert w5["edges"] == ["w5"] and set(w5["neurons"]) == {"out", "h1"}
    last = w5["lines"][-1]
    assert last["plain"] == "∂L/∂w5 = 0.7414 · 0.1868 · 0.5933 ≈ 0.0822"
    assert "<mfrac>" in last["mathml"] and "<mn>0.0822</mn>" in last["mathml"]
    b1 = steps[titles.index("Backward: ∂L/∂b1")]
    vias = [line.get("plain", "") for line in b1["lines"]]
    assert any("(via h1)" in v for v in vias) and any("(via h2)" in v for v in vias)  # the shared bias: both paths
    assert b1["lines"][-1]["plain"] == "∂L/∂b1 = 0.0134 + 0.0150 ≈ 0.0284"
    update = [line.get("plain") for line in steps[-1]["lines"]]
    assert "w5_new = 0.4 − 0.5 · 0.082167 = 0.4 − 0.041084 ≈ 0.358916" in update  # one precision for updates


def test_the_page_gets_one_examples_values_and_a_script_can_ask_for_all(client: TestClient) -> None:
    doc = netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))
    page = post(client, "/api/step", {"network": doc})
    assert "values" not in page["record"] and "chains" not in page["record"]
    assert "a_out#1" in page["exact"] and "a_out#2" not in page["exact"]
    full = post(client, "/api/step", {"network": doc, "full_record": True})
    assert full["record"]["chains"]["w1"] and "a_out#4" in full["exact"]
    assert float(full["exact"]["a_out#4"]) == full["record"]["values"]["a_out#4"]


def test_a_large_network_is_answered_in_bounded_size(client: TestClient) -> None:
    wide = {"units": 90, "activation": "relu"}
    doc = {
        "inputs": 2,
        "loss": "binary_cross_entropy",
        "layers": [wide, wide, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [0.01 * i, 0.2], "y": [i % 2]} for i in range(100)],
        "training": {"batch": "full"},
    }
    response = client.post("/api/step", json={"network": doc})
    assert response.status_code == 200
    answer = response.json()
    assert answer["parameters"] == 2 * 90 + 90 * 90 + 90  # no biases
    assert answer["notice"].startswith("Update 1 has 100 examples × 8,370 parameters: too many chains")
    assert answer["record"]["step"]["examples"] == [1]  # explained alone
    assert len(answer["steps"]) == MAX_STEPS and answer["step_count"] == 181 + 1 + 1 + 8370 + 1
    assert answer["steps"][-1]["title"] == f"… and {answer['step_count'] - MAX_STEPS + 1} more steps"
    assert len(response.content) < 5_000_000


def test_graph_names_every_edge_and_bias(client: TestClient, doc: dict[str, Any]) -> None:
    graph = post(client, "/api/step", {"network": doc})["graph"]
    assert [layer["neurons"] for layer in graph["layers"]] == [["x1", "x2"], ["h1", "h2"], ["out"]]
    assert {"weight": "w5", "from": "h1", "to": "out"} in graph["edges"]
    assert graph["biases"] == {"h1": "b1", "h2": "b1", "out": "b2"}


def test_an_edited_weight_changes_everything_downstream(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][1]["weights"][0][0] = 0.1
    answer = post(client, "/api/step", {"network": doc})
    a_h1 = sigmoid(0.05 * 0.15 + 0.10 * 0.20 + 0.35)
    a_h2 = sigmoid(0.05 * 0.25 + 0.10 * 0.30 + 0.35)
    a_out = sigmoid(a_h1 * 0.1 + a_h2 * 0.45 + 0.60)
    assert float(answer["exact"]["a_out"]) == pytest.approx(a_out, abs=1e-15)
    assert answer["shown"]["a_h1"] == "0.5933"  # upstream of w5: unchanged


def test_train_one_epoch_is_the_explained_update(client: TestClient, doc: dict[str, Any]) -> None:
    step = post(client, "/api/step", {"network": doc, "full_record": True})
    answer = post(client, "/api/train", {"network": doc, "epochs": 1})
    # train.py may take its compiled path, which agrees with the engine to 1e-12
    assert answer["network"]["layers"][1]["weights"][0][0] == pytest.approx(
        step["record"]["values"]["w5_new"], abs=1e-12
    )
    assert answer["shown"]["w5"] == "0.3589"
    assert len(answer["losses"]) == 1 and answer["losses"][0] < step["record"]["values"]["loss"]
    assert answer["losses"][0] == pytest.approx(answer["data_loss"], abs=1e-12)
    three = post(client, "/api/train", {"network": doc, "epochs": 3})["losses"]
    assert three[0] == answer["losses"][0] and three[0] > three[1] > three[2]


def test_xor_trains_until_the_boundary_separates_the_points(client: TestClient) -> None:
    doc = netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))
    answer = post(client, "/api/train", {"network": doc, "epochs": 1000})
    answer = post(client, "/api/train", {"network": answer["network"], "epochs": 1000, "full_record": True})
    b = answer["boundary"]
    assert b["size"] == 41 and b["threshold"] == 0.5
    outputs = [answer["record"]["values"][f"a_out#{k}"] for k in range(1, 5)]
    assert [o > 0.5 for o in outputs] == [False, True, True, False]
    assert [p[2] for p in b["points"]] == [0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize("name", ["xor", "circle", "gaussians", "spirals", "moons"])
def test_datasets_are_seeded_two_dimensional_and_get_a_boundary(
    client: TestClient, doc: dict[str, Any], name: str
) -> None:
    body = {"network": doc, "name": name, "n": 60, "seed": 3}
    first, again = post(client, "/api/dataset", body), post(client, "/api/dataset", body)
    assert first["network"]["examples"] == again["network"]["examples"]
    examples = first["network"]["examples"]
    assert len(examples) == 60 and {len(e["x"]) for e in examples} == {2}
    assert {e["y"][0] for e in examples} == {0.0, 1.0}
    assert first["boundary"]["size"] == 41 and len(first["boundary"]["values"]) == 41
    assert first["network"]["training"]["batch"] == 10 and first["updates_per_epoch"] == 6
    other = post(client, "/api/dataset", {**body, "seed": 4})
    assert other["network"]["examples"] != examples


def test_edits_add_and_remove_neurons_and_layers(client: TestClient, doc: dict[str, Any]) -> None:
    more = post(client, "/api/edit", {"network": doc, "op": "add_neuron", "layer": 0})
    assert more["graph"]["layers"][1]["neurons"] == ["h1", "h2", "h3"]
    assert more["network"]["layers"][0]["weights"][:2] == [[0.15, 0.20], [0.25, 0.30]]  # kept
    assert more["network"]["layers"][1]["weights"][0][:2] == [0.40, 0.45]
    fewer = post(client, "/api/edit", {"network": doc, "op": "remove_neuron", "layer": 0})
    assert fewer["graph"]["layers"][1]["neurons"] == ["h"] and fewer["parameters"] == 3 + 2
    deeper = post(client, "/api/edit", {"network": doc, "op": "add_layer", "layer": 1})
    assert [la["name"] for la in deeper["graph"]["layers"]] == ["inputs", "h", "g", "out"]
    assert deeper["graph"]["layers"][2]["neurons"] == ["g1", "g2"]
    shallower = post(client, "/api/edit", {"network": doc, "op": "remove_layer", "layer": 0})
    assert [la["name"] for la in shallower["graph"]["layers"]] == ["inputs", "out"]


def test_edits_choose_activations_and_the_loss(client: TestClient, doc: dict[str, Any]) -> None:
    relu = post(client, "/api/edit", {"network": doc, "op": "activation", "layer": 0, "name": "relu"})
    assert relu["record"]["network"]["layers"][0]["activation"] == "relu"
    ce = post(client, "/api/edit", {"network": doc, "op": "loss", "name": "binary_cross_entropy"})
    assert ce["record"]["network"]["loss"] == "binary_cross_entropy"
    one_unit = post(client, "/api/edit", {"network": doc, "op": "loss", "name": "cross_entropy"}, status=422)
    assert "binary_cross_entropy" in one_unit["detail"]  # a 1-unit softmax is always 1: refused, with the fix


def test_export_toml_reads_back_as_the_same_network(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][1]["weights"][0][0] = 0.123
    response = client.post("/api/export", json={"network": doc, "format": "toml"})
    assert response.status_code == 200
    assert 'filename="network.toml"' in response.headers["content-disposition"]
    again = netfile.from_dict(tomllib.loads(response.text))
    assert again.parameters()["w5"] == 0.123 and again.parameters()["b1"] == 0.35


def test_export_worked_example_as_html_and_markdown(client: TestClient, doc: dict[str, Any]) -> None:
    page = client.post("/api/export", json={"network": doc, "format": "html"})
    assert page.status_code == 200 and 'filename="worked-example.html"' in page.headers["content-disposition"]
    assert page.text.startswith("<!DOCTYPE html>") and "<math" in page.text and "0.0822" in page.text
    md = client.post("/api/export", json={"network": doc, "format": "markdown"})
    assert "worked-example.md" in md.headers["content-disposition"] and "0.0822" in md.text


def test_export_worked_example_as_text(client: TestClient, doc: dict[str, Any]) -> None:
    response = client.post("/api/export", json={"network": doc, "format": "text"})
    assert response.status_code == 200 and "worked-example.txt" in response.headers["content-disposition"]
    assert "∂L/∂w5 = 0.7414 · 0.1868 · 0.5933 ≈ 0.0822" in response.text
    as_json = client.post("/api/export", json={"network": doc, "format": "json"})
    assert as_json.json()["layers"][1]["weights"] == [[0.4, 0.45]]


def test_page_and_static_files_need_nothing_from_the_network(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<svg id="diagram"' in page.text
    for path in ("/", "/static/app.js", "/static/diagram.js", "/static/style.css"):
        text = client.get(path).text
        assert client.get(path).status_code == 200
        loads = re.findall(r"""(?:src|href|url|import|fetch)\s*[=(]\s*["']?(https?:)""", text)
        assert loads == [], path  # no font, script, style or data fetched from elsewhere


def test_openapi_describes_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/network", "/api/choices", "/api/step", "/api/edit", "/api/dataset", "/api/train", "/api/export"):
        assert path in paths


# -- bad bodies: 4xx with one message, never a hang -----------------------------------------------


def error(client: TestClient, path: str, body: Any, raw: str | None = None) -> str:
    if raw is None:
        response = client.post(path, json=body)
    else:
        response = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    return detail


def test_missing_network_is_named(client: TestClient) -> None:
    assert "network" in error(client, "/api/step", {})


def test_not_json_at_all(client: TestClient) -> None:
    assert error(client, "/api/step", None, raw="{not json")


def test_nan_is_refused(client: TestClient, doc: dict[str, Any]) -> None:
    raw = '{"network": ' + str(doc).replace("'", '"').replace("0.4,", "NaN,", 1) + "}"
    assert "NaN" in raw
    message = error(client, "/api/step", None, raw=raw)
    assert message == "network: layers[1].weights[0][0]: expected a finite number, got nan"


def test_wrong_shapes_name_the_key(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][1]["weights"] = [[0.4, 0.45, 0.5]]
    message = error(client, "/api/step", {"network": doc})
    assert message.startswith("network: layers[1].weights[0]: expected 2 numbers, got ")
    doc = copy.deepcopy(doc)
    doc["layers"][1]["weights"] = [[0.4, 0.45]]
    doc["examples"][0]["x"] = [1.0]
    assert "examples[0].x" in error(client, "/api/step", {"network": doc})


def test_unknown_activation_and_out_of_range_example(client: TestClient, doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    bad["layers"][0]["activation"] = "sigmoidd"
    assert "layers[0].activation" in error(client, "/api/step", {"network": bad})
    assert (
        error(client, "/api/step", {"network": doc, "example": 2})
        == "example: expected 1 to 1 (the updates in one epoch), got 2"
    )
    assert "example" in error(client, "/api/step", {"network": doc, "example": 0})


@pytest.mark.parametrize(
    "change",
    [
        {"layers": [{"units": 1_000_000, "activation": "sigmoid"}, {"units": 1, "activation": "sigmoid"}]},
        {"inputs": 10**9},
        {"layers": [{"units": 1, "activation": "sigmoid"}] * 50},
    ],
)
def test_huge_networks_are_refused_before_they_are_built(
    client: TestClient, doc: dict[str, Any], change: dict[str, Any]
) -> None:
    message = error(client, "/api/step", {"network": {**doc, **change}})
    assert "at most" in message


def test_a_huge_body_is_refused_unread(client: TestClient) -> None:
    response = client.post(
        "/api/step", content=b"{" + b" " * limits.MAX_BODY + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["detail"] == f"request: at most 5,000,000 bytes, got {limits.MAX_BODY + 2:,}"


def test_too_many_epochs(client: TestClient, doc: dict[str, Any]) -> None:
    assert "epochs" in error(client, "/api/train", {"network": doc, "epochs": limits.MAX_EPOCHS + 1})
    big = post(client, "/api/dataset", {"network": doc, "name": "spirals", "n": 1000})["network"]
    big = post(client, "/api/edit", {"network": big, "op": "add_layer", "layer": 1})["network"]
    for _ in range(6):
        big = post(client, "/api/edit", {"network": big, "op": "add_neuron", "layer": 0})["network"]
    message = error(client, "/api/train", {"network": big, "epochs": 1000})
    assert message.startswith("epochs: at most ") and "got 1000" in message


def test_divergence_is_an_error_not_a_crash(client: TestClient, doc: dict[str, Any]) -> None:
    doc["layers"][1]["activation"] = "identity"
    doc["loss"] = "squared_error"
    doc["training"]["learning_rate"] = 1e6
    message = error(client, "/api/train", {"network": doc, "epochs": 100})
    assert "diverged" in message and "smaller learning rate" in message


def test_impossible_edits(client: TestClient, doc: dict[str, Any]) -> None:
    assert "output layer" in error(client, "/api/edit", {"network": doc, "op": "add_neuron", "layer": 1})
    assert "expected 0 to 1" in error(client, "/api/edit", {"network": doc, "op": "remove_layer", "layer": 5})
    one = post(client, "/api/edit", {"network": doc, "op": "remove_neuron", "layer": 0})["network"]
    assert "at least one neuron" in error(client, "/api/edit", {"network": one, "op": "remove_neuron", "layer": 0})
    assert "op" in error(client, "/api/edit", {"network": doc, "op": "explode"})
    assert "name" in error(client, "/api/dataset", {"network": doc, "name": "mnist"})


# -- the command ---------------------------------------------------------------------------------


def test_serve_is_a_command(runner: Any) -> None:
    from chainrule.cli.root import main

    result = runner.invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--open" in result.output
    assert "--host" in result.output


def test_serve_reports_a_bad_file_before_listening(runner: Any, tmp_path: Any) -> None:
    from chainrule.cli.root import main

    bad = tmp_path / "bad.toml"
    bad.write_text('inputs = ["x1"]\nloss = "nope"\n')
    result = runner.invoke(main, ["serve", str(bad)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"chainrule: {bad}: loss: expected one of ")


def test_an_unknown_host_is_one_clear_error() -> None:
    from chainrule.cli.serve import bind
    from chainrule.errors import ChainruleError

    with pytest.raises(ChainruleError, match=r"^--host no such host\.invalid: not an address or name"):
        bind(0, "no such host.invalid")
    sock = bind(0, "localhost")
    try:
        assert sock.getsockname()[0] in ("127.0.0.1", "::1")
    finally:
        sock.close()


def test_a_busy_port_is_one_clear_error() -> None:
    from chainrule.cli.serve import bind
    from chainrule.errors import ChainruleError

    first = bind(0)
    try:
        port = first.getsockname()[1]
        assert first.getsockname()[0] == "127.0.0.1"
        with pytest.raises(ChainruleError, match=f"--port {port}: cannot listen there"):
            bind(port)
    finally:
        first.close()


# -- notation -------------------------------------------------------------------------------------


def test_mathml_is_converted_from_the_blocks_latex() -> None:
    from chainrule.web.mathml import equation

    line = equation(r"\frac{\partial z_{\text{out}}}{\partial w_{5}}", r"= a_{h1} \approx 0.5933")
    assert line["plain"] == "∂z_out/∂w5 = a_h1 ≈ 0.5933"
    ml = line["mathml"]
    assert "<mfrac>" in ml and "<mn>0.5933</mn>" in ml and "<msub>" in ml
    new = equation(r"w_{5}^{\text{new}}", r"= 0.4 - 0.5 \cdot 0.0822")
    assert new["plain"] == "w5_new = 0.4 − 0.5 · 0.0822" and "<msubsup>" in new["mathml"]


def test_long_sums_are_shortened_on_the_page_only(client: TestClient) -> None:
    doc = {
        "inputs": 12,
        "layers": [{"units": 1, "activation": "sigmoid", "weights": [[0.1 * i for i in range(12)]]}],
        "examples": [{"x": [1.0] * 12, "y": [0.0]}],
    }
    steps = post(client, "/api/step", {"network": doc})["steps"]
    sums = [line["plain"] for line in steps[0]["lines"] if "mathml" in line]
    assert sums[0].startswith("z_out = x1·w1 + x2·w2 + x3·w3 + … + x12·w12")
    md = client.post("/api/export", json={"network": doc, "format": "markdown"}).text
    assert all(f"x_{{{i}}} \\, w_{{{i}}}" in md for i in range(1, 13))  # the document keeps every term


def test_update_k_is_the_update_training_makes_at_k(client: TestClient) -> None:
    """The page's "update 2 of 4" starts from what update 1 left, as `chainrule explain --example 2` does."""
    doc = tomllib.loads((EXAMPLES / "xor.toml").read_text())
    doc["training"]["batch"] = "online"
    answer = post(client, "/api/step", {"network": doc, "example": 2, "full_record": True})
    (expected,) = explain_steps(netfile.from_dict(doc), 1, 1)
    assert answer["exact"] == {name: repr(v) for name, v in expected.values.items()}
    assert answer["record"]["step"]["examples"] == [2]
