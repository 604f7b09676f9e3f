"""The network file's parts, each validated on its own: layers, training, examples, the data table.

`netfile` reads a document and assembles the network from these. Every problem is a
`NetfileError` naming the file, the key (``layers[1].weights``) and what was expected; sizes are
checked against `engine.limits` before anything is allocated.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule.engine import limits, reserved
from chainrule.engine.functions import ACTIVATIONS, Activation, known
from chainrule.engine.network import DataInfo, Layer, Training
from chainrule.engine.optimizers import OPTIMIZERS, Settings
from chainrule.errors import NetfileError, Shown

DATA_KEYS = ("columns", "target", "classes", "mean", "std")
LAYER_KEYS = ("type", "name", "units", "activation", "alpha", "weights", "bias", "weight_names", "bias_names")
EXAMPLE_KEYS = ("x", "y")
# The optimizer's constants, and the optimizers that use each (a constant no optimizer reads is refused).
OPTIMIZER_CONSTANTS: dict[str, tuple[str, ...]] = {
    "momentum": ("momentum", "nesterov"),
    "beta1": ("adam",),
    "beta2": ("adam",),
    "rho": ("rmsprop",),
    "eps": ("rmsprop", "adam"),
}
TRAINING_KEYS: tuple[str, ...] = ("learning_rate", "batch", "reduction", "freeze", "epochs", "seed", "dtype")
TRAINING_KEYS += ("optimizer", *OPTIMIZER_CONSTANTS)
MISSING = Shown("nothing (the key is missing)")


class Reader:
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
        try:
            number = float(value)  # TOML's whole numbers are Python's: 10**400 has no float
        except OverflowError:
            digits = len(str(abs(value)))  # at most 4,300: Python's TOML reader refuses longer ones
            raise self.fail(key, "a finite number", Shown(f"a number of {digits:,} digits")) from None
        if not math.isfinite(number):
            raise self.fail(key, "a finite number", value)
        return number

    def integer(self, value: object, key: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"a whole number ≥ {minimum}", value)
        return value

    def within(self, limit: limits.Limit, count: int, key: str) -> None:
        """Refuse a size over one of the limits (before it is allocated), naming the limit."""
        expected = limit.exceeded(count)
        if expected is not None:
            raise self.fail(key, expected, Shown(f"{count:,}"))

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


def with_guess(value: object, names: Mapping[str, object]) -> object:
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


def _names_grid(r: Reader, value: object, key: str, rows: int, cols: int) -> list[list[str]]:
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


def activation(r: Reader, raw: Mapping[str, Any], where: str) -> Activation:
    """The layer's activation by name (or alias), with a guess for a typo."""
    if "activation" not in raw:
        raise r.fail(f"{where}.activation", "an activation (" + ", ".join(known("activation")) + ")", MISSING)
    name = raw["activation"]
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise r.fail(f"{where}.activation", "one of " + ", ".join(known("activation")), with_guess(name, ACTIVATIONS))
    return ACTIVATIONS[name]


def units(r: Reader, raw: Mapping[str, Any], where: str, fan_in: int, counted: int) -> int:
    """The layer's neuron count (given, or the rows of its weights), within the size limits.

    ``counted`` is the number of weights of the layers before, so that the whole network's
    parameter count is checked before this layer's weights are made.
    """
    weights_raw = raw.get("weights")
    if "units" in raw:
        count = r.integer(raw["units"], f"{where}.units", 1)
    elif isinstance(weights_raw, list) and weights_raw:
        count = len(weights_raw)
    else:
        raise r.fail(f"{where}.units", "the number of neurons (a whole number ≥ 1)", MISSING)
    r.within(limits.UNITS, count, f"{where}.units")
    r.within(limits.PARAMETERS, counted + count * (fan_in + 1), f"{where}.units")
    return count


