"""Ctrl-C before a command takes it over: one line and exit status 130, at once.

`cli.main` installs `interrupted` on its first line; `root` hands Ctrl-C to the command while
one runs (as KeyboardInterrupt, which `train` turns into "stop and save"). Imports nothing heavy.
"""

from __future__ import annotations

import sys
from types import FrameType

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped


def interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while nothing can be lost (starting, parsing, loading a command): one line, exit 130.
    (SystemExit, not KeyboardInterrupt: nothing on the way out catches it, or prints a traceback.)"""
    sys.stderr.write("chainrule: interrupted; nothing was written\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_INTERRUPTED)
