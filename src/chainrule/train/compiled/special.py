"""The compiled loop specialised to one network's shape, for online and small-batch training.

The general loop (`kernel`) reads each layer's size, offsets, activation and bias from arrays, so
every number it computes passes through a dispatch on codes and loops whose lengths it learns at
run time: on a 2-2-1 network that bookkeeping is most of its time. Here the loop is written out
for one shape — sizes, offsets, activation codes and bias modes as literals — so LLVM unrolls the
tiny loops, folds the dispatch away and keeps the numbers in registers: several times faster.

The source is generated per shape (`generate.source`: numbers only; α and every other value are
run-time arguments), written once to the cache folder (`cache`: private, checked, bounded) and
imported from there, so that numba caches its machine code beside it: the first run of a new
shape compiles for a second or two, later runs load it in milliseconds. The formulas are the general loop's own
(`scalar`: the activations, the output δ and loss, `correct`), called with literal codes, so the
two agree to rounding; the tests hold the result to the engine's at 1e-12 over random networks.
`variant` says whether a run should use it and why not; which loop did run, each loop says itself
(its entry points return `codes.LOOP_SPECIALISED` or `LOOP_GENERAL`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from chainrule.train.compiled import cache, generate
from chainrule.train.compiled.generate import GENERATOR_VERSION, Shape, source

__all__ = ["GENERATOR_VERSION", "module", "shape_of", "source", "variant"]

# A loop for a shape not met before costs a compile of about 1–3 s, so it is built only for runs the
# general loop would take longer than this over (or where CHAINRULE_SPECIALISE=1 asks for it).
COMPILE_PAYS_AFTER_SECONDS = 3.0
# The general loop's time, roughly: this per example plus this per example and parameter
# (measured on this project's benchmark machine: 0.36 µs for 2-2-1, 1.1 µs for 2-16-16-1).
GENERAL_SECONDS_PER_EXAMPLE = 0.3e-6
GENERAL_SECONDS_PER_PARAMETER = 2.5e-9
# A batch of several examples goes example by example here while it is small (at most this many
# multiply-adds, examples × parameters) or the network narrow (no layer wider than NARROW): past
# both, the general loop's BLAS products over the whole batch win. Measured by
# benchmarks/scaling.py (benchmarks/results/scaling.json, tests/test_thresholds_match_recorded_timings.py): on
# 2-4-4-1 this loop wins at every batch up to 256 (33 µs against 46 µs through matrices with tanh
# at batch 256); on 2-16-16-1 at batch 8 (5.0 µs against 6.7 µs) and not at 32 with relu.
SPECIALISE_MAX_BATCH_WORK = 3_000
NARROW = 8
# Past this many parameters writing the loops out gains little: the products take the time.
SPECIALISE_MAX_PARAMETERS = 100_000
ENV_FORCE = "CHAINRULE_SPECIALISE"
ENV_CACHE = cache.ENV_CACHE
# What the generated code runs besides its own text (numba's cache does not notice when these
# change), relative to the package: a change to any of them is a new key.
DEPENDS_ON = (
    "engine/functions.py",
    "engine/activations.py",
    "engine/losses.py",
    "train/codegen.py",
    "train/compiled/generate.py",
    "train/compiled/special.py",
    "train/compiled/codes.py",
    "train/compiled/scalar.py",
    "train/compiled/kernel.py",
    "train/compiled/matrices.py",
)

_loaded: dict[str, ModuleType] = {}
_keys: dict[Shape, str] = {}
_depends: list[str] = []  # the hash of DEPENDS_ON and numba's version, once per process


def cache_dir() -> Path:
    """The configured cache folder (`cache.configured`)."""
    return cache.configured()


def shape_of(packed: Any) -> Shape:
    """What the generated loop depends on, numbers only: per layer (units, fan-in, weight offset,
    bias offset, bias mode, activation code), the loss code, and whether any parameter is frozen.
    (α is not part of it: the loop takes it at run time.)"""
    layers = tuple(
        (
            int(packed.units[i]),
            int(packed.fan_in[i]),
            int(packed.w_off[i]),
            int(packed.b_off[i]),
            int(packed.bias_mode[i]),
            int(packed.act[i]),
        )
        for i in range(len(packed.units))
    )
    return layers, int(packed.loss), bool((packed.mask != 1.0).any())


def variant(packed: Any, batch: int, examples: float) -> tuple[bool, str]:
    """(whether to run the loop written out for this shape, why not when not). ``examples``: the
    examples the run is to train on (updates × batch), as far as known in advance."""
    size = packed.params.shape[0]
    narrow = max(int(packed.fan_in.max()), int(packed.units.max())) <= NARROW
    if batch > 1 and batch * size > SPECIALISE_MAX_BATCH_WORK and not narrow:
        return False, "batches this large go through matrix products"
    if size > SPECIALISE_MAX_PARAMETERS:
        return False, f"more than {SPECIALISE_MAX_PARAMETERS:,} parameters: the general loop is as fast"
    forced = os.environ.get(ENV_FORCE, "")
    if forced in ("0", "1"):
        return forced == "1", "" if forced == "1" else f"{ENV_FORCE}=0"
    shape = shape_of(packed)
    if key(shape) in _loaded or _path(shape).exists():
        return True, ""
    general = examples * (GENERAL_SECONDS_PER_EXAMPLE + GENERAL_SECONDS_PER_PARAMETER * size)
    if general >= COMPILE_PAYS_AFTER_SECONDS:
        return True, ""
    return False, "a short run: compiling a loop for this shape would take longer than it saves"


def module(packed: Any) -> ModuleType:
    """The specialised loops for this network's shape: generated, checked against the cached
    file (written anew when it differs) and imported. Raises what the import raised."""
    shape = shape_of(packed)
    name = key(shape)
    if name in _loaded:
        return _loaded[name]
    path = _path(shape)
    cache.ready(path, source(shape))
    spec = importlib.util.spec_from_file_location(f"chainrule_special_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[spec.name]
        raise
    _loaded[name] = mod
    return mod


def discard(packed: Any) -> None:
    """Forget this shape's loop and remove its files (its machine code failed to load or build):
    the next `module` writes and compiles it afresh."""
    shape = shape_of(packed)
    _loaded.pop(key(shape), None)
    path = _path(shape)
    cache.drop(path.stem, path.parent)


def key(shape: Shape) -> str:
    """A content hash: the generated source, every file it depends on, numba's and Python's versions."""
    if shape not in _keys:
        digest = hashlib.sha256(source(shape).encode())
        digest.update(_dependencies().encode())
        _keys[shape] = digest.hexdigest()[:24]
    return _keys[shape]


def _dependencies() -> str:
    if not _depends:
        import numba

        package = Path(generate.__file__).resolve().parent.parent.parent
        digest = hashlib.sha256()
        for name in DEPENDS_ON:
            digest.update(name.encode() + b"\0" + (package / name).read_bytes())
        digest.update(f"numba {numba.__version__} python {sys.version}".encode())
        _depends.append(digest.hexdigest())
    return _depends[0]


def _path(shape: Shape) -> Path:
    return cache.folder() / f"{cache.PREFIX}{key(shape)}.py"
