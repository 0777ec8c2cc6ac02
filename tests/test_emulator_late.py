"""Late commits, clocks that run fast, and the Date header: the consistency hazards of a real server.

A slow transaction makes an entry visible seconds below the top, with an id that can be lower than ids
already seen; a host whose clock runs fast stamps entries in the future. The emulator reproduces both, and
dates every answer from its clock so that a client has the server's "now" to compare with.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_audit.cli import main as cli_main
from chatwoot_audit.testing import ConnectionDropped, Emulator, ManualClock, RandomFaults
from chatwoot_audit.testing._cli import build_parser, main

PATH = "/api/v1/accounts/{}/audit_logs"


def get(emu: Emulator, page: int = 1) -> tuple[int, dict[str, str], Any]:
    """GET a page from the core: status, headers and the decoded JSON body (or the raw one)."""
    status, headers, body = emu.handle("GET", PATH.format(emu.account_id), f"page={page}", admin(emu))
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body


def admin(emu: Emulator) -> dict[str, str]:
    """The administrator's token header."""
    return {"api_access_token": emu.admin_token}


def ids(entries: list[dict[str, Any]]) -> list[int]:
    """The ids of ``entries``, in order."""
    return [entry["id"] for entry in entries]


def assert_consistent(entries: list[dict[str, Any]]) -> None:
    """Newest first by created_at, and no id twice."""
    times = [entry["created_at"] for entry in entries]
    assert times == sorted(times, reverse=True)
    assert len(set(ids(entries))) == len(entries)


def http_date(seconds: float) -> str:
    """The Date header a server whose clock reads ``seconds`` sends."""
    return email.utils.formatdate(seconds, usegmt=True)


# ---- late commits --------------------------------------------------------------------------------


def test_late_commits_land_in_the_window_below_the_top() -> None:
    """Each request makes entries visible stamped lo..hi seconds behind the newest, in their place."""
    emu = Emulator(seed=3, entries=300, late_commits_per_request=2, late_window=(5, 90))
    for _ in range(20):
        before = emu.entries
        newest = before[0]["created_at"]
        assert get(emu)[0] == 200
        after = emu.entries
        late = [entry for entry in after if entry["id"] not in set(ids(before))]
        assert len(late) == 2
        for entry in late:
            assert newest - 90 <= entry["created_at"] <= newest - 5
            assert ids(after).index(entry["id"]) > 0
        assert after[0]["id"] == before[0]["id"]
        assert_consistent(after)


def test_a_late_commit_pushes_older_entries_down() -> None:
    """Every entry older than a late one moves one place down: the last of page 1 opens page 2."""
    emu = Emulator(seed=8, entries=120, late_window=(1, 30))
    before = emu.entries
    page1 = get(emu, 1)[2]["audit_logs"]
    (late,) = emu.add_late_entries(1)
    after = ids(emu.entries)
    place = after.index(late["id"])
    assert 0 < place < 25, "a late entry of at most 30 s lands on page 1 here"
    assert after[:place] == ids(before[:place])
    assert after[place + 1 :] == ids(before[place:])
    again = get(emu, 1)[2]
    assert again["total_entries"] == 121
    assert ids(again["audit_logs"]) == [*ids(page1[:place]), late["id"], *ids(page1[place:-1])]
    assert get(emu, 2)[2]["audit_logs"][0]["id"] == page1[-1]["id"]


def test_late_ids_are_unique_and_often_lower_than_ids_seen() -> None:
    """A late entry's id comes from the sequence when it was inserted: usually below ids already visible."""
    lower = higher = 0
    for seed in range(6):
        emu = Emulator(seed=seed, entries=150)
        for _ in range(15):
            visible = max(ids(emu.entries))
            for entry in emu.add_late_entries(3):
                if entry["id"] < visible:
                    lower += 1
                else:
                    higher += 1
        assert_consistent(emu.entries)
    # A new largest id only when no free one is near: rare, since about two ids in five leave a gap.
    assert lower > 9 * higher


