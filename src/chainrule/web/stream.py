"""Training as the page's Run button does it: epochs streamed as they are trained.

The training is the command line's (web.training.train: train.trainer's fast paths); between
events nothing is explained, only the losses, the parameters and the boundary are sent, about
every EVENT_SECONDS. A stream ends by itself after STREAM_SECONDS (the page then asks for the
next), so that no request holds a worker for long.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from chainrule.engine.network import Network
from chainrule.errors import ChainruleError
from chainrule.io import netfile
from chainrule.views.numbers import fmt_screen
from chainrule.web.training import Regime, boundary, start_losses, train
from chainrule.web.workers import Stopped

EVENT_SECONDS = 0.1  # training between two events: the page redraws about ten times a second
STREAM_SECONDS = 10.0  # one stream's length; the page asks for the next while Run lasts
Emit = Callable[[dict[str, Any]], None]


def event(data: dict[str, Any]) -> bytes:
    """One server-sent event: the data as one line of JSON."""
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def epochs_of(losses: list[float], tested: list[float], digits: int) -> dict[str, Any]:
    return {
        "losses": losses,
        "test_losses": tested,
        "losses_shown": [fmt_screen(v, digits) for v in losses],
        "test_losses_shown": [fmt_screen(v, digits) for v in tested],
    }


def next_size(size: int, elapsed: float) -> int:
    """The epochs of the next chunk, to take about EVENT_SECONDS: scaled by the time the last
    one took, at most ×4 a time (so that one quick chunk does not make a huge one)."""
    return max(1, min(size * 4, int(size * EVENT_SECONDS / max(elapsed, 1e-4))))


def train_stream(net: Network, epochs: int, regime: Regime, digits: int, check: Callable[[], None], emit: Emit) -> None:
    """Train up to `epochs` epochs (or STREAM_SECONDS), emitting what the page draws as it goes:
    "start" (the loss at epoch 0), "epochs" (each epoch's loss, the new network, its boundary),
    then "end"; a divergence is an "error" event with its one line."""
    started = time.monotonic()
    first, first_test = start_losses(net, regime)
    emit({"kind": "start", "loss": first, "test_loss": first_test, **epochs_of([first], [], digits)})
    done, size = 0, 1
    try:
        while done < epochs and time.monotonic() - started < STREAM_SECONDS:
            t = time.monotonic()
            net, losses, tested = train(net, min(size, epochs - done), check, regime)
            done += len(losses)
            size = next_size(size, time.monotonic() - t)
            emit({"kind": "epochs", **epochs_of(losses, tested, digits), "network": netfile.to_dict(net),
                  "boundary": boundary(net, regime.test_fraction)})  # fmt: skip
    except Stopped:
        return
    except ChainruleError as exc:
        emit({"kind": "error", "detail": str(exc)})
        return
    emit({"kind": "end", "epochs": done})
