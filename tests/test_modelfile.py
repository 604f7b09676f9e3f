"""The shaped network file (#26): conv2d, pooling, flatten, batchnorm, residual and rnn tables read
into a Model, written back bit for bit (TOML and JSON), the built-in conv and rnn examples, and
one-line errors naming the file, the key and what was expected, for hand-picked and generated bad
files.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule
from chainrule.engine.model import Model
from chainrule.engine.network import Network
from chainrule.errors import NetfileError
from chainrule.io import loader, modelfile, modelwrite, netfile
from helpers import run_cli

ODD_NAMES = ['c"1', "κ", "a\\b", "x y", "<b>", "$x$", "n#", "l[1]"]
HIDDEN = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "identity", "softplus"]


def _tensor(rng: np.random.Generator, shape: tuple[int, ...]) -> Any:
    return np.round(rng.normal(size=shape), int(rng.integers(1, 17))).tolist()


def _maybe(rng: np.random.Generator, table: dict[str, Any], key: str, value: Any, chance: float = 0.5) -> None:
    if rng.random() < chance:
        table[key] = value


def _conv(rng: np.random.Generator, shape: list[int], keep: bool = False) -> tuple[dict[str, Any], list[int]]:
    c, h, w = shape
    k = 3 if keep else int(rng.integers(1, min(3, h, w) + 1))
    pad, stride = (1, 1) if keep else (int(rng.integers(0, 2)), int(rng.integers(1, 3)))
    out = c if keep else int(rng.integers(1, 4))
    table: dict[str, Any] = {"type": "conv2d", "channels": out, "kernel": k, "padding": pad, "stride": stride}
    _maybe(rng, table, "activation", str(rng.choice(HIDDEN)))
    _maybe(rng, table, "weights", _tensor(rng, (out, c, k, k)))
    table["bias"] = _tensor(rng, (out,)) if rng.random() < 0.7 else False
    return table, [out, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1]


def _batchnorm(rng: np.random.Generator, n: int) -> dict[str, Any]:
    table: dict[str, Any] = {"type": "batchnorm"}
    for key in ("gamma", "beta", "running_mean"):
        _maybe(rng, table, key, _tensor(rng, (n,)))
    _maybe(rng, table, "running_var", np.abs(_tensor(rng, (n,))).tolist())
    _maybe(rng, table, "momentum", float(rng.choice([0.1, 0.25])))
    return table


def _image_layers(rng: np.random.Generator, shape: list[int]) -> tuple[list[dict[str, Any]], int]:
    layers: list[dict[str, Any]] = []
    for _ in range(int(rng.integers(1, 3))):
        table, shape = _conv(rng, shape)
        layers.append(table)
        if rng.random() < 0.3:
            layers.append(_batchnorm(rng, shape[0]))
        if rng.random() < 0.3:
            inner = [_conv(rng, shape, keep=True)[0]] + ([_batchnorm(rng, shape[0])] if rng.random() < 0.5 else [])
            layers.append({"type": "residual", "activation": "relu", "layers": inner})
        if rng.random() < 0.5:
            k = int(rng.integers(1, min(2, shape[1], shape[2]) + 1))
            kind = str(rng.choice(["maxpool2d", "avgpool2d"]))
            layers.append({"type": kind, "kernel": k, "stride": int(rng.integers(1, 3))})
            stride = layers[-1]["stride"]
            shape = [shape[0], (shape[1] - k) // stride + 1, (shape[2] - k) // stride + 1]
    layers.append({"type": "flatten"})
    return layers, shape[0] * shape[1] * shape[2]


def _sequence_layers(rng: np.random.Generator, steps: int, features: int) -> tuple[list[dict[str, Any]], int]:
    units = int(rng.integers(1, 4))
    table: dict[str, Any] = {"type": "rnn", "units": units, "output": str(rng.choice(["last", "all"]))}
    _maybe(rng, table, "activation", str(rng.choice(["tanh", "relu"])))
    for key, shape in (("weight_ih", (units, features)), ("weight_hh", (units, units)), ("bias_ih", (units,))):
        _maybe(rng, table, key, _tensor(rng, shape))
    if table["output"] == "all":
        return [table, {"type": "flatten"}], steps * units
    return [table], units


def random_document(seed: int, *, odd: bool = False) -> dict[str, Any]:
    """A random shaped network file: an image into conv blocks, or a sequence into an RNN."""
    rng = np.random.default_rng(seed)
    if rng.random() < 0.7:
        inputs = [int(rng.integers(1, 3)), int(rng.integers(3, 7)), int(rng.integers(3, 7))]
        layers, features = _image_layers(rng, list(inputs))
    else:
        inputs = [int(rng.integers(1, 4)), int(rng.integers(1, 3))]
        layers, features = _sequence_layers(rng, *inputs)
    if rng.random() < 0.5:
        layers.append({"type": "dense", "units": 3, "activation": str(rng.choice(HIDDEN))})
        _maybe(rng, layers[-1], "weights", _tensor(rng, (3, features)))
    outputs = int(rng.integers(2, 4))
    layers.append({"units": outputs, "activation": "softmax"})
    if odd:
        for table, name in zip(layers, rng.permutation(ODD_NAMES), strict=False):
            table["name"] = str(name)
    examples = [
        {"x": _tensor(rng, tuple(inputs)), "y": np.eye(outputs)[int(rng.integers(outputs))].tolist()}
        for _ in range(int(rng.integers(2, 4)))  # two or more: batchnorm trains on a batch's statistics
    ]
    training = {"seed": int(rng.integers(0, 1000)), "dtype": str(rng.choice(["float64", "float32"]))}
    _maybe(rng, training, "optimizer", "adam")
    return {"title": "random", "inputs": inputs, "loss": "cross_entropy", "layers": layers, "examples": examples} | {
        "training": training
    }


def assert_same_model(a: Model, b: Model) -> None:
    """Every op, tensor, statistic, size, name, example and setting the same, bit for bit."""
    assert modelwrite.to_dict(a) == modelwrite.to_dict(b)
    assert [type(op) for op in a.ops] == [type(op) for op in b.ops]
    assert a.input_shape == b.input_shape and a.loss is b.loss and a.training == b.training
    for (name, x), (other, y) in zip(a.parameters().items(), b.parameters().items(), strict=True):
        assert name == other and x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    for op, same in zip(a.ops, b.ops, strict=True):
        for role, x in op.buffers().items():
            np.testing.assert_array_equal(x, same.buffers()[role])
    for x, y in ((a.x, b.x), (a.y, b.y)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


@given(seed=st.integers(0, 2**32 - 1), odd=st.booleans(), suffix=st.sampled_from([".toml", ".json"]))
def test_write_then_read_gives_the_same_model_bit_for_bit(seed: int, odd: bool, suffix: str) -> None:
    model = modelfile.from_dict(random_document(seed, odd=odd))
    text = modelwrite.dumps(model, f"m{suffix}")
    doc = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    assert_same_model(modelfile.from_dict(doc), model)


@given(seed=st.integers(0, 2**32 - 1))
def test_a_trained_step_round_trips_with_its_running_statistics(seed: int) -> None:
    model = modelfile.from_dict(random_document(seed))  # float64 or float32: a step keeps the file's precision
    stepped = model.updated(model.backward(model.forward(model.x), model.y))
    again = modelfile.from_dict(json.loads(modelwrite.dumps(stepped, "m.json")))
    assert_same_model(again, stepped)


def test_the_file_saved_is_the_file_read(tmp_path: Path) -> None:
    model = chainrule.load("conv")
    assert isinstance(model, Model)
    for name in ("conv.toml", "conv.json"):
        chainrule.save(model, tmp_path / name)
        back = chainrule.load(tmp_path / name)
        assert isinstance(back, Model)
        assert_same_model(back, model)


def test_the_built_in_conv_example() -> None:
    model = loader.load("conv")
    assert isinstance(model, Model)
    assert [op.kind for op in model.ops] == ["conv2d", "maxpool2d", "flatten", "dense"]
    assert [op.name for op in model.ops] == ["conv1", "pool1", "flat1", "out"]
    assert model.shapes() == [(1, 6, 6), (2, 4, 4), (2, 2, 2), (8,), (2,)]
    assert list(model.parameters()) == ["W_conv1", "b_conv1", "W_out", "b_out"]
    assert model.x.shape == (4, 1, 6, 6) and model.y.shape == (4, 2)
    assert "conv" in netfile.example_names() and "rnn" in netfile.example_names()


def test_the_built_in_rnn_example_needs_every_step() -> None:
    model = loader.load("rnn")
    assert isinstance(model, Model)
    assert [op.kind for op in model.ops] == ["rnn", "dense"]
    assert model.shapes() == [(4, 1), (2,), (1,)]
    # The target is the first step's sign: the loss reaches Wx only through the unrolled steps.
    grads = model.gradients(model.backward(model.forward(model.x), model.y))
    assert np.abs(grads["Wx_rnn1"]).max() > 0 and np.abs(grads["Wh_rnn1"]).max() > 0


def test_a_file_of_dense_layers_stays_a_network() -> None:
    doc = {"inputs": 2, "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]}
    doc["examples"] = [{"x": [0, 1], "y": [1]}]
    assert isinstance(loader.from_document(doc), Network)
    assert isinstance(loader.load("xor"), Network)


def test_the_dense_reader_refuses_a_shaped_file_in_one_line() -> None:
    with pytest.raises(NetfileError) as caught:
        netfile.load("conv")
    assert str(caught.value).startswith('examples/conv.toml: layers[0].type: expected "dense"')


def _conv_doc() -> dict[str, Any]:
    return tomllib.loads(netfile.example_path("conv.toml").read_text())


BAD: list[tuple[str, Any, str, str]] = [
    ("inputs", [1, 0, 6], "inputs[1]", "a whole number ≥ 1"),
    ("inputs", [1, 2, 3, 4], "inputs", "a count of inputs or a shape"),
    ("layers.0.type", "conv3d", "layers[0].type", '"conv2d"'),
    ("layers.0.kernel", 0, "layers[0].kernel", "a whole number ≥ 1"),
    ("layers.0.kernel", [3, 3, 3], "layers[0].kernel", "[height, width]"),
    ("layers.0.stride", -1, "layers[0].stride", "a whole number ≥ 1"),
    ("layers.0.weights", [[[[1.0]]]], "layers[0].weights", "2 × 1 × 3 × 3 numbers"),
    ("layers.0.bias", [0.1], "layers[0].bias", "2 numbers (one per unit or channel)"),
    ("layers.0.activation", "prelu", "layers[0].activation", "without a learnt α"),
    ("layers.0.foo", 1, "layers[0].foo", "one of the keys"),
    ("layers.1.padding", 2, "layers[1].padding", "at most half the kernel"),
    ("layers.1.kernel", 9, "layers[1].kernel", "a kernel of 9×9 that fits"),
    ("layers.2.type", "dense", "layers[2]", "the output of layers[1] (pool1) of shape 2×2×2"),
    ("layers.3.weights", [[0.1] * 7, [0.2] * 7], "layers[3].weights[0]", "8 numbers"),
    ("layers.1.name", "conv1", "layers[1]", "a name not already used by layers[0]"),
    ("examples.0.x", [[0, 1]], "examples[0].x[0]", "6 × 6 numbers"),
    ("examples.1.y", [1, 0, 0], "examples[1].y", "2 numbers"),
    ("training.freeze", ["W_nope"], "training.freeze[0]", "a tensor's name"),
]


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    at: Any = doc
    for part in parents:
        at = at[int(part)] if isinstance(at, list) else at[part]
    at[int(last) if isinstance(at, list) else last] = value


@pytest.mark.parametrize(("path", "value", "key", "expected"), BAD)
def test_a_bad_value_is_named_with_its_key(path: str, value: Any, key: str, expected: str) -> None:
    doc = _conv_doc()
    _set(doc, path, value)
    if path == "layers.2.type":  # a dense layer straight after the pool: say what does not fit
        doc["layers"][2] = {"units": 2, "activation": "relu"}
    with pytest.raises(NetfileError) as caught:
        modelfile.from_dict(doc, source="conv.toml")
    message = str(caught.value)
    assert message.startswith(f"conv.toml: {key}: expected "), message
    assert expected in message and "\n" not in message


def test_a_residual_block_must_keep_its_input_shape() -> None:
    doc = {
        "inputs": [1, 4, 4],
        "layers": [{"type": "residual", "layers": [{"type": "conv2d", "channels": 1, "kernel": 3}]}],
    }
    doc["layers"] += [{"type": "flatten"}, {"units": 1, "activation": "identity"}]
    with pytest.raises(NetfileError) as caught:
        modelfile.from_dict(doc, source="r.toml", require_examples=False)
    assert str(caught.value).startswith("r.toml: layers[0].layers[0]: expected inner layers whose output has its input")


def test_an_rnn_takes_tanh_or_relu_and_a_sequence() -> None:
    for inputs, table, key in (
        ([3, 2], {"type": "rnn", "units": 2, "activation": "sigmoid"}, "layers[0].activation"),
        ([1, 3, 2], {"type": "rnn", "units": 2}, "layers[0]"),
    ):
        doc = {"inputs": inputs, "layers": [table, {"units": 1, "activation": "identity"}]}
        with pytest.raises(NetfileError) as caught:
            modelfile.from_dict(doc, source="s.toml", require_examples=False)
        assert str(caught.value).startswith(f"s.toml: {key}: expected ")


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.lists(st.integers(-2, 4), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a document (tables, lists and their elements)."""
    found = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            found += _leaves(v, (*path, i))
    return found


