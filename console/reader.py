"""Reads of the store for people who must not wait: one small owned thread runs them in order.

The window shows what the store holds (an alarm's steps, with time and user) without touching
the store on its own thread: it asks `SiteRuntime.query(fn, *args)`, which hands the read to this
reader, and gets a future back at once. The reader runs `store.read(fn, *args)` on its thread
("nightwatch-reader"), on a read connection of its own, so a slow disk or a long query never
freezes the screen, and the core (judging frames, applying actions) never waits for a read.

    reader = StoreReader(store)
    reader.start()
    future = reader.submit(alarm_events, 7)     # -> Future[list[AlarmEventRecord]]
    ...
    reader.stop()                               # joins; reads still queued fail, said so
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from console.store import Store

log = logging.getLogger(__name__)

__all__ = ["ReaderStopped", "StoreReader"]

T = TypeVar("T")


class ReaderStopped(RuntimeError):
    """The read was asked before the reader started or after it stopped."""


class _Read:
    __slots__ = ("args", "future", "kwargs", "query")

    def __init__(
        self, query: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.query = query
        self.args = args
        self.kwargs = kwargs
        self.future: Future[Any] = Future()


class StoreReader:
    """One owned thread that runs store reads in the order asked, each answered by a future."""

    def __init__(self, store: Store, *, name: str = "nightwatch-reader") -> None:
        self.store = store
        self.name = name
        self._reads: queue.SimpleQueue[_Read | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.reads_done = 0

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"{self.name} is started already")
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def submit(self, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Run `store.read(query, *args, **kwargs)` on the reader's thread; never waits. The
        future holds the result, or the error (a `StoreError` during a storage fault)."""
        read = _Read(query, args, kwargs)
        with self._lock:
            if self._thread is None or self._stopping:
                read.future.set_exception(ReaderStopped("the store reader is not running"))
                return read.future
            self._reads.put(read)
        return read.future

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the read in progress, refuse the rest (their futures say so), join."""
        with self._lock:
            thread = self._thread
            if thread is None or self._stopping:
                return
            self._stopping = True
            self._reads.put(None)
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("%s did not stop within %.0f s (a read hangs)", self.name, timeout_s)
        self._refuse_waiting()
        with self._lock:
            self._thread = None

    def _refuse_waiting(self) -> None:
        while True:
            try:
                read = self._reads.get_nowait()
            except queue.Empty:
                return
            if read is not None and not read.future.done():
                read.future.set_exception(ReaderStopped("the store reader stopped first"))

    def _run(self) -> None:
        while True:
            read = self._reads.get()
            if read is None or self._stopping:
                if read is not None:
                    read.future.set_exception(ReaderStopped("the store reader stopped first"))
                return
            if not read.future.set_running_or_notify_cancel():
                continue
            try:
                result = self.store.read(read.query, *read.args, **read.kwargs)
            except BaseException as exc:  # the asker is told, whatever it was
                name = getattr(read.query, "__name__", "read")
                log.warning("store read %s failed: %s", name, exc)
                read.future.set_exception(exc)
            else:
                read.future.set_result(result)
            self.reads_done += 1