def test_late_ids_stay_unique_when_the_window_is_crowded() -> None:
    """With many late entries packed into a few seconds, ids still never repeat."""
    emu = Emulator(seed=2, entries=40, late_window=(0, 2), late_commits_per_request=25, arrivals_per_request=1)
    for _ in range(40):
        get(emu)
    entries = emu.entries
    assert len(entries) == 40 + 40 * 26
    assert_consistent(entries)


def test_late_commits_are_reproducible_with_a_seed() -> None:
    """Same seed, knobs and requests: the same late entries, in the same places, with the same ids."""

    def run(seed: int) -> tuple[list[Any], list[Any]]:
        emu = Emulator(seed=seed, entries=80, late_commits_per_request=2, arrivals_per_request=1, unstable_ties=True)
        pages = [get(emu, page)[2] for page in (1, 2, 1, 3)]
        emu.add_late_entries(4)
        return emu.entries, pages

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_late_commits_per_second_follow_the_clock() -> None:
    """Timed late commits arrive as the injected clock advances, below the top; setting 0 stops them."""
    clock = ManualClock()
    emu = Emulator(seed=1, entries=50, late_commits_per_second=2.0, clock=clock)
    top = emu.entries[0]["id"]
    clock.advance(2.5)
    assert emu.total_entries == 55
    assert emu.entries[0]["id"] == top
    assert get(emu)[2]["total_entries"] == 55
    emu.late_commits_per_second = 0
    clock.advance(10)
    assert emu.total_entries == 55
    emu.late_commits_per_second = 1.0
    clock.advance(3)
    assert emu.total_entries == 58


def test_late_knobs_validate_and_change_while_serving() -> None:
    """Bad values are refused with the knob's name; good ones take effect at the next request."""
    emu = Emulator(seed=1, entries=30)
    for bad in [(5, 1), (-1, 3), (1.5, 3), (True, 3), "1:120", (1, 2, 3), 7]:
        with pytest.raises(ValueError, match="late_window"):
            emu.late_window = bad  # type: ignore[assignment]
    for name, value in [
        ("late_commits_per_request", -1),
        ("late_commits_per_request", 1.0),
        ("late_commits_per_second", -1),
        ("late_commits_per_second", float("nan")),
        ("late_commits_per_second", float("inf")),
        ("arrivals_per_second", float("inf")),
    ]:
        with pytest.raises(ValueError, match=name):
            emu.configure(**{name: value})
    with pytest.raises(ValueError, match="late_window"):
        Emulator(late_window=(3, 2))
    assert emu.late_window == (1, 120)
    emu.configure(late_window=[0, 0], late_commits_per_request=3)
    assert emu.late_window == (0, 0)
    newest = emu.entries[0]["created_at"]
    get(emu)
    assert emu.total_entries == 33
    assert sum(entry["created_at"] == newest for entry in emu.entries) >= 4
    emu.late_commits_per_request = 0
    get(emu)
    assert emu.total_entries == 33


def test_every_hazard_in_one_request() -> None:
    """Unstable ties, arrivals, late commits and faults together: pages stay ordered, totals exact."""
    emu = Emulator(
        seed=4,
        entries=200,
        unstable_ties=True,
        arrivals_per_request=2,
        late_commits_per_request=2,
        faults=RandomFaults(0.3),
    )
    faults = 0
    for number in range(1, 41):
        try:
            status, _, data = get(emu, number % 9 + 1)
        except ConnectionDropped:
            status, data = 0, None
        if status == 200 and isinstance(data, dict) and "audit_logs" in data:
            times = [entry["created_at"] for entry in data["audit_logs"]]
            assert times == sorted(times, reverse=True)
        faults += emu.requests[-1].fault is not None
        assert emu.total_entries == 200 + 4 * number
    assert faults > 0
    assert_consistent(emu.entries)


