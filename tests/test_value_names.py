"""Names a file gives that a step's values also have (an input called a_out, a bias called dL/dw1):
refused at load with one line, and every name the loader accepts gives each value a key of its own.

The names are drawn from the value names the step derives from the file's other names (a_<neuron>,
z_<neuron>, dL/d<parameter>, m_<parameter>, loss, name#2, …), the way a fuzzer found the collisions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.record.step import explain_step
from helpers import CASES, assert_one_line, random_document

FORMS = ["a_{}", "z_{}", "y_{}", "loss_{}", "dL/da_{}", "dL/dz_{}", "dL/d{}", "d{}", "{}_new", "m_{}", "v_{}_prev"]
PLAIN = ["x", "h", "out", "loss", "w1", "b1", "a_", "k#2", "q#", "a_x", "#1"]


def _names(data: st.DataObject, count: int, pool: list[str], label: str) -> list[str]:
    """`count` names, each plain or made from a name already in `pool` by a value name's form."""
    made = st.builds(lambda f, n: f.replace("{}", n), st.sampled_from(FORMS), st.sampled_from(pool))
    return data.draw(st.lists(st.one_of(st.sampled_from(PLAIN), made), min_size=count, max_size=count), label=label)


def _hostile_names(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """The document with inputs, layers, biases and some weights named to collide, or nearly."""
    pool = ["x1", "h", "out", "w1", "w2", "b1", "b_h1"]
    doc["inputs"] = _names(data, doc["inputs"], pool, "inputs")
    pool += doc["inputs"]
    for i, layer in enumerate(doc["layers"]):
        layer["name"] = _names(data, 1, pool, f"layer {i}")[0]
        units = layer["units"]
        pool += [layer["name"]] + [f"{layer['name']}{j + 1}" for j in range(units)]
        if isinstance(layer.get("bias"), list) and data.draw(st.booleans(), label="bias names"):
            layer["bias_names"] = _names(data, units, pool, "bias names")
            pool += layer["bias_names"]
    return doc


@settings(max_examples=120)
@given(seed=st.integers(0, 2**32 - 1), case=st.sampled_from(CASES), data=st.data())
def test_accepted_names_give_every_value_its_own_key(seed: int, case: tuple[str, str], data: st.DataObject) -> None:
    doc = _hostile_names(random_document(np.random.default_rng(seed), *case), data)
    try:
        net = netfile.from_dict(doc, "net.json")
    except ChainruleError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("net.json: ")
        return
    record = explain_step(net)
    v, idx = record.values, list(record.examples)
    fwd = net.forward(net.x[idx])
    grads = net.gradients(net.backward(fwd, net.y[idx]))
    for k in range(len(idx)):
        s = record.suffix(k)
        for i, x in enumerate(net.input_names):
            assert v[x + s] == fwd.x[k, i]
        for layer, a in zip(net.layers, fwd.a[1:], strict=True):
            for j, neuron in enumerate(layer.neuron_names):
                assert v[f"a_{neuron}{s}"] == a[k, j]
    for name, g in grads.items():
        assert v[name] == net.parameters()[name]
        assert v[f"dL/d{name}"] == pytest.approx(g, rel=1e-12, abs=1e-300)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), case=st.sampled_from(CASES), data=st.data())
def test_the_command_line_draws_or_refuses_in_one_line(
    seed: int, case: tuple[str, str], data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    doc = _hostile_names(random_document(np.random.default_rng(seed), *case), data)
    path = tmp_path_factory.mktemp("names") / "net.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    fmt = data.draw(st.sampled_from(["latex", "markdown", "html", "json"]), label="format")
    assert_one_line(["explain", str(path), "--format", fmt], ok=(0,))


@pytest.mark.parametrize(
    ("change", "key", "name"),
    [
        ({"inputs": ["a_out", "x2"]}, "inputs", "a_out"),
        ({"inputs": ["loss", "x2"]}, "inputs", "loss"),
        ({"inputs": ["x1", "dL/dw5"]}, "inputs", "dL/dw5"),
        ({"inputs": ["x1", "x#2"]}, "inputs", "x#2"),
        (
            {"layers": [{"name": "h", "units": 2, "bias_names": ["z_out", "b"]}, {"name": "out", "units": 1}]},
            "layers[0]",
            "z_out",
        ),
        ({"layers": [{"name": "h", "units": 2, "bias_names": ["b", "m_b"]}, {"units": 1}]}, "layers[0]", "m_b"),
        ({"layers": [{"name": "h", "units": 2}, {"name": "h", "units": 1}]}, "layers[1].name", "h"),
        ({"layers": [{"name": "h", "units": 2, "bias_names": ["b", "dL/dw6"]}, {"units": 1}]}, "layers[0]", "dL/dw6"),
        (
            {"layers": [{"name": "h", "units": 2, "bias_names": ["m_w1_prev", "b"]}, {"units": 1}]},
            "layers[0]",
            "m_w1_prev",
        ),
    ],
)
def test_names_a_value_also_has_are_refused(tmp_path: Path, change: dict[str, Any], key: str, name: str) -> None:
    doc: dict[str, Any] = {"inputs": ["x1", "x2"], "loss": "half_squared_error", "examples": [{"x": [1, 2], "y": [0]}]}
    doc["layers"] = [{"name": "h", "units": 2}, {"name": "out", "units": 1}]
    doc |= change
    for layer in doc["layers"]:
        layer.setdefault("activation", "sigmoid")
        if "bias_names" in layer:
            layer["bias"] = [0.1] * layer["units"]
    path = tmp_path / "net.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    line = assert_one_line(["explain", str(path), "--format", "latex"])
    assert f"net.json: {key}: expected" in line and repr(name) in line
