"""The proof of completeness, attacked: late commits, fast clocks, reordered ties and arrivals together.

A small server of its own (not the emulator) keeps entries newest first with no tie-breaker and, between
requests, reorders every run of equal timestamps, writes entries at the top, in the newest second,
late (seconds below the top, with old ids) and from a fast clock. Whatever it does, a walk either yields
every entry that existed when it began, or raises IncompleteWalkError: never a silent loss.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from _hostile import T0, Hostile, drive, entry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_audit import AuditLogPage, IncompleteWalkError
from chatwoot_audit._completeness import Ledger
from chatwoot_audit._errors import ChatwootError
from chatwoot_audit._pagination import LogWalk
from chatwoot_audit._planner import Planner


def run(planner: Planner, serve: Callable[[int], AuditLogPage | ChatwootError], *, window: int) -> list[int]:
    """The ids a planner hands out, driven like the clients drive it."""
    return [log.id for log in drive(planner, serve, window=window)]


hazards = st.fixed_dictionaries(
    {
        "entries": st.integers(min_value=0, max_value=120),
        # Pages of at least 3: a list that grows by an entry a request outruns a concurrent walk of 2-entry
        # pages that re-reads every page served out of order, and such a walk never ends (nor would any).
        "per_page": st.sampled_from([3, 5, 15, 25]),
        "tie_density": st.floats(min_value=0.0, max_value=0.9),
        "arrivals": st.floats(min_value=0.0, max_value=1.0),
        "late": st.floats(min_value=0.0, max_value=1.0),
        "late_window": st.integers(min_value=1, max_value=120),
        "same_second": st.floats(min_value=0.0, max_value=0.5),
        "skew": st.floats(min_value=0.0, max_value=0.2),
    }
)


@given(hazards=hazards, seed=st.integers(min_value=0, max_value=2**32), concurrency=st.sampled_from([1, 3, 8]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_full_walk_never_loses_an_entry_silently(
    hazards: dict[str, int | float], seed: int, concurrency: int
) -> None:
    """Every entry that existed at the start is yielded, once, or the walk says how many it could not find."""
    server = Hostile(random.Random(seed), **hazards)  # type: ignore[arg-type]
    owed = server.snapshot()
    planner = Planner(LogWalk(), concurrency=concurrency, check_completeness=True)
    try:
        out = run(planner, server.page, window=concurrency)
    except IncompleteWalkError:
        return
    assert len(out) == len(set(out))
    assert owed <= set(out), f"lost {sorted(owed - set(out))} silently"


@given(hazards=hazards, seed=st.integers(min_value=0, max_value=2**32), data=st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_windowed_walk_never_loses_an_entry_silently(
    hazards: dict[str, int | float], seed: int, data: st.DataObject
) -> None:
    """The same for since/until windows: every entry of the window that existed at the start."""
    server = Hostile(random.Random(seed), **hazards)  # type: ignore[arg-type]
    stamps = [stamp for stamp, _ in server.rows] or [T0]
    low = data.draw(st.integers(min_value=min(stamps) - 2, max_value=max(stamps) + 2), label="since")
    high = data.draw(st.integers(min_value=low, max_value=max(stamps) + 3), label="until")
    since, until = datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC)
    owed = {entry_id for stamp, entry_id in server.rows if low <= stamp <= high}
    planner = Planner(
        LogWalk(since=since, until=until), concurrency=data.draw(st.sampled_from([1, 4])), check_completeness=True
    )
    try:
        out = run(planner, server.page, window=planner.concurrency)
    except IncompleteWalkError:
        return
    assert len(out) == len(set(out))
    assert owed <= set(out), f"lost {sorted(owed - set(out))} silently"


def walk_cost(seed: int, **hazards: int | float) -> tuple[bool, int, int]:
    """Whether a sequential walk completed, the requests it made, and the pages a plain walk reads."""
    server = Hostile(random.Random(seed), **hazards)  # type: ignore[arg-type]
    pages = -(-len(server.rows) // server.per_page)
    planner = Planner(LogWalk(), check_completeness=True)
    try:
        run(planner, server.page, window=1)
    except IncompleteWalkError:
        return False, server.requests, pages
    return True, server.requests, pages


def test_reordered_ties_without_arrivals_always_complete() -> None:
    """With nothing arriving, reordered ties are always repaired: no walk gives up."""
    for seed in range(40):
        done, _, _ = walk_cost(
            seed, entries=600, per_page=25, tie_density=0.6, arrivals=0, late=0, late_window=1, same_second=0, skew=0
        )
        assert done, seed


def test_arrivals_at_the_top_always_complete() -> None:
    """Arrivals at the top and in the newest second, with reordered ties, never make a walk give up."""
    for seed in range(40):
        done, _, _ = walk_cost(
            seed,
            entries=300,
            per_page=25,
            tie_density=0.5,
            arrivals=0.8,
            late=0,
            late_window=1,
            same_second=0.3,
            skew=0.05,
        )
        assert done, seed


def test_late_commits_now_and_then_complete() -> None:
    """Slow transactions every few requests are found: most walks complete, none loses an entry silently."""
    completed = 0
    for seed in range(30):
        server = Hostile(
            random.Random(seed),
            entries=600,
            per_page=25,
            tie_density=0.5,
            arrivals=0.5,
            late=0.2,
            late_window=120,
            same_second=0.1,
            skew=0.0,
        )
        owed = server.snapshot()
        planner = Planner(LogWalk(), check_completeness=True)
        try:
            out = run(planner, server.page, window=1)
        except IncompleteWalkError:
            continue
        assert owed <= set(out)
        completed += 1
    assert completed >= 25


def test_faults_during_recovery_are_raised_not_swallowed() -> None:
    """A page that fails while the walk re-reads ends the walk with that error."""
    server = Hostile(
        random.Random(3),
        entries=200,
        per_page=5,
        tie_density=0.8,
        arrivals=0,
        late=0,
        late_window=1,
        same_second=0,
        skew=0,
        faults=0.05,
    )
    planner = Planner(LogWalk(), check_completeness=True)
    with pytest.raises(ChatwootError):
        run(planner, server.page, window=1)


def test_an_answer_out_of_order_proves_nothing() -> None:
    """A page that is not newest first gives no cuts: its bands cannot certify."""
    ledger = Ledger()
    items = [entry(1, T0), entry(2, T0 + 5)]
    ledger.start(items, 2)
    ledger.record(items, 1, 2, 2)
    assert ledger.gaps() != []


@pytest.mark.parametrize(
    "hazards",
    [
        {"arrivals": 0.0, "late": 0.0, "same_second": 0.0},
        {"arrivals": 0.3, "late": 0.05, "same_second": 0.1},
        {"arrivals": 0.0, "late": 0.3, "same_second": 0.0},
    ],
    ids=["quiet", "busy", "late"],
)
def test_a_long_walk_forgets_what_it_proved_and_still_loses_nothing(hazards: dict[str, float]) -> None:
    """Past a few hundred pages a walk forgets the entries it has proven; repeats of them stay unyielded."""
    for seed in range(2):
        server = Hostile(
            random.Random(seed),
            entries=1500,
            per_page=5,
            tie_density=0.5,
            late_window=60,
            skew=0.0,
            arrivals=hazards["arrivals"],
            late=hazards["late"],
            same_second=hazards["same_second"],
        )
        owed = server.snapshot()
        walk = LogWalk()
        planner = Planner(walk, concurrency=1 + seed, check_completeness=True)
        try:
            out = run(planner, server.page, window=planner.concurrency)
        except IncompleteWalkError:
            assert hazards["late"] > 0
            continue
        assert len(out) == len(set(out))
        assert owed <= set(out)


@pytest.mark.parametrize("burst", [None, (300, 7), (300, 60)], ids=["quiet", "a-few", "a-bulk-change"])
def test_what_a_walk_forgets_stays_delivered_once(burst: tuple[int, int] | None) -> None:
    """A quiet walk holds only its unproven tail; a burst of arrivals after it has forgotten the entries above
    pushes some of them onto the pages it reads next: they are not yielded twice, and nothing is lost."""
    server = Hostile(
        random.Random(7),
        entries=4000,
        per_page=5,
        tie_density=0.5,
        arrivals=0,
        late=0,
        late_window=1,
        same_second=0,
        skew=0,
        reorder=False,
        burst=burst,
    )
    owed = server.snapshot()
    walk = LogWalk()
    held = 0

    def page(number: int) -> AuditLogPage | ChatwootError:
        nonlocal held
        held = max(held, len(walk.ledger))
        return server.page(number)

    out = run(Planner(walk, check_completeness=True), page, window=1)
    assert len(out) == len(set(out))
    assert owed <= set(out)
    assert held < 2000  # the unproven tail, not the history
