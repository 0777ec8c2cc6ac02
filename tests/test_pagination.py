"""The sans-IO walk over offset pages: argument checks, dedupe, windows, limits, and arrivals mid-walk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwoot_audit._completeness import Gap
from chatwoot_audit._errors import InvalidArgumentError
from chatwoot_audit._models import AuditLog, AuditLogPage
from chatwoot_audit._pagination import (
    LogWalk,
    StartSearch,
    plan_fetches,
)
from chatwoot_audit._validate import check_concurrency, check_limit, check_page, check_window

T0 = 1781602887


def entry(entry_id: int, ts: int) -> AuditLog:
    """An entry with this id and Unix-seconds timestamp."""
    return AuditLog(id=entry_id, action="update", created_at=datetime.fromtimestamp(ts, UTC))


def at(ts: int) -> datetime:
    """Unix seconds as an aware datetime."""
    return datetime.fromtimestamp(ts, UTC)


def serve(data: list[AuditLog], number: int, per_page: int) -> AuditLogPage:
    """What the server answers for page ``number`` of ``data`` (newest first) right now."""
    start = (number - 1) * per_page
    return AuditLogPage(
        items=tuple(data[start : start + per_page]), current_page=number, per_page=per_page, total_entries=len(data)
    )


def newest_first(n: int, *, step: int = 1) -> list[AuditLog]:
    """``n`` entries, ids n..1, one ``step`` of seconds apart, newest first."""
    return [entry(n - i, T0 - i * step) for i in range(n)]


def walk_static(walk: LogWalk, data: list[AuditLog], per_page: int) -> tuple[list[AuditLog], list[int]]:
    """Run ``walk`` over unchanging ``data``; the entries it yields and the pages it asked for."""
    out: list[AuditLog] = []
    asked: list[int] = []
    while (number := walk.next_page) is not None:
        asked.append(number)
        out.extend(walk.feed(serve(data, number, per_page), number))
        assert len(asked) < 1000
    return out, asked


def ids(logs: list[AuditLog]) -> list[int]:
    """The ids of ``logs``, in order."""
    return [log.id for log in logs]


# -- argument checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "2", None, 2.0])
def test_check_page_rejects(value: object) -> None:
    """A page is an int >= 1: zero, negatives, bools, floats and strings are refused."""
    with pytest.raises(InvalidArgumentError, match="page"):
        check_page(value)


@pytest.mark.parametrize("value", [1, 2, 10_000])
def test_check_page_accepts(value: int) -> None:
    """Ints >= 1 pass through."""
    assert check_page(value) == value


def test_check_page_error_is_value_error() -> None:
    """A bad page is a ValueError too, raised before any request."""
    with pytest.raises(ValueError, match="page"):
        check_page(0)


@pytest.mark.parametrize("value", [-1, True, 1.5, "3"])
def test_check_limit_rejects(value: object) -> None:
    """A limit is None or an int >= 0."""
    with pytest.raises(InvalidArgumentError, match="limit"):
        check_limit(value)


@pytest.mark.parametrize("value", [None, 0, 1, 500])
def test_check_limit_accepts(value: int | None) -> None:
    """None and ints >= 0 pass through."""
    assert check_limit(value) == value


@pytest.mark.parametrize("value", [0, 65, -1, True, 2.0, "8"])
def test_check_concurrency_rejects(value: object) -> None:
    """Concurrency is an int from 1 to 64."""
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        check_concurrency(value)


def test_check_concurrency_accepts() -> None:
    """1 and 64 are the bounds."""
    assert (check_concurrency(1), check_concurrency(64)) == (1, 64)


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (datetime(2026, 1, 1), None),
        (None, datetime(2026, 1, 1)),
        (datetime(2026, 1, 1), datetime(2026, 2, 1, tzinfo=UTC)),
    ],
)
def test_check_window_rejects_naive(since: datetime | None, until: datetime | None) -> None:
    """Naive datetimes are refused: entries are stamped in UTC and a naive time is ambiguous."""
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        check_window(since, until)


def test_check_window_rejects_since_after_until() -> None:
    """since after until is an InvalidArgumentError, a ValueError."""
    with pytest.raises(ValueError, match="after") as info:
        check_window(at(T0), at(T0 - 1))
    assert isinstance(info.value, InvalidArgumentError)


@pytest.mark.parametrize("value", ["2026-01-01", T0, datetime(2026, 1, 1, tzinfo=UTC).date()])
def test_check_window_rejects_non_datetimes(value: object) -> None:
    """Strings, numbers and dates are not datetimes."""
    with pytest.raises(InvalidArgumentError, match="datetime"):
        check_window(value, None)


def test_check_window_accepts() -> None:
    """Aware datetimes in any zone pass, equal bounds included; the values are kept as given."""
    since = datetime(2026, 6, 16, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    until = datetime(2026, 6, 16, 9, 0, tzinfo=UTC)
    assert check_window(since, until) == (since, until)
    assert check_window(None, None) == (None, None)


def test_logwalk_checks_arguments() -> None:
    """LogWalk runs the same checks."""
    with pytest.raises(InvalidArgumentError):
        LogWalk(since=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError):
        LogWalk(limit=-1)
    with pytest.raises(InvalidArgumentError):
        LogWalk(start=0)


# -- LogWalk: pages ------------------------------------------------------------------------------


def test_walk_reads_every_page_and_stops_at_last() -> None:
    """A full walk asks for pages 1..total_pages, yields everything newest first, and stops."""
    data = newest_first(53)
    walk = LogWalk()
    out, asked = walk_static(walk, data, 25)
    assert asked == [1, 2, 3]
    assert ids(out) == ids(data)
    assert walk.next_page is None
    assert walk.full is True


def test_walk_exact_multiple_stops_without_empty_page() -> None:
    """With total_entries a multiple of per_page, the last full page ends the walk: no extra request."""
    _, asked = walk_static(LogWalk(), newest_first(50), 25)
    assert asked == [1, 2]


def test_walk_empty_account() -> None:
    """An empty first page (no entries, or the feature off) ends the walk at once."""
    walk = LogWalk()
    out, asked = walk_static(walk, [], 25)
    assert (out, asked) == ([], [1])
    assert walk.expected == 0
    assert walk.full is True


def test_walk_stops_at_empty_page() -> None:
    """An empty page ends the walk even when the total says there is more."""
    walk = LogWalk()
    first = serve(newest_first(3), 1, 2)
    assert ids(walk.feed(AuditLogPage(items=first.items, current_page=1, per_page=2, total_entries=10), 1)) == [3, 2]
    assert walk.next_page == 2
    assert walk.feed(AuditLogPage(items=(), current_page=2, per_page=2, total_entries=10), 2) == []
    assert walk.next_page is None


def test_walk_trusts_requested_over_echo() -> None:
    """The next page follows the number asked for, not the server's current_page echo."""
    walk = LogWalk()
    page = serve(newest_first(10), 1, 2)
    walk.feed(AuditLogPage(items=page.items, current_page=1, per_page=2, total_entries=10), 3)
    assert walk.next_page == 4


