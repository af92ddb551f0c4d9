"""Waits that a Ctrl+C can interrupt on every OS.

Python runs a signal's handler (Ctrl+C's KeyboardInterrupt, SIGTERM's) in the main
thread, between two bytecodes. On Windows (3.11-3.13) a main thread blocked in
``Thread.join()``, ``Future.result()``, a lock or a socket read is not woken by Ctrl+C:
the handler waits until the blocking call returns on its own, which for a silent build
step or a container's log stream means minutes. So the main thread only ever waits in
short slices (:data:`SLICE`), and a blocking read happens in a helper thread that hands
what it reads over (:func:`iterate`). On Linux the same code is as prompt as before.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

#: the longest the main thread is deaf to a signal
SLICE = 0.2


def join(thread: threading.Thread) -> None:
    """``thread.join()`` in slices."""
    while thread.is_alive():
        thread.join(SLICE)


def result(future: Future[T]) -> T:
    """``future.result()`` in slices (its exception, if it raised)."""
    while True:
        try:
            return future.result(timeout=SLICE)
        except TimeoutError:
            continue


def call(fn: Callable[[], T], name: str = "call") -> T:
    """``fn()`` (a blocking call: a socket read with its own timeout) in a daemon thread,
    waited for in slices."""
    return next(iterate(_once(fn), name))


def _once(fn: Callable[[], T]) -> Iterator[T]:
    yield fn()


_ITEM, _ERROR, _END = 0, 1, 2


def iterate(items: Iterable[T], name: str = "reader") -> Iterator[T]:
    """Each item of ``items`` as it comes; the reading (which may block on a socket for
    long) happens in a daemon thread, the caller waits in slices. An exception the
    iterable raises is raised here. Whoever stops early closes the source itself (a
    shut-down socket ends the reader; else it ends with the process)."""
    handover: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for item in items:
                handover.put((_ITEM, item))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            handover.put((_ERROR, exc))
        else:
            handover.put((_END, None))

    threading.Thread(target=pump, name=name, daemon=True).start()
    while True:
        try:
            kind, value = handover.get(timeout=SLICE)
        except queue.Empty:
            continue
        if kind == _ITEM:
            yield value  # type: ignore[misc]
        elif kind == _ERROR:
            assert isinstance(value, BaseException)
            raise value
        else:
            return
