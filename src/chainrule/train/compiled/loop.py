"""The compiled path: whole epochs of plain SGD in one numba-compiled loop.

NumPy spends microseconds per call, so a 2-2-1 network trained online is all overhead, and a batch
of 32 on 64-128-10 spends more time between its matrix products than in them. This module packs a
network's parameters into one flat array and runs whole epochs, and their evaluation, inside one
compiled loop: example by example for the smallest batches, and as matrices (BLAS products through
numba, everything between them compiled) from MATRIX_MIN_BATCH on. It computes exactly what
`Network.forward/backward/updated` compute — the same formulas in the same stable forms, gradients
of the batch loss before the update — and the tests hold both ways to 1e-12. When numba or SciPy
is missing or the network uses something the kernel lacks, `unsupported` says why and the caller
uses the NumPy path instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.engine.network import Network
from chainrule.train.blas import one_thread_for_compiled_products
from chainrule.train.compiled.codes import ACTIVATION_CODES, BIAS_CODES, LOOP_NAMES, LOSS_CODES


@dataclass
class Packed:
    """A network's parameters in one flat array, with the offsets the kernel needs."""

    params: np.ndarray  # every weight and bias, flat
    mask: np.ndarray  # 1 where the parameter learns, 0 where it is frozen
    units: np.ndarray
    fan_in: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray
    bias_mode: np.ndarray  # codes.BIAS_NONE, BIAS_SHARED or BIAS_NEURON per layer
    act: np.ndarray
    alpha: np.ndarray
    a_off: np.ndarray  # where each layer's activations start in the activation buffer (0: the input)
    loss: int
    variant: str = ""  # the loop that ran last, as it said (`codes.LOOP_NAMES`): "general" or "specialised"
    why_general: str = ""  # why the last run did not use a specialised loop

    def kernel_args(self) -> tuple[Any, ...]:
        """The parameters and layout, in the order the compiled loops take them."""
        return (
            self.params,
            self.mask,
            self.units,
            self.fan_in,
            self.w_off,
            self.b_off,
            self.bias_mode,
            self.act,
            self.alpha,
            self.a_off,
            self.loss,
        )

    def unpack_into(self, net: Network) -> None:
        """Write the flat parameters back into the network's layer arrays."""
        for i, layer in enumerate(net.layers):
            w0, size = int(self.w_off[i]), layer.weight.size
            layer.weight[...] = self.params[w0 : w0 + size].reshape(layer.weight.shape)
            if layer.bias.size:
                b0 = int(self.b_off[i])
                layer.bias[...] = self.params[b0 : b0 + layer.bias.size]


def unsupported(net: Network) -> str | None:
    """Why the compiled path cannot train this network, or None when it can."""
    try:
        import numba  # noqa: F401
        import scipy  # noqa: F401  (numba's matrix products call SciPy's BLAS)
    except ImportError as missing:
        return f"{missing.name} is not installed (pip install 'chainrule[fast]')"
    for layer in net.layers:
        if layer.activation.name not in ACTIVATION_CODES:
            return f"the compiled path has no {layer.activation.name} (layer {layer.name})"
        if layer.alpha_name:
            return f"the compiled path does not learn α ({layer.alpha_name})"
    return None


def pack(net: Network, dtype: Any = None) -> Packed:
    dtype = np.dtype(dtype or net.layers[0].weight.dtype)
    chunks, mask = [], []
    frozen = set(net.training.freeze)
    w_off, b_off, a_off = [], [], [0]
    offset, a = 0, net.layers[0].weight.shape[1]
    for layer in net.layers:
        w_off.append(offset)
        chunks.append(layer.weight.ravel())
        w_mask = layer.frozen_mask(frozen)
        mask += [1.0] * layer.weight.size if w_mask is None else w_mask.ravel().tolist()
        offset += layer.weight.size
        b_off.append(offset if layer.bias.size else -1)
        chunks.append(layer.bias.ravel())
        mask += [0.0 if n in frozen else 1.0 for n in layer.bias_names]
        offset += layer.bias.size
        a_off.append(a)
        a += layer.units
    return Packed(
        params=np.concatenate(chunks).astype(dtype),
        mask=np.array(mask, dtype=dtype),
        units=np.array([la.units for la in net.layers], dtype=np.int64),
        fan_in=np.array([la.weight.shape[1] for la in net.layers], dtype=np.int64),
        w_off=np.array(w_off, dtype=np.int64),
        b_off=np.array(b_off, dtype=np.int64),
        bias_mode=np.array([BIAS_CODES[la.bias_mode] for la in net.layers], dtype=np.int64),
        act=np.array([ACTIVATION_CODES[la.activation.name] for la in net.layers], dtype=np.int64),
        alpha=np.array([la.alpha_value() for la in net.layers], dtype=dtype),
        a_off=np.array(a_off, dtype=np.int64),
        loss=LOSS_CODES[net.loss.name],
    )