def test_walk_start_page() -> None:
    """A walk may start past page 1; it is then not a full walk."""
    walk = LogWalk(start=2)
    out, asked = walk_static(walk, newest_first(6), 2)
    assert asked == [2, 3]
    assert ids(out) == [4, 3, 2, 1]
    assert walk.full is False


def test_expected_is_first_page_total() -> None:
    """expected is page 1's total_entries, even when later pages report more."""
    walk = LogWalk()
    data = newest_first(4)
    walk.feed(serve(data, 1, 2), 1)
    assert walk.expected == 4
    data = [entry(100, T0 + 5), entry(101, T0 + 6), *data]
    walk.feed(serve(data, 2, 2), 2)
    assert walk.expected == 4
    assert walk.last_total == 6


# -- LogWalk: dedupe -----------------------------------------------------------------------------


def test_arrival_repeats_are_dropped() -> None:
    """An entry written between two reads pushes the list down; the repeat on the next page is dropped."""
    data = newest_first(6)  # ids 6..1
    walk = LogWalk()
    assert ids(walk.feed(serve(data, 1, 3), 1)) == [6, 5, 4]
    data = [entry(7, T0 + 1), *data]  # page 2 is now [4, 3, 2]
    assert ids(walk.feed(serve(data, 2, 3), 2)) == [3, 2]
    assert [walk.next_page] == [3]  # 7 entries: 3 pages
    assert ids(walk.feed(serve(data, 3, 3), 3)) == [1]
    assert walk.next_page is None
    assert walk.found == 6