@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_a_generated_hostile_file_loads_or_is_refused_in_one_line(seed: int, data: st.DataObject) -> None:
    doc = random_document(seed, odd=True)
    path = data.draw(st.sampled_from(_leaves(doc)))
    broken = copy.deepcopy(doc)
    at: Any = broken
    for part in path[:-1]:
        at = at[part]
    at[path[-1]] = data.draw(JUNK)
    try:
        loader.from_document(broken, source="hostile.toml")
    except NetfileError as exc:
        assert str(exc).startswith("hostile.toml: ") and "\n" not in str(exc)


def test_the_command_line_refuses_a_bad_shaped_file_with_exit_2(tmp_path: Path) -> None:
    doc = _conv_doc()
    doc["layers"][0]["kernel"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result, warned = run_cli(["export", str(path), "-o", str(tmp_path / "bad.pt")])
    assert result.exit_code == 2 and not warned
    assert "layers[0].kernel: expected a whole number ≥ 1" in result.stderr
    assert "Traceback" not in result.output


SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "network-file.schema.json").read_text())


@given(seed=st.integers(0, 2**32 - 1), odd=st.booleans())
def test_every_file_written_follows_the_json_schema(seed: int, odd: bool) -> None:
    import jsonschema

    doc = modelwrite.to_dict(modelfile.from_dict(random_document(seed, odd=odd)))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