def test_late_commits_through_either_face(face: str) -> None:
    """In process and over loopback the same requests see the same late entries and the same Date.

    The knobs turn while the server runs: the next request follows them.
    """
    clock = ManualClock(start=1_790_000_000.25)
    emu = Emulator(seed=9, entries=100, late_commits_per_request=1, late_window=(1, 60), clock=clock)
    twin = Emulator(seed=9, entries=100, late_commits_per_request=1, late_window=(1, 60), clock=ManualClock(0))
    totals = []
    with connected(emu, face) as client:
        for number in range(6):
            if number == 4:
                emu.late_commits_per_request = twin.late_commits_per_request = 0
            response = client.get(PATH.format(emu.account_id), params={"page": 1}, headers=admin(emu))
            assert response.headers["date"] == http_date(clock())
            assert response.json() == get(twin)[2]
            totals.append(response.json()["total_entries"])
            clock.advance(61)
    assert totals == [100, 101, 102, 103, 104, 104]
    assert emu.entries == twin.entries


@contextmanager
def connected(emu: Emulator, face: str) -> Iterator[httpx.Client]:
    """An httpx client talking to ``emu`` through ``face``."""
    if face == "memory":
        with httpx.Client(transport=emu.transport(), base_url="http://chatwoot.test", timeout=10) as client:
            yield client
        return
    with emu.serve() as server, httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


# ---- clocks --------------------------------------------------------------------------------------


def test_every_answer_is_dated_by_the_emulator_clock() -> None:
    """200s, refusals, 404s, 429s and error pages all carry Date from the clock; a drop has no answer."""
    clock = ManualClock(start=1_790_000_000.9)
    faults = {3: "502", 4: "html200", 5: "drop", 6: "truncate"}
    emu = Emulator(seed=1, entries=10, rate_limit=5, clock=clock, faults=faults)
    path = PATH.format(emu.account_id)
    requests = [
        (path, admin(emu)),
        (path, {}),
        (path, admin(emu)),
        (path, admin(emu)),
        (path, admin(emu)),
        (path, admin(emu)),
        ("/nowhere", admin(emu)),
        (path, admin(emu)),
        (path, admin(emu)),
    ]
    statuses = []
    for number, (where, headers) in enumerate(requests, start=1):
        reply = emu.respond("GET", where, "", headers)
        statuses.append(reply.status)
        if reply.dropped:
            assert "date" not in reply.headers
            continue
        assert reply.headers["date"] == http_date(clock())
        if number == 1:
            assert reply.headers["date"] == "Mon, 21 Sep 2026 14:13:20 GMT"
        stamped = email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()
        assert stamped == int(clock())
        assert emu.requests[-1].at == clock()
        clock.advance(1)
    assert statuses == [200, 401, 502, 200, 0, 200, 404, 200, 429]


def test_an_entry_from_a_fast_clock_stays_on_top_until_time_passes_it() -> None:
    """A future stamp sorts first, lies beyond Date, and does not drag honest stamps along with it."""
    newest = Emulator(seed=2, entries=60).entries[0]["created_at"]
    clock = ManualClock(start=newest + 30)
    emu = Emulator(seed=2, entries=60, clock=clock)
    date = email.utils.parsedate_to_datetime(get(emu)[1]["date"]).timestamp()
    ahead = emu.add_entry(created_at=int(date) + 3600)
    assert ahead["created_at"] > date >= newest
    honest = emu.add_entries(5)
    entries = emu.entries
    assert entries[0] == ahead
    assert set(ids(entries[1:6])) == set(ids(honest))
    assert all(newest <= entry["created_at"] < date for entry in honest)
    present = emu.add_entry()["created_at"]
    assert present == honest[-1]["created_at"]
    for entry in emu.add_late_entries(3):
        assert present - 120 <= entry["created_at"] <= present - 1
    assert emu.entries[0] == ahead
    assert_consistent(emu.entries)


def test_honest_entries_overtake_a_slightly_fast_clock() -> None:
    """Once the emulator's time passes a fast stamp, new entries sort above it again."""
    emu = Emulator(seed=3, entries=40)
    ahead = emu.add_entry(created_at=emu.entries[0]["created_at"] + 20)
    for _ in range(500):
        (entry,) = emu.add_entries(1)
        if entry["created_at"] > ahead["created_at"]:
            break
        assert emu.entries[0]["created_at"] == ahead["created_at"]
    else:
        raise AssertionError("time never passed the fast stamp")
    assert emu.entries[0] == entry
    assert_consistent(emu.entries)


