"""The network file (TOML or JSON, one schema): parse and validate (writing back: `netwrite`).

Every problem is reported as a `NetfileError` naming the file, the key (``layers[1].weights``)
and what was expected.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.engine.functions import ACTIVATIONS, LOSSES, known
from chainrule.engine.network import DataInfo, Layer, Network, Training
from chainrule.errors import ChainruleError, NetfileError, Shown
from chainrule.io.netwrite import dumps_toml, save, to_dict, write_atomic  # noqa: F401  (the file API, in one place)

TOP_KEYS = ("title", "inputs", "loss", "layers", "examples", "training", "data")
DATA_KEYS = ("columns", "target", "classes", "mean", "std")
LAYER_KEYS = ("name", "units", "activation", "alpha", "weights", "bias", "weight_names", "bias_names")
EXAMPLE_KEYS = ("x", "y")
TRAINING_KEYS = ("learning_rate", "batch", "reduction", "freeze", "epochs", "seed", "dtype")

REFERENCE = "forward-backprop.toml"


def example_path(name: str = REFERENCE) -> Path:
    """The path of an example shipped inside the package (the reference one by default)."""
    return Path(str(resources.files("chainrule") / "examples" / name))


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML or JSON file into a dict, with errors that name the file."""
    p = Path(path)
    src = str(path)
    if not p.exists():
        raise ChainruleError(f"{src}: no such file (expected a TOML or JSON network file)")
    if p.is_dir():
        raise ChainruleError(f"{src}: is a folder (expected a TOML or JSON network file)")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetfileError(src, "", "a readable UTF-8 text file", Shown(exc.__class__.__name__)) from None
    suffix = p.suffix.lower()
    if suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise NetfileError(src, "", f"valid JSON ({exc.msg} at line {exc.lineno})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            kind = "valid TOML" if suffix == ".toml" else "a TOML or JSON network file"
            raise NetfileError(src, "", f"{kind} ({exc})") from None
    if not isinstance(data, dict):
        raise NetfileError(src, "", "a table (object) at the top level", Shown(type(data).__name__))
    return data


def load(path: str | os.PathLike[str] | None = None, *, require_examples: bool = True) -> Network:
    """Load and validate a network file; None loads the built-in reference example."""
    if path is None:
        path = example_path()
        source = f"examples/{REFERENCE}"
    else:
        source = str(path)
    return from_dict(read_document(path), source=source, require_examples=require_examples)


class _Reader:
    """Typed access to a parsed document, raising NetfileError with the key's full path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, expected: str, got: object = None) -> NetfileError:
        return NetfileError(self.source, key, expected, got)

    def check_keys(self, table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in allowed:
                name = f"{where}.{key}" if where else key
                raise self.fail(name, "one of the keys " + ", ".join(allowed), Shown("an unknown key"))

    def number(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number", value)
        if not math.isfinite(value):
            raise self.fail(key, "a finite number", value)
        return float(value)

    def integer(self, value: object, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"a whole number ≥ {minimum}", value)
        return value

    def vector(self, value: object, key: str, length: int | None = None) -> list[float]:
        if isinstance(value, int | float) and not isinstance(value, bool) and length in (None, 1):
            return [self.number(value, key)]
        if not isinstance(value, list):
            raise self.fail(key, "a list of numbers", value)
        if length is not None and len(value) != length:
            raise self.fail(key, f"{length} number{'s' if length != 1 else ''}", Shown(str(len(value))))
        return [self.number(v, f"{key}[{i}]") for i, v in enumerate(value)]

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty string", value)
        return value


def _with_guess(value: object, names: Mapping[str, object]) -> object:
    """The offending value, with the closest known name when there is one."""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, list(names), n=1)
        if close:
            return Shown(f"{value!r} (did you mean {close[0]}?)")
    return value


def _neuron_names(layer: str, units: int) -> list[str]:
    if units == 1:
        return [layer]
    sep = "_" if layer[-1].isdigit() else ""
    return [f"{layer}{sep}{j + 1}" for j in range(units)]


def _names_grid(r: _Reader, value: object, key: str, rows: int, cols: int) -> list[list[str]]:
    """Custom weight names: a list of rows, or one flat list in row-major order."""
    if not isinstance(value, list):
        raise r.fail(key, f"{rows} rows of {cols} names (one per weight)", value)
    if all(isinstance(v, str) for v in value) and len(value) == rows * cols:
        return [[str(v) for v in value[i * cols : (i + 1) * cols]] for i in range(rows)]
    grid: list[list[str]] = []
    for row in value:
        if not (isinstance(row, list) and len(row) == cols and all(isinstance(n, str) for n in row)):
            raise r.fail(key, f"{rows} rows of {cols} names (one per weight)", value)
        grid.append([str(n) for n in row])
    if len(grid) != rows:
        raise r.fail(key, f"{rows} rows of {cols} names (one per weight)", value)
    return grid


def from_dict(data: Mapping[str, Any], source: str = "<network>", *, require_examples: bool = True) -> Network:
    """Build a validated Network from a parsed network document."""
    r = _Reader(source)
    r.check_keys(data, TOP_KEYS, "")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise r.fail("title", "a string", title)

    if "inputs" not in data:
        raise r.fail(
            "inputs", "the input names (a list of strings) or their count", Shown("nothing (the key is missing)")
        )
    raw_inputs = data["inputs"]
    if isinstance(raw_inputs, int) and not isinstance(raw_inputs, bool) and raw_inputs >= 1:
        input_names = [f"x{i + 1}" for i in range(raw_inputs)]
    elif isinstance(raw_inputs, list) and raw_inputs and all(isinstance(n, str) and n for n in raw_inputs):
        input_names = list(raw_inputs)
    else:
        raise r.fail("inputs", "a list of input names or a count ≥ 1", raw_inputs)

    loss_name = data.get("loss", "half_squared_error")
    if not isinstance(loss_name, str) or loss_name not in LOSSES:
        raise r.fail("loss", "one of " + ", ".join(known("loss")), _with_guess(loss_name, LOSSES))
    loss = LOSSES[loss_name]

    training = _training(r, data.get("training", {}))
    rng = np.random.default_rng(training.seed)
    dtype = np.dtype(training.dtype)

    raw_layers = data.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise r.fail(
            "layers",
            "a list of one or more [[layers]] tables",
            raw_layers if raw_layers is not None else Shown("nothing (the key is missing)"),
        )
    layers: list[Layer] = []
    fan_in, sending = len(input_names), input_names
    counter = 0
    for li, raw in enumerate(raw_layers):
        layer, counter = _layer(r, raw, li, len(raw_layers), fan_in, counter, rng, dtype)
        layers.append(layer)
        fan_in, sending = layer.units, layer.neuron_names
    del sending

    out = layers[-1]
    if loss.requires_activation and out.activation.name not in loss.requires_activation:
        want = " or ".join(loss.requires_activation)
        raise r.fail(
            f"layers[{len(layers) - 1}].activation",
            f"{want} in the output layer for loss {loss.name}",
            out.activation.name,
        )

    _check_unique_names(r, input_names, layers)
    x, y = _examples(r, data.get("examples"), len(input_names), out.units, require_examples, dtype)
    if loss.name == "hinge" and out.units == 1 and y.size and not np.all(np.isin(y, (-1.0, 1.0))):
        raise r.fail("examples", "targets y of −1 or 1 for the hinge loss with one output", y.ravel().tolist())

    info = _data_info(r, data["data"], len(input_names), out.units) if "data" in data else None
    net = Network(input_names, layers, loss, training, x, y, title, source, info)
    for i, name in enumerate(training.freeze):
        if not net.has_parameter(name):
            raise r.fail(
                f"training.freeze[{i}]", "a parameter name (" + ", ".join(net.parameter_names()[:8]) + ", ...)", name
            )
    return net


def _layer(
    r: _Reader,
    raw: object,
    li: int,
    count: int,
    fan_in: int,
    counter: int,
    rng: np.random.Generator,
    dtype: np.dtype[Any],
) -> tuple[Layer, int]:
    where = f"layers[{li}]"
    if not isinstance(raw, dict):
        raise r.fail(where, "a table with units and activation", raw)
    r.check_keys(raw, LAYER_KEYS, where)
    last = li == count - 1
    default_name = "out" if last else ("h" if count == 2 else f"h{li + 1}")
    name = r.string(raw.get("name", default_name), f"{where}.name")

    if "activation" not in raw:
        raise r.fail(
            f"{where}.activation",
            "an activation (" + ", ".join(known("activation")) + ")",
            Shown("nothing (the key is missing)"),
        )
    act_name = raw["activation"]
    if not isinstance(act_name, str) or act_name not in ACTIVATIONS:
        raise r.fail(
            f"{where}.activation", "one of " + ", ".join(known("activation")), _with_guess(act_name, ACTIVATIONS)
        )
    act = ACTIVATIONS[act_name]
    if not act.elementwise and not last:
        raise r.fail(
            f"{where}.activation",
            "softmax only in the output layer (its outputs are probabilities for the loss)",
            act_name,
        )

    weights_raw = raw.get("weights")
    if "units" in raw:
        units = r.integer(raw["units"], f"{where}.units", 1)
    elif isinstance(weights_raw, list) and weights_raw:
        units = len(weights_raw)
    else:
        raise r.fail(
            f"{where}.units", "the number of neurons (a whole number ≥ 1)", Shown("nothing (the key is missing)")
        )

    if weights_raw is None:
        weight = _initial_weights(act.init, units, fan_in, rng)
    else:
        if not isinstance(weights_raw, list) or len(weights_raw) != units:
            got = Shown(f"{len(weights_raw)} rows") if isinstance(weights_raw, list) else weights_raw
            raise r.fail(f"{where}.weights", f"{units} rows (one per neuron) of {fan_in} numbers (one per input)", got)
        weight = np.array([r.vector(row, f"{where}.weights[{j}]", fan_in) for j, row in enumerate(weights_raw)])
    neurons = _neuron_names(name, units)

    weight_names: int | list[list[str]] = counter  # the default numbering, named only when asked
    if "weight_names" in raw:
        weight_names = _names_grid(r, raw["weight_names"], f"{where}.weight_names", units, fan_in)
    counter += units * fan_in

    bias_raw = raw.get("bias")
    if bias_raw is None:
        mode, bias, bias_names = "none", np.zeros(0), []
    elif isinstance(bias_raw, list):
        mode, bias = "neuron", np.array(r.vector(bias_raw, f"{where}.bias", units))
        bias_names = [f"b_{n}" for n in neurons]
    else:
        mode, bias = "shared", np.array([r.number(bias_raw, f"{where}.bias")])
        bias_names = [f"b{li + 1}"]
    if "bias_names" in raw:
        given = raw["bias_names"]
        given = [given] if isinstance(given, str) else given
        if (
            not isinstance(given, list)
            or len(given) != len(bias_names)
            or not all(isinstance(n, str) and n for n in given)
        ):
            raise r.fail(f"{where}.bias_names", f"{len(bias_names)} name(s), one per bias", raw["bias_names"])
        bias_names = list(given)

    alpha_name = None
    if act.alpha is None:
        if "alpha" in raw:
            raise r.fail(f"{where}.alpha", f"no alpha: {act.name} takes none", raw["alpha"])
        alpha = np.zeros(0)
    else:
        alpha = np.array([r.number(raw.get("alpha", act.alpha), f"{where}.alpha")])
        if act.learnable_alpha:
            alpha_name = f"alpha_{name}"

    layer = Layer(
        name=name,
        activation=act,
        weight=weight.astype(dtype),
        bias=bias.astype(dtype),
        bias_mode=mode,  # type: ignore[arg-type]
        neuron_names=neurons,
        weight_numbering=weight_names,
        bias_names=bias_names,
        alpha=alpha.astype(dtype),
        alpha_name=alpha_name,
    )
    return layer, counter


def _initial_weights(scheme: str, units: int, fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """Xavier/Glorot uniform for sigmoid-like activations, He normal for the ReLU family."""
    if scheme == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(units, fan_in))
    limit = math.sqrt(6.0 / (fan_in + units))
    return rng.uniform(-limit, limit, size=(units, fan_in))


def _training(r: _Reader, raw: object) -> Training:
    if not isinstance(raw, dict):
        raise r.fail("training", "a [training] table", raw)
    r.check_keys(raw, TRAINING_KEYS, "training")
    t = Training()
    if "learning_rate" in raw:
        t.learning_rate = r.number(raw["learning_rate"], "training.learning_rate")
        if t.learning_rate <= 0:
            raise r.fail("training.learning_rate", "a number > 0", raw["learning_rate"])
    if "batch" in raw:
        b = raw["batch"]
        if b in ("online", "full") or (isinstance(b, int) and not isinstance(b, bool) and b >= 1):
            t.batch = b
        else:
            raise r.fail("training.batch", '"online", "full" or a batch size ≥ 1', b)
    if "reduction" in raw:
        if raw["reduction"] not in ("sum", "mean"):
            raise r.fail("training.reduction", '"sum" or "mean"', raw["reduction"])
        t.reduction = raw["reduction"]
    if "freeze" in raw:
        f = raw["freeze"]
        if not isinstance(f, list) or not all(isinstance(n, str) for n in f):
            raise r.fail("training.freeze", "a list of parameter names", f)
        t.freeze = tuple(f)
    if "epochs" in raw:
        t.epochs = r.integer(raw["epochs"], "training.epochs", 1)
    if "seed" in raw:
        t.seed = r.integer(raw["seed"], "training.seed", 0)
    if "dtype" in raw:
        if raw["dtype"] not in ("float64", "float32"):
            raise r.fail("training.dtype", '"float64" or "float32"', raw["dtype"])
        t.dtype = raw["dtype"]
    return t


def _examples(
    r: _Reader, raw: object, n_in: int, n_out: int, required: bool, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray]:
    if raw is None and not required:
        return np.zeros((0, n_in), dtype=dtype), np.zeros((0, n_out), dtype=dtype)
    if not isinstance(raw, list) or not raw:
        got = Shown("nothing (the key is missing)") if raw is None else (Shown("an empty list") if raw == [] else raw)
        raise r.fail("examples", "one or more [[examples]] tables with x and y", got)
    xs, ys = [], []
    for i, ex in enumerate(raw):
        where = f"examples[{i}]"
        if not isinstance(ex, dict):
            raise r.fail(where, "a table with x and y", ex)
        r.check_keys(ex, EXAMPLE_KEYS, where)
        for key in EXAMPLE_KEYS:
            if key not in ex:
                raise r.fail(f"{where}.{key}", "a list of numbers", Shown("nothing (the key is missing)"))
        xs.append(r.vector(ex["x"], f"{where}.x", n_in))
        ys.append(r.vector(ex["y"], f"{where}.y", n_out))
    return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


def _data_info(r: _Reader, raw: object, n_in: int, n_out: int) -> DataInfo:
    """The optional [data] table (see `DataInfo`), checked against the network's width."""
    if not isinstance(raw, dict):
        raise r.fail("data", "a [data] table", raw)
    r.check_keys(raw, DATA_KEYS, "data")
    info = DataInfo()
    for key in ("columns", "classes"):
        if key in raw:
            names = raw[key]
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise r.fail(f"data.{key}", "a list of names", names)
            setattr(info, key, list(names))
    if info.columns and len(info.columns) != n_in:
        raise r.fail("data.columns", f"{n_in} column names, one per input", len(info.columns))
    if info.classes and len(info.classes) != n_out and not (n_out == 1 and len(info.classes) == 2):
        raise r.fail("data.classes", f"{n_out} class names, one per output (or 2 for one output)", len(info.classes))
    if "target" in raw:
        info.target = r.string(raw["target"], "data.target")
    if ("mean" in raw) != ("std" in raw):
        raise r.fail("data", "both mean and std (the standardisation), or neither")
    if "mean" in raw:
        info.mean = r.vector(raw["mean"], "data.mean", n_in)
        info.std = r.vector(raw["std"], "data.std", n_in)
        if not all(s > 0 for s in info.std):
            raise r.fail("data.std", "numbers > 0", raw["std"])
    return info


def _check_unique_names(r: _Reader, inputs: list[str], layers: list[Layer]) -> None:
    seen: dict[str, str] = {}
    for name in inputs:
        if name in seen:
            raise r.fail("inputs", "names that are all different", name)
        seen[name] = "inputs"
    for li, layer in enumerate(layers):
        given = [n for row in layer.weight_names for n in row] if layer.custom_weight_names else []
        names = [*layer.neuron_names, *given, *layer.bias_names]
        for name in names:
            if name in seen:
                raise r.fail(f"layers[{li}]", f"names not already used by {seen[name]}", name)
            seen[name] = f"layers[{li}]"
    # Default weight names (w1, w2, ...) are not listed above, so check them against the rest.
    for li, layer in enumerate(layers):
        for name, where in seen.items():
            if layer.default_index(name) is not None:
                raise r.fail(where, f"names not already used by layers[{li}]'s weights", name)
