"""The async client's sliding window: requests in flight, early exit, cancellation, errors, retries.

Every test runs under asyncio and trio. A gate in front of the emulator holds each page's request until
the test opens it, so what is in flight at each moment is decided by the test, not by timing.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Iterable
from contextlib import aclosing, asynccontextmanager

import anyio
import httpx
import pytest
from _support import FAST_RETRIES, MEMORY_BASE_URL

from chatwoot_audit import AsyncChatwootAudit, AuditLogPage, ChatwootError
from chatwoot_audit.testing import Emulator

pytestmark = pytest.mark.anyio


class Gate(httpx.AsyncBaseTransport):
    """The emulator behind a gate: a page's request is answered once the test opens that page."""

    def __init__(self, emu: Emulator, opened: Iterable[int] = ()) -> None:
        self.inner = emu.transport()
        self.events: dict[int, anyio.Event] = {}
        self.everything = False
        self.sent: list[int] = []
        self.cancelled: list[int] = []
        self.in_flight: set[int] = set()
        self.peak = 0
        self.repeated = anyio.Event()
        self.open(*opened)

    def _event(self, page: int) -> anyio.Event:
        return self.events.setdefault(page, anyio.Event())

    def open(self, *pages: int) -> None:
        for page in pages:
            self._event(page).set()

    def open_all(self) -> None:
        self.everything = True
        for event in self.events.values():
            event.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page in self.sent:
            self.repeated.set()
        self.sent.append(page)
        self.in_flight.add(page)
        self.peak = max(self.peak, len(self.in_flight))
        try:
            if not self.everything:
                await self._event(page).wait()
            return await self.inner.handle_async_request(request)
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(page)
            raise
        finally:
            self.in_flight.discard(page)


@asynccontextmanager
async def gated(emu: Emulator, gate: Gate, *, enter: bool = True) -> AsyncIterator[AsyncChatwootAudit]:
    """A client reading ``emu`` through ``gate``, entered with ``async with`` or not."""
    async with httpx.AsyncClient(transport=gate) as http:
        client = AsyncChatwootAudit(
            MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http, retry_policy=FAST_RETRIES
        )
        if enter:
            async with client:
                yield client
        else:
            try:
                yield client
            finally:
                await client.aclose()


def tasks() -> int:
    return len(anyio.get_running_tasks())


async def settle() -> None:
    """Let every task run until it waits for something the test controls."""
    await anyio.wait_all_tasks_blocked()


def sequential(emu: Emulator) -> list[int]:
    with httpx.Client(transport=emu.transport()) as http:
        from chatwoot_audit import ChatwootAudit

        with ChatwootAudit(MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http) as client:
            return [log.id for log in client.logs()]


async def test_a_request_starts_as_soon_as_the_loop_moves_past_a_page() -> None:
    """Page 5 is asked for once page 1 is handed out, while pages 2 to 4 are still on the way."""
    emu = Emulator(seed=40, entries=25 * 12)
    gate = Gate(emu, opened=[1])
    async with gated(emu, gate) as client, aclosing(client.pages(concurrency=4)) as pages:
        first = await anext(pages)
        assert first.current_page == 1
        assert sorted(gate.sent) == [1, 2, 3, 4]
        got: list[AuditLogPage] = []
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _collect(pages, got))
            await settle()
            assert sorted(gate.sent) == [1, 2, 3, 4, 5]  # a batch driver would wait for 2, 3 and 4 first
            assert gate.in_flight == {2, 3, 4, 5}
            gate.open(3, 4, 5)
            await settle()
            assert got == []  # page 2 comes first, whatever arrived after it
            gate.open_all()
    assert [first.current_page] + [p.current_page for p in got] == list(range(1, 13))
    assert gate.peak == 4


async def _collect(pages: AsyncIterator[AuditLogPage], into: list[AuditLogPage]) -> None:
    async for page in pages:
        into.append(page)


