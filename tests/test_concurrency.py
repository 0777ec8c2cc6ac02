"""Concurrent walks: the sequential walk's order and set, bounded work, throttling, clean cancellation."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import anyio
import httpx
import pytest
from _support import MEMORY_BASE_URL, async_client, ids, sync_client

from chatwoot_audit import AsyncChatwootAudit, ChatwootAudit, IncompleteWalkError
from chatwoot_audit.testing import Emulator


def _sequential(emu: Emulator) -> list[int]:
    with sync_client(emu, "memory") as client:
        return [log.id for log in client.logs()]


@pytest.mark.parametrize("concurrency", [2, 8, 16])
def test_sync_pool_yields_the_sequential_walk(face: str, concurrency: int) -> None:
    """ChatwootAudit.logs(concurrency=k) yields the same ids in the same order as the sequential walk."""
    emu = Emulator(seed=21, entries=420)
    expected = _sequential(emu)
    with sync_client(emu, face) as client:
        assert [log.id for log in client.logs(concurrency=concurrency)] == expected
        assert [p.current_page for p in client.pages(concurrency=concurrency)] == list(range(1, 18))


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [4, 8])
async def test_async_walk_yields_the_sequential_walk(face: str, concurrency: int) -> None:
    """AsyncChatwootAudit.logs(concurrency=k) matches the sequential walk under asyncio and trio."""
    emu = Emulator(seed=22, entries=300)
    expected = _sequential(emu)
    async with async_client(emu, face) as client:
        assert [log.id async for log in client.logs(concurrency=concurrency)] == expected
        assert [p.current_page async for p in client.pages(concurrency=concurrency)] == list(range(1, 13))


def test_concurrency_fetches_pages_at_once() -> None:
    """With latency, k pages are in flight together: the server sees overlapping requests."""
    emu = Emulator(seed=23, entries=200, latency=0.02)
    with sync_client(emu, "socket") as client:
        list(client.logs(concurrency=8))
    assert emu.request_count == 9  # 8 full pages, and the read past the last that shows the list ends


def test_arrivals_during_a_concurrent_walk_cost_no_entry(face: str) -> None:
    """Pages read before the page above them grew are read again: no original entry is missed."""
    emu = Emulator(seed=24, entries=400, arrivals_per_request=2)
    before = set(ids(emu.entries))
    with sync_client(emu, face) as client:
        got = [log.id for log in client.logs(concurrency=8)]
    assert len(got) == len(set(got))
    assert before <= set(got)


@pytest.mark.anyio
async def test_unstable_ties_and_arrivals_together_complete() -> None:
    """With ties reordered on every request and entries arriving, the walk still finds every entry."""
    emu = Emulator(seed=25, entries=500, unstable_ties=True, arrivals_per_request=1)
    before = set(ids(emu.entries))
    async with async_client(emu, "memory") as client:
        got = [log.id async for log in client.logs(concurrency=4)]
    assert len(got) == len(set(got))
    assert before <= set(got)


def test_unstable_ties_alone_are_recovered_by_rereading_boundaries() -> None:
    """Entries that slip across a tied page boundary are found by the completeness pass."""
    emu = Emulator(seed=26, entries=600, unstable_ties=True)
    with sync_client(emu, "memory") as client:
        got = [log.id for log in client.logs()]
    assert sorted(got) == sorted(ids(emu.entries))
    assert emu.request_count > 24  # the pass re-read pages: the plain walk alone would have missed some


def _inflating(emu: Emulator, extra: int) -> httpx.MockTransport:
    """A server whose total_entries counts more entries than it ever lists."""
    inner = emu.transport()

    def handler(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        body = response.read()
        import json

        data = json.loads(body)
        data["total_entries"] += extra
        return httpx.Response(200, json=data)

    return httpx.MockTransport(handler)


def test_a_total_that_counts_what_the_pages_never_list_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    """The pages prove the walk: a total three above what they hold is warned about, and every entry the
    pages list is yielded."""
    emu = Emulator(seed=27, entries=90)
    with (
        httpx.Client(transport=_inflating(emu, 3)) as http,
        ChatwootAudit(MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http) as client,
        caplog.at_level("WARNING", logger="chatwoot_audit"),
    ):
        got = [log.id for log in client.logs()]
    assert sorted(got) == sorted(ids(emu.entries))
    assert any("counts 93 entries but its pages end after 90" in r.getMessage() for r in caplog.records)


def test_windowed_and_limited_walks_are_not_checked() -> None:
    """Only a full walk is held to total_entries."""
    emu = Emulator(seed=27, entries=90)
    with (
        httpx.Client(transport=_inflating(emu, 3)) as http,
        ChatwootAudit(MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http) as client,
    ):
        assert len(list(client.logs(limit=10))) == 10


def test_rate_limited_concurrent_walk_completes_without_hammering() -> None:
    """Under a rate limit the concurrent walk backs off and completes; 429s stay few."""
    emu = Emulator(seed=28, entries=500, rate_limit=6, rate_window=0.1)
    with sync_client(emu, "memory") as client:
        got = [log.id for log in client.logs(concurrency=8)]
    assert sorted(got) == sorted(ids(emu.entries))
    throttled = sum(1 for r in emu.requests if r.status == 429)
    assert throttled < 3 * emu.request_count // 4


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("chatwoot-audit")]


def test_leaving_a_concurrent_loop_stops_the_walk() -> None:
    """Breaking out of a threaded walk sends nothing more, and its threads end once their request is done."""
    emu = Emulator(seed=29, entries=500, latency=0.01)
    with sync_client(emu, "socket") as client:
        for n, _log in enumerate(client.logs(concurrency=8), start=1):
            if n == 60:
                break
        for thread in _workers():
            thread.join(timeout=10)
        assert not _workers()
        assert emu.request_count <= 3 + 8  # the three pages handed out, and at most a window of 8 ahead


def test_leaving_does_not_wait_for_a_hanging_request() -> None:
    """Closing a walk returns while a slow request is still out; its daemon thread finishes it later."""
    emu = Emulator(seed=29, entries=500, faults=lambda n: "slow" if n > 1 else None, slow_delay=1.0)
    with sync_client(emu, "socket") as client:
        walk = client.logs(concurrency=8)
        next(walk)
        walk.close()
        busy = _workers()
        assert busy
        assert all(t.daemon for t in busy)
        assert any(t.is_alive() for t in busy)  # close() did not wait for the slow answers
        for thread in busy:
            thread.join(timeout=10)
        assert not _workers()


@pytest.mark.anyio
async def test_cancelling_a_concurrent_walk_is_clean() -> None:
    """Cancelling the task mid-walk stops in-flight requests without warnings or errors."""
    emu = Emulator(seed=30, entries=5000, latency=0.02)  # 200 pages: a second or more at 8 at a time
    got: list[int] = []
    first = anyio.Event()

    async def walk(client: AsyncChatwootAudit) -> None:
        async for log in client.logs(concurrency=8):
            got.append(log.id)
            first.set()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with async_client(emu, "memory") as client:
            async with anyio.create_task_group() as group:
                group.start_soon(walk, client)
                await first.wait()
                group.cancel_scope.cancel()
            sent = emu.request_count
            await anyio.wait_all_tasks_blocked()
            assert emu.request_count == sent
    assert 0 < len(got) < 5000


@pytest.mark.anyio
async def test_leaving_an_async_concurrent_loop_sends_nothing_more() -> None:
    """A break in an async concurrent walk sends nothing after it: at most a window past the pages handed out."""
    emu = Emulator(seed=31, entries=500)
    async with async_client(emu, "memory") as client:
        walk = client.logs(concurrency=4)
        n = 0
        async for _log in walk:
            n += 1
            if n == 30:
                break
        await walk.aclose()
        sent = emu.request_count
        await anyio.wait_all_tasks_blocked()
        assert emu.request_count == sent
    assert sent <= 2 + 4  # the two pages handed out, and a window of four ahead of the second


def test_sync_and_async_share_public_names_and_parameters() -> None:
    """The twins expose the same public methods with the same parameters."""
    import inspect

    def surface(cls: type[Any]) -> dict[str, list[tuple[str, object, object]]]:
        out: dict[str, list[tuple[str, object, object]]] = {}
        for name, member in inspect.getmembers(cls):
            if name.startswith("_") and name not in ("__init__", "__enter__", "__exit__"):
                continue
            if callable(member):
                params = inspect.signature(member).parameters.values()
                out[name] = [(p.name, p.kind, p.default) for p in params if p.name != "http_client"]
            else:
                out[name] = []
        return out

    sync, asyn = surface(ChatwootAudit), surface(AsyncChatwootAudit)
    sync.pop("__enter__"), sync.pop("__exit__")
    asyn.pop("aclose")
    assert sync == asyn


def test_recovery_follows_entries_that_keep_arriving() -> None:
    """Under ties reordered on every request and an arrival per request, the re-reads track the drift."""
    for seed in (0, 4):
        emu = Emulator(seed=seed, entries=2000, unstable_ties=True, arrivals_per_request=1)
        before = set(ids(emu.entries))
        with sync_client(emu, "memory") as client:
            got = [log.id for log in client.logs()]
        assert len(got) == len(set(got))
        assert before <= set(got)


def test_an_absurd_total_ends_in_our_error_after_a_bounded_number_of_requests() -> None:
    """One answer claiming 10**15 entries cannot send the completeness pass over millions of pages."""
    stamp = 1_781_000_000
    rows = [
        {"id": 1000 - i, "action": "sign_in", "created_at": stamp, "auditable": None, "audited_changes": None}
        for i in range(80)
    ]
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        sent.append(number)
        items = rows[(number - 1) * 25 : number * 25][1 if number == 2 else 0 :]  # one entry slipped
        total = 10**15 if number == 3 else len(rows)
        body = {"per_page": 25, "total_entries": total, "current_page": number, "audit_logs": items}
        return httpx.Response(200, json=body)

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        ChatwootAudit(MEMORY_BASE_URL, "token", 1, http_client=http) as client,
        pytest.raises(IncompleteWalkError) as info,
    ):
        list(client.logs())
    assert info.value.found == 79
    assert len(sent) < 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    "knobs", [{"arrivals_per_request": 1}, {"unstable_ties": True}, {"faults": {2: "503", 5: "drop"}}]
)
async def test_the_twins_send_the_same_requests_for_a_sequential_walk(knobs: dict[str, Any]) -> None:
    """One driver shape: a sequential walk asks for the same pages in the same order from either twin."""

    def fresh() -> Emulator:
        return Emulator(seed=32, entries=600, **knobs)

    sync_emu, async_emu = fresh(), fresh()
    with sync_client(sync_emu, "memory") as client:
        sync_ids = [log.id for log in client.logs()]
    async with async_client(async_emu, "memory") as aclient:
        async_ids = [log.id async for log in aclient.logs()]
    assert async_ids == sync_ids
    assert [(r.page, r.status) for r in async_emu.requests] == [(r.page, r.status) for r in sync_emu.requests]
