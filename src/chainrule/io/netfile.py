"""The network file (TOML or JSON, one schema): read it and assemble a validated Network.

Every problem is reported as a `NetfileError` naming the file, the key (``layers[1].weights``)
and what was expected. The parts are validated in `netparts`; writing back is `netwrite`; the
sizes a file may ask for are `engine.limits`; which activations and losses go together is the
engine's rule (`functions.pairing_refusal`), shared with the web page.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.engine import limits
from chainrule.engine.functions import LOSSES, Loss, known, pairing_refusal, target_refusal
from chainrule.engine.network import Layer, Network
from chainrule.errors import NetfileError, Shown, shown_path
from chainrule.io import modelfile, netnpz, netparts, netwrite
from chainrule.io.netparts import MISSING, Reader
from chainrule.io.netwrite import dumps_toml, to_dict, write_atomic  # noqa: F401  (the file API, in one place)

TOP_KEYS = ("title", "inputs", "loss", "layers", "examples", "training", "data")
REFERENCE = "forward-backprop.toml"
# A JSON whole number longer than this is not converted (Python refuses beyond 4,300 digits, and
# nothing in a network file needs more than a few): it is kept as a `TooLong` and reported.
_MOST_DIGITS = 400


class TooLong(float):
    """A number too long to read: infinite as a value, and described by its length in messages."""

    digits: int

    def __new__(cls, text: str) -> TooLong:
        made = super().__new__(cls, float("inf"))
        made.digits = len(text.lstrip("+-"))
        return made

    def __str__(self) -> str:
        return f"a number of {self.digits:,} digits"


def _whole(text: str) -> int | float:
    return int(text) if len(text) <= _MOST_DIGITS else TooLong(text)


def example_path(name: str = REFERENCE) -> Path:
    """The path of an example shipped inside the package (the reference one by default)."""
    return Path(str(resources.files("chainrule") / "examples" / name))


def example_names() -> list[str]:
    """The built-in examples that are network files (by name, without `.toml`), sorted."""
    folder = example_path("")
    return sorted(p.stem for p in folder.glob("*.toml") if not p.stem.endswith("-answers"))


def resolve_example(path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """A file argument as given, or a built-in example's path where it names one and no such file
    exists here (`chainrule explain xor` after `pip install`: examples/xor.toml inside the package)."""
    text = os.fspath(path)
    if os.path.exists(text) or any(sep in text for sep in "/\\") or "." in text:
        return path
    names = example_names()
    if text not in names:
        raise NetfileError(
            shown_path(text), "", f"a network file or a built-in example ({', '.join(names)})", Shown("no such file")
        )
    return example_path(f"{text}.toml")


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML or JSON file into a dict, with one-line errors that name the file."""
    src = shown_path(path)
    text = limits.read_text(path, "a TOML or JSON network file")
    suffix = Path(path).suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
    try:
        data = json.loads(text, parse_int=_whole) if as_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise NetfileError(src, "", f"valid JSON ({exc.msg} at line {exc.lineno})") from None
    except tomllib.TOMLDecodeError as exc:
        kind = "valid TOML" if suffix == ".toml" else "a TOML or JSON network file"
        raise NetfileError(src, "", f"{kind} ({exc})") from None
    except RecursionError:
        raise NetfileError(src, "", limits.nesting(), Shown("nesting too deep to read")) from None
    except ValueError as exc:  # TOML's whole numbers of more than 4,300 digits
        raise NetfileError(src, "", "whole numbers of at most 4,300 digits", Shown(f"a longer one ({exc})")) from None
    problem = limits.document_problem(data)
    if problem is not None:
        raise NetfileError(src, problem[0], problem[1])
    if not isinstance(data, dict):
        raise NetfileError(src, "", "a table (object) at the top level", Shown(type(data).__name__))
    return data


def located(path: str | os.PathLike[str] | None) -> tuple[str | os.PathLike[str], str]:
    """(the file to read, its name in messages): None is the reference example, a bare name a built-in one."""
    if path is None:
        return example_path(), f"examples/{REFERENCE}"
    resolved = resolve_example(path)
    return resolved, (str(path) if resolved is path else f"examples/{Path(resolved).name}")


def load(path: str | os.PathLike[str] | None = None, *, require_examples: bool = True) -> Network:
    """Load and validate a dense network file (TOML, JSON or .npz); None loads the built-in reference
    example. `io.loader.load` reads shaped networks (conv2d, rnn, …) too."""
    path, source = located(path)
    if netnpz.is_npz(path):
        return _from_npz(path, require_examples)
    return from_dict(read_document(path), source=source, require_examples=require_examples)


def save(net: Network, path: str | os.PathLike[str]) -> None:
    """Save a network atomically: .npz (binary, for large networks), JSON, or TOML (the default)."""
    if str(path).lower().endswith(".npz"):
        netnpz.save_npz(net, path)
    else:
        netwrite.save(net, path)