class SeededRandom:
    """A file's seed's random stream, made where a layer first asks for random weights: most files
    give theirs, and numpy.random takes ~10 ms to import (a tenth of `chainrule`'s start)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng: np.random.Generator | None = None

    def get(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng


def weights(
    r: Reader, raw: Mapping[str, Any], where: str, shape: tuple[int, int], init: str, rng: SeededRandom
) -> np.ndarray:
    """The given weights (rows of fan_in numbers), or random ones by the activation's scheme."""
    count, fan_in = shape
    given = raw.get("weights")
    if given is None:
        return initial_weights(init, count, fan_in, rng.get())
    if not isinstance(given, list) or len(given) != count:
        got = Shown(f"{len(given)} rows") if isinstance(given, list) else given
        raise r.fail(f"{where}.weights", f"{count} rows (one per neuron) of {fan_in} numbers (one per input)", got)
    return np.array([r.vector(row, f"{where}.weights[{j}]", fan_in) for j, row in enumerate(given)])


def initial_weights(scheme: str, units: int, fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """Xavier/Glorot uniform for sigmoid-like activations, He normal for the ReLU family."""
    if scheme == "he":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(units, fan_in))
    limit = math.sqrt(6.0 / (fan_in + units))
    return rng.uniform(-limit, limit, size=(units, fan_in))


def bias(
    r: Reader, raw: Mapping[str, Any], where: str, li: int, neurons: list[str]
) -> tuple[str, np.ndarray, list[str]]:
    """(mode, values, names): one shared number b<layer>, one per neuron b_<neuron>, or none."""
    given = raw.get("bias")
    if given is None:
        mode, values, names = "none", np.zeros(0), []
    elif isinstance(given, list):
        mode, values = "neuron", np.array(r.vector(given, f"{where}.bias", len(neurons)))
        names = [f"b_{n}" for n in neurons]
    else:
        mode, values, names = "shared", np.array([r.number(given, f"{where}.bias")]), [f"b{li + 1}"]
    if "bias_names" in raw:
        own = raw["bias_names"]
        own = [own] if isinstance(own, str) else own
        if not isinstance(own, list) or len(own) != len(names) or not all(isinstance(n, str) and n for n in own):
            raise r.fail(f"{where}.bias_names", f"{len(names)} name(s), one per bias", raw["bias_names"])
        names = list(own)
    return mode, values, names


def alpha(r: Reader, raw: Mapping[str, Any], where: str, act: Activation, name: str) -> tuple[np.ndarray, str | None]:
    """The activation's α (none for most; learnable and named alpha_<layer> for PReLU)."""
    if act.alpha is None:
        if "alpha" in raw:
            raise r.fail(f"{where}.alpha", f"no alpha: {act.name} takes none", raw["alpha"])
        return np.zeros(0), None
    value = np.array([r.number(raw.get("alpha", act.alpha), f"{where}.alpha")])
    return value, (f"alpha_{name}" if act.learnable_alpha else None)


def _cast(values: np.ndarray, dtype: Any) -> np.ndarray:
    """In the file's precision; a value beyond it becomes ∞ quietly here (`train.config` names it)."""
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def layer(
    r: Reader, raw: object, li: int, count: int, fan_in: int, counter: int, rng: SeededRandom, dtype: Any
) -> tuple[Layer, int]:
    """Layer `li` of `count`, fed by fan_in neurons; `counter` weights come before it (their numbering)."""
    where = f"layers[{li}]"
    if not isinstance(raw, dict):
        raise r.fail(where, "a table with units and activation", raw)
    r.check_keys(raw, LAYER_KEYS, where)
    default_name = "out" if li == count - 1 else ("h" if count == 2 else f"h{li + 1}")
    name = r.string(raw.get("name", default_name), f"{where}.name")
    act = activation(r, raw, where)
    size = units(r, raw, where, fan_in, counter)
    weight = weights(r, raw, where, (size, fan_in), act.init, rng)
    neurons = _neuron_names(name, size)
    weight_names: int | list[list[str]] = counter  # the default numbering, named only when asked
    if "weight_names" in raw:
        weight_names = _names_grid(r, raw["weight_names"], f"{where}.weight_names", size, fan_in)
    mode, bias_values, bias_names = bias(r, raw, where, li, neurons)
    alpha_value, alpha_name = alpha(r, raw, where, act, name)
    with np.errstate(over="ignore"):  # what overflows the precision is refused by name: α here, parameters on use
        alpha_value = alpha_value.astype(dtype)
    if not np.isfinite(alpha_value).all():
        raise r.fail(f"{where}.alpha", f"a number that fits in {np.dtype(dtype)}", raw.get("alpha"))
    made = Layer(
        name=name,
        activation=act,
        weight=_cast(weight, dtype),
        bias=_cast(bias_values, dtype),
        bias_mode=mode,  # type: ignore[arg-type]
        neuron_names=neurons,
        weight_numbering=weight_names,
        bias_names=bias_names,
        alpha=alpha_value,
        alpha_name=alpha_name,
    )
    return made, counter + size * fan_in


