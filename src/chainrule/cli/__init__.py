"""The command line: one thin module per command over library calls; `main` is the entry point.

`main` answers Ctrl-C from its first line (`signals.interrupted`: one line, exit status 130 —
never click's "Aborted!", never a traceback from inside an import) until a command takes it
over. This module imports nothing heavy, so that before that there is only the interpreter's
own start. (The click group itself is `chainrule.cli.root.main`.)
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from collections.abc import Sequence

from chainrule.cli.signals import EXIT_INTERRUPTED, interrupted


def main(args: Sequence[str] | None = None) -> None:
    """The `chainrule` command (and `python -m chainrule`)."""
    with contextlib.suppress(ValueError):  # ValueError: not the main thread; leave Ctrl-C alone
        signal.signal(signal.SIGINT, interrupted)
    # The start's imports (NumPy, rich, click, a command's modules) make ~10⁵ objects that live as
    # long as the process; the cycle collector's passes over them while they were made took ~15 ms
    # of every start. Off until the command is found (cli.root turns it back on).
    gc.disable()
    from chainrule.cli.root import main as group

    try:
        group.main(args=None if args is None else list(args))
    except SystemExit as done:
        if done.code == EXIT_INTERRUPTED:
            # Ctrl-C: what was to be saved is written (each file synced) and said; the interpreter's
            # teardown of PyTorch's and numba's threads can take seconds, longer than Ctrl-C's promise
            # of one, and has nothing left to do: end the process now.
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        raise


__all__ = ["main"]
