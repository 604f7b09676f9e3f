"""`chainrule explain xor --steps 100`: the whole command, to /dev/null and to a terminal, and where its time goes.

The command is run REPEATS times as a process of its own, its output to /dev/null and to an
80-column pseudo-terminal (wall and CPU seconds, min and median: the CPU time is what a loaded
machine inflates least), as it runs (a forked child lays out the later half of the steps) and
with its layout in one process, the two interleaved; then each stage once per repeat in a fresh
interpreter: importing, recording the steps, building the story, laying it out, printing it piped
and to an 80-column terminal. Prints the figures with the machine, commit and versions; never a test (a loaded machine
is slower).

    python benchmarks/explain_steps.py [--repeats 5] [--steps 100] [--example xor]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import resource
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

from report import provenance


def _stages(example: str, steps: int) -> dict[str, float]:
    """CPU seconds of each stage, in a fresh interpreter (the caches of names and numbers start empty, as in the CLI)."""
    code = f"""
import gc, io, json, time
gc.disable()
t = [time.process_time()]
from rich.console import Console
from chainrule.io import netfile
from chainrule.record.step import explain_steps
from chainrule.views import text
from chainrule.views.story import story
from pathlib import Path
import chainrule
t.append(time.process_time())
net = netfile.load(Path(chainrule.__file__).parent / "examples" / "{example}.toml")
records = explain_steps(net, 0, {steps})
t.append(time.process_time())
blocks = story(records, 4, None, figures=False)
t.append(time.process_time())
shown = text.render_blocks(blocks)
t.append(time.process_time())
console = Console(highlight=False, file=io.StringIO(), soft_wrap=True)
console.print(shown)
t.append(time.process_time())
console = Console(highlight=False, file=io.StringIO(), width=80, force_terminal=True)
console.print(shown, crop=False)  # as cli.common.show prints to a terminal
t.append(time.process_time())
names = ["import", "record", "story", "lay out", "print", "terminal"]
print(json.dumps({{n: b - a for n, a, b in zip(names, t, t[1:])}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# The command with its layout in one process (cli/explain_lines.py forks a child from 8 steps).
_ALONE = "from chainrule.cli import explain_lines, main; explain_lines.PARALLEL_STEPS = 10**9; main()"


def _command(example: str, steps: int, tty: bool = False, alone: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds of one `chainrule explain EXAMPLE --steps N` to /dev/null, or to an
    80-column pseudo-terminal read as fast as it writes; `alone`: laid out by one process."""
    start_cmd = [sys.executable, "-c", _ALONE] if alone else [sys.executable, "-m", "chainrule"]
    cmd = [*start_cmd, "explain", example, "--steps", str(steps)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if tty:
        main, child = pty.openpty()
        fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        reader = threading.Thread(target=_drain, args=(main,))
        reader.start()
        subprocess.run(cmd, check=True, stdout=child, env={**os.environ, "TERM": "xterm-256color"})
        os.close(child)
        reader.join()
        os.close(main)
    else:
        with open(os.devnull, "w") as sink:
            subprocess.run(cmd, check=True, stdout=sink)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _drain(fd: int) -> None:
    """Read a pseudo-terminal until its writer has gone."""
    try:
        while os.read(fd, 1 << 16):
            pass
    except OSError:  # EIO: the other end is closed
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--example", default="xor")
    args = parser.parse_args()
    print(json.dumps(provenance()))
    for tty in (False, True):
        # the two ways interleaved, so that a machine that slows down slows both alike
        runs = {alone: [] for alone in (True, False)}  # type: dict[bool, list[tuple[float, float]]]
        for _ in range(args.repeats):
            for alone in runs:
                runs[alone].append(_command(args.example, args.steps, tty, alone))
        for alone, timed in runs.items():
            how = "laid out by one process" if alone else "as the command runs (a forked child lays out half)"
            for i, what in enumerate(("wall", "CPU")):
                values = [r[i] for r in timed]
                print(
                    f"explain {args.example} --steps {args.steps} {'to a terminal' if tty else '> /dev/null'}, {how}: "
                    f"{what} {min(values):.3f} s min, {statistics.median(values):.3f} s median over {args.repeats}"
                )
    stages = [_stages(args.example, args.steps) for _ in range(args.repeats)]
    print("CPU seconds by stage (min over the repeats):")
    for name in stages[0]:
        print(f"  {name:8} {min(s[name] for s in stages):.3f}")


if __name__ == "__main__":
    main()
