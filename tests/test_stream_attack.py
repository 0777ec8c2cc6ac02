"""Attacks on the windowed incremental sync (``logs_after``) from a server written apart from the SDK's own.

The server below is built from the API description alone: newest first by ``created_at`` in whole
seconds, ties in a fresh random order on every request, pages of ``per_page``, ``total_entries`` counted
in its own statement. Every answer it gives is an honest snapshot of one moment (unless a test says
otherwise): the hazards are when entries become visible and what they are stamped with.

Each run checks, for every sync: what existed at its start at or above its floor and not yet delivered
was handed out (or :class:`IncompleteWalkError` was raised); no id twice; handed out oldest first by
``(created_at, id)``. Across restarts from a saved checkpoint: no acknowledged id again, and once the
hazards stop, the union of all syncs holds every entry at or above the first floor.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_audit import AsyncChatwootAudit, ChatwootAudit, Checkpoint, IncompleteWalkError
from chatwoot_audit.testing import TEST_RETRY_POLICY

BASE = 1_781_600_000  # Unix seconds: the start of the simulated history
ACCOUNT = 7
TOKEN = "t0ken"


def _entry(entry_id: int, stamp: int) -> dict[str, object]:
    return {
        "id": entry_id,
        "auditable_id": entry_id % 97,
        "auditable_type": "AccountUser",
        "auditable": None,
        "associated_id": ACCOUNT,
        "associated_type": "Account",
        "user_id": 1,
        "user_type": "User",
        "username": "admin@acme.example",
        "action": "update",
        "audited_changes": {"role": [0, 1]},
        "version": 2,
        "comment": None,
        "request_uuid": f"req-{entry_id}",
        "created_at": stamp,
        "remote_address": "203.0.113.10",
    }


@dataclass
class Hazards:
    """What the server does while a sync reads. Rates are per request."""

    per_page: int = 25
    arrivals: float = 0.0  # chance that a request is preceded by new entries at the top
    burst: tuple[int, int] = (1, 3)  # how many arrive together, all in one second
    late: float = 0.0  # chance of a late commit: stamped below the top, with an id below visible ones
    late_depth: tuple[int, int] = (1, 90)  # how many seconds below the top a late entry is stamped
    fast: float = 0.0  # chance of an entry from a host whose clock runs fast
    fast_ahead: tuple[int, int] = (61, 3600)
    lag_total: bool = False  # total_entries counted before this request's arrivals were selected
    date_offset: int = 0  # the Date header's distance from the simulated now
    faults: float = 0.0  # chance of a 502 or a dropped connection instead of an answer
    seconds_per_request: float = 0.1  # how fast the simulated clock runs
    budget: int = 1_500  # at most this many entries appear while syncs read (a list that grows faster never ends)


@dataclass
class World:
    """One account's audit log: every entry, when it became visible, and honest answers over it."""

    rng: random.Random
    hazards: Hazards
    now: float = float(BASE)
    next_id: int = 1
    keys: list[tuple[int, int]] = field(default_factory=list)  # (-created_at, id), visible, newest first
    stamps: dict[int, int] = field(default_factory=dict)  # id -> created_at, visible only
    reserved: list[int] = field(default_factory=list)  # ids taken by transactions not yet committed
    requests: int = 0
    answered: int = 0
    calm: bool = False  # no more hazards (entries no longer appear, no faults)
    first_new: int = 0  # the first id taken after the history was built
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[World], None] | None = None

    # -- building the history ---------------------------------------------------------------------

    def add(self, stamp: int, entry_id: int | None = None) -> int:
        if entry_id is None:
            entry_id = self.next_id
            self.next_id += 1
        self.stamps[entry_id] = stamp
        bisect.insort(self.keys, (-stamp, entry_id))
        return entry_id

    def history(self, count: int, *, ties: float = 0.3, span: int = 3, base: int = BASE) -> None:
        """``count`` entries up to about ``base``, several often in one second."""
        stamp = base - count * span
        for _ in range(count):
            if self.rng.random() >= ties:
                stamp += self.rng.randint(1, span)
            self.add(stamp)
        self.now = max(self.now, float(stamp + 1))
        self.first_new = self.next_id

    def tie_group(self, count: int, stamp: int | None = None) -> None:
        """``count`` entries in one second (the newest, unless ``stamp`` says which)."""
        second = int(self.now) if stamp is None else stamp
        for _ in range(count):
            self.add(second)
        self.first_new = self.next_id

    def top(self) -> int:
        return -self.keys[0][0] if self.keys else int(self.now)

    def snapshot(self) -> set[int]:
        with self.lock:
            return set(self.stamps)

    # -- what happens between requests -------------------------------------------------------------

    def _happen(self) -> None:
        h, rng = self.hazards, self.rng
        self.now += h.seconds_per_request
        if self.calm or self.next_id - self.first_new > h.budget:
            return
        if rng.random() < 0.2:
            # A transaction begins: its id is taken now, its row becomes visible later (or never, here).
            self.reserved.append(self.next_id)
            self.next_id += 1
        if h.arrivals and rng.random() < h.arrivals:
            second = int(self.now)  # an honest host's clock: below any entry from a fast one
            for _ in range(rng.randint(*h.burst)):
                self.add(second)
        if h.late and self.reserved and rng.random() < h.late:
            entry_id = self.reserved.pop(rng.randrange(len(self.reserved)))
            self.add(int(self.now) - rng.randint(*h.late_depth), entry_id)
        if h.fast and rng.random() < h.fast:
            self.add(int(self.now) + rng.randint(*h.fast_ahead))

    def answer(self, page: int) -> tuple[int, dict[str, object], dict[str, str]]:
        with self.lock:
            self.requests += 1
            if self.on_request is not None:
                self.on_request(self)
            counted = len(self.keys)
            self._happen()
            h = self.hazards
            if not self.calm and h.faults and self.rng.random() < h.faults:
                return 502, {"status": 502, "error": "Bad Gateway"}, {}
            total = counted if h.lag_total else len(self.keys)
            items = self._page(page, h.per_page)
            self.answered += 1
            body: dict[str, object] = {
                "audit_logs": [_entry(entry_id, -negated) for negated, entry_id in items],
                "current_page": page,
                "per_page": h.per_page,
                "total_entries": total,
            }
            date = formatdate(self.now + h.date_offset, usegmt=True)
            return 200, body, {"date": date}

    def _page(self, page: int, per_page: int) -> list[tuple[int, int]]:
        """Page ``page`` of one random order of the snapshot: ties shuffled afresh on every request."""
        keys = self.keys
        start, stop = (page - 1) * per_page, page * per_page
        if start >= len(keys):
            return []
        stop = min(stop, len(keys))
        # Widen to whole tie groups, shuffle them, then cut the page out of that order.
        low = bisect.bisect_left(keys, (keys[start][0], -1))
        high = bisect.bisect_left(keys, (keys[stop - 1][0] + 1, -1))
        segment = keys[low:high]
        self.rng.shuffle(segment)
        segment.sort(key=lambda key: key[0])  # stable: newest first, ties in the shuffled order
        return segment[start - low : stop - low]


