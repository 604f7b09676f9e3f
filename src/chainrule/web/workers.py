"""Heavy requests (step, edit, data set, train, export) run here: a few at a time, each in its own
daemon thread, each stopped when its client leaves, when its time is up, or when the server stops.

A thread cannot be killed, so work is stopped by asking: `Job.check()` raises `Stopped` once the
job is stopped, and long work (training) calls it between chunks. A worker stays taken until its
thread has really finished, so the count of busy workers is the count of busy threads. Daemon
threads never hold up the interpreter's exit (Ctrl-C on `serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from chainrule.errors import ChainruleError

T = TypeVar("T")
POLL = 0.05  # seconds between looks at the client and the clock while work runs


class Busy(ChainruleError):
    """Every worker is taken (answered 503)."""


class Stopped(ChainruleError):
    """Work stopped before it finished: its time ran out, its client left, or the server stops (503)."""


class Job:
    """One request's work, and whether it has been asked to stop."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self.reason = ""
        self.started: float | None = time.monotonic()  # None: off the clock

    @contextlib.contextmanager
    def off_the_clock(self) -> Iterator[None]:
        """Time that is not this request's own (waiting for the one-time compile) does not count;
        the limit counts from the end of it."""
        self.started = None
        try:
            yield
        finally:
            self.started = time.monotonic()

    def over(self, limit: float) -> bool:
        started = self.started
        return started is not None and time.monotonic() - started >= limit

    def stop(self, reason: str) -> None:
        if not self._stopped.is_set():
            self.reason = reason
            self._stopped.set()

    def check(self) -> None:
        """Raise `Stopped` once asked to stop; work calls this between its chunks."""
        if self._stopped.is_set():
            raise Stopped(self.reason)


class Workers:
    """At most `size` heavy requests at once; one waits up to `queue_seconds` for a free worker
    (then 503) and runs for at most `time_limit` seconds (then it is stopped: 503).
    """

    def __init__(self, size: int, queue_seconds: float, time_limit: float) -> None:
        self.size, self.queue_seconds, self.time_limit = size, queue_seconds, time_limit
        self._lock = threading.Lock()
        self._jobs: set[Job] = set()

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _take(self, job: Job) -> bool:
        with self._lock:
            if len(self._jobs) >= self.size:
                return False
            self._jobs.add(job)
            return True

    def _give_back(self, job: Job) -> None:
        with self._lock:
            self._jobs.discard(job)

    def stop_all(self, reason: str = "the server is stopping") -> None:
        with self._lock:
            jobs = list(self._jobs)
        for job in jobs:
            job.stop(reason)

    async def _hire(self, gone: Callable[[], Any]) -> Job:
        """A job holding a worker, waiting up to queue_seconds for one (Busy) while the client stays."""
        loop = asyncio.get_running_loop()
        job = Job()
        wait_until = loop.time() + self.queue_seconds
        while not self._take(job):
            if loop.time() >= wait_until:
                raise Busy(f"server busy: every worker ({self.size}) is taken; try again in a moment")
            if await gone():
                raise Stopped("the client left")
            await asyncio.sleep(POLL)
        return job

    async def stream(
        self, gone: Callable[[], Any], work: Callable[[Job, Callable[[T], None]], None]
    ) -> AsyncIterator[T]:
        """The items `work(job, emit)` emits from a worker thread, as they come; the work is
        stopped when the consumer stops reading (the client left) or the server stops. An error
        in the work is raised here, after the items emitted before it."""
        loop = asyncio.get_running_loop()
        job = await self._hire(gone)
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: no one reads any more
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

        def body() -> None:
            try:
                work(job, lambda item: put("item", item))
                put("done", None)
            except BaseException as exc:
                put("error", exc)
            finally:
                self._give_back(job)

        job.started = time.monotonic()
        threading.Thread(target=body, name="chainrule-stream", daemon=True).start()
        try:
            while True:
                kind, value = await queue.get()
                if kind == "done":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            job.stop("the client left")

    async def run(self, gone: Callable[[], Any], work: Callable[[Job], T]) -> T:
        """`work(job)` in a worker thread; `gone()` (awaitable) says whether the client has left."""
        loop = asyncio.get_running_loop()
        job = await self._hire(gone)
        done: asyncio.Future[T] = loop.create_future()
        done.add_done_callback(_retrieved)  # a stopped job's late error is nobody's: no "never retrieved" log
        job.started = time.monotonic()
        threading.Thread(target=self._body, args=(loop, done, job, work), name="chainrule-work", daemon=True).start()
        try:
            while not done.done():
                await asyncio.wait({done}, timeout=POLL)
                if done.done():
                    break
                if await gone():
                    job.stop("the client left")
                if job.over(self.time_limit):
                    job.stop(f"request: took over {self.time_limit:g} s, the limit for one request; ask for less")
                if job.reason:
                    raise Stopped(job.reason)
        except asyncio.CancelledError:
            job.stop("the server is stopping")
            raise
        return done.result()

    def _body(
        self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[T], job: Job, work: Callable[[Job], T]
    ) -> None:
        outcome: tuple[bool, Any]
        try:
            outcome = (True, work(job))
        except BaseException as exc:  # handed to the request's task, which raises it there
            outcome = (False, exc)
        finally:
            self._give_back(job)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the server stopped, no one waits
            loop.call_soon_threadsafe(_settle, done, outcome)


def _retrieved(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()


def _settle(done: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if done.done():
        return
    ok, value = outcome
    if ok:
        done.set_result(value)
    else:
        done.set_exception(value)