def training(r: Reader, raw: object) -> Training:
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
    t.optimizer = optimizer(r, raw)
    return t


def optimizer(r: Reader, raw: Mapping[str, Any]) -> Settings:
    """`optimizer` and its constants: μ, ρ, β₁, β₂ in [0, 1) (μ > 0 for Nesterov), ε > 0."""
    name = raw.get("optimizer", "sgd")
    if name not in OPTIMIZERS:
        raise r.fail("training.optimizer", "one of " + ", ".join(f'"{o}"' for o in OPTIMIZERS), name)
    values: dict[str, float] = {}
    for key, users in OPTIMIZER_CONSTANTS.items():
        if key not in raw:
            continue
        if name not in users:
            raise r.fail(
                f"training.{key}",
                "it only with optimizer = " + " or ".join(f'"{u}"' for u in users),
                Shown(f'optimizer = "{name}"'),
            )
        x = r.number(raw[key], f"training.{key}")
        if key == "eps" and not x > 0:
            raise r.fail("training.eps", "a number > 0", raw[key])
        if key != "eps" and not 0 <= x < 1:
            raise r.fail(f"training.{key}", "a number in [0, 1)", raw[key])
        values[key] = x
    settings = Settings(name, **values)
    if name == "nesterov" and settings.momentum == 0:
        raise r.fail("training.momentum", "a number in (0, 1) for Nesterov", raw["momentum"])
    return settings


def examples(
    r: Reader, raw: object, n_in: int, n_out: int, required: bool, dtype: np.dtype[Any]
) -> tuple[np.ndarray, np.ndarray]:
    if raw is None and not required:
        return np.zeros((0, n_in), dtype=dtype), np.zeros((0, n_out), dtype=dtype)
    if not isinstance(raw, list) or not raw:
        got = MISSING if raw is None else (Shown("an empty list") if raw == [] else raw)
        raise r.fail("examples", "one or more [[examples]] tables with x and y", got)
    r.within(limits.EXAMPLES, len(raw), "examples")
    xs, ys = [], []
    for i, ex in enumerate(raw):
        where = f"examples[{i}]"
        if not isinstance(ex, dict):
            raise r.fail(where, "a table with x and y", ex)
        r.check_keys(ex, EXAMPLE_KEYS, where)
        for key in EXAMPLE_KEYS:
            if key not in ex:
                raise r.fail(f"{where}.{key}", "a list of numbers", MISSING)
        xs.append(r.vector(ex["x"], f"{where}.x", n_in))
        ys.append(r.vector(ex["y"], f"{where}.y", n_out))
    return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


def data_info(r: Reader, raw: object, n_in: int, n_out: int) -> DataInfo:
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


def check_unique_names(r: Reader, inputs: list[str], layers: list[Layer]) -> None:
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
    found = reserved.network_clash(inputs, layers)  # names the step would give two values
    if found is not None:
        raise r.fail(*found)
