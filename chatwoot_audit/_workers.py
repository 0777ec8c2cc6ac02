"""Windows: where a walk's pages are fetched while it hands out earlier ones, on threads or on tasks.

A driver gives a window the pages of each :class:`~._planner.Fetch` (``start``) and asks it for the page a
:class:`~._planner.Wait` names (``take``). A sequential walk (``concurrency`` 1) fetches a page when it is
taken, in the order asked for. A concurrent one keeps every page it was given on the way at once:

- :class:`ThreadWindow` (sync): a few daemon threads. Leaving returns at once; a request already on the
  wire finishes on its thread within the timeout, and nothing more is sent.
- :class:`TaskWindow` (async, the client entered with ``async with``): tasks in a task group of their own,
  hosted by the client's task group (:class:`TaskOwner`), so that they keep running while the walk's
  generator is suspended at a ``yield``. Results come back through a memory object stream. Leaving cancels
  the requests at once and returns when every task has ended.
- :class:`BatchWindow` (async, the client not entered): nothing may outlive a ``yield`` then, so the pages
  given so far are fetched together when one of them is needed, and all of them have arrived before the
  walk yields again: a batch, waiting for its slowest request.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._errors import ChatwootError
from ._planner import Outcome

__all__ = ["AsyncWindow", "BatchWindow", "SequentialTasks", "TaskOwner", "TaskWindow", "ThreadWindow", "Workers"]

T = TypeVar("T")

# What a fetch ended in: a page, an error of ours, or a bug, raised where the walk takes that page.
Result = Outcome | Exception

CLOSED_DURING_WALK = (
    "this client's `async with` block ended while a walk was still running; finish walks inside the block"
)


def unwrap(result: Result) -> Outcome:
    """A fetch's result as the planner takes it; anything that is not ours is raised here, in the walk."""
    if isinstance(result, Exception) and not isinstance(result, ChatwootError):
        raise result
    return result


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


class _Window:
    """What every window keeps: pages given and not started yet, and results not taken yet."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._given: list[int] = []
        self._arrived: dict[int, Result] = {}

    def _due(self, page: int, *, all_given: bool = False) -> list[int]:
        """The pages given so far up to ``page`` (or all of them), now to be fetched, in the order given."""
        cut = len(self._given) if all_given else self._given.index(page) + 1
        due, self._given = self._given[:cut], self._given[cut:]
        return due


class ThreadWindow(_Window):
    """The sync client's window: pages fetched on :class:`Workers` threads, or in the caller's thread."""

    def __init__(self, concurrency: int, fetch: Callable[[int, threading.Event], Result]) -> None:
        super().__init__(concurrency)
        self._fetch = fetch
        self._cancel = threading.Event()
        self._pool: Workers | None = None
        self._futures: dict[int, Future[Result]] = {}

    def start(self, pages: Sequence[int]) -> None:
        if self.concurrency == 1:
            self._given += pages
            return
        if self._pool is None:
            self._pool = Workers(self.concurrency)
        for n in pages:
            self._futures[n] = self._pool.submit(self._fetch, n, self._cancel)

    def take(self, page: int) -> Outcome:
        future = self._futures.pop(page, None)
        if future is not None:
            return unwrap(future.result())
        if page not in self._arrived:
            for n in self._due(page):
                self._arrived[n] = self._fetch(n, self._cancel)
        return unwrap(self._arrived.pop(page))

    def close(self) -> None:
        # Queued pages and waits to retry end on the cancel event; a request already on the wire finishes
        # on its daemon thread within the timeout.
        self._cancel.set()
        if self._pool is not None:
            self._pool.close()


AsyncFetch = Callable[[int], Awaitable[Result]]


class SequentialTasks(_Window):
    """The async window of a sequential walk: each page fetched when taken, in the caller's task."""

    def __init__(self, concurrency: int, fetch: AsyncFetch) -> None:
        super().__init__(concurrency)
        self._fetch = fetch

    def start(self, pages: Sequence[int]) -> None:
        self._given += pages

    async def take(self, page: int) -> Outcome:
        if page not in self._arrived:
            for n in self._due(page):
                self._arrived[n] = await self._fetch(n)
        return unwrap(self._arrived.pop(page))

    async def aclose(self) -> None:
        """Nothing runs between takes."""