# -- transports -----------------------------------------------------------------------------------


def _page_number(url: httpx.URL | str) -> int:
    query = parse_qs(urlsplit(str(url)).query)
    raw = query.get("page", ["1"])[0]
    digits = ""
    for char in raw.strip():
        if not char.isdigit():
            break
        digits += char
    return max(1, int(digits or "1"))


def _transport(world: World) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("api_access_token") != TOKEN:
            return httpx.Response(401, json={"error": "Invalid Access Token"})
        h = world.hazards
        if not world.calm and h.faults and world.rng.random() < h.faults / 2:
            raise httpx.ReadError("connection dropped", request=request)
        status, body, headers = world.answer(_page_number(request.url))
        return httpx.Response(status, json=body, headers=headers)

    return httpx.MockTransport(handle)


def _client(world: World) -> ChatwootAudit:
    return ChatwootAudit(
        "https://chatwoot.test",
        TOKEN,
        ACCOUNT,
        http_client=httpx.Client(transport=_transport(world)),
        retry_policy=TEST_RETRY_POLICY,
    )


# -- the checks -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    delivered: list[list[int]] = field(default_factory=list)  # per sync, in order
    incomplete: int = 0
    settled: bool = False
    errors: list[str] = field(default_factory=list)


def _recent(checkpoint: Checkpoint) -> set[int]:
    return {pair[0] for pair in checkpoint.to_dict()["recent"]}