@pytest.mark.parametrize("concurrency", [2, 8, 16])
async def test_the_window_keeps_k_requests_in_flight_and_the_sequential_order(concurrency: int) -> None:
    """With every page answered at once the window never holds more than k, and the output is unchanged."""
    emu = Emulator(seed=41, entries=1000, latency=0.002)
    gate = Gate(emu)
    gate.open_all()
    async with gated(emu, gate) as client:
        got = [log.id async for log in client.logs(concurrency=concurrency)]
    assert got == sequential(emu)
    assert gate.peak == concurrency


async def test_leaving_the_loop_cancels_the_walks_requests_at_once() -> None:
    """A break inside aclosing returns while requests hang: they are cancelled, nothing more is sent."""
    emu = Emulator(seed=42, entries=25 * 40)
    gate = Gate(emu, opened=[1])
    async with gated(emu, gate) as client:
        before = tasks()
        with anyio.fail_after(10):
            async with aclosing(client.logs(concurrency=8)) as logs:
                async for _log in logs:
                    break
        assert tasks() == before
        assert sorted(gate.cancelled) == list(range(2, 9))
        sent = len(gate.sent)
        await settle()
        assert len(gate.sent) == sent


async def test_a_break_without_aclosing_ends_the_walk_when_the_generator_is_finalised() -> None:
    """A plain break leaves the generator to the garbage collector, which closes it: its requests end too."""
    emu = Emulator(seed=43, entries=25 * 40)
    gate = Gate(emu, opened=[1])
    async with gated(emu, gate) as client:
        before = tasks()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # trio says aclosing would have been better
            async for _log in client.logs(concurrency=8):
                break
            await settle()
        assert tasks() == before
        assert sorted(gate.cancelled) == list(range(2, 9))


async def test_cancelling_the_consumer_cancels_its_requests_and_leaves_no_task() -> None:
    """A consumer cancelled while it waits for a page takes its walk's requests with it."""
    emu = Emulator(seed=44, entries=25 * 40)
    gate = Gate(emu, opened=[1, 2])
    got: list[int] = []

    async def walk(client: AsyncChatwootAudit) -> None:
        async with aclosing(client.logs(concurrency=8)) as logs:
            async for log in logs:
                got.append(log.id)

    async with gated(emu, gate) as client:
        before = tasks()
        async with anyio.create_task_group() as group:
            group.start_soon(walk, client)
            await settle()  # pages 1 and 2 handed out, the walk waits for page 3
            group.cancel_scope.cancel()
        assert tasks() == before
        assert len(got) == 50
        assert set(gate.cancelled) == set(range(3, 11))
        sent = len(gate.sent)
        await settle()
        assert len(gate.sent) == sent


async def test_an_exception_in_the_loop_body_cancels_the_requests_and_comes_out_as_it_is() -> None:
    """An error raised while handling an entry ends the walk's requests and is not wrapped in a group."""
    emu = Emulator(seed=45, entries=25 * 40)
    gate = Gate(emu, opened=[1])
    left: list[int] = []

    async def handle_badly() -> None:
        async with gated(emu, gate) as client:
            before = tasks()
            try:
                async with aclosing(client.logs(concurrency=8)) as logs:
                    async for _log in logs:
                        raise KeyError("handling failed")
            finally:
                left.append(tasks() - before)

    with pytest.raises(KeyError, match="handling failed"):
        await handle_badly()
    assert left == [0]
    assert sorted(gate.cancelled) == list(range(2, 9))


async def test_a_retry_goes_on_while_the_consumer_is_slow() -> None:
    """A page that failed is retried in the background while the loop is still busy with an entry."""
    emu = Emulator(seed=46, entries=25 * 10, faults={3: "503"})
    gate = Gate(emu)
    gate.open_all()
    async with gated(emu, gate) as client, aclosing(client.logs(concurrency=4)) as logs:
        got = [(await anext(logs)).id]
        # The consumer holds its first entry: nothing steps the walk, yet the failed page is asked again.
        with anyio.fail_after(10):
            await gate.repeated.wait()
        assert len(set(gate.sent)) == 4  # the four pages of the first window, one of them twice
        got += [log.id async for log in logs]
    assert got == sequential(emu)
    assert [r.status for r in emu.requests].count(503) == 1


