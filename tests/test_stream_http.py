"""The streaming first sync through the clients, against the emulator in process and over loopback:
histories of many windows, with arrivals, late commits, reordered ties and faults."""

from __future__ import annotations

from contextlib import aclosing

import httpx
import pytest
from _support import async_client, ids, sync_client

from chatwoot_audit import AuditLog, ChatwootAudit, Checkpoint, IncompleteWalkError
from chatwoot_audit import _client as client_module
from chatwoot_audit._planner import Emit
from chatwoot_audit._stream import window_pages
from chatwoot_audit.testing import Emulator

PER_PAGE = 25
# Enough history for many windows of the largest size, so that the windows, not one walk, carry the sync.
ENTRIES = 3 * window_pages(1) * PER_PAGE + 400


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The most entries one window of a sync gathered before handing them out."""
    most = [0]
    add = client_module._Delivery.add

    def counting(self: client_module._Delivery, emit: Emit) -> None:
        add(self, emit)
        most[0] = max(most[0], len(self._found))

    monkeypatch.setattr(client_module._Delivery, "add", counting)
    return most


def oldest_first(logs: list[AuditLog]) -> bool:
    keys = [(log.created_at, log.id) for log in logs]
    return keys == sorted(keys)


def test_a_first_sync_streams_the_history_oldest_first(face: str, held: list[int]) -> None:
    emu = Emulator(seed=81, entries=ENTRIES, unstable_ties=True)
    checkpoint = Checkpoint()
    with sync_client(emu, face) as client:
        logs = list(client.logs_after(checkpoint))
        assert list(client.logs_after(checkpoint)) == []
    assert sorted(log.id for log in logs) == sorted(ids(emu.entries))
    assert oldest_first(logs)
    # A window, not the history: the largest window's pages, and the page its top cut came from.
    assert 0 < held[0] <= (window_pages(1) + 2) * PER_PAGE


def test_the_first_entry_comes_after_a_few_requests(face: str) -> None:
    emu = Emulator(seed=82, entries=ENTRIES)
    with sync_client(emu, face) as client:
        logs = client.logs_after(Checkpoint())
        first = next(logs)
        asked = emu.request_count
        logs.close()
    assert asked <= 6
    assert first.created_at == min(log.created_at for log in map(AuditLog.from_dict, emu.entries))


@pytest.mark.parametrize("concurrency", [1, 6])
def test_arrivals_late_commits_and_faults_lose_and_repeat_nothing(concurrency: int, held: list[int]) -> None:
    emu = Emulator(
        seed=83 + concurrency,
        entries=ENTRIES,
        unstable_ties=True,
        arrivals_per_request=1,
        late_commits_per_request=1,
        late_window=(1, 30),
        faults={5: "502", 40: "429", 90: "drop"} if concurrency == 1 else {7: "503", 61: "truncate"},
    )
    owed = set(ids(emu.entries))
    checkpoint = Checkpoint()
    with emu.client() as client:
        first = list(client.logs_after(checkpoint, concurrency=concurrency))
        rest = list(client.logs_after(checkpoint, concurrency=concurrency))
    delivered = [log.id for log in first + rest]
    assert len(delivered) == len(set(delivered)), "an entry handed out twice"
    got = {log.id for log in first}
    assert owed <= got, f"lost {len(owed - got)} entries"
    assert oldest_first(first)
    assert held[0] <= (window_pages(concurrency) + 2) * PER_PAGE + emu.request_count


def test_a_sync_stopped_and_resumed_from_its_file_hands_out_each_entry_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    emu = Emulator(seed=85, entries=ENTRIES, unstable_ties=True, arrivals_per_request=1)
    path = tmp_path_factory.mktemp("sync") / "checkpoint.json"
    Checkpoint().save(path)
    owed = set(ids(emu.entries))
    shipped: list[int] = []
    with emu.client() as client:
        for stop in (10, 700, 1500, None):
            checkpoint = Checkpoint.load(path)
            for count, log in enumerate(client.logs_after(checkpoint)):
                if stop is not None and count == stop:
                    break  # a crash before this entry was shipped
                shipped.append(log.id)
                checkpoint.advance(log)
                checkpoint.save(path)
    assert len(shipped) == len(set(shipped))
    assert owed <= set(shipped)


@pytest.mark.anyio
async def test_the_async_twin_streams_the_same_entries(face: str, held: list[int]) -> None:
    emu = Emulator(seed=86, entries=ENTRIES, unstable_ties=True)
    with sync_client(emu, "memory") as client:
        expected = [log.id for log in client.logs_after(Checkpoint())]
    held[0] = 0
    async with async_client(emu, face) as aclient, aclosing(aclient.logs_after(Checkpoint(), concurrency=4)) as logs:
        got = [log.id async for log in logs]
    assert sorted(got) == sorted(expected)
    assert 0 < held[0] <= (window_pages(4) + 2) * PER_PAGE


def test_a_server_that_answers_every_page_alike_cannot_keep_a_catch_up_searching() -> None:
    """A cache that drops ``?page=`` answers page 1 to every request: a sync whose floor lies deep in the
    history stops within a bounded number of requests, with an error, instead of galloping for ever."""
    newest, per_page, total = 1_800_000_000, 25, 2_000
    rows = [{"id": total - i, "action": "update", "created_at": newest - 3 * i} for i in range(per_page)]
    asked = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        asked[0] += 1
        body = {"audit_logs": rows, "current_page": 1, "per_page": per_page, "total_entries": total}
        return httpx.Response(200, json=body)

    checkpoint = Checkpoint(overlap=0, high_water=newest - 3 * total)
    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        ChatwootAudit("https://chatwoot.test", "a-token", 1, http_client=http) as client,
        pytest.raises(IncompleteWalkError),
    ):
        for _ in client.logs_after(checkpoint):
            pass
    assert asked[0] <= 3 * total // per_page  # about twice the pages the total claims, not for ever


@pytest.mark.parametrize("concurrency", [8, 16])
def test_windows_do_not_ask_for_pages_far_past_their_end(concurrency: int) -> None:
    """Each window knows about where it ends (the page the window below started at): a concurrent sync asks
    for few pages beyond what a sequential one reads."""
    emu = Emulator(seed=87, entries=4 * ENTRIES)
    with emu.client() as client:
        list(client.logs_after(Checkpoint()))
        sequential = emu.request_count
        list(client.logs_after(Checkpoint(), concurrency=concurrency))
        concurrent = emu.request_count - sequential
    assert concurrent <= sequential * 1.1 + concurrency
