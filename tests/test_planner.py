"""The Planner state machine and the Throttle, driven by hand: no client, no network."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwoot_audit import APIConnectionError, AuditLog, AuditLogPage, IncompleteWalkError
from chatwoot_audit._pagination import LogWalk
from chatwoot_audit._planner import Emit, Fetch, Planner, Wait, actions
from chatwoot_audit._retry import Throttle

T0 = 1_781_600_000


def entry(entry_id: int, stamp: int) -> AuditLog:
    return AuditLog(id=entry_id, action="update", created_at=datetime.fromtimestamp(stamp, UTC))


def history(n: int, per_second: int = 3) -> list[AuditLog]:
    """Newest first, ids growing with time, several entries a second."""
    return [entry(i, T0 + i // per_second) for i in range(n, 0, -1)]


Server = Callable[[int], AuditLogPage]


def server_of(data: list[AuditLog], per_page: int = 5) -> Server:
    def page(number: int) -> AuditLogPage:
        start = (number - 1) * per_page
        return AuditLogPage(
            items=tuple(data[start : start + per_page]),
            current_page=number,
            per_page=per_page,
            total_entries=len(data),
        )

    return page


def drive(planner: Planner, serve: Server, *, batch: bool) -> tuple[list[int], list[tuple[int, ...]]]:
    """Run a planner to the end: a batch driver delivers every Fetch at once, a sliding one on Wait."""
    out: list[int] = []
    fetches: list[tuple[int, ...]] = []
    pending: dict[int, AuditLogPage] = {}
    for _ in range(10_000):
        action = planner.step()
        if action is None:
            return out, fetches
        if isinstance(action, Emit):
            out.extend(log.id for log in action.logs)
        elif isinstance(action, Fetch):
            fetches.append(action.pages)
            if batch:
                planner.deliver({n: serve(n) for n in action.pages})
            else:
                pending.update({n: serve(n) for n in action.pages})
        else:
            assert isinstance(action, Wait)
            planner.deliver({action.page: pending.pop(action.page)})
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("batch", [True, False])
@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_every_driver_yields_the_sequential_walk(batch: bool, concurrency: int) -> None:
    """Batches or a sliding window, any concurrency: the same ids in the same order."""
    data = history(53)
    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True)
    got, fetches = drive(planner, server_of(data), batch=batch)
    assert got == [log.id for log in data]
    assert all(len(f) <= concurrency for f in fetches)
    assert fetches[0] == tuple(range(1, concurrency + 1))  # a walk to the end asks for a whole batch first


def test_a_walk_that_may_stop_early_starts_with_page_one_alone() -> None:
    """With since or limit the first request is page 1 only: the walk may need nothing more."""
    data = history(40)
    planner = Planner(LogWalk(limit=3), concurrency=8)
    got, fetches = drive(planner, server_of(data), batch=True)
    assert got == [log.id for log in data][:3]
    assert fetches == [(1,)]


def test_the_window_ahead_never_exceeds_the_limit() -> None:
    """A sliding driver has at most `concurrency` pages asked for and not yet handed out."""
    data = history(200)
    planner = Planner(LogWalk(), concurrency=4)
    serve = server_of(data)
    pending: dict[int, AuditLogPage] = {}
    handed = 0
    while (action := planner.step()) is not None:
        if isinstance(action, Fetch):
            pending.update({n: serve(n) for n in action.pages})
        elif isinstance(action, Wait):
            planner.deliver({action.page: pending.pop(action.page)})
        else:
            handed = action.number
        assert len(planner.in_flight) <= 4
        assert all(n <= handed + 4 for n in planner.in_flight)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_actions_leave_a_driver_only_emits_and_waits_for_pages_it_started(concurrency: int) -> None:
    """Through actions(), a driver starts every Fetch and waits only for a page it started and has not taken."""
    data = history(60)
    serve = server_of(data)
    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True)
    started: list[int] = []
    taken: set[int] = set()
    out: list[int] = []
    for action in actions(planner, started.extend):
        if isinstance(action, Emit):
            out.extend(log.id for log in action.logs)
        else:
            assert isinstance(action, Wait)
            assert action.page in started
            assert action.page not in taken
            assert action.page in planner.in_flight
            taken.add(action.page)
            planner.deliver({action.page: serve(action.page)})
        assert len(planner.in_flight) <= concurrency
    assert out == [log.id for log in data]
    assert taken == set(started)


def test_a_page_read_before_the_one_above_it_grew_is_read_again() -> None:
    """A stale page (smaller total than the page before) is fetched again before it is used."""
    data = history(30)
    older = server_of(data)
    arrived = [entry(1000 + i, T0 + 100) for i in range(2)] + data
    newer = server_of(arrived)
    planner = Planner(LogWalk(), concurrency=3)
    first = planner.step()
    assert first == Fetch((1, 2, 3))
    # Page 1 is read after two arrivals, pages 2 and 3 before them.
    planner.deliver({1: newer(1), 2: older(2), 3: older(3)})
    assert isinstance(planner.step(), Emit)
    assert planner.step() == Fetch((2,))  # stale: read again
    planner.deliver({2: newer(2)})
    emitted = planner.step()
    assert isinstance(emitted, Emit)
    assert emitted.number == 2
    got, _ = drive(planner, newer, batch=True)
    everything = [log.id for log in data]
    seen = [log.id for log in newer(1).items if log.timestamp <= T0 + 10] + [log.id for log in emitted.logs] + got
    assert set(everything) <= set(seen)


def test_an_error_surfaces_when_its_page_is_reached() -> None:
    """A failed page raises in page order: the pages before it are handed out first."""
    data = history(40)
    serve = server_of(data)
    planner = Planner(LogWalk(), concurrency=4)
    action = planner.step()
    assert isinstance(action, Fetch)
    boom = APIConnectionError("boom")
    planner.deliver({n: (boom if n == 3 else serve(n)) for n in action.pages})
    assert isinstance(planner.step(), Emit)
    assert isinstance(planner.step(), Emit)
    with pytest.raises(APIConnectionError):
        planner.step()


def test_until_is_found_by_bisection_and_its_page_reused() -> None:
    """An until deep in the history costs about log2(pages) probes, and the page found is not fetched twice."""
    data = history(1000, per_second=1)
    until = data[700].created_at
    planner = Planner(LogWalk(until=until), concurrency=1)
    got, fetches = drive(planner, server_of(data), batch=True)
    assert got == [log.id for log in data[700:]]
    walked = 200 - 141 + 1  # entry 700 sits on page 141 of 200
    assert len(fetches) <= walked + 10  # log2(200) probes, page 1 included
    assert len(fetches) == len(set(fetches))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_missing_entries_are_re_read_then_reported(concurrency: int) -> None:
    """A server that counts an entry it never shows (another stands in its place) gets recovery rounds,
    then IncompleteWalkError."""
    data = history(20, per_second=5)
    hidden = data[7]
    shown = [data[6] if log is hidden else log for log in data]  # the place is kept: positions stay honest

    def hiding(number: int) -> AuditLogPage:
        return server_of(shown)(number)

    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True, recovery_rounds=2)
    with pytest.raises(IncompleteWalkError) as info:
        drive(planner, hiding, batch=True)
    assert (info.value.expected, info.value.found, info.value.missing) == (20, 19, 1)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_total_that_claims_more_than_the_pages_hold_is_not_believed(concurrency: int) -> None:
    """Positions on the pages, and the end of the list, prove the walk: a total inflated by two does not
    stop a walk that has read every entry the pages hold."""
    data = history(20, per_second=5)
    listed = server_of(data)

    def inflated(number: int) -> AuditLogPage:
        page = listed(number)
        return AuditLogPage(
            items=page.items, current_page=number, per_page=page.per_page, total_entries=page.total_entries + 2
        )

    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True, recovery_rounds=2)
    got, _ = drive(planner, inflated, batch=True)
    assert sorted(got) == sorted(log.id for log in data)


def test_an_entry_that_slipped_between_pages_is_recovered() -> None:
    """Ties reordered between two requests lose an entry; re-reading the tied boundary finds it."""
    data = history(10, per_second=10)  # one second: every boundary is tied
    reordered = [data[5], *data[:5], *data[6:]]
    calls = {"n": 0}

    def shuffling(number: int) -> AuditLogPage:
        calls["n"] += 1
        return server_of(data if calls["n"] == 1 else reordered)(number)

    planner = Planner(LogWalk(), concurrency=1, check_completeness=True)
    got, _ = drive(planner, shuffling, batch=True)
    assert sorted(got) == sorted(log.id for log in data)
    assert len(got) == len(set(got))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 120),
    per_page=st.integers(1, 9),
    concurrency=st.integers(1, 9),
    batch=st.booleans(),
)
def test_any_static_history_is_walked_whole(n: int, per_page: int, concurrency: int, batch: bool) -> None:
    """For any size, page size and concurrency, every entry comes once, newest first."""
    data = history(n)
    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True)
    got, _ = drive(planner, server_of(data, per_page), batch=batch)
    assert got == [log.id for log in data]


def test_throttle_halves_on_429_and_climbs_back() -> None:
    """Multiplicative decrease on a 429, additive increase after a run of successes."""
    throttle = Throttle(ceiling=8)
    assert throttle.limit == 8
    throttle.rate_limited(now=100.0, delay=2.0)
    assert throttle.limit == 4
    assert throttle.wait(100.5) == pytest.approx(1.5)
    assert throttle.wait(103.0) == 0.0
    throttle.rate_limited(now=100.0, delay=0.5)
    assert throttle.limit == 2
    assert throttle.wait(100.0) == pytest.approx(2.0)  # the longer wait holds
    throttle.rate_limited(now=100.0, delay=0.1)
    assert throttle.limit == 1
    climbed = []
    for _ in range(40):
        throttle.succeeded()
        climbed.append(throttle.limit)
    assert climbed[-1] == 8
    assert climbed == sorted(climbed)
