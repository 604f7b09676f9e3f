"""The server's side of the playground page: valid choices, neuron heat maps, train/test split,
L1 and L2, weight initialisation, regression sets and pasted CSV data."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from chainrule.engine.functions import known
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.io.data import REGRESSION, regression
from chainrule.train.config import TrainConfig
from chainrule.train.trainer import fit
from chainrule.web import training
from chainrule.web.models import EditRequest
from chainrule.web.server import build, edited
from helpers import CASES, engine_epochs, post, random_document

EDIT_OPS = ("add_neuron", "remove_neuron", "add_layer", "remove_layer")


def accepted(doc: dict[str, Any], op: str, layer: int, name: str) -> bool:
    """Whether the server makes this edit (the engine builds the network it gives)."""
    try:
        build(edited(EditRequest.model_validate({"network": doc, "op": op, "layer": layer, "name": name})))
    except ChainruleError:
        return False
    return True


@pytest.mark.parametrize("seed", range(8))
def test_the_choices_offered_are_exactly_the_edits_the_server_accepts(client: TestClient, seed: int) -> None:
    rng = np.random.default_rng(seed)
    loss, out = CASES[seed * 5 % len(CASES)]
    doc = netfile.to_dict(build(random_document(rng, loss, out)))
    valid = post(client, "/api/step", {"network": doc})["valid"]
    assert valid["losses"] == [name for name in known("loss") if accepted(doc, "loss", 0, name)]
    for i in range(len(doc["layers"])):
        assert valid["activations"][i] == [a for a in known("activation") if accepted(doc, "activation", i, a)]


def test_the_reference_example_is_not_offered_cross_entropy_hinge_or_softmax(client: TestClient, doc: dict) -> None:
    valid = post(client, "/api/step", {"network": doc})["valid"]
    assert "cross_entropy" not in valid["losses"] and "hinge" not in valid["losses"]  # one output, y = 0.01
    assert "half_squared_error" in valid["losses"] and "binary_cross_entropy" in valid["losses"]
    assert all("softmax" not in acts and "sigmoid" in acts for acts in valid["activations"])


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def test_each_hidden_neurons_heat_map_is_its_activation_over_the_plane(client: TestClient, doc: dict) -> None:
    answer = post(client, "/api/dataset", {"network": doc, "name": "circle", "n": 40, "seed": 3})
    b, net = answer["boundary"], netfile.from_dict(answer["network"])
    assert [m["name"] for m in b["neurons"]] == ["h1", "h2"]
    (x0, x1), (y0, y1), size = b["x1"], b["x2"], training.NEURON_GRID
    w, bias = net.layers[0].weight, net.layers[0].bias[0]  # the reference's b1 is shared
    for j, m in enumerate(b["neurons"]):
        values = np.array(m["values"])
        assert values.shape == (size, size)
        for r, c in [(0, 0), (size - 1, 0), (7, 19), (size - 1, size - 1)]:  # row 0 is the top (largest x2)
            x = np.array([x0 + (x1 - x0) * c / (size - 1), y1 - (y1 - y0) * r / (size - 1)])
            assert values[r, c] == pytest.approx(float(sigmoid(w[j] @ x + bias)), abs=1e-12)
        assert (m["low"], m["high"]) == (values.min(), values.max())
    trained = post(client, "/api/train", {"network": answer["network"], "epochs": 5})
    assert trained["boundary"]["neurons"][0]["values"] != b["neurons"][0]["values"]  # they follow training


def test_heat_maps_are_bounded_in_number(client: TestClient, doc: dict) -> None:
    wide = post(client, "/api/dataset", {"network": doc, "name": "xor", "n": 8})["network"]
    wide["layers"][0]["weights"] = np.full((40, 2), 0.1).tolist()
    wide["layers"][0]["units"] = 40
    wide["layers"][1]["weights"] = [[0.1] * 40]
    maps = post(client, "/api/step", {"network": wide})["boundary"]["neurons"]
    assert len(maps) == training.MAX_NEURON_MAPS == 32
    assert [m["name"] for m in maps] == [f"h{i}" for i in range(1, 33)]


def mean_loss(net: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([net.batch_loss(net.forward(x[i : i + 1]), y[i : i + 1]) for i in range(len(x))]))


@pytest.mark.parametrize("fraction", [0.2, 0.5])
def test_a_test_set_is_held_out_and_both_losses_reported(client: TestClient, doc: dict, fraction: float) -> None:
    data = post(client, "/api/dataset", {"network": doc, "name": "moons", "n": 30, "seed": 1})["network"]
    answer = post(client, "/api/train", {"network": data, "epochs": 3, "test_fraction": fraction})
    net = build(data)
    fit_on, held = training.split(net, fraction)
    assert len(held) == round(30 * fraction) and sorted([*fit_on, *held]) == list(range(30))
    alone = copy.deepcopy(data)
    alone["examples"] = [data["examples"][i] for i in fit_on]
    losses, tested, trained = [], [], build(alone)
    for _ in range(3):  # the engine's own SGD, on the training examples only
        trained = engine_epochs(trained, 1)
        losses.append(mean_loss(trained, net.x[fit_on], net.y[fit_on]))
        tested.append(mean_loss(trained, net.x[held], net.y[held]))
    assert answer["losses"] == pytest.approx(losses, abs=1e-12)
    assert answer["test_losses"] == pytest.approx(tested, abs=1e-12)
    assert len(answer["test_losses_shown"]) == 3
    assert post(client, "/api/train", {"network": data, "epochs": 2})["test_losses"] == []


def torch_step(doc: dict[str, Any], l1: float, l2: float) -> list[float]:
    """One full-batch SGD step of the reference network with λ₁Σ|θ| + (λ₂/2)Σθ² added, by autograd."""
    ws = [torch.tensor(layer["weights"], dtype=torch.float64, requires_grad=True) for layer in doc["layers"]]
    bs = [torch.tensor(float(layer["bias"]), dtype=torch.float64, requires_grad=True) for layer in doc["layers"]]
    x = torch.tensor([e["x"] for e in doc["examples"]], dtype=torch.float64)
    y = torch.tensor([e["y"] for e in doc["examples"]], dtype=torch.float64)
    a = x
    for w, b in zip(ws, bs, strict=True):
        a = torch.sigmoid(a @ w.T + b)
    params = [*ws, *bs]
    loss = (0.5 * (y - a) ** 2).sum(dim=1).mean()
    loss = loss + l1 * sum(p.abs().sum() for p in params) + l2 / 2 * sum((p**2).sum() for p in params)
    loss.backward()
    lr = doc["training"]["learning_rate"]
    return [float(v) for p in params for v in (p - lr * p.grad).detach().flatten()]


@pytest.mark.parametrize(("l1", "l2"), [(0.01, 0.0), (0.0, 0.02), (0.03, 0.01)])
def test_l1_and_l2_step_as_pytorch_autograd(doc: dict, l1: float, l2: float) -> None:
    doc["examples"] = [{"x": [0.05, 0.1], "y": [0.01]}, {"x": [-0.3, 0.2], "y": [0.9]}]
    doc["layers"][1]["weights"] = [[0.4, -0.45]]  # a negative weight: sign(θ) of both signs
    doc["training"]["batch"] = "full"
    net = build(doc)
    after = fit(net, config=TrainConfig(epochs=1, shuffle=False, l1=l1, weight_decay=l2)).network
    mine = [
        *after.layers[0].weight.ravel(),
        *after.layers[1].weight.ravel(),
        after.layers[0].bias[0],
        after.layers[1].bias[0],
    ]
    assert mine == pytest.approx(torch_step(doc, l1, l2), abs=1e-12)


def test_a_negative_l1_is_refused() -> None:
    with pytest.raises(ChainruleError, match="l1: expected a finite number ≥ 0"):
        fit(netfile.load(), config=TrainConfig(epochs=1, l1=-0.1))


@pytest.mark.parametrize("scheme", ["uniform", "xavier", "he", "zeros"])
def test_initialisation_schemes(client: TestClient, doc: dict, scheme: str) -> None:
    doc = post(client, "/api/edit", {"network": doc, "op": "add_neuron", "layer": 0})["network"]  # 2-3-1
    new = post(client, "/api/edit", {"network": doc, "op": "init", "name": scheme})["network"]
    first, second = (np.array(layer["weights"]) for layer in new["layers"])
    assert first.shape == (3, 2) and second.shape == (1, 3)
    assert all(np.all(np.array(layer["bias"]) == 0) for layer in new["layers"])
    if scheme == "zeros":
        assert not first.any() and not second.any()
        return
    assert len(set(first.ravel())) == 6  # drawn, not constant
    if scheme == "uniform":
        assert np.all(np.abs(first) <= 0.5)
    if scheme == "xavier":
        assert np.all(np.abs(first) <= math.sqrt(6 / 5) + 1e-3) and np.all(np.abs(second) <= math.sqrt(6 / 4) + 1e-3)


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_sets_predict_a_number(client: TestClient, doc: dict, name: str) -> None:
    answer = post(client, "/api/dataset", {"network": doc, "name": name, "n": 50, "seed": 2, "noise": 0.0})
    network = answer["network"]
    assert network["layers"][-1]["activation"] == "identity" and network["loss"] == "half_squared_error"
    x = np.array([e["x"] for e in network["examples"]])
    y = np.array([e["y"][0] for e in network["examples"]])
    expected = (x[:, 0] + x[:, 1]) / 2 if name == "plane" else np.exp(-2 * (x**2).sum(axis=1))
    assert y == pytest.approx(expected, abs=2e-3)  # points and targets rounded to 3 decimals
    assert answer["boundary"] is not None and post(client, "/api/train", {"network": network, "epochs": 2})["losses"]
    data = regression(name, np.random.default_rng(0), 2000)  # the default noise: standard deviation 0.02
    assert data.values is not None
    exact = (data.x[:, 0] + data.x[:, 1]) / 2 if name == "plane" else np.exp(-2 * (data.x**2).sum(axis=1))
    assert float(np.std(data.values[:, 0] - exact)) == pytest.approx(0.02, rel=0.1)


def test_pasted_csv_becomes_the_examples(client: TestClient, doc: dict) -> None:
    text = "x1;x2;label\n0,0,0\n1,0,1\n0,1,1\n\n1,1,0\n"
    answer = post(client, "/api/dataset", {"network": doc, "name": "csv", "csv": text.replace(",", ";")})
    network = answer["network"]
    assert [e["x"] for e in network["examples"]] == [[0, 0], [1, 0], [0, 1], [1, 1]]
    assert [e["y"] for e in network["examples"]] == [[0], [1], [1], [0]]
    assert network["layers"][-1]["activation"] == "sigmoid" and network["title"] == "Your data: 4 points"
    numbers = post(client, "/api/dataset", {"network": doc, "name": "csv", "csv": "0,0,0.5\n1,0,2\n0,1,−1\n1,1,3\n"})[
        "network"
    ]
    assert numbers["layers"][-1]["activation"] == "identity" and numbers["examples"][2]["y"] == [-1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0,0\n1,0\n0,1,1\n1,1,0", "data row 2: expected three numbers x1, x2, y, got '1,0'"),
        ("0,0,0\n1,0,1", "data: expected 4 to 2,000 rows of x1, x2, y, got 2"),
        ("0,0,0\n1,0,nan\n0,1,1\n1,1,0", "data row 2: expected three numbers x1, x2, y, got '1,0,nan'"),
    ],
)
def test_bad_csv_is_one_clear_message(client: TestClient, doc: dict, text: str, message: str) -> None:
    assert post(client, "/api/dataset", {"network": doc, "name": "csv", "csv": text}, 422)["detail"] == message


def test_csv_rows_are_used_only_when_named(client: TestClient, doc: dict) -> None:
    rows = "0,0,0.5\n1,0,2\n0,1,-1\n1,1,3"
    assert (
        len(post(client, "/api/dataset", {"network": doc, "name": "xor", "n": 8, "csv": rows})["network"]["examples"])
        == 8
    )
    assert post(client, "/api/dataset", {"network": doc, "name": "csv"}, 422)["detail"].startswith(
        "data: expected 4 to"
    )


def test_choices_name_the_regression_sets_and_schemes(client: TestClient) -> None:
    choices = client.get("/api/choices").json()
    assert choices["regression_datasets"] == ["plane", "bump"]
    assert choices["inits"] == ["uniform", "xavier", "he", "zeros"]


@given(st.integers(1, 4), st.lists(st.integers(1, 5), min_size=1, max_size=3), st.sampled_from(list(EDIT_OPS)))
def test_the_title_follows_the_shape(inputs: int, hidden: list[int], op: str) -> None:
    rng = np.random.default_rng(len(hidden))
    sizes = [inputs, *hidden, 1]
    layers = [
        {"activation": "sigmoid", "weights": rng.uniform(-1, 1, (units, sizes[i])).round(2).tolist()}
        for i, units in enumerate(sizes[1:])
    ]
    shape = "-".join(map(str, sizes))
    doc = {"title": f"A {shape} network (not 1{shape}, nor {shape}.5)", "inputs": inputs, "layers": layers}
    doc["examples"] = [{"x": [0.5] * inputs, "y": [1.0]}]
    try:
        new = edited(EditRequest.model_validate({"network": doc, "op": op, "layer": 0}))
    except ChainruleError:  # the edit is refused (the last neuron of a layer): nothing to retitle
        assert op == "remove_neuron" and hidden[0] == 1
        return
    after = "-".join(map(str, [inputs, *(len(layer["weights"]) for layer in new["layers"])]))
    assert new["title"] == f"A {after} network (not 1{shape}, nor {shape}.5)"


@pytest.mark.parametrize(("loss", "output"), CASES)
def test_the_pages_classifier_cut_is_the_engines(loss: str, output: str) -> None:
    rng = np.random.default_rng(sum(map(ord, loss + output)))
    doc = random_document(rng, loss, output)
    doc["inputs"] = 2
    doc["examples"] = [{"x": rng.normal(size=2).tolist(), "y": e["y"]} for e in doc["examples"] * 4]
    net = netfile.from_dict(doc)
    b = training.boundary(net)
    assert b is not None
    if net.loss.classifies:
        assert b["threshold"] == net.loss.threshold
        assert all((t > b["threshold"]) == (net.loss.classes(np.array([[t]]))[0] == 1) for *_, t in b["points"])


@pytest.mark.parametrize("held", [0.0, 0.2, 0.5])
def test_the_boundary_marks_the_test_examples_training_holds_out(client: TestClient, held: float) -> None:
    doc = netfile.to_dict(netfile.load(netfile.example_path("xor.toml")))
    doc = post(client, "/api/dataset", {"network": doc, "name": "moons", "n": 50})["network"]
    points = post(client, "/api/step", {"network": doc, "at": 0, "test_fraction": held})["boundary"]["points"]
    net = netfile.from_dict(doc)
    _, tested = training.split(net, held)
    assert [i for i, p in enumerate(points) if p[3]] == tested.tolist()
    assert len(tested) == round(held * 50)
    assert [p[:3] for p in points] == [[*x, y] for x, y in zip(net.x.tolist(), net.y[:, 0].tolist(), strict=True)]


@given(st.sets(st.sampled_from(["x1²", "x2²", "x1·x2", "sin x1", "sin x2"])))
def test_feature_inputs_are_made_from_each_examples_point(chosen: set[str]) -> None:
    from chainrule.web.edits import use_dataset
    from chainrule.web.features import FEATURES
    from chainrule.web.models import EditRequest as Edit

    base = use_dataset(netfile.to_dict(netfile.load()), "moons", 20, None, 0)
    body = Edit.model_validate({"network": base, "op": "features", "name": ",".join(["x1", "x2", *chosen])})
    doc = edited(body)
    names = [name for name in FEATURES if name in {"x1", "x2", *chosen}]
    assert doc["inputs"] == names
    for before, after in zip(base["examples"], doc["examples"], strict=True):
        a, b = before["x"]
        expected = {
            "x1": a,
            "x2": b,
            "x1²": a * a,
            "x2²": b * b,
            "x1·x2": a * b,
            "sin x1": math.sin(a),
            "sin x2": math.sin(b),
        }
        assert after["x"] == [expected[name] for name in names]
    # x1 and x2 keep their weights; the plane's picture is the network's output at each point's features
    assert [row[:2] for row in doc["layers"][0]["weights"]] == base["layers"][0]["weights"]
    net = netfile.from_dict(doc)
    picture = training.boundary(net)
    assert picture is not None
    corner = [picture["x1"][0], picture["x2"][1]]  # the top left cell
    point = np.array([[expected_feature(name, *corner) for name in names]])
    assert picture["values"][0][0] == pytest.approx(net.forward(point).output[0, 0], rel=1e-12)
    back = edited(Edit.model_validate({"network": doc, "op": "features", "name": "x1,x2"}))
    assert back["inputs"] == ["x1", "x2"] and back["examples"] == base["examples"]


def expected_feature(name: str, a: float, b: float) -> float:
    return {"x1": a, "x2": b, "x1²": a * a, "x2²": b * b, "x1·x2": a * b, "sin x1": math.sin(a), "sin x2": math.sin(b)}[
        name
    ]
