"""Incremental sync: Checkpoint, logs_after and follow deliver every entry once, oldest first."""

from __future__ import annotations

import logging
import threading
from contextlib import aclosing
from datetime import UTC, datetime

import anyio
import pytest
from _support import async_client, ids, sync_client
from hypothesis import given
from hypothesis import strategies as st

from chatwoot_audit import ChatwootAudit, Checkpoint, InvalidArgumentError
from chatwoot_audit.testing import Emulator


def _oldest_first(stamps: list[tuple[datetime, int]]) -> bool:
    return stamps == sorted(stamps)


def test_first_sync_delivers_everything_oldest_first(face: str) -> None:
    """An empty checkpoint gets the whole history, oldest first, then nothing more."""
    emu = Emulator(seed=40, entries=130)
    cp = Checkpoint()
    with sync_client(emu, face) as client:
        first = list(client.logs_after(cp))
        again = list(client.logs_after(cp))
    assert sorted(log.id for log in first) == sorted(ids(emu.entries))
    assert _oldest_first([(log.created_at, log.id) for log in first])
    assert again == []
    assert cp.high_water == max(int(e["created_at"]) for e in emu.entries)


def test_new_entries_are_delivered_once(face: str) -> None:
    """After new entries arrive, the next sync delivers exactly them."""
    emu = Emulator(seed=41, entries=60)
    cp = Checkpoint()
    with sync_client(emu, face) as client:
        list(client.logs_after(cp))
        added = emu.add_entries(7)
        got = [log.id for log in client.logs_after(cp)]
    assert sorted(got) == sorted(entry["id"] for entry in added)


def test_a_late_entry_inside_the_overlap_is_delivered_once() -> None:
    """An entry that becomes visible late with an earlier created_at is still delivered, once."""
    emu = Emulator(seed=42, entries=50)
    cp = Checkpoint(overlap=120)
    with sync_client(emu, "memory") as client:
        list(client.logs_after(cp))
        assert cp.high_water is not None
        late = emu.add_entry(created_at=cp.high_water - 60)
        too_late = emu.add_entry(created_at=cp.high_water - 600)
        got = [log.id for log in client.logs_after(cp)]
        assert got == [late["id"]]
        assert too_late["id"] not in got
        assert list(client.logs_after(cp)) == []


def test_an_acknowledged_entry_is_not_delivered_again() -> None:
    """advance() after shipping, then store: stopping halfway and restoring repeats nothing, drops nothing."""
    emu = Emulator(seed=43, entries=90)
    cp = Checkpoint()
    delivered: list[int] = []
    with sync_client(emu, "memory") as client:
        for log in client.logs_after(cp):
            delivered.append(log.id)
            cp.advance(log)
            if len(delivered) == 33:
                break
        stored = cp.to_json()
        emu.add_entries(5)
        restored = Checkpoint.from_json(stored)
        delivered += [log.id for log in client.logs_after(restored)]
    assert len(delivered) == len(set(delivered))
    assert sorted(delivered) == sorted(ids(emu.entries))


def test_starting_at_skips_older_history() -> None:
    """Checkpoint.starting_at delivers only entries from that moment on."""
    emu = Emulator(seed=44, entries=200)
    stamps = sorted(int(e["created_at"]) for e in emu.entries)
    cut = stamps[150]
    cp = Checkpoint.starting_at(datetime.fromtimestamp(cut, UTC))
    with sync_client(emu, "memory") as client:
        got = {log.id for log in client.logs_after(cp)}
    assert got == {e["id"] for e in emu.entries if int(e["created_at"]) >= cut}


def test_follow_delivers_entries_that_arrive_while_it_runs() -> None:
    """follow() polls and yields entries written after it started, oldest first."""
    emu = Emulator(seed=45, entries=20)
    cp = Checkpoint()
    got: list[int] = []
    expected = set(ids(emu.entries))
    with sync_client(emu, "socket") as client:
        writer = threading.Timer(0.1, lambda: expected.update(e["id"] for e in emu.add_entries(6)))
        writer.start()
        try:
            for log in client.follow(cp, interval=0.02):
                got.append(log.id)
                if len(got) == 26 or emu.request_count > 500:
                    break
        finally:
            writer.cancel()
    assert sorted(got) == sorted(expected)