def test_several_arrivals_between_each_read() -> None:
    """Two arrivals before each read repeat two entries each time; none is yielded twice or lost."""
    data = newest_first(9)
    walk = LogWalk()
    out: list[AuditLog] = []
    next_id = 100
    while (number := walk.next_page) is not None:
        out.extend(walk.feed(serve(data, number, 3), number))
        data = [entry(next_id + 1, T0 + next_id), entry(next_id, T0 + next_id), *data]
        next_id += 2
    originals = [log.id for log in out if log.id <= 9]
    assert originals == list(range(9, 0, -1))
    assert len(ids(out)) == len(set(ids(out)))


def test_repeat_not_counted_towards_limit() -> None:
    """Dropped repeats do not count towards limit."""
    data = newest_first(6)
    walk = LogWalk(limit=4)
    walk.feed(serve(data, 1, 3), 1)
    data = [entry(7, T0 + 1), *data]
    assert ids(walk.feed(serve(data, 2, 3), 2)) == [3]
    assert walk.yielded == 4
    assert walk.next_page is None


# -- LogWalk: since / until ----------------------------------------------------------------------


def test_since_stops_without_older_entries() -> None:
    """Passing since ends the walk (next_page None) and nothing older is yielded."""
    data = newest_first(10, step=10)  # T0, T0-10, ... T0-90
    walk = LogWalk(since=at(T0 - 35))
    out, asked = walk_static(walk, data, 3)
    assert ids(out) == [10, 9, 8, 7]
    assert asked == [1, 2]
    assert walk.next_page is None
    assert walk.full is False


def test_since_is_inclusive() -> None:
    """An entry stamped exactly at since is yielded."""
    out, _ = walk_static(LogWalk(since=at(T0 - 20)), newest_first(10, step=10), 3)
    assert ids(out) == [10, 9, 8]


def test_since_on_a_page_boundary() -> None:
    """When a page ends exactly at since, the next page is read and ends the walk without yielding."""
    walk = LogWalk(since=at(T0 - 2))
    out, asked = walk_static(walk, newest_first(9), 3)
    assert ids(out) == [9, 8, 7]
    assert asked == [1, 2]


def test_since_in_another_zone() -> None:
    """since in a non-UTC zone compares by instant."""
    plus_two = timezone(timedelta(hours=2))
    out, _ = walk_static(LogWalk(since=at(T0 - 20).astimezone(plus_two)), newest_first(10, step=10), 3)
    assert ids(out) == [10, 9, 8]


def test_until_skips_newer_but_keeps_walking() -> None:
    """Entries newer than until are skipped; the walk goes on to older pages."""
    walk = LogWalk(until=at(T0 - 50))
    out, asked = walk_static(walk, newest_first(10, step=10), 3)
    assert ids(out) == [5, 4, 3, 2, 1]
    assert asked == [1, 2, 3, 4]
    assert walk.full is False


def test_until_first_page_all_newer() -> None:
    """A first page made only of entries newer than until yields nothing but asks for the next."""
    walk = LogWalk(until=at(T0 - 50))
    assert walk.feed(serve(newest_first(10, step=10), 1, 3), 1) == []
    assert walk.next_page == 2


def test_since_and_until_window() -> None:
    """A window yields exactly the entries inside it, bounds included, and stops after since."""
    walk = LogWalk(since=at(T0 - 60), until=at(T0 - 20))
    out, asked = walk_static(walk, newest_first(10, step=10), 2)
    assert ids(out) == [8, 7, 6, 5, 4]
    assert asked == [1, 2, 3, 4]


