"""A run's history, bounded: the last epochs, a fixed-size curve for plots, and the full CSV on disk.

A long run makes millions of epoch records; keeping them all costs memory that grows without end
and a checkpoint that grows with it. `History` keeps the last RECENT records and a curve of at most
CURVE_POINTS of them, evenly spaced: when the curve fills, every other point goes and the spacing
doubles, so the curve always covers the whole run. `HistoryFile` appends every record to a CSV
file as training goes (what `--history` asks for), so nothing is lost on disk either.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import astuple, fields
from pathlib import Path
from typing import BinaryIO

import numpy as np

from chainrule.train.records import EpochChunk, EpochRecord

RECENT = 100  # the last epochs kept whole
CURVE_POINTS = 2_000  # at most this many (plus the last epoch) in the plotted curve
FLUSH_SECONDS = 1.0  # the history file reaches the disk at least this often: a kill loses at most that

COLUMNS = [f.name for f in fields(EpochRecord)]


class History:
    """The bounded memory of a run's epochs: `recent`, `curve`, and the best epoch's record."""

    def __init__(self, recent: int = RECENT, points: int = CURVE_POINTS) -> None:
        self.recent: deque[EpochRecord] = deque(maxlen=recent)
        self._curve: list[EpochRecord] = []
        self._points = points
        self._every = 1  # the curve keeps the epochs whose number is a multiple of this
        self.count = 0  # records added
        self.kept: EpochRecord | None = None  # with --patience: the record of the parameters kept

    def add(self, record: EpochRecord) -> None:
        self.count += 1
        self.recent.append(record)
        self._to_curve(record)

    def _to_curve(self, record: EpochRecord) -> None:
        if record.epoch % self._every:
            return
        self._curve.append(record)
        if len(self._curve) > self._points:
            self._every *= 2
            self._curve = [r for r in self._curve if r.epoch % self._every == 0]

    def extend(self, records: Sequence[EpochRecord]) -> None:
        """`add` each record, in order. A chunk of columns (`EpochChunk`) is read only where the
        history keeps a record: its last RECENT epochs and the epochs the curve takes."""
        if not isinstance(records, EpochChunk):
            for record in records:
                self.add(record)
            return
        self.count += len(records)
        for i in np.flatnonzero(records.epochs % self._every == 0):
            self._to_curve(records[int(i)])  # checks the spacing again: it may have doubled meanwhile
        self.recent.extend(records[max(0, len(records) - (self.recent.maxlen or 0)) :])

    @property
    def last(self) -> EpochRecord | None:
        return self.recent[-1] if self.recent else None

    def curve(self) -> list[EpochRecord]:
        """Every epoch while there are few; evenly spaced ones after, and always the last."""
        points = list(self._curve)
        last = self.last
        if last is not None and (not points or points[-1].epoch != last.epoch):
            points.append(last)
        return points


def csv_row(record: EpochRecord) -> list[object]:
    """A record as CSV cells: floats in full (repr) precision, empty where a metric does not apply."""
    return ["" if v is None else repr(v) if isinstance(v, float) else v for v in astuple(record)]


class HistoryFile:
    """`--history FILE`: one CSV row per epoch, appended as training goes; a resumed run keeps the
    rows up to the epoch it resumes from and appends after them.

    A write that fails (a full disk, a file-size limit) does not raise into the training loop: the
    file stops there, `error` says why, and the caller decides (the command line stops the run and
    saves the network, so that nothing else is lost)."""

    def __init__(self, path: str | os.PathLike[str], resume_after: int | None = None) -> None:
        self.path = Path(path)
        self.error: OSError | None = None
        if resume_after is not None and self.path.is_file():
            _keep_rows_up_to(self.path, resume_after)
            self._fh: io.TextIOWrapper = self.path.open("a", newline="", encoding="utf-8")
        else:
            self._fh = self.path.open("w", newline="", encoding="utf-8")
            csv.writer(self._fh).writerow(COLUMNS)
        self._writer = csv.writer(self._fh)
        self._flushed = time.monotonic()

    def __call__(self, record: EpochRecord) -> None:
        self.write([record])

    def write(self, records: Sequence[EpochRecord]) -> None:
        """Append the records' rows (a chunk's at once); nothing more once a write has failed."""
        if self.error is not None:
            return
        try:
            self._writer.writerows(map(csv_row, records))
            now = time.monotonic()
            if now - self._flushed >= FLUSH_SECONDS:
                self._fh.flush()
                self._flushed = now
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:  # the rows still buffered could not be written
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = self.error or exc
        with contextlib.suppress(OSError):  # closing flushes the same rows again; the first error is reported
            self._fh.close()


def _keep_rows_up_to(path: Path, epoch: int) -> None:
    """Drop the rows after `epoch` (an earlier run went further than its checkpoint), streaming,
    through the one atomic writer (a crash leaves the old file whole)."""
    from chainrule.io.netwrite import write_atomic

    def copy(raw: BinaryIO) -> None:
        dst = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        out = csv.writer(dst)
        with path.open(newline="", encoding="utf-8") as src:
            for i, row in enumerate(csv.reader(src)):
                if i == 0 or (row and row[0].isascii() and row[0].isdigit() and int(row[0]) <= epoch):
                    out.writerow(row)
        dst.flush()
        dst.detach()  # the writer closes the file itself, after syncing it

    write_atomic(path, copy)
