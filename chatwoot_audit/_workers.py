"""A few daemon threads for the sync client's concurrent walks."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["Workers"]

T = TypeVar("T")


class Workers:
    """Up to ``size`` daemon threads running submitted calls, started as work arrives.

    Unlike a ThreadPoolExecutor, closing does not wait: a walk that is left (a break, an error, Ctrl-C)
    returns at once, and a request already on the wire finishes on its own thread, within the timeout,
    without holding up the caller or the interpreter's exit. Calls still queued are expected to check
    the walk's cancel event and return at once.
    """

    def __init__(self, size: int, name: str = "chatwoot-audit") -> None:
        self._size = size
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((future, fn, args))
        if len(self._threads) < self._size:
            thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

    def close(self) -> None:
        """Let every thread end once it is done with what it holds; returns at once."""
        for _ in self._threads:
            self._queue.put(None)
