"""Long histories: the old part is archived (kept compact, rendered when read) and still behaves like the rest.

Above ten thousand entries the emulator simulates only the newest ones entry by entry; the older ones are
generated from the seed. These tests hold the archive to what the simulated history promises: newest first,
unique ids, ties, realistic rows, determinism, and every hazard (late commits, entries from the past,
arrivals, unstable ties) landing in it as it would anywhere else.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from typing import Any

from chatwoot_audit.testing import Emulator
from chatwoot_audit.testing._catalog import ALWAYS_NULL
from chatwoot_audit.testing._core import DEFAULT_START_TIME
from chatwoot_audit.testing._store import KEYS

PATH = "/api/v1/accounts/{}/audit_logs"
PINNED = 1_781_000_000
# Past the archive's threshold, and large enough that most entries are archived.
LONG = 60_000


def body(emu: Emulator, page: int) -> bytes:
    """The raw body of a page as the administrator gets it."""
    status, _, raw = emu.handle(
        "GET", PATH.format(emu.account_id), f"page={page}", {"api_access_token": emu.admin_token}
    )
    assert status == 200
    return raw


def page(emu: Emulator, number: int) -> dict[str, Any]:
    """A page, decoded."""
    data: dict[str, Any] = json.loads(body(emu, number))
    return data


def logs(emu: Emulator, number: int) -> list[dict[str, Any]]:
    """The entries of a page."""
    items: list[dict[str, Any]] = page(emu, number)["audit_logs"]
    return items


def walk(emu: Emulator) -> list[dict[str, Any]]:
    """Every page from the first to the last, concatenated."""
    pages = -(-emu.total_entries // emu.per_page)
    return [entry for number in range(1, pages + 1) for entry in logs(emu, number)]


def assert_consistent(entries: list[dict[str, Any]]) -> None:
    """Newest first by created_at, and no id twice."""
    times = [entry["created_at"] for entry in entries]
    assert times == sorted(times, reverse=True)
    assert len({entry["id"] for entry in entries}) == len(entries)


def test_a_long_history_reads_like_a_simulated_one() -> None:
    """Sorted newest first, unique ids, ties, gaps in ids, and rows shaped as the server writes them."""
    emu = Emulator(seed=1, entries=LONG, now=PINNED)
    entries = emu.entries
    assert len(entries) == LONG == emu.total_entries
    assert entries[0]["created_at"] == PINNED
    assert_consistent(entries)
    assert walk(emu) == entries
    archived = entries[5_000:]
    stamps = Counter(entry["created_at"] for entry in archived)
    assert max(stamps.values()) >= 4
    assert 0.3 < sum(n for n in stamps.values() if n > 1) / len(archived) < 0.9
    ids = [entry["id"] for entry in archived]
    assert any(a - b > 1 for a, b in itertools.pairwise(ids))
    # Within a second the stored order is not the id order.
    tied = [(a, b) for a, b in itertools.pairwise(archived) if a["created_at"] == b["created_at"]]
    assert any(a["id"] < b["id"] for a, b in tied)
    assert any(a["id"] > b["id"] for a, b in tied)
    for entry in archived:
        assert tuple(entry) == KEYS
        if entry["action"] in ("sign_in", "sign_out"):
            assert entry["auditable_type"] == "User"
            assert entry["audited_changes"] is None
            assert entry["auditable"] is None
        if entry["action"] == "update":
            assert all(len(pair) == 2 and pair[0] != pair[1] for pair in entry["audited_changes"].values())
        if entry["auditable_type"] in ALWAYS_NULL:
            assert entry["auditable"] is None
        if entry["user_id"] is None:
            assert entry["username"] is None
            assert entry["remote_address"] is None
        assert entry["associated_id"] == emu.account_id
        assert isinstance(entry["request_uuid"], str)
        assert entry["request_uuid"]
    assert {"create", "update", "destroy", "sign_in", "sign_out"} <= {entry["action"] for entry in archived}
    assert any(entry["auditable"] is not None for entry in archived)
    assert len({entry["request_uuid"] for entry in archived}) > 0.99 * len(archived)


def test_the_same_seed_gives_the_same_long_history() -> None:
    """Pages are byte for byte the same on two emulators with one seed, and differ with another seed."""
    here = Emulator(seed=4, entries=200_000, now=PINNED)
    there = Emulator(seed=4, entries=200_000, now=PINNED)
    last = -(-200_000 // 25)
    for number in (1, 80, 81, 4_000, last - 1, last, last + 1):
        assert body(here, number) == body(there, number)
    assert body(here, 4_000) != body(Emulator(seed=5, entries=200_000, now=PINNED), 4_000)


def test_pages_agree_with_the_list_of_entries() -> None:
    """Random access by page returns the same entries, in the same order, as the whole list."""
    emu = Emulator(seed=2, entries=30_000, per_page=15)
    entries = emu.entries
    for number in (1, 133, 134, 135, 1_000, 1_999, 2_000):
        assert logs(emu, number) == entries[15 * (number - 1) : 15 * number]
    assert page(emu, 2_000)["total_entries"] == 30_000
    assert logs(emu, 2_001) == []


def test_start_time_and_now_pin_a_long_history() -> None:
    """now= is the newest entry and start_time= the oldest, archive or not; a moved now shifts every stamp."""
    last = -(-50_000 // 25)
    first = Emulator(seed=3, entries=50_000, start_time=DEFAULT_START_TIME)
    assert logs(first, last)[-1]["created_at"] == DEFAULT_START_TIME
    here = Emulator(seed=3, entries=50_000, now=PINNED)
    there = Emulator(seed=3, entries=50_000, now=PINNED + 1_000)
    assert logs(here, 1)[0]["created_at"] == PINNED
    for number in (1, 1_000, last):
        a, b = logs(here, number), logs(there, number)
        assert [entry["id"] for entry in a] == [entry["id"] for entry in b]
        assert [entry["created_at"] + 1_000 for entry in a] == [entry["created_at"] for entry in b]


def test_a_million_entries() -> None:
    """A million-entry emulator serves its first, a middle and its last page."""
    emu = Emulator(seed=0, entries=1_000_000, now=PINNED)
    assert page(emu, 1)["total_entries"] == 1_000_000
    assert logs(emu, 1)[0]["created_at"] == PINNED
    middle = logs(emu, 20_000)
    assert len(middle) == 25
    assert_consistent(middle)
    assert len(logs(emu, 40_000)) == 25
    assert logs(emu, 40_001) == []


def test_entries_from_the_past_land_inside_the_archive() -> None:
    """An old created_at and late commits deep in the past take their places in the archived part."""
    emu = Emulator(seed=5, entries=LONG, now=PINNED)
    deep = logs(emu, 1_500)
    stamp = deep[10]["created_at"]
    behind = PINNED - stamp
    emu.late_window = (behind - 50_000, behind + 50_000)
    old = emu.add_entry(created_at=stamp)
    late = emu.add_late_entries(40)
    entries = emu.entries
    assert len(entries) == LONG + 41
    assert_consistent(entries)
    assert walk(emu) == entries
    where = [entry["id"] for entry in entries].index(old["id"])
    assert entries[where]["created_at"] == stamp
    assert 1_400 * 25 < where < 1_600 * 25
    ids = {entry["id"] for entry in entries}
    for entry in late:
        assert stamp - 50_000 <= entry["created_at"] <= stamp + 50_000
        assert entry["id"] in ids
    # Their ids are free ones near their neighbours', below the ids already seen.
    assert all(min(deep, key=lambda e: e["id"])["id"] - 5_000 < entry["id"] < max(ids) - 10_000 for entry in late)


def test_arrivals_and_late_commits_while_paging_a_long_history() -> None:
    """Arrivals land on top and late commits below it; the archive below is pushed down, never changed."""
    emu = Emulator(seed=6, entries=LONG, arrivals_per_request=2, late_commits_per_request=1, late_window=(1, 60))
    before = logs(emu, 2_000)
    for number in range(1, 11):
        assert len(logs(emu, number)) == 25
    assert emu.total_entries == LONG + 11 * 3
    emu.configure(arrivals_per_request=0, late_commits_per_request=0)
    shifted = [entry for number in (2_001, 2_002) for entry in logs(emu, number)]
    start = [entry["id"] for entry in shifted].index(before[0]["id"])
    assert [entry["id"] for entry in shifted[start : start + 25]] == [entry["id"] for entry in before]
    top = emu.entries[:40]
    assert_consistent(top)


def test_unstable_ties_reshuffle_archived_seconds() -> None:
    """Deep in the archive, ties reorder from one request to the next but never leave their second."""
    emu = Emulator(seed=7, entries=LONG, unstable_ties=True, now=PINNED)
    stable = Emulator(seed=7, entries=LONG, now=PINNED)
    expected = logs(stable, 1_700)
    orders = set()
    for _ in range(12):
        got = logs(emu, 1_700)
        assert [entry["created_at"] for entry in got] == [entry["created_at"] for entry in expected]
        orders.add(tuple(entry["id"] for entry in got))
    assert len(orders) > 1
    # Over a few pages the set of entries is the same as the stable walk's, but for the page boundaries.
    window = [entry["id"] for number in range(1_700, 1_710) for entry in logs(emu, number)]
    reference = [entry["id"] for number in range(1_700, 1_710) for entry in logs(stable, number)]
    assert len(set(window) ^ set(reference)) < 20
    assert set(window[25:-25]) <= set(reference)


def test_short_histories_are_simulated_whole() -> None:
    """Up to ten thousand entries nothing is archived: a history is the world's, entry by entry."""
    emu = Emulator(seed=8, entries=10_000, now=PINNED)
    assert emu._store._archive is None
    longer = Emulator(seed=8, entries=10_001, now=PINNED)
    assert longer._store._archive is not None
    assert len(longer._store._archive) == 10_001 - 2_000
