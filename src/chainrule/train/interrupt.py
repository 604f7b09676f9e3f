"""Ctrl-C while training: a request to stop at the next point the run can be saved and resumed from.

`stop_on_interrupt` turns SIGINT into `stop_requested` on the run, which the loops check between
updates (the NumPy paths), between chunks of epochs and between stretches of a long epoch (the
compiled loop). One update can itself take seconds (a full batch of a very large network on the
lean path): while such a step runs the run marks itself `abandonable`, with a copy of the
parameters taken before it, and Ctrl-C then ends the step at once (`Abandoned`); the trainer puts
the parameters back and stops before that update, which resuming makes again.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Abandoned(BaseException):
    """Raised into a long update by Ctrl-C: the update is dropped (its parameters restored)."""


class Stoppable(Protocol):
    stop_requested: bool
    abandonable: bool


@contextmanager
def stop_on_interrupt(run: Stoppable) -> Iterator[None]:
    """While training, Ctrl-C asks the run to stop (after the current update, or dropping a long one)
    instead of killing it."""

    def ask(signum: int, frame: object) -> None:
        run.stop_requested = True
        if run.abandonable:
            run.abandonable = False  # once: a second Ctrl-C must not strike the restoring
            raise Abandoned

    try:
        previous = signal.signal(signal.SIGINT, ask)
    except ValueError:  # not the main thread (a notebook worker, say): leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