def _check_sync(world: World, ids: list[int], start: set[int], owed: set[int], *, completed: bool) -> None:
    assert len(ids) == len(set(ids)), f"an id twice in one sync: {sorted(i for i in ids if ids.count(i) > 1)[:5]}"
    keys = [(world.stamps[i], i) for i in ids]
    assert keys == sorted(keys), "not oldest first by (created_at, id)"
    if not completed and keys:
        # Stopped early (or said incomplete): what is owed below the last entry handed out came before it.
        owed = {i for i in owed if (world.stamps[i], i) < keys[-1]}
    if completed or keys:
        lost = owed - set(ids)
        assert not lost, f"silently lost {len(lost)}: {sorted((world.stamps[i], i) for i in lost)[:5]}"


def _one_sync(
    world: World,
    client: ChatwootAudit,
    path: Path,
    *,
    stop_after: int | None,
    concurrency: int,
    outcome: Outcome,
    acked: set[int],
    save_each: bool,
) -> bool:
    """One sync from the saved checkpoint; True when it ran to its end."""
    checkpoint = Checkpoint.load(path)
    start = world.snapshot()
    floor = checkpoint.floor
    bottom = None if floor is None else int(floor.timestamp())
    recent = _recent(checkpoint)
    owed = {
        i
        for i in start
        if (bottom is None or world.stamps[i] >= bottom)
        and i not in recent
        and (checkpoint.not_before is None or world.stamps[i] >= checkpoint.not_before)
    }
    ids: list[int] = []
    completed = False
    try:
        logs = client.logs_after(checkpoint, concurrency=concurrency)
        try:
            for log in logs:
                assert log.id not in acked, f"acknowledged entry {log.id} handed out again"
                ids.append(log.id)
                checkpoint.advance(log)
                if save_each:
                    checkpoint.save(path)
                acked.add(log.id)
                if stop_after is not None and len(ids) >= stop_after:
                    break
            else:
                completed = True
        finally:
            logs.close()
    except IncompleteWalkError as exc:
        outcome.incomplete += 1
        outcome.errors.append(f"{exc} (after {len(ids)}, {checkpoint!r})")
    checkpoint.save(path)
    outcome.delivered.append(ids)
    try:
        _check_sync(world, ids, start, owed, completed=completed)
    except AssertionError as exc:
        raise AssertionError(f"sync {len(outcome.delivered)} ({len(ids)} handed out, {checkpoint!r}): {exc}") from None
    return completed


def run(
    world: World,
    tmp: Path,
    *,
    checkpoint: Checkpoint | None = None,
    stops: list[int | None] | None = None,
    concurrency: int = 1,
    settle: int = 3,
    save_each: bool = False,
    must_settle: bool = True,
) -> Outcome:
    """Syncs from a saved checkpoint, stopped after ``stops`` entries each, then ``settle`` calm ones."""
    path = tmp / "checkpoint.json"
    first = checkpoint or Checkpoint()
    first.save(path)
    floor = first.floor
    bottom = None if floor is None else int(floor.timestamp())
    outcome = Outcome()
    acked: set[int] = set()
    with _client(world) as client:
        for stop in stops or []:
            _one_sync(
                world,
                client,
                path,
                stop_after=stop,
                concurrency=concurrency,
                outcome=outcome,
                acked=acked,
                save_each=save_each,
            )
        world.calm = True
        for _ in range(settle):
            if _one_sync(
                world,
                client,
                path,
                stop_after=None,
                concurrency=concurrency,
                outcome=outcome,
                acked=acked,
                save_each=save_each,
            ):
                outcome.settled = True
                break
        else:
            # Said, not silent: every calm sync raised IncompleteWalkError (a liveness matter, reported).
            assert not must_settle, f"no calm sync completed: {outcome.errors}"
            return outcome
    everything = {i for i, s in world.stamps.items() if bottom is None or s >= bottom}
    union = set().union(*map(set, outcome.delivered))
    lost = everything - union
    assert not lost, f"lost across syncs: {sorted((world.stamps[i], i) for i in lost)[:5]}"
    return outcome


def _world(seed: int, hazards: Hazards | None = None) -> World:
    return World(rng=random.Random(seed), hazards=hazards or Hazards())