async def test_a_client_that_is_not_entered_walks_in_batches() -> None:
    """Without `async with` the window drains before each yield: the same output, nothing left running."""
    emu = Emulator(seed=47, entries=25 * 12, latency=0.002)
    gate = Gate(emu)
    gate.open_all()
    async with gated(emu, gate, enter=False) as client:
        before = tasks()
        got = [log.id async for log in client.logs(concurrency=4)]
        assert tasks() == before
    assert got == sequential(emu)
    assert gate.peak == 4

    gate = Gate(emu, opened=[1])
    async with (
        gated(emu, gate, enter=False) as client,
        aclosing(client.pages(concurrency=4)) as pages,
        anyio.create_task_group() as group,
    ):
        group.start_soon(anext, pages)
        await settle()
        assert sorted(gate.sent) == [1, 2, 3, 4]
        gate.open(2, 3)
        await settle()
        assert sorted(gate.sent) == [1, 2, 3, 4]  # page 1 is back, but the batch waits for page 4
        gate.open(4)


async def test_a_walk_still_running_when_the_block_ends_says_so() -> None:
    """Ending the client's block cancels a walk left open, and that walk then raises our error."""
    emu = Emulator(seed=48, entries=25 * 40)
    gate = Gate(emu, opened=[1])
    async with gated(emu, gate) as client:
        logs = client.logs(concurrency=8)
        await anext(logs)
    assert sorted(gate.cancelled) == list(range(2, 9))

    async def drain() -> None:
        async with aclosing(logs):
            async for _log in logs:
                pass

    with pytest.raises(ChatwootError, match="block ended while a walk was still running"):
        await drain()


async def test_an_error_in_the_block_is_not_wrapped() -> None:
    """The client's task group does not turn an error of the caller's block into an ExceptionGroup."""
    emu = Emulator(seed=49, entries=10)
    gate = Gate(emu)
    gate.open_all()

    async def fail() -> None:
        async with gated(emu, gate) as client:
            await client.page(1)
            raise ValueError("mine")

    with pytest.raises(ValueError, match="mine"):
        await fail()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_native_asyncio_cancellation_of_the_whole_block_is_clean() -> None:
    """task.cancel() on a task inside the client's block ends its walk and the block, leaving nothing."""
    emu = Emulator(seed=50, entries=25 * 40)
    gate = Gate(emu, opened=[1])

    async def run() -> None:
        async with gated(emu, gate) as client:
            async for _log in client.logs(concurrency=8):
                pass

    before = tasks()
    task = asyncio.get_running_loop().create_task(run())
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tasks() == before
    assert sorted(gate.cancelled) == list(range(2, 10))  # page 1 handed out: the window reached page 9


async def test_two_walks_share_the_clients_task_group_from_their_own_tasks() -> None:
    """Walks in two tasks of one entered client each get their own window and the sequential output."""
    emu = Emulator(seed=51, entries=25 * 20, latency=0.001)
    gate = Gate(emu)
    gate.open_all()
    results: dict[int, list[int]] = {}

    async def walk(client: AsyncChatwootAudit, concurrency: int) -> None:
        async with aclosing(client.logs(concurrency=concurrency)) as logs:
            results[concurrency] = [log.id async for log in logs]

    async with gated(emu, gate) as client:
        before = tasks()
        async with anyio.create_task_group() as group:
            group.start_soon(walk, client, 3)
            group.start_soon(walk, client, 5)
        assert tasks() == before
    assert results[3] == results[5] == sequential(emu)
    assert gate.peak <= 3 + 5