# ---- command line --------------------------------------------------------------------------------


def test_late_flags_parse() -> None:
    """--late-commits (or --late-commits-per-request), --late-commits-per-second and --late-window LO:HI."""
    args = build_parser().parse_args(
        ["--late-commits", "2", "--late-window", "5:30", "--late-commits-per-second", "1.5"]
    )
    assert (args.late_commits_per_request, args.late_window, args.late_commits_per_second) == (2, (5, 30), 1.5)
    args = build_parser().parse_args(["--late-commits-per-request", "3"])
    assert (args.late_commits_per_request, args.late_window, args.late_commits_per_second) == (3, (1, 120), 0.0)
    assert build_parser().parse_args(["--late-window", "0:0"]).late_window == (0, 0)
    text = build_parser().format_help()
    for flag in ("--late-commits-per-request", "--late-commits", "--late-commits-per-second", "--late-window LO:HI"):
        assert flag in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--late-window", "30:5"], "argument --late-window: must have 0 <= LO <= HI"),
        (["--late-window=-1:5"], "argument --late-window: must have 0 <= LO <= HI"),
        (["--late-window", "5"], "argument --late-window: must be LO:HI in whole seconds, e.g. 1:120"),
        (["--late-window", "1.5:3"], "argument --late-window: must be LO:HI in whole seconds, e.g. 1:120"),
        (["--late-window", "a:b"], "argument --late-window: must be LO:HI in whole seconds, e.g. 1:120"),
        (["--late-commits", "-1"], "argument --late-commits-per-request/--late-commits: must be at least 0"),
        (["--late-commits-per-second", "inf"], "must be a finite number of at least 0"),
        (["--late-commits-per-second", "nan"], "must be a finite number of at least 0"),
        (["--arrivals-per-second", "-2"], "must be a finite number of at least 0"),
    ],
)
def test_late_flags_reject_bad_values(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad value is a usage error naming the flag, from both commands that start an emulator."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m chatwoot_audit.testing")
    assert message in err
    assert cli_main(["emulator", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: chatwoot-audit emulator")
    assert message in err


# ---- properties ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    entries=st.integers(min_value=0, max_value=80),
    arrivals=st.integers(min_value=0, max_value=3),
    late=st.integers(min_value=0, max_value=4),
    window=st.tuples(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200)).map(
        lambda pair: (min(pair), max(pair))
    ),
    unstable_ties=st.booleans(),
    fault_probability=st.sampled_from([0.0, 0.3]),
    requests=st.integers(min_value=1, max_value=6),
    ahead=st.one_of(st.none(), st.integers(min_value=1, max_value=300)),
)
def test_store_stays_ordered_unique_and_counted(
    seed: int,
    entries: int,
    arrivals: int,
    late: int,
    window: tuple[int, int],
    unstable_ties: bool,
    fault_probability: float,
    requests: int,
    ahead: int | None,
) -> None:
    """Whatever the knobs: newest first by created_at, ids unique, totals up by arrivals + late commits."""
    emu = Emulator(
        seed=seed,
        entries=entries,
        arrivals_per_request=arrivals,
        late_commits_per_request=late,
        late_window=window,
        unstable_ties=unstable_ties,
        faults=RandomFaults(fault_probability),
    )
    total = entries
    if ahead is not None and entries:
        emu.add_entry(created_at=(emu.entries[0]["created_at"] if entries else 0) + ahead)
        total += 1
    for number in range(1, requests + 1):
        try:
            status, _, data = get(emu, number)
        except ConnectionDropped:
            status, data = 0, None
        if status == 200 and isinstance(data, dict) and "audit_logs" in data:
            times = [entry["created_at"] for entry in data["audit_logs"]]
            assert times == sorted(times, reverse=True)
        total += arrivals + late
        stored = emu.entries
        assert len(stored) == total == emu.total_entries
        assert_consistent(stored)
