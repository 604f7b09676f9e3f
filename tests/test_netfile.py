"""The network file: the schema's forms, TOML/JSON equivalence, writing back, and bad input."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.cli.root import main
from chainrule.engine.functions import ACTIVATIONS, LOSSES, pairing_refusal
from chainrule.engine.network import Network
from chainrule.errors import NetfileError
from chainrule.io import netfile
from chainrule.record.step import explain_step
from conftest import EXAMPLES

REFERENCE = (EXAMPLES / "forward-backprop.toml").read_text()


def test_json_and_toml_describe_the_same_network(tmp_path: Path) -> None:
    doc = tomllib.loads(REFERENCE)
    (tmp_path / "net.json").write_text(json.dumps(doc))
    a = explain_step(netfile.load(tmp_path / "net.json")).values
    b = explain_step(netfile.load()).values
    assert a == b


def test_names_follow_the_reference_scheme(reference) -> None:  # type: ignore[no-untyped-def]
    assert reference.parameter_names() == ["w1", "w2", "w3", "w4", "b1", "w5", "w6", "b2"]
    assert reference.layers[0].neuron_names == ["h1", "h2"]
    assert reference.layers[1].neuron_names == ["out"]


def test_bias_forms_and_custom_names() -> None:
    doc = {
        "inputs": ["u", "v"],
        "layers": [
            {"name": "hid", "units": 2, "activation": "tanh", "weights": [[1, 2], [3, 4]], "bias": [0.1, 0.2]},
            {"units": 1, "activation": "identity", "weights": [[1, 1]], "weight_names": ["wa", "wb"]},
        ],
        "examples": [{"x": [1, 2], "y": 3}],
    }
    net = netfile.from_dict(doc)
    assert net.parameter_names() == ["w1", "w2", "w3", "w4", "b_hid1", "b_hid2", "wa", "wb"]
    assert net.layers[1].bias_mode == "none"
    assert net.input_names == ["u", "v"]


def test_omitted_weights_are_random_but_reproducible_with_the_seed() -> None:
    doc = {
        "inputs": 3,
        "layers": [{"units": 4, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
        "examples": [{"x": [1, 2, 3], "y": [1]}],
        "training": {"seed": 7},
    }
    a, b = netfile.from_dict(doc), netfile.from_dict(doc)
    np.testing.assert_array_equal(a.layers[0].weight, b.layers[0].weight)
    doc["training"] = {"seed": 8}
    c = netfile.from_dict(doc)
    assert not np.array_equal(a.layers[0].weight, c.layers[0].weight)
    # He for ReLU: std sqrt(2 / fan_in); Xavier for sigmoid: |w| ≤ sqrt(6 / (fan_in + fan_out))
    assert np.all(np.abs(a.layers[1].weight) <= np.sqrt(6 / 5))


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_written_back_the_network_reads_the_same(tmp_path: Path, suffix: str) -> None:
    net = netfile.load(EXAMPLES / "xor.toml")
    net.training.freeze = ("b2",)
    path = tmp_path / f"copy{suffix}"
    netfile.save(net, path)
    again = netfile.load(path)
    assert again.parameters() == net.parameters()
    assert again.training == net.training
    np.testing.assert_array_equal(again.x, net.x)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed, not left behind


def test_every_example_file_loads_and_explains() -> None:
    from chainrule.io import loader

    for path in sorted(p for p in EXAMPLES.glob("*.toml") if not p.stem.endswith("-answers")):
        net = loader.load(path, require_examples=False)  # digits.toml trains on a bundled data set
        if isinstance(net, Network) and net.x.shape[0]:
            assert np.isfinite(explain_step(net).values["loss"]), path.name
        elif not isinstance(net, Network):  # a shaped network (conv, rnn): its engine's loss
            assert np.isfinite(net.batch_loss(net.forward(net.x), net.y)), path.name


# --- bad input: one line naming the file, the key and what was expected; exit 2; no traceback ---

BAD = {
    "missing key": ("inputs = 2\n[[examples]]\nx = [1, 2]\ny = [1]\n", "layers", "[[layers]]"),
    "wrong shape": (
        'inputs = 2\n[[layers]]\nunits = 2\nactivation = "sigmoid"\nweights = [[1, 2, 3], [4, 5, 6]]\n'
        "[[examples]]\nx = [1, 2]\ny = [1, 1]\n",
        "layers[0].weights[0]",
        "2 numbers",
    ),
    "wrong row count": (
        'inputs = 2\n[[layers]]\nunits = 2\nactivation = "sigmoid"\nweights = [[1, 2]]\n[[examples]]\nx = [1, 2]\ny = [1, 1]\n',
        "layers[0].weights",
        "2 rows",
    ),
    "not a number": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\nweights = [["a"]]\n[[examples]]\nx = [1]\ny = [1]\n',
        "layers[0].weights[0][0]",
        "a number",
    ),
    "nan": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\nbias = nan\n[[examples]]\nx = [1]\ny = [1]\n',
        "layers[0].bias",
        "a finite number",
    ),
    "infinity": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n[[examples]]\nx = [inf]\ny = [1]\n',
        "examples[0].x[0]",
        "a finite number",
    ),
    "unknown activation": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoidal"\n[[examples]]\nx = [1]\ny = [1]\n',
        "layers[0].activation",
        "sigmoid, softmax",
    ),
    "unknown loss": (
        'inputs = 1\nloss = "l2"\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n[[examples]]\nx = [1]\ny = [1]\n',
        "loss",
        "half_squared_error",
    ),
    "softmax hidden": (
        'inputs = 1\nloss = "cross_entropy"\n[[layers]]\nunits = 2\nactivation = "softmax"\n'
        '[[layers]]\nunits = 2\nactivation = "identity"\n[[examples]]\nx = [1]\ny = [1, 0]\n',
        "layers[0].activation",
        "output layer",
    ),
    "loss needs softmax": (
        'inputs = 1\nloss = "cross_entropy"\n[[layers]]\nunits = 2\nactivation = "sigmoid"\n[[examples]]\nx = [1]\ny = [1, 0]\n',
        "layers[0].activation",
        "softmax in the output layer",
    ),
    "empty examples": (
        'inputs = 1\nexamples = []\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n',
        "examples",
        "an empty list",
    ),
    "unknown key": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivaton = "sigmoid"\n[[examples]]\nx = [1]\ny = [1]\n',
        "layers[0].activaton",
        "an unknown key",
    ),
    "unknown frozen parameter": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n[[examples]]\nx = [1]\ny = [1]\n[training]\nfreeze = ["w9"]\n',
        "training.freeze[0]",
        "'w9'",
    ),
    "bad batch": (
        'inputs = 1\n[[layers]]\nunits = 1\nactivation = "sigmoid"\n[[examples]]\nx = [1]\ny = [1]\n[training]\nbatch = 0\n',
        "training.batch",
        '"online", "full"',
    ),
    "not toml": ("this is [not toml\n", "", "valid TOML"),
}


def _one_line_error(result, name: str, key: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "Traceback" not in result.output + result.stderr
    assert name in line and key in line and expected in line, line


@pytest.mark.parametrize("case", BAD)
def test_bad_network_files(tmp_path: Path, case: str) -> None:
    text, key, expected = BAD[case]
    path = tmp_path / "net.toml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["explain", str(path)])
    _one_line_error(result, str(path), key, expected)


def test_a_file_that_does_not_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["explain", str(tmp_path / "nope.toml")])
    _one_line_error(result, "nope.toml", "no such file", "expected a TOML or JSON network file")


def test_a_file_that_is_neither_toml_nor_json(tmp_path: Path) -> None:
    path = tmp_path / "net.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = CliRunner().invoke(main, ["explain", str(path)])
    _one_line_error(result, "net.txt", "", "")


def test_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    path.write_text('{"inputs": 2, "layers": [}')
    result = CliRunner().invoke(main, ["explain", str(path)])
    _one_line_error(result, "net.json", "", "valid JSON")


def test_a_json_network_with_a_nan(tmp_path: Path) -> None:
    doc = tomllib.loads(REFERENCE)
    doc["layers"][1]["weights"][0][1] = float("nan")
    path = tmp_path / "net.json"
    path.write_text(json.dumps(doc))  # Python writes NaN, which its JSON reader accepts: we must refuse it
    result = CliRunner().invoke(main, ["explain", str(path)])
    _one_line_error(result, "net.json", "layers[1].weights[0][1]", "a finite number")


def test_the_json_schema_accepts_every_example_and_names_every_registry_entry() -> None:
    import jsonschema

    from chainrule.engine.functions import ACTIVATIONS, LOSSES

    schema = json.loads((EXAMPLES.parent.parent.parent / "docs" / "network-file.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(p for p in EXAMPLES.glob("*.toml") if not p.stem.endswith("-answers")):
        jsonschema.validate(tomllib.loads(path.read_text()), schema)
    assert set(schema["properties"]["loss"]["enum"]) == set(LOSSES)
    assert set(schema["$defs"]["layer"]["properties"]["activation"]["enum"]) == set(ACTIVATIONS)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"inputs": 1, "layers": [{"activation": "sigmoidal"}]}, schema)


def test_default_weight_names_are_made_only_when_asked_for() -> None:
    doc = {"inputs": 300, "layers": [{"units": 200, "activation": "relu"}, {"units": 2, "activation": "softmax"}]}
    doc |= {"loss": "cross_entropy", "examples": [{"x": [0.0] * 300, "y": [1.0, 0.0]}], "training": {"freeze": ["w7"]}}
    net = netfile.from_dict(doc)
    mask = net.layers[0].frozen_mask({"w7", "w60001"})
    assert mask is not None and mask.flat[6] == 0 and mask.sum() == mask.size - 1
    assert net.layers[1].frozen_mask({"w7"}) is None and net.layers[1].frozen_mask({"w60001"}).flat[0] == 0  # type: ignore[union-attr]
    assert net.layers[0]._names is None  # loading, checking and masking made no two-million-name lists
    assert net.layers[1].weight_names[0][0] == "w60001" and net.parameter_count() == 60_000 + 200 * 0 + 400


def test_a_custom_name_that_collides_with_a_default_weight_name() -> None:
    doc = {
        "inputs": 2,
        "layers": [
            {"units": 2, "activation": "tanh"},
            {"units": 1, "activation": "identity", "weight_names": [["w3", "wb"]]},
        ],
        "examples": [{"x": [1, 2], "y": [3]}],
    }
    with pytest.raises(netfile.NetfileError, match="w3"):
        netfile.from_dict(doc)


def _targets(rng: np.random.Generator, loss: str, units: int) -> list[float]:
    """Targets a loss can use: probabilities, one-hot, ±1 for one-output hinge, else any number."""
    if loss == "binary_cross_entropy":
        return rng.uniform(0, 1, units).tolist()
    if loss == "cross_entropy" or (loss == "hinge" and units > 1):
        return np.eye(units)[rng.integers(units)].tolist()
    if loss == "hinge":
        return [float(rng.choice([-1.0, 1.0]))]
    return rng.normal(0, 1, units).tolist()


@settings(max_examples=300)
@given(
    loss=st.sampled_from(sorted(LOSSES)),
    output=st.sampled_from(sorted({a.name for a in ACTIVATIONS.values()})),
    hidden=st.sampled_from(sorted({a.name for a in ACTIVATIONS.values()})),
    units=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_pairing_is_refused_by_the_rule_or_learns(
    loss: str, output: str, hidden: str, units: int, seed: int
) -> None:
    """The engine's rule decides: a refused network names the layer and says what to use instead;
    an accepted one computes a finite step whose output δ = ∂L/∂z is not all 0 while its loss is not
    0 (a 1-unit softmax had loss 0 and every gradient 0), unless the output's slope is 0 by
    definition (a step; a ReLU below 0). (The parameters' gradients may all be 0 rightly: a hidden
    step or ReLU layer whose outputs are all 0 under a shared softmax bias, whose δs sum to 0.)"""
    rng = np.random.default_rng(seed)
    layers = [{"units": 2, "activation": hidden, "bias": 0.1}, {"units": units, "activation": output, "bias": 0.2}]
    doc = {"inputs": 2, "loss": loss, "layers": layers}
    doc["examples"] = [{"x": rng.normal(0, 1, 2).tolist(), "y": _targets(rng, loss, units)}]
    refusal = pairing_refusal(LOSSES[loss], [(ACTIVATIONS[hidden], 2), (ACTIVATIONS[output], units)])
    if refusal is not None:
        with pytest.raises(NetfileError) as caught:
            netfile.from_dict(doc)
        assert f"layers[{refusal.layer}].{refusal.key}: expected" in str(caught.value)
        assert any(word in refusal.expected for word in ("use", "for loss", "output"))
        return
    net = netfile.from_dict(doc)
    values = explain_step(net).values
    grads = [values[f"dL/d{name}"] for name in net.parameter_names()]
    assert np.all(np.isfinite(grads)) and np.isfinite(values["loss"])
    deltas = [values[f"dL/dz_{name}"] for name in net.output_layer.neuron_names]
    if values["loss"] != 0 and output not in ("binary_step", "relu"):
        assert any(d != 0 for d in deltas), (loss, hidden, output, units)


@settings(max_examples=40)
@given(
    digits=st.integers(309, 4300),
    place=st.sampled_from(["weights = [[N]]", "bias = [N]", "x = [N]", "learning_rate = N", "alpha = N"]),
    sign=st.sampled_from(["", "-"]),
)
def test_a_whole_number_beyond_float64_in_toml_is_one_line(digits: int, place: str, sign: str) -> None:
    """TOML reads 10**400 as a Python int, which has no float: it was an OverflowError traceback
    (the JSON form was refused cleanly). Now every number key says so in one line."""
    number = sign + "9" * digits
    layer = {"weights = [[N]]": "weights = [[N]]\nbias = [0.0]", "bias = [N]": "bias = [N]"}.get(place, "")
    alpha = place == "alpha = N"
    text = (
        'inputs = 1\nloss = "mse"\n'
        + ("[training]\nlearning_rate = N\n" if place.startswith("learning_rate") else "")
        + f'[[layers]]\nunits = 1\nactivation = "{"elu" if alpha else "identity"}"\n'
        + (layer + "\n" if layer else "")
        + ("alpha = N\n" if alpha else "")
        + ("[[examples]]\nx = [N]\ny = [0]\n" if place.startswith("x") else "[[examples]]\nx = [1]\ny = [0]\n")
    ).replace("N", number)
    with pytest.raises(NetfileError, match=rf"expected a finite number, got a number of {digits:,} digits") as info:
        netfile.from_dict(tomllib.loads(text))
    assert "\n" not in str(info.value)
