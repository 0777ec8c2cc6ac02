"""Clock skew: an entry stamped ahead of the time it was read at must not lift a checkpoint past later entries.

Each app server stamps ``created_at`` with its own clock (see chatwoot-server.md, "Clock skew"). These tests
drive ``Checkpoint`` alone, as ``logs_after`` drives it: read what is at or above the floor, keep what is
new, deliver oldest first, ``advance(log, now=...)`` with the time of the read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwoot_audit import AsyncChatwootAudit, AuditLog, ChatwootAudit, Checkpoint, InvalidArgumentError
from chatwoot_audit._checkpoint import EARLIEST, LATEST, SKEW_MARGIN, oldest_first

NOW = 1_800_000_000
HOUR = 3600


def entry(entry_id: int, stamp: int) -> AuditLog:
    """A sign-in with id ``entry_id`` stamped at ``stamp`` (Unix seconds)."""
    return AuditLog(id=entry_id, action="sign_in", created_at=datetime.fromtimestamp(stamp, UTC))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """The warnings the ``chatwoot_audit`` logger emits within the block (usable inside hypothesis tests)."""
    logger = logging.getLogger("chatwoot_audit")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- one skewed entry ----------------------------------------------------------------------------------


def test_an_entry_from_a_fast_clock_does_not_lift_the_floor() -> None:
    """An entry an hour ahead of the server's time is delivered, once, and logged; the high-water mark stops
    at now + skew_margin, so entries written after it are still new and at or above the floor."""
    cp = Checkpoint()
    with warnings_logged() as records:
        cp.advance(entry(1, NOW - 10), now=NOW)
        cp.advance(entry(2, NOW + HOUR), now=NOW)
    assert cp.high_water == NOW + SKEW_MARGIN
    assert cp.floor == datetime.fromtimestamp(NOW + SKEW_MARGIN - 300, UTC)
    assert not cp.is_new(entry(1, NOW - 10))
    assert not cp.is_new(entry(2, NOW + HOUR))
    for later in (entry(3, NOW), entry(4, NOW + 1), entry(5, NOW - 200)):
        assert cp.is_new(later)
        assert cp.floor is not None
        assert later.created_at >= cp.floor

    assert len(records) == 1
    message = records[0].getMessage()
    assert records[0].name == "chatwoot_audit"
    assert "entry 2 " in message
    assert datetime.fromtimestamp(NOW + HOUR, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") in message
    assert "3600 s ahead" in message


def test_without_now_the_high_water_mark_is_the_newest_created_at() -> None:
    """Called as before (no reference time), advance takes every created_at at its word."""
    cp = Checkpoint()
    with warnings_logged() as records:
        cp.advance(entry(1, NOW + HOUR))
    assert cp.high_water == NOW + HOUR
    assert not cp.is_new(entry(3, NOW))
    assert records == []


def test_a_skewed_entry_stays_recent_until_the_floor_passes_it() -> None:
    """As time goes on, the skewed entry is never new again: first as a recent id above the high-water
    mark, then, once the mark has passed it by the overlap, as an entry below the floor."""
    cp = Checkpoint(overlap=300)
    skewed = entry(1, NOW + HOUR)
    cp.advance(skewed, now=NOW)
    next_id = 2
    for now in range(NOW, NOW + HOUR + 400, 50):
        cp.advance(entry(next_id, now), now=now)
        next_id += 1
        assert not cp.is_new(skewed)
        restored = Checkpoint.from_json(cp.to_json())
        assert restored == cp
        assert not restored.is_new(skewed)
        recent = dict(map(tuple, cp.to_dict()["recent"]))
        assert cp.high_water is not None
        if cp.high_water - cp.overlap <= skewed.timestamp:
            assert recent.get(1) == skewed.timestamp
        else:
            assert 1 not in recent
    assert 1 not in dict(map(tuple, cp.to_dict()["recent"]))


def test_a_skewed_entry_is_warned_about_once() -> None:
    """The same entry advanced again (a loop that acknowledges twice) logs no second warning."""
    cp = Checkpoint()
    with warnings_logged() as records:
        cp.advance(entry(1, NOW + HOUR), now=NOW)
        cp.advance(entry(1, NOW + HOUR), now=NOW)
        cp.advance(entry(2, NOW + HOUR), now=NOW)
    assert [record.args[0] for record in records if isinstance(record.args, tuple)] == [1, 2]


def test_an_entry_within_the_margin_is_taken_at_its_word() -> None:
    """A few seconds ahead is ordinary disagreement between clocks: it moves the mark, silently."""
    cp = Checkpoint()
    with warnings_logged() as records:
        cp.advance(entry(1, NOW + SKEW_MARGIN), now=NOW)
    assert cp.high_water == NOW + SKEW_MARGIN
    assert records == []
    cp.advance(entry(2, NOW + SKEW_MARGIN + 1), now=NOW)
    assert cp.high_water == NOW + SKEW_MARGIN


def test_a_skewed_entry_never_lowers_the_high_water_mark() -> None:
    """Clamping stops the mark rising; it never takes it back below what honest entries reached."""
    cp = Checkpoint(high_water=NOW + 100)
    cp.advance(entry(1, NOW + HOUR), now=NOW)
    assert cp.high_water == NOW + 100


@pytest.mark.parametrize(
    ("overlap", "margin"), [(300, SKEW_MARGIN), (1000, SKEW_MARGIN), (60, 30), (7, 3), (1, 0), (0, 0)]
)
def test_the_margin_is_at_most_half_the_overlap(overlap: int, margin: int) -> None:
    """However small the overlap, the floor stays below the reference time, so later entries are read."""
    cp = Checkpoint(overlap=overlap)
    assert cp.skew_margin == margin
    cp.advance(entry(1, NOW + HOUR), now=NOW)
    assert cp.high_water == NOW + margin
    assert cp.floor is not None
    assert cp.floor <= datetime.fromtimestamp(NOW, UTC)
    assert cp.is_new(entry(2, NOW))


@pytest.mark.parametrize(
    "now",
    [
        datetime.fromtimestamp(NOW, UTC),
        datetime.fromtimestamp(NOW, UTC).astimezone(timezone(timedelta(hours=-7))),
        datetime.fromtimestamp(NOW, UTC) + timedelta(microseconds=999_999),
        NOW,
    ],
    ids=["utc", "other-offset", "fraction", "int"],
)
def test_now_is_an_aware_datetime_or_unix_seconds(now: datetime | int) -> None:
    """Any aware datetime (whole seconds taken) or an int: the same reference."""
    cp = Checkpoint()
    cp.advance(entry(1, NOW + HOUR), now=now)
    assert cp.high_water == NOW + SKEW_MARGIN


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 6, 1), float(NOW), True, str(NOW), LATEST + 1, EARLIEST - 1],
    ids=["naive", "float", "bool", "str", "after-9999", "before-1"],
)
def test_now_refuses_what_is_not_a_time(now: Any) -> None:
    """A naive datetime, a float, a bool, text or a time no datetime holds is an InvalidArgumentError."""
    cp = Checkpoint()
    with pytest.raises(InvalidArgumentError, match="now"):
        cp.advance(entry(1, NOW), now=now)
    assert cp.high_water is None
    assert cp.to_dict()["recent"] == []


def test_at_the_end_of_time_the_mark_stays_a_time_a_datetime_holds() -> None:
    """now + margin past year 9999 is capped: the checkpoint still stores and reads back."""
    cp = Checkpoint()
    cp.advance(entry(1, LATEST), now=LATEST - 10)
    assert cp.high_water == LATEST
    assert Checkpoint.from_json(cp.to_json()) == cp


# -- sequences of syncs, some entries skewed ----------------------------------------------------------


@dataclass
class World:
    """A server's entries in the order they became visible, and what a sync loop has delivered."""

    cp: Checkpoint
    clock: int = NOW
    next_id: int = 1
    entries: list[AuditLog] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    # The entries a sync had to find: written at most overlap - margin before the clock at the time.
    expected: set[int] = field(default_factory=set)
    skewed_when_delivered: list[int] = field(default_factory=list)

    def write(self, offset: int) -> None:
        self.entries.append(entry(self.next_id, self.clock + offset))
        if offset >= self.cp.skew_margin - self.cp.overlap:
            self.expected.add(self.next_id)
        self.next_id += 1

    def sync(self, take: int | None) -> None:
        cp, floor = self.cp, self.cp.floor
        visible = [log for log in self.entries if floor is None or log.created_at >= floor]
        fresh = oldest_first([log for log in visible if cp.is_new(log)])
        undelivered = set(self.expected) - set(self.delivered)
        # Nothing lost: every entry that had to be found is read, and new.
        assert undelivered <= {log.id for log in fresh}
        for log in fresh[:take]:
            assert log.id not in self.delivered, f"entry {log.id} delivered twice"
            self.delivered.append(log.id)
            if log.timestamp > self.clock + cp.skew_margin:
                self.skewed_when_delivered.append(log.id)
            cp.advance(log, now=self.clock)
            # Nothing twice: what was delivered is never new again.
            assert not cp.is_new(log)
        self.check_floor()

    def check_floor(self) -> None:
        cp = self.cp
        if cp.high_water is not None:
            assert cp.high_water <= self.clock + cp.skew_margin
            assert cp.floor is not None
            assert cp.floor.timestamp() <= self.clock + cp.skew_margin - cp.overlap


