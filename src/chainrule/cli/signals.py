"""Ctrl-C before a command takes it over: one line and exit status 130, at once.

`cli.main` installs `interrupted` on its first line; `root` hands Ctrl-C to the command while
one runs (as KeyboardInterrupt, which `train` turns into "stop and save"); `exit_at_once` answers
it within milliseconds while a command loads or compiles. Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped


def interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while nothing can be lost (starting, parsing, loading a command): one line, exit 130.
    (SystemExit, not KeyboardInterrupt: nothing on the way out catches it, or prints a traceback.)"""
    sys.stderr.write("chainrule: interrupted; nothing was written\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_INTERRUPTED)


@contextlib.contextmanager
def exit_at_once(message: str) -> Iterator[None]:
    """While nothing can be lost (a command loading its network and data, building or loading the
    compiled loop), Ctrl-C ends the process at once with `message` and exit status 130.

    A Python-level handler runs only between bytecodes of the main thread, so a loop being
    compiled (seconds in LLVM) would keep it waiting. Here Python's C-level handler writes the
    signal to a socket (`signal.set_wakeup_fd`) that a thread of our own waits on: it answers
    within milliseconds whatever the main thread is doing. A Ctrl-C seen as the block ends is
    raised as KeyboardInterrupt after it, never lost."""
    import socket  # (here: every command imports this module, few take this path)
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    done, seen = threading.Event(), threading.Event()

    def watch() -> None:
        while data := reader.recv(64):
            if signal.SIGINT in data and not done.is_set():
                sys.stderr.write(message + "\n")
                sys.stderr.flush()
                os._exit(EXIT_INTERRUPTED)
            if signal.SIGINT in data:
                seen.set()
            if done.is_set():
                return

    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # the socket answers
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="chainrule-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        writer.send(b"\0")
        watcher.join()
        reader.close()
        writer.close()
    if seen.is_set():
        raise KeyboardInterrupt
