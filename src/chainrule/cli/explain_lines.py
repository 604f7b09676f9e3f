"""`explain --steps N` in the terminal: the later half of the steps laid out by a second process.

Laying out a step's text is pure Python, some hundred small math trees (~4 ms a step for xor),
and the steps do not depend on one another once they are recorded. From PARALLEL_STEPS steps,
on Linux with two cores or more, a child forked after the recording lays out the later half
while this process lays out the earlier one, and hands back its lines pickled through a pipe:
`explain xor --steps 100` piped takes 0.78 s for 0.94 s, to a terminal 0.89 s for 1.00 s
(medians on the project's 2-core machine, benchmarks/explain_steps.py), for ~5 % more CPU time
(the pickling, the pages the child copies). The lines are the same, one for one, as one process
lays them out (tests/test_explain_lines.py). A child that fails or is killed changes nothing:
this process lays out its half too. Elsewhere (fork after NumPy's threads have started is not
safe on macOS), one process does it all.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from typing import NoReturn

from chainrule.record.step import StepRecord
from chainrule.views import text

# From this many steps a second process pays for itself: forking and the pickled lines cost
# ~10 ms, a step's layout ~4 ms.
PARALLEL_STEPS = 8

# How often each way ran, for the tests: a fast path's test asserts that it ran.
RAN = {"forked": 0, "alone": 0}


def laid_out(records: list[StepRecord], digits: int, only: str | None) -> text.Lines:
    """The story of `records` as the terminal's lines, the later half laid out by a child where it pays."""
    n = len(records)
    if n < PARALLEL_STEPS or sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        RAN["alone"] += 1
        return text.render_records(records, digits, only)
    half = (n + 1) // 2
    later = range(half, n)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(read, write, records, digits, only, later)
    os.close(write)
    status = None  # the child's exit status, once collected
    try:
        with os.fdopen(read, "rb") as pipe:
            mine = text.render_records(records, digits, only, range(half))
            data = pipe.read()
        status = os.waitpid(pid, 0)[1]
    finally:
        if status is None:  # interrupted: end the child and collect it, no zombie left
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    if status == 0 and data:
        RAN["forked"] += 1
        theirs = text.Lines([])
        theirs.items = pickle.loads(data)  # (our own child's lines, through our own pipe)
    else:  # the child failed: lay its half out here
        RAN["alone"] += 1
        theirs = text.render_records(records, digits, only, later)
    return text.Lines.join([mine, theirs])


def _child(read: int, write: int, records: list[StepRecord], digits: int, only: str | None, steps: range) -> NoReturn:
    """Lay out `steps`, write their lines to `write` and end, never returning to the caller's code
    (no handler, buffer or test runner of the parent's runs here)."""
    code = 1
    try:
        os.close(read)
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends the child at once; the parent says so
        lines = text.render_records(records, digits, only, steps)
        data = pickle.dumps(lines.items, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as out:
            out.write(data)
        code = 0
    finally:
        os._exit(code)