def _silence(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(50, logger="chatwoot_audit")


# -- honest hazards over long histories (many windows) -------------------------------------------

HONEST = {
    "ties-reordered": Hazards(),
    "arrivals-at-top": Hazards(arrivals=0.5, burst=(1, 3)),
    "bursts": Hazards(arrivals=0.03, burst=(50, 500)),
    "late-commits": Hazards(arrivals=0.3, late=0.3, late_depth=(1, 120)),
    "fast-clocks": Hazards(arrivals=0.3, fast=0.1),
    "per-page-15": Hazards(per_page=15, arrivals=0.3, late=0.2, fast=0.05),
    "faults": Hazards(arrivals=0.3, faults=0.1),
    "date-behind": Hazards(arrivals=0.3, fast=0.05, date_offset=-86_400),
    "everything": Hazards(
        per_page=15, arrivals=0.3, burst=(1, 8), late=0.2, fast=0.05, faults=0.05, seconds_per_request=0.5
    ),
}


@pytest.mark.parametrize("name", sorted(HONEST))
@pytest.mark.parametrize("concurrency", [1, 4])
def test_long_history_honest_hazards(
    name: str, concurrency: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _silence(caplog)
    world = _world(hash(name) % 1000 + concurrency, HONEST[name])
    world.history(1_100, ties=0.7)  # 44 pages of 25 (74 of 15): several windows
    world.tie_group(80, stamp=world.top() - 5_000)  # a tie group spanning pages, deep in the history
    run(world, tmp_path, stops=[None], concurrency=concurrency, must_settle=False)
    # A tie group of several pages, reshuffled on every request, can make calm syncs raise
    # IncompleteWalkError again and again (said, not silent): only silence is asserted here.


def test_huge_tie_group_at_the_top(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(11, Hazards(arrivals=0.5, burst=(1, 5)))
    world.history(1_200, ties=0.5)
    world.tie_group(400)  # sixteen pages of one second, the newest
    # Reshuffled on every request, a tie group of sixteen pages may stay unaccounted for: said, not silent.
    run(world, tmp_path, stops=[None, None], must_settle=False)


def test_floor_inside_long_history(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(12, Hazards(arrivals=0.4, late=0.2, fast=0.05))
    world.history(6_000, ties=0.6)
    floor = world.top() - 2_000
    run(world, tmp_path, checkpoint=Checkpoint(high_water=floor, overlap=300), stops=[None])


# -- restarts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_restarts_neither_repeat_nor_drop(seed: int, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    rng = random.Random(seed)
    hazards = Hazards(arrivals=0.4, burst=(1, 4), late=0.2, fast=0.05, faults=0.05, seconds_per_request=0.5)
    world = _world(seed, hazards)
    world.history(2_000, ties=0.7)
    stops: list[int | None] = [rng.randint(1, 400) for _ in range(4)]
    run(world, tmp_path, stops=stops, concurrency=rng.choice([1, 3]), save_each=True)


# -- random mixes -----------------------------------------------------------------------------------


@st.composite
def _mixes(draw: st.DrawFn) -> tuple[Hazards, dict[str, object]]:
    hazards = Hazards(
        per_page=draw(st.sampled_from([15, 25])),
        arrivals=draw(st.sampled_from([0.0, 0.2, 0.6])),
        burst=draw(st.sampled_from([(1, 1), (1, 5), (50, 500)])),
        budget=draw(st.sampled_from([100, 800])),
        late=draw(st.sampled_from([0.0, 0.2, 0.5])),
        late_depth=draw(st.sampled_from([(1, 5), (1, 120)])),
        fast=draw(st.sampled_from([0.0, 0.05])),
        date_offset=draw(st.sampled_from([0, 0, -3_600, -86_400])),
        faults=draw(st.sampled_from([0.0, 0.05])),
    )
    plan: dict[str, object] = {
        "seed": draw(st.integers(0, 2**16)),
        "size": draw(st.integers(50, 1_500)),
        "ties": draw(st.sampled_from([0.0, 0.5, 0.9])),
        "group": draw(st.sampled_from([0, 0, 60, 200])),
        "stops": draw(st.lists(st.one_of(st.none(), st.integers(1, 600)), min_size=1, max_size=3)),
        "concurrency": draw(st.sampled_from([1, 2, 5])),
        "floor": draw(st.sampled_from([None, 600, 3_000])),
    }
    return hazards, plan


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mix=_mixes())
def test_random_mixes(mix: tuple[Hazards, dict[str, object]], tmp_path_factory: pytest.TempPathFactory) -> None:
    hazards, plan = mix
    sdk_logger = logging.getLogger("chatwoot_audit")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.CRITICAL)  # fast-clock warnings, by design
    try:
        _mix_run(hazards, plan, tmp_path_factory.mktemp("mix"))
    finally:
        sdk_logger.setLevel(level)


def _mix_run(hazards: Hazards, plan: dict[str, object], tmp: Path) -> None:
    world = _world(int(plan["seed"]), hazards)  # type: ignore[call-overload]
    world.history(int(plan["size"]), ties=float(plan["ties"]))  # type: ignore[call-overload,arg-type]
    if plan["group"]:
        world.tie_group(int(plan["group"]), stamp=world.top() - 7)  # type: ignore[call-overload]
    floor = plan["floor"]
    checkpoint = Checkpoint() if floor is None else Checkpoint(high_water=world.top() - int(floor), overlap=300)  # type: ignore[call-overload]
    run(
        world,
        tmp,
        checkpoint=checkpoint,
        stops=plan["stops"],  # type: ignore[arg-type]
        concurrency=int(plan["concurrency"]),  # type: ignore[call-overload]
        must_settle=False,
    )


# -- the finding: a total counted a moment before its page was selected ------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="a total_entries that lags its page by one entry (count and select in two statements) lets a "
    "band certify with an entry missing: an entry that existed when the sync began is silently lost",
)
def test_total_lagging_its_page_by_one_loses_an_entry(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    # 100 entries (four pages of 25), most seconds shared; before every request one entry arrives at the
    # top, and the total of that answer is counted just before it (so it lags the page by exactly one).
    world = _world(0, Hazards(per_page=25, arrivals=1.0, burst=(1, 1), lag_total=True))
    world.history(100, ties=0.8)
    run(world, tmp_path, stops=[None])


def test_total_lagging_without_arrivals_is_harmless(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(0, Hazards(per_page=25, lag_total=True))
    world.history(1_100, ties=0.8)
    run(world, tmp_path, stops=[None])


# -- a real HTTP server, and the async client ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    world: World

    def do_GET(self) -> None:
        status: int = 401
        body: dict[str, object] = {"error": "Invalid Access Token"}
        headers: dict[str, str] = {}
        if self.headers.get("api_access_token") == TOKEN:
            status, body, headers = self.world.answer(_page_number(self.path))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def _serving(world: World) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"world": world})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_over_real_http(caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(21, Hazards(arrivals=0.4, late=0.2, fast=0.05, faults=0.05))
    world.history(1_000, ties=0.6)
    start = world.snapshot()
    with _serving(world) as url, ChatwootAudit(url, TOKEN, ACCOUNT, retry_policy=TEST_RETRY_POLICY) as client:
        checkpoint = Checkpoint()
        ids = [log.id for log in client.logs_after(checkpoint, concurrency=3)]
    _check_sync(world, ids, start, start, completed=True)


def test_async_client(caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(22, Hazards(arrivals=0.4, late=0.2, fast=0.05, faults=0.05))
    world.history(1_500, ties=0.6)
    start = world.snapshot()

    async def main() -> list[int]:
        transport = _transport(world)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncChatwootAudit(
                "https://chatwoot.test", TOKEN, ACCOUNT, http_client=http, retry_policy=TEST_RETRY_POLICY
            ) as client,
        ):
            return [log.id async for log in client.logs_after(Checkpoint(), concurrency=4)]

    ids = asyncio.run(main())
    _check_sync(world, ids, start, start, completed=True)


@pytest.mark.xfail(
    strict=True,
    reason="with the Date header an hour ahead of entries stamped an hour ahead of this machine's clock as well, "
    "an entry from a host whose clock runs fast counts as on time: the high-water mark jumps to it, and entries "
    "written afterwards by honest hosts fall below the next floor",
)
def test_date_ahead_with_a_fast_clock_loses_later_entries(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _silence(caplog)
    world = _world(0, Hazards(arrivals=0.3, fast=0.05, date_offset=3_600, seconds_per_request=0.5))
    world.history(1_000, ties=0.5)
    run(world, tmp_path, stops=[300, None, None], must_settle=False)