class BatchWindow(SequentialTasks):
    """A concurrent async walk whose client was not entered: every page given so far fetched at once."""

    async def take(self, page: int) -> Outcome:
        if page not in self._arrived:
            # The task group closes before the walk yields again: a consumer that leaves the loop or is
            # cancelled never strands a request.
            async with anyio.create_task_group() as group:
                for n in self._due(page, all_given=True):
                    group.start_soon(self._one, n)
        return unwrap(self._arrived.pop(page))

    async def _one(self, page: int) -> None:
        self._arrived[page] = await self._fetch(page)


class TaskWindow(_Window):
    """A concurrent async walk with an owner: a sliding window of tasks hosted by the client's task group."""

    def __init__(self, concurrency: int, fetch: AsyncFetch, live: set[TaskWindow]) -> None:
        super().__init__(concurrency)
        self._fetch = fetch
        self._live = live
        self._send: MemoryObjectSendStream[tuple[int, Result]]
        self._receive: MemoryObjectReceiveStream[tuple[int, Result]]
        # No more than the window is ever on the way, so the buffer never holds more than that.
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, Result]](math.inf)
        self._done = anyio.Event()
        self._tasks: anyio.abc.TaskGroup | None = None

    async def open(self, owner: anyio.abc.TaskGroup) -> None:
        self._tasks = await owner.start(self._host)
        self._live.add(self)

    async def _host(self, *, task_status: anyio.abc.TaskStatus[anyio.abc.TaskGroup]) -> None:
        try:
            async with self._send, anyio.create_task_group() as tasks:
                task_status.started(tasks)
                await anyio.sleep_forever()
        finally:
            self._done.set()

    def start(self, pages: Sequence[int]) -> None:
        assert self._tasks is not None, "open() first"
        if self._done.is_set():
            return  # the owner's block has ended: take() says so
        for n in pages:
            self._tasks.start_soon(self._one, n)

    async def _one(self, page: int) -> None:
        try:
            result = await self._fetch(page)
        except Exception as exc:  # raised in the walk by unwrap(): a task of the owner must never fail
            result = exc
        self._send.send_nowait((page, result))

    async def take(self, page: int) -> Outcome:
        while page not in self._arrived:
            try:
                number, result = await self._receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise ChatwootError(CLOSED_DURING_WALK) from None
            self._arrived[number] = result
        return unwrap(self._arrived.pop(page))

    async def aclose(self) -> None:
        """Cancel every request of the walk and return once all of its tasks have ended."""
        self._live.discard(self)
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
            # Shielded: a walk left because its task was cancelled must still not leave a task behind.
            with anyio.CancelScope(shield=True):
                await self._done.wait()
        self._receive.close()


AsyncWindow = SequentialTasks | TaskWindow


class TaskOwner:
    """The task group of an entered :class:`AsyncChatwootAudit`, shared with its ``with_options`` copies.

    It outlives each ``yield`` of the client's walks, so that their requests keep going while the caller
    handles an entry. A walk left to the garbage collector (a ``break`` without ``aclosing``) has its tasks
    cancelled when the generator is finalised, or at the latest when the block ends.
    """

    def __init__(self) -> None:
        self._group: anyio.abc.TaskGroup | None = None
        self._opener: object | None = None
        self._live: set[TaskWindow] = set()

    async def enter(self, opener: object) -> None:
        if self._group is None:
            group = anyio.create_task_group()
            await group.__aenter__()
            self._group, self._opener = group, opener

    async def exit(self, opener: object) -> None:
        group = self._group
        if group is None or opener is not self._opener:
            return
        self._group = self._opener = None
        # Only walks left open (to the garbage collector, or to another task) can still have tasks here.
        # The block's own exception is not handed to the group, which would wrap it in an ExceptionGroup:
        # it goes on as it is.
        if self._live:
            group.cancel_scope.cancel()
        await group.__aexit__(None, None, None)

    async def window(self, concurrency: int, fetch: AsyncFetch) -> AsyncWindow:
        """A window for a walk: sliding while the client is entered, batches otherwise."""
        if concurrency == 1:
            return SequentialTasks(concurrency, fetch)
        if self._group is None:
            return BatchWindow(concurrency, fetch)
        window = TaskWindow(concurrency, fetch, self._live)
        await window.open(self._group)
        return window