def events(overlap: int) -> st.SearchStrategy[list[tuple[str, int]]]:
    """What happens: honest writes (late by up to overlap - margin, or a little early), writes later than
    that, writes from a clock up to two hours fast, time passing, syncs (some cut short by the loop), and
    restarts from JSON."""
    margin = min(SKEW_MARGIN, overlap // 2)
    honest = st.tuples(st.just("write"), st.integers(margin - overlap, margin))
    # Later than the overlap allows for: it may be missed, but never delivered twice.
    too_late = st.tuples(st.just("write"), st.integers(margin - 3 * overlap - 10, margin - overlap - 1))
    fast = st.tuples(st.just("write"), st.integers(margin + 1, 2 * HOUR))
    tick = st.tuples(st.just("tick"), st.integers(0, 2 * overlap + 10))
    sync = st.tuples(st.just("sync"), st.integers(-1, 5))
    reload = st.tuples(st.just("reload"), st.just(0))
    return st.lists(honest | honest | too_late | fast | tick | sync | sync | reload, max_size=60)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), overlap=st.sampled_from([300, 120, 61, 7, 1, 0]))
def test_syncs_deliver_every_entry_once_whatever_the_clocks(data: st.DataObject, overlap: int) -> None:
    """With now advancing and some entries stamped far ahead of it: every entry that had to be found is new
    until advanced, none is delivered twice, and the floor never exceeds now + margin - overlap."""
    world = World(Checkpoint(overlap=overlap))
    with warnings_logged() as records:
        for kind, value in data.draw(events(overlap)):
            if kind == "write":
                world.write(value)
            elif kind == "tick":
                world.clock += value
            elif kind == "sync":
                world.sync(None if value < 0 else value)
            else:
                restored = Checkpoint.from_json(world.cp.to_json())
                assert restored == world.cp
                world.cp = restored
        world.sync(None)
    assert world.expected <= set(world.delivered)
    assert len(world.delivered) == len(set(world.delivered))
    warned = [record.args[0] for record in records if isinstance(record.args, tuple)]
    assert warned == world.skewed_when_delivered