def test_window_of_one_second_with_ties() -> None:
    """since == until selects every entry of that second, ties included."""
    data = [entry(9, T0), entry(8, T0 - 1), entry(7, T0 - 1), entry(6, T0 - 1), entry(5, T0 - 2), entry(4, T0 - 3)]
    out, _ = walk_static(LogWalk(since=at(T0 - 1), until=at(T0 - 1)), data, 2)
    assert ids(out) == [8, 7, 6]


# -- LogWalk: limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "pages"), [(1, [1]), (3, [1, 2]), (4, [1, 2]), (5, [1, 2, 3]), (9, [1, 2, 3, 4, 5])])
def test_limit_exact(limit: int, pages: list[int]) -> None:
    """The walk yields exactly limit entries and asks for no page past the one that reached it."""
    walk = LogWalk(limit=limit)
    out, asked = walk_static(walk, newest_first(10), 2)
    assert ids(out) == list(range(10, 10 - limit, -1))
    assert asked == pages
    assert walk.next_page is None
    assert walk.full is False


def test_limit_above_total() -> None:
    """A limit above the total yields everything; the walk is still not full."""
    walk = LogWalk(limit=100)
    out, _ = walk_static(walk, newest_first(5), 2)
    assert len(out) == 5
    assert walk.full is False


def test_limit_zero_asks_for_nothing() -> None:
    """limit=0 has no page to ask for."""
    walk = LogWalk(limit=0)
    assert walk.next_page is None
    assert walk.full is False
    assert walk_static(walk, newest_first(5), 2) == ([], [])


def test_limit_with_until() -> None:
    """Skipped entries (newer than until) do not count towards limit."""
    walk = LogWalk(until=at(T0 - 3), limit=2)
    out, _ = walk_static(walk, newest_first(10), 2)
    assert ids(out) == [7, 6]


# -- LogWalk: full, stale pages, shortfall -------------------------------------------------------


def test_full_only_when_finished() -> None:
    """full is False until the walk has run to the end."""
    walk = LogWalk()
    walk.feed(serve(newest_first(4), 1, 2), 1)
    assert walk.full is False
    walk.feed(serve(newest_first(4), 2, 2), 2)
    assert walk.full is True


@pytest.mark.parametrize(
    "kwargs",
    [{"since": at(T0 - 1000)}, {"until": at(T0 + 1000)}, {"limit": 1000}],
    ids=["since", "until", "limit"],
)
def test_full_false_for_windowed_or_limited(kwargs: dict[str, object]) -> None:
    """A windowed or limited walk is never full, even when its window holds everything."""
    walk = LogWalk(**kwargs)  # type: ignore[arg-type]
    out, _ = walk_static(walk, newest_first(5), 2)
    assert len(out) == 5
    assert walk.full is False
    assert walk.gaps() == []


def test_is_stale() -> None:
    """A page reporting fewer entries than one read before it was read too early."""
    walk = LogWalk()
    assert walk.is_stale(serve(newest_first(4), 2, 2)) is False
    walk.feed(serve(newest_first(5), 1, 2), 1)
    assert walk.is_stale(serve(newest_first(4), 2, 2)) is True
    assert walk.is_stale(serve(newest_first(5), 2, 2)) is False


def test_last_page() -> None:
    """last_page follows the largest total seen."""
    walk = LogWalk()
    assert walk.last_page is None
    walk.feed(serve(newest_first(5), 1, 2), 1)
    assert walk.last_page == 3


def settle(walk: LogWalk, current: list[AuditLog], per_page: int) -> list[Gap]:
    """What the walker does once the walk ends, on a list that no longer changes: what stays unproven."""
    for _ in range(8):
        for number in walk.ledger.audit(per_page):
            walk.recover(serve(current, number, per_page), number)
        gaps = walk.gaps()
        if not gaps:
            return gaps
        for number in walk.ledger.rereads(gaps, per_page, 100):
            walk.recover(serve(current, number, per_page), number)
    return walk.gaps()