def _from_npz(path: str | os.PathLike[str], require_examples: bool) -> Network:
    """An .npz network: its document validated as a TOML file's, then its arrays put in place."""
    src = shown_path(path)
    doc, arrays = netnpz.read_npz(path)
    for i, entry in enumerate(doc.get("layers") or []):
        if isinstance(entry, dict) and "weights" in entry:
            raise NetfileError(
                src, f"layers[{i}].weights", f"no weights in {netnpz.DOCUMENT} (they are the array layers.{i}.weights)"
            )
    net = from_dict(doc, source=str(path), require_examples=False)
    fan_in = len(net.input_names)
    for i, layer in enumerate(net.layers):
        weight = netnpz.array(src, arrays, f"layers.{i}.weights", (layer.units, fan_in))
        layer.weight = weight.astype(layer.weight.dtype)
        fan_in = layer.units
    if "examples.x" in arrays:
        count = arrays["examples.x"].shape[0] if arrays["examples.x"].ndim else 0
        limits.EXAMPLES.check(count, f"{src}: examples.x")
        dtype = net.layers[0].weight.dtype
        net.x = netnpz.array(src, arrays, "examples.x", (count, len(net.input_names))).astype(dtype)
        net.y = netnpz.array(src, arrays, "examples.y", (count, net.output_layer.units)).astype(dtype)
        _refuse_impossible(Reader(src), net.loss, net.layers, net.y)
    elif require_examples:
        raise NetfileError(src, "examples.x", "the examples (arrays examples.x and examples.y)", MISSING)
    return net


def _input_names(r: Reader, data: Mapping[str, Any]) -> list[str]:
    """The inputs: a list of names, or a count that names them x1, x2, …"""
    if "inputs" not in data:
        raise r.fail("inputs", "the input names (a list of strings) or their count", MISSING)
    raw = data["inputs"]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        r.within(limits.INPUTS, raw, "inputs")
        return [f"x{i + 1}" for i in range(raw)]
    if isinstance(raw, list) and raw and all(isinstance(n, str) and n for n in raw):
        r.within(limits.INPUTS, len(raw), "inputs")
        return list(raw)
    raise r.fail("inputs", "a list of input names or a count ≥ 1", raw)


def _loss(r: Reader, data: Mapping[str, Any]) -> Loss:
    name = data.get("loss", "half_squared_error")
    if not isinstance(name, str) or name not in LOSSES:
        raise r.fail("loss", "one of " + ", ".join(known("loss")), netparts.with_guess(name, LOSSES))
    return LOSSES[name]


def _layers(r: Reader, raw_layers: object, fan_in: int, seed: int, dtype: Any) -> list[Layer]:
    """Every layer, input side first, each fed by the one before."""
    if not isinstance(raw_layers, list) or not raw_layers:
        got = raw_layers if raw_layers is not None else MISSING
        raise r.fail("layers", "a list of one or more [[layers]] tables", got)
    r.within(limits.LAYERS, len(raw_layers), "layers")
    rng = netparts.SeededRandom(seed)
    layers: list[Layer] = []
    counter = 0
    for li, raw in enumerate(raw_layers):
        made, counter = netparts.layer(r, raw, li, len(raw_layers), fan_in, counter, rng, dtype)
        layers.append(made)
        fan_in = made.units
    return layers


def _refuse_impossible(r: Reader, loss: Loss, layers: list[Layer], y: np.ndarray) -> None:
    """The engine's rule on what goes together (and what the targets must be), as a NetfileError."""
    refusal = pairing_refusal(loss, [(la.activation, la.units) for la in layers])
    if refusal is not None:
        at_fault = layers[refusal.layer]
        got = at_fault.units if refusal.key == "units" else at_fault.activation.name
        raise r.fail(f"layers[{refusal.layer}].{refusal.key}", refusal.expected, got)
    problem = target_refusal(loss, layers[-1].units, y)
    if problem is not None:
        raise r.fail("examples", problem, y.ravel().tolist())


def from_dict(data: Mapping[str, Any], source: str = "<network>", *, require_examples: bool = True) -> Network:
    """Build a validated Network from a parsed network document."""
    r = Reader(shown_path(source))
    if modelfile.is_shaped(data):  # a Model's file: io.loader reads it
        raise r.fail(*modelfile.shaped_key(data), Shown("a shaped network (read it with chainrule.load)"))
    r.check_keys(data, TOP_KEYS, "")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise r.fail("title", "a string", title)
    input_names = _input_names(r, data)
    loss = _loss(r, data)
    training = netparts.training(r, data.get("training", {}))
    dtype = np.dtype(training.dtype)
    layers = _layers(r, data.get("layers"), len(input_names), training.seed, dtype)
    netparts.check_unique_names(r, input_names, layers)
    n_out = layers[-1].units
    x, y = netparts.examples(r, data.get("examples"), len(input_names), n_out, require_examples, dtype)
    _refuse_impossible(r, loss, layers, y)
    info = netparts.data_info(r, data["data"], len(input_names), n_out) if "data" in data else None
    net = Network(input_names, layers, loss, training, x, y, title, source, info)
    for i, name in enumerate(training.freeze):
        if not net.has_parameter(name):
            names = ", ".join(net.parameter_names()[:8])
            raise r.fail(f"training.freeze[{i}]", f"a parameter name ({names}, ...)", name)
    return net