# -- through the clients: the server's Date header is the reference ---------------------------------


class _Server:
    """Pages of ``rows`` (newest first, 25 a page) with a ``Date`` header of ``now``."""

    def __init__(self, rows: list[tuple[int, int]], now: int) -> None:
        self.rows, self.now = rows, now

    def handle(self, request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        ordered = sorted(self.rows, key=lambda row: (-row[1], -row[0]))
        items = [
            {"id": i, "action": "sign_in", "created_at": stamp, "auditable_type": "User"}
            for i, stamp in ordered[(number - 1) * 25 : number * 25]
        ]
        body = {"per_page": 25, "total_entries": len(ordered), "current_page": number, "audit_logs": items}
        date = datetime.fromtimestamp(self.now, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return httpx.Response(200, json=body, headers={"date": date})


def _sync(server: _Server, checkpoint: Checkpoint, *, ack: bool) -> list[int]:
    out: list[int] = []
    with (
        httpx.Client(transport=httpx.MockTransport(server.handle), base_url="http://127.0.0.1") as http,
        ChatwootAudit("http://127.0.0.1", "a-token", 1, http_client=http) as client,
    ):
        for log in client.logs_after(checkpoint):
            out.append(log.id)
            if ack:
                checkpoint.advance(log)  # as the README's loop does, without now
    return out


@pytest.mark.parametrize("ack", [False, True], ids=["client-acks", "caller-acks"])
def test_logs_after_measures_skew_against_the_servers_date(ack: bool) -> None:
    """One entry an hour ahead of the server's Date does not stop the next syncs: later entries arrive."""
    server = _Server([(i, NOW - 100 + i) for i in range(1, 40)] + [(99, NOW + HOUR)], NOW)
    checkpoint = Checkpoint()
    with warnings_logged() as records:
        first = _sync(server, checkpoint, ack=ack)
    assert sorted(first) == [*range(1, 40), 99]
    assert checkpoint.high_water is not None
    assert checkpoint.high_water <= NOW + SKEW_MARGIN
    assert any("entry 99" in record.getMessage() for record in records)
    server.rows += [(100, NOW + 5), (101, NOW + 8)]
    server.now = NOW + 10
    assert _sync(server, checkpoint, ack=ack) == [100, 101]
    assert _sync(server, checkpoint, ack=ack) == []


def test_async_logs_after_measures_skew_against_the_servers_date() -> None:
    """The async twin reads the same Date header."""
    server = _Server([(i, NOW - 100 + i) for i in range(1, 10)] + [(99, NOW + HOUR)], NOW)
    checkpoint = Checkpoint()

    async def sync() -> list[int]:
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(server.handle), base_url="http://127.0.0.1") as http,
            AsyncChatwootAudit("http://127.0.0.1", "a-token", 1, http_client=http) as client,
        ):
            return [log.id async for log in client.logs_after(checkpoint)]

    assert sorted(anyio.run(sync)) == [*range(1, 10), 99]
    server.rows.append((100, NOW + 5))
    assert anyio.run(sync) == [100]


def test_a_date_header_that_runs_ahead_is_not_trusted_past_this_machines_clock() -> None:
    """A server whose Date runs an hour ahead of this machine (and of its honest hosts): an entry from a host
    whose clock is as fast does not lift the floor past the entries honest hosts write after it."""
    now = int(time.time())
    server = _Server([(i, now - 100 + i) for i in range(1, 20)] + [(99, now + HOUR - 5)], now + HOUR)
    checkpoint = Checkpoint()
    with warnings_logged() as records:
        first = _sync(server, checkpoint, ack=False)
    assert sorted(first) == [*range(1, 20), 99]
    told = [record for record in records if "ahead of this machine's clock" in record.getMessage()]
    assert len(told) == 1
    assert checkpoint.high_water is not None
    assert checkpoint.high_water <= int(time.time()) + SKEW_MARGIN
    server.rows += [(100, now + 1), (101, now + 2)]
    assert _sync(server, checkpoint, ack=False) == [100, 101]