# From this batch size on, an update works on the batch as matrices (one BLAS product per layer)
# rather than example by example; evaluations of at least EVALUATION_MIN_ROWS examples always do.
# Measured by benchmarks/scaling.py (docs/performance.md, "Where each path wins"): at batch 4 the
# two tie, from 8 on the matrices win at every width, by 1.5–3x at batch 32.
MATRIX_MIN_BATCH = 4
EVALUATION_ROWS = 256  # rows per block when the evaluation goes through matrices


def _layout(batch: int, matrices: bool | None) -> tuple[int, bool]:
    """(rows per matrix block, whether batches go through matrices); (0, False): one example at a
    time throughout. ``matrices``: None chooses by MATRIX_MIN_BATCH; True or False forces it."""
    if matrices is False:
        return 0, False
    return max(batch, EVALUATION_ROWS), batch >= MATRIX_MIN_BATCH if matrices is None else True


def kernel() -> Any:
    """The compiled loops (numba compiles them once and caches them on disk, where it can)."""
    from chainrule.train.compiled import cache

    cache.tolerate_failed_writes()
    from chainrule.train.compiled import kernel as fast_kernel

    return fast_kernel


def kernel_for(packed: Packed, batch: int, examples: float, specialise: bool | None = None) -> Any:
    """The loops to run: specialised to the network's shape where `special.variant` says so (or
    ``specialise`` forces either), else the general ones; notes on `packed` why not specialised.
    ``examples``: the examples the run is to train on (updates × batch), as far as known. A loop
    for the shape that fails to load is removed and the general loops run (the next run builds it
    afresh). Which loop ran, `packed.variant` records from what the loop returns (`_ran`)."""
    from chainrule.train.compiled import special

    if specialise is None:
        use, why = special.variant(packed, batch, examples)
    else:
        use, why = specialise, "" if specialise else "the general loop was asked for"
    packed.why_general = why
    if not use:
        return kernel()
    try:
        from chainrule.train.compiled import cache

        cache.tolerate_failed_writes()
        return special.module(packed)
    except Exception as err:  # a damaged cache, say: never a reason for a run to fail
        special.discard(packed)
        packed.why_general = f"the loop for this shape failed to load ({type(err).__name__}); rebuilt next run"
        return kernel()


def _ran(packed: Packed, loop_id: int) -> None:
    """Record the loop that ran, as it said itself."""
    packed.variant = LOOP_NAMES[int(loop_id)]
    if packed.variant == "specialised":
        packed.why_general = ""


def _call(packed: Packed, loops: Any, entry: str, *args: Any) -> Any:
    """loops.entry(*args); where a specialised loop fails to build (numba compiles at the first
    call), it is removed and the general loop runs instead (a build fails before any update)."""
    try:
        return getattr(loops, entry)(*args)
    except Exception as err:
        if loops is kernel():
            raise
        from chainrule.train.compiled import special

        special.discard(packed)
        packed.why_general = f"the loop for this shape failed to build ({type(err).__name__}); rebuilt next run"
        return getattr(kernel(), entry)(*args)


def train_epochs(
    packed: Packed,
    x: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    batch: int,
    mean: bool,
    lr: float,
    epochs: int,
    matrices: bool | None = None,
    specialise: bool | None = None,
) -> np.ndarray:
    """Run `epochs` epochs of SGD in place on packed.params; returns each epoch's mean example loss.

    ``order`` is the example order of every epoch (shape (epochs, n)); the loss of an epoch is the
    mean of the example losses as they were met, each before its own update. ``matrices``: see
    `_layout` (tests force each way; the default chooses by batch size). ``specialise``: see
    `kernel_for` (None chooses).
    """
    losses = np.empty(epochs, dtype=np.float64)
    dt = packed.params.dtype
    loops = kernel_for(packed, batch, float(order.size), specialise)
    with one_thread_for_compiled_products():
        ran = _call(
            packed,
            loops,
            "train_epochs",
            *packed.kernel_args(),
            np.ascontiguousarray(x, dtype=dt),
            np.ascontiguousarray(y, dtype=dt),
            np.ascontiguousarray(order, dtype=np.int64),
            int(batch),
            bool(mean),
            dt.type(lr),
            *_layout(batch, matrices),
            losses,
        )
    _ran(packed, ran)
    if not np.all(np.isfinite(losses)):
        bad = int(np.argmin(np.isfinite(losses)))
        losses[bad:] = math.nan
    return losses