def test_gaps_count_missed_entries() -> None:
    """A full walk that lost an entry (ties reordered across a boundary) finds the band it hides in."""
    data = [entry(6, T0), entry(5, T0 - 1), entry(4, T0 - 1), entry(3, T0 - 1), entry(2, T0 - 2), entry(1, T0 - 3)]
    walk = LogWalk()
    walk.feed(serve(data, 1, 3), 1)  # 6, 5, 4
    reordered = [data[0], data[3], data[1], data[2], data[4], data[5]]  # 6, 3, 5, 4, 2, 1: 3 slipped up
    walk.feed(serve(reordered, 2, 3), 2)  # 4 (repeat), 2, 1
    assert walk.full is True
    gaps = walk.gaps()
    assert walk.ledger.missing(gaps) == 1
    # First the page that holds more of the band; when that does not show the entry, both pages.
    assert walk.ledger.rereads(gaps, 3, 10) == [1]
    assert walk.recover(serve(data, 1, 3), 1) == []
    gaps = walk.gaps()
    assert walk.ledger.rereads(gaps, 3, 10) == [1, 2]
    recovered = walk.recover(serve(data, 1, 3), 1) + walk.recover(serve(data, 2, 3), 2)
    assert ids(recovered) == [3]
    assert walk.gaps() == []


def test_gaps_not_filled_by_arrivals() -> None:
    """An entry that was not there at the start never counts for one that was."""
    data = newest_first(4)  # ids 4..1
    walk = LogWalk()
    walk.feed(serve(data, 1, 2), 1)  # 4, 3
    # An arrival (id 50) shows up on page 2 while entry 1 is lost: as many ids as expected, one missing.
    walk.feed(AuditLogPage(items=(entry(50, T0 + 1), data[2]), current_page=2, per_page=2, total_entries=5), 2)
    walk.feed(AuditLogPage(items=(), current_page=3, per_page=2, total_entries=5), 3)
    assert walk.full is True
    assert walk.found == 3
    assert walk.ledger.missing(walk.gaps()) >= 1


def test_gaps_not_filled_by_a_late_commit() -> None:
    """A late-committed entry below the top does not stand in for an entry lost at a tied boundary."""
    data = [entry(9, T0), entry(8, T0 - 1), entry(7, T0 - 2), entry(6, T0 - 2), entry(5, T0 - 2), entry(4, T0 - 3)]
    walk = LogWalk()
    walk.feed(serve(data, 1, 3), 1)  # 9, 8, 7 (6 and 5 share 7's second)
    # Entry 2 (an older id) commits late in 8's second, and the tie at T0 - 2 reorders: 7 comes last.
    later = [data[0], data[1], entry(2, T0 - 1), data[3], data[4], data[2], data[5]]
    out = walk.feed(serve(later, 2, 3), 2)  # 6, 5, 7: 7 a repeat
    out += walk.feed(serve(later, 3, 3), 3)  # 4
    assert ids(out) == [6, 5, 4]
    assert walk.gaps() != []  # 2 was not seen yet: no band below page 1 can be shown whole
    assert settle(walk, later, 3) == []
    assert 2 in walk.ledger


def test_gaps_zero_with_arrivals_at_the_top() -> None:
    """A complete walk with arrivals at the top on the way proves it, with one read of a reference cut."""
    data = newest_first(4)
    walk = LogWalk()
    walk.feed(serve(data, 1, 2), 1)
    data = [entry(52, T0 + 3), entry(51, T0 + 2), entry(50, T0 + 1), *data]
    while (number := walk.next_page) is not None:
        walk.feed(serve(data, number, 2), number)
    assert walk.full is True
    assert settle(walk, data, 2) == []


def test_gaps_zero_for_complete_walk_with_top_ties() -> None:
    """A complete walk over 30 entries written in one second reports nothing missing."""
    data = [entry(i, T0) for i in range(1, 31)]  # no tie-breaker: the server may list them in any order
    walk = LogWalk()
    out, _ = walk_static(walk, data, 25)
    assert len(out) == 30
    assert walk.full is True
    assert walk.gaps() == []