def test_follow_waits_out_an_outage(caplog: pytest.LogCaptureFixture) -> None:
    """Connection errors during follow are logged and retried at the next poll."""
    emu = Emulator(seed=46, entries=10, faults={1: "drop"})
    cp = Checkpoint()
    with caplog.at_level(logging.WARNING, logger="chatwoot_audit"), sync_client(emu, "memory", max_retries=0) as client:
        got = []
        for log in client.follow(cp, interval=0.01):
            got.append(log.id)
            if len(got) == 10:
                break
    assert sorted(got) == sorted(ids(emu.entries))
    assert any("trying again" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_async_logs_after_and_follow(face: str) -> None:
    """The async twin delivers the same entries in the same order."""
    emu = Emulator(seed=47, entries=70)
    cp_sync, cp_async = Checkpoint(), Checkpoint()
    with sync_client(emu, "memory") as client:
        expected = [log.id for log in client.logs_after(cp_sync)]
    async with async_client(emu, face) as aclient:
        got = [log.id async for log in aclient.logs_after(cp_async)]
        assert got == expected
        emu.add_entries(3)
        followed = []
        # Under trio an async generator left open warns: close it, as trio asks.
        with anyio.fail_after(5):
            async with aclosing(aclient.follow(cp_async, interval=0.01)) as logs:
                async for log in logs:
                    followed.append(log.id)
                    if len(followed) == 3:
                        break
    assert len(set(followed)) == 3
    assert cp_async.to_json() != cp_sync.to_json()


def test_bad_arguments_are_refused() -> None:
    """Wrong checkpoint objects and intervals are InvalidArgumentErrors."""
    emu = Emulator(seed=48, entries=5)
    with sync_client(emu, "memory") as client:
        with pytest.raises(InvalidArgumentError):
            client.logs_after("{}")  # type: ignore[arg-type]
        for interval in (0, -1, float("nan"), True):
            with pytest.raises(InvalidArgumentError):
                client.follow(Checkpoint(), interval=interval)
    for bad in (
        "",
        "[]",
        '{"format": 2}',
        '{"format": 1, "overlap": 5}',
        '{"format":1,"overlap":1,"high_water":1,"recent":[[1]]}',
    ):
        with pytest.raises(InvalidArgumentError):
            Checkpoint.from_json(bad)
    with pytest.raises(InvalidArgumentError):
        Checkpoint(overlap=-1)
    with pytest.raises(InvalidArgumentError):
        Checkpoint.starting_at(datetime(2026, 1, 1))


@given(
    overlap=st.integers(0, 10_000),
    # Times stay within what an aware datetime holds (years 1 to 9999); beyond that is malformed.
    high_water=st.none() | st.integers(-62_135_596_800, 253_402_300_799),
    recent=st.dictionaries(st.integers(1, 2**40), st.integers(-62_135_596_800, 253_402_300_799), max_size=20),
)
def test_checkpoint_json_round_trips(overlap: int, high_water: int | None, recent: dict[int, int]) -> None:
    """to_json/from_json give back an equal checkpoint."""
    cp = Checkpoint(overlap=overlap, high_water=high_water)
    cp._recent.update(recent)
    assert Checkpoint.from_json(cp.to_json()) == cp


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_catch_up_sync_under_unstable_ties_loses_nothing(seed: int) -> None:
    """A follower that was down while many entries arrived gets every one, once, though ties reorder."""
    emu = Emulator(seed=seed, entries=300, unstable_ties=True)
    cp = Checkpoint()
    with sync_client(emu, "memory") as client:
        delivered = [log.id for log in client.logs_after(cp)]
        emu.add_entries(1500)
        delivered += [log.id for log in client.logs_after(cp)]
    assert len(delivered) == len(set(delivered))
    assert sorted(delivered) == sorted(ids(emu.entries))


def test_an_entry_left_behind_by_a_failure_comes_again() -> None:
    """An entry whose handling raised (or that a break left unacknowledged) is delivered next time."""
    emu = Emulator(seed=49, entries=40)
    cp = Checkpoint()
    handled: list[int] = []

    def ship_until_the_store_fails(client: ChatwootAudit) -> None:
        for log in client.logs_after(cp):
            if len(handled) == 10:
                raise RuntimeError("the log store is down")
            handled.append(log.id)

    with sync_client(emu, "memory") as client:
        with pytest.raises(RuntimeError):
            ship_until_the_store_fails(client)
        retried = [log.id for log in client.logs_after(cp)]
    assert len(handled) + len(retried) == 40
    assert sorted(handled + retried) == sorted(ids(emu.entries))