def train_and_evaluate(
    packed: Packed,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    orders: np.ndarray,
    batch: int,
    mean: bool,
    lrs: np.ndarray,
    classify: int,
    cut: float,
    until_loss: float,
    evaluate: np.ndarray | None = None,
    matrices: bool | None = None,
    specialise: bool = False,
) -> tuple[int, np.ndarray]:
    """Epochs of SGD, each with the metrics `chainrule train` reports after an epoch.

    ``data`` is (x, y, x_val, y_val) (validation arrays may have no rows). ``evaluate[e]`` true:
    the training set is evaluated in full after epoch e; otherwise its metrics are the epoch's
    running ones (default: running throughout). Returns the number of epochs run (fewer when the
    training loss reached `until_loss`) and a (epochs, 5) array of training loss, accuracy,
    validation loss, validation accuracy, and 1.0 where the training metrics were evaluated
    (0.0: running). ``matrices`` as in `train_epochs`; ``specialise``: run the loop written out
    for this shape (the caller chose it by `kernel_for`).
    """
    dt = packed.params.dtype
    x, y, xv, yv = (np.ascontiguousarray(a, dtype=dt) for a in data)
    out = np.full((len(orders), 5), math.nan)
    flags = np.zeros(len(orders), np.uint8) if evaluate is None else np.ascontiguousarray(evaluate, dtype=np.uint8)
    loops = kernel_for(packed, batch, 0.0, specialise)
    with one_thread_for_compiled_products():
        done, ran = _call(
            packed,
            loops,
            "train_and_evaluate",
            *packed.kernel_args(),
            x,
            y,
            np.ascontiguousarray(orders, dtype=np.int64),
            int(batch),
            bool(mean),
            np.ascontiguousarray(lrs, dtype=dt),
            xv,
            yv,
            int(classify),
            float(cut),
            float(until_loss),
            *_layout(batch, matrices),
            flags,
            out,
        )
    _ran(packed, ran)
    return int(done), out[: int(done)]


def train_stretch(
    packed: Packed,
    data: tuple[np.ndarray, np.ndarray],
    order: np.ndarray,
    span: tuple[int, int],
    batch: int,
    mean: bool,
    lr: float,
    classify: tuple[int, float],
    sums: np.ndarray,
    specialise: bool = False,
) -> None:
    """The updates of order[start:stop] (``span``; start at a batch boundary of the epoch): a
    stretch of an epoch too long for one call. ``sums`` (float64, 2) holds the epoch's running
    Σ losses and Σ right so far and is moved on: stretches give the numbers of the whole epoch."""
    dt = packed.params.dtype
    x, y = (np.ascontiguousarray(a, dtype=dt) for a in data)
    loops = kernel_for(packed, batch, 0.0, specialise)
    with one_thread_for_compiled_products():
        ran = _call(
            packed,
            loops,
            "train_stretch",
            *packed.kernel_args(),
            x,
            y,
            np.ascontiguousarray(order, dtype=np.int64),
            int(span[0]),
            int(span[1]),
            int(batch),
            bool(mean),
            dt.type(lr),
            *_layout(batch, None),
            int(classify[0]),
            float(classify[1]),
            sums,
        )
    _ran(packed, ran)


def evaluate(
    packed: Packed, x: np.ndarray, y: np.ndarray, batch: int, classify: tuple[int, float]
) -> tuple[float, float]:
    """(mean loss, fraction right) over (x, y), as `train_and_evaluate` evaluates after an epoch."""
    dt = packed.params.dtype
    out = np.zeros(2)
    with one_thread_for_compiled_products():
        kernel().evaluate(
            *packed.kernel_args(),
            np.ascontiguousarray(x, dtype=dt),
            np.ascontiguousarray(y, dtype=dt),
            int(classify[0]),
            float(classify[1]),
            _layout(batch, None)[0],
            out,
        )
    return float(out[0]), float(out[1])


def warm_up() -> None:
    """Compile the loops now (numba keeps them on disk after), so a first training answer is quick.

    A fresh install compiles for some seconds; a server calls this in the background at start.
    """
    from chainrule.io import netfile

    net = netfile.load()
    if unsupported(net):
        return
    none = net.x[:0], net.y[:0]
    train_and_evaluate(
        pack(net), (net.x, net.y, *none), np.zeros((1, 1), np.int64), 1, True, np.ones(1), 0, 0.0, -math.inf
    )