def test_arrival_burst_keeps_newest_first() -> None:
    """A burst of arrivals bigger than the pages already read does not break newest-first order."""
    data = newest_first(6)
    walk = LogWalk()
    out = walk.feed(serve(data, 1, 2), 1)  # 6, 5
    data = [entry(10 + i, T0 + 10 - i) for i in range(3)] + data  # 3 arrivals: page 2 is now [12, 6]
    while (number := walk.next_page) is not None:
        out.extend(walk.feed(serve(data, number, 2), number))
    stamps = [log.created_at for log in out]
    assert stamps == sorted(stamps, reverse=True)


# -- plan_fetches and StartSearch ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_page", "pending", "last_page", "limit", "expected"),
    [
        (1, set(), None, 8, [1]),
        (1, {1}, None, 8, []),
        (1, set(), 10, 4, [1, 2, 3, 4]),
        (3, {4}, 10, 4, [3, 5, 6]),
        (9, set(), 10, 4, [9, 10]),
        (11, set(), 10, 4, [11]),
        (2, set(), 5, 1, [2]),
    ],
)
def test_plan_fetches(
    next_page: int, pending: set[int], last_page: int | None, limit: int, expected: list[int]
) -> None:
    """Up to limit pages from next_page, not past the last, skipping those on the way; always next_page."""
    assert plan_fetches(next_page, pending, last_page, limit) == expected


def _first_page_holding(data: list[AuditLog], per_page: int, until: datetime) -> int:
    number = 1
    while True:
        page = serve(data, number, per_page)
        if not page.items or page.items[-1].created_at <= until:
            return number
        number += 1


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3), max_size=80),
    per_page=st.integers(min_value=1, max_value=7),
    until_offset=st.integers(min_value=-5, max_value=250),
    fanout=st.integers(min_value=1, max_value=6),
)
@settings(max_examples=200, deadline=None)
def test_start_search_finds_first_page(gaps: list[int], per_page: int, until_offset: int, fanout: int) -> None:
    """The search lands on the first page holding an entry at or before until, in few requests."""
    stamps = [T0]
    for gap in gaps:
        stamps.append(stamps[-1] - gap)
    data = [entry(len(stamps) - i, ts) for i, ts in enumerate(stamps)]
    until = at(T0 - until_offset)
    search = StartSearch(until, serve(data, 1, per_page))
    rounds = 0
    while not search.done:
        probes = search.probes(fanout)
        assert probes
        assert len(probes) <= fanout
        for number in probes:
            search.feed(number, serve(data, number, per_page))
        rounds += 1
        assert rounds <= 64
    assert search.result == _first_page_holding(data, per_page, until)


# -- the walk under arrivals (state test) --------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[AuditLog], int]:
    """A newest-first list with ties (ids growing over time, any order within a second) and a page size."""
    gaps = draw(st.lists(st.integers(min_value=0, max_value=2), max_size=60))
    stamps = [T0]
    for gap in gaps:
        stamps.append(stamps[-1] - gap)
    n = len(stamps)
    data = [entry(n - i, ts) for i, ts in enumerate(stamps)]
    # No tie-breaker on the server: entries of one second come in any (but, here, stable) order.
    shuffled: list[AuditLog] = []
    i = 0
    while i < n:
        j = i
        while j < n and data[j].created_at == data[i].created_at:
            j += 1
        shuffled.extend(draw(st.permutations(data[i:j])))
        i = j
    return shuffled, draw(st.integers(min_value=1, max_value=8))


