"""The folder of compiled loops (one per network shape, `special`): private, checked, bounded.

What it holds: for each shape met, the generated source `loop_<key>.py` and numba's machine code
for it (`__pycache__/loop_<key>.*`). The key is a content hash of the source and of every file the
code depends on (`special.key`), so a changed chainrule never loads an old loop. The folder is
code that this process will execute, so it must be the user's own: it is created 0700, and a
folder owned by someone else, or writable by others, is refused for a private temporary one
(as is a folder that cannot be written). A file is compared with the source it should hold
before it is imported; writes go through the one atomic writer; past MAX_BYTES the loops used
least recently are removed. Nothing here imports numba at import time, so `chainrule cache info`
is quick. A cache that cannot be written (a full disk, `ulimit -f`, a folder made read-only) never
stops a run: the loop runs as compiled, uncached, and one line says so (`tolerate_failed_writes`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainrule.io.netwrite import write_atomic

ENV_CACHE = "CHAINRULE_CACHE_DIR"
# The loops kept, source and machine code together (a shape's is ~0.2–2 MB).
MAX_BYTES = 256 * 2**20
PREFIX = "loop_"

_private: Path | None = None  # this process's own folder, once the configured one was refused


def configured() -> Path:
    """$CHAINRULE_CACHE_DIR, else $XDG_CACHE_HOME/chainrule (~/.cache/chainrule)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chainrule"


def refusal(folder: Path) -> str | None:
    """Why `folder` (made 0700 when missing) cannot hold code this process runs, or None when it can."""
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            os.chmod(folder, 0o700)
        info = os.lstat(folder)
    except OSError as err:
        return f"cannot be made ({err.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return "belongs to another user"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "can be written by other users"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "cannot be written"
    return None


def folder() -> Path:
    """Where the loops live now: the configured cache's `kernels`, or this process's private folder."""
    global _private
    if _private is not None:
        return _private
    kernels = configured() / "kernels"
    if refusal(configured()) is None and refusal(kernels) is None:
        return kernels
    _private = Path(tempfile.mkdtemp(prefix="chainrule-cache-"))  # 0700, ours
    return _private


_uncached: list[str] = []  # why the cache could not be written, once said


def tolerate_failed_writes() -> None:
    """Make numba's cache writes failure-tolerant in this process (before any loop compiles): numba
    saves a compiled loop's machine code right after compiling it, and an OSError there would end
    the run with a traceback although the loop is compiled and runs. Now it runs uncached."""
    from numba.core import caching

    original = caching.Cache.save_overload
    if getattr(original, "chainrule_tolerant", False):
        return

    def save_overload(self: Any, sig: Any, data: Any) -> None:
        try:
            original(self, sig, data)
        except OSError as err:
            uncached(err)

    save_overload.chainrule_tolerant = True  # type: ignore[attr-defined]
    caching.Cache.save_overload = save_overload  # type: ignore[method-assign]


def uncached(err: OSError) -> None:
    """One line, once per process: the compiled loop runs but could not be kept for the next run."""
    if not _uncached:
        _uncached.append(err.strerror or str(err))
        sys.stderr.write(
            f"chainrule: cannot write the compiled-loop cache ({_uncached[0]}); "
            "running uncached (it is compiled again next run)\n"
        )
        sys.stderr.flush()


def forget_private() -> None:
    """Look at the configured folder again (tests change it)."""
    global _private
    _private = None


def ready(path: Path, text: str) -> None:
    """Make `path` hold exactly `text`: a missing, changed or damaged file is written anew (and
    numba's machine code for it dropped, so that it is compiled from this text)."""
    try:
        if path.read_text(encoding="utf-8") == text:
            _used(path)
            return
    except (OSError, UnicodeDecodeError):
        pass
    drop(path.stem, path.parent, source=False)
    write_atomic(path, text)
    evict(path.parent, keep=path.stem)


def _used(path: Path) -> None:
    """Mark a loop used now (the last to be evicted): its access time. Never its modification
    time, which numba's cache compares with the one it compiled from (a new one: compile again)."""
    with contextlib.suppress(OSError):
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def drop(stem: str, where: Path, source: bool = True) -> None:
    """Remove one loop's machine code (and its source, unless `source` is False)."""
    files = list((where / "__pycache__").glob(f"{stem}.*"))
    files += [where / f"{stem}.py"] if source else []
    for file in files:
        file.unlink(missing_ok=True)


@dataclass(frozen=True)
class Entry:
    stem: str
    size: int  # bytes: source and machine code
    used: float  # the source file's access time: set on every use (`_used`)


def entries(where: Path) -> list[Entry]:
    """The loops in `where`, least recently used first."""
    found = []
    for src in where.glob(f"{PREFIX}*.py"):
        try:
            parts = [src, *(where / "__pycache__").glob(f"{src.stem}.*")]
            found.append(Entry(src.stem, sum(p.stat().st_size for p in parts), src.stat().st_atime))
        except OSError:  # removed meanwhile (another process evicting)
            continue
    return sorted(found, key=lambda e: e.used)


def evict(where: Path, keep: str = "", limit: int | None = None) -> int:
    """Remove the least recently used loops until the rest fit in `limit` (MAX_BYTES); returns how many."""
    limit = MAX_BYTES if limit is None else limit
    found = entries(where)
    total, removed = sum(e.size for e in found), 0
    for entry in found:
        if total <= limit:
            break
        if entry.stem != keep:
            drop(entry.stem, where)
            total -= entry.size
            removed += 1
    return removed


def clear() -> tuple[Path, int]:
    """Remove every loop of the configured cache (nothing else there); (the folder, how many)."""
    where = configured() / "kernels"
    if not where.is_dir() or refusal(where) is not None:
        return where, 0
    count = evict(where, limit=0)
    pycache = where / "__pycache__"
    if pycache.is_dir() and not any(pycache.iterdir()):
        pycache.rmdir()
    return where, count