@pytest.mark.parametrize("heavy", [False, True], ids=["within-read", "heavy"])
@given(history=histories(), data=st.data())
@settings(max_examples=200, deadline=None)
def test_walk_under_arrivals_yields_each_original_once_in_order(
    heavy: bool, history: tuple[list[AuditLog], int], data: st.DataObject
) -> None:
    """With arrivals at the head between reads, every original entry is yielded exactly once, newest first.

    Arrivals within what was read stay among the entries already read (some in the newest second); heavy
    arrivals, up to three pages a read, can push the originals onto pages the walk has not read yet.
    """
    originals, per_page = history
    current = list(originals)
    walk = LogWalk()
    out: list[AuditLog] = []
    next_id = 10_000
    budget = data.draw(st.integers(min_value=0, max_value=(6 if heavy else 4) * per_page), label="budget")
    reads = 0
    while (number := walk.next_page) is not None:
        out.extend(walk.feed(serve(current, number, per_page), number))
        reads += 1
        assert reads < 500
        # A finite budget of arrivals: a walk chasing a list that grows a page per read would never end.
        used = next_id - 10_000
        room = min(budget - used, 3 * per_page) if heavy else max(0, min(number * per_page, budget) - used)
        arrivals = data.draw(st.integers(min_value=0, max_value=room), label="arrivals")
        head = current[0].timestamp if current else T0
        for _ in range(arrivals):
            head += 1 if heavy else data.draw(st.integers(min_value=0, max_value=1), label="gap")
            next_id += 1
            current.insert(0, entry(next_id, head))
    yielded = ids(out)
    assert len(yielded) == len(set(yielded))
    assert yielded == ids(originals)
    stamps = [log.created_at for log in out]
    assert stamps == sorted(stamps, reverse=True)
    assert walk.expected == len(originals)
    assert walk.full is True
    assert settle(walk, current, per_page) == []
    original_ids = set(ids(originals))
    assert [i for i in yielded if i in original_ids] == ids(originals)
    assert all(i in original_ids or i > 10_000 for i in yielded)


@given(
    history=histories(),
    data=st.data(),
    lo=st.integers(min_value=-2, max_value=130),
    width=st.integers(min_value=0, max_value=130),
)
@settings(max_examples=200, deadline=None)
def test_windowed_walk_under_arrivals(
    history: tuple[list[AuditLog], int], data: st.DataObject, lo: int, width: int
) -> None:
    """A since/until walk under arrivals yields exactly the originals inside the window, in order."""
    originals, per_page = history
    since, until = at(T0 - lo - width), at(T0 - lo)
    current = list(originals)
    walk = LogWalk(since=since, until=until)
    out: list[AuditLog] = []
    next_id = 10_000
    budget = data.draw(st.integers(min_value=0, max_value=4 * per_page), label="budget")
    reads = 0
    while (number := walk.next_page) is not None:
        out.extend(walk.feed(serve(current, number, per_page), number))
        reads += 1
        assert reads < 500
        room = min(number * per_page, budget) - (next_id - 10_000)
        for _ in range(data.draw(st.integers(min_value=0, max_value=max(0, room)), label="arrivals")):
            next_id += 1
            current.insert(0, entry(next_id, (current[0].timestamp if current else T0) + 1))
    inside = [log.id for log in originals if since <= log.created_at <= until]
    assert [log.id for log in out if log.id < 10_000] == inside
    assert all(since <= log.created_at <= until for log in out)
    assert walk.full is False


def test_an_empty_window_says_where_the_history_lies(caplog: pytest.LogCaptureFixture) -> None:
    """A since/until walk that finds nothing logs, at INFO, the newest and oldest entries it read."""
    data = newest_first(10)
    walk = LogWalk(since=at(T0 + 100), until=at(T0 + 200))
    with caplog.at_level("INFO", logger="chatwoot_audit"):
        out, _ = walk_static(walk, data, 5)
    assert out == []
    messages = [record.getMessage() for record in caplog.records]
    assert any(at(T0).strftime("%Y-%m-%dT%H:%M:%SZ") in m and "no entries" in m for m in messages), messages


def test_a_window_with_entries_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A walk that yields something has nothing to explain."""
    walk = LogWalk(since=at(T0 - 3))
    with caplog.at_level("INFO", logger="chatwoot_audit"):
        out, _ = walk_static(walk, newest_first(10), 5)
    assert out
    assert not [record for record in caplog.records if "no entries" in record.getMessage()]
