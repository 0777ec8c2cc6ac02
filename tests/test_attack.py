"""Completeness attacked over HTTP by a server of this file's own, written from the server doc.

The server (not the emulator, not test_completeness's in-memory one) keeps entries newest first by
``created_at`` in whole seconds with no tie-breaker and, per request or per second of wall time:
reorders every run of equal timestamps, writes entries at the top and in the newest second, commits
entries late (stamped 1 to 120 s below the newest, inserted in place, with ids lower than ids already
visible), writes entries from a fast clock (minutes to an hour ahead), fails (500 JSON, 502 HTML, a
dropped connection, a truncated body, Chatwoot's bare 429), answers from the past (a cache's older answer
to the same page, a replica a few requests behind), and lies a little (a total one above what the page was
cut from, a total one below -- Chatwoot counts and selects in two statements --, a total that stays one
too high, an answer that repeats the one before it, a cache that ignores ?page=, a page size that flips
between 15 and 25 as in a rolling upgrade).

Every walk is checked against the set of entries the server held when it first answered page 1: each
is yielded exactly once, or the walk raises IncompleteWalkError. Never a silent loss. Honest hazards must
hold; the lies that lose entries today are xfail, with minimal reproductions against the pure Planner and
Ledger at the end. Run with ``-s`` to see the tally of every kind of walk (complete, IncompleteWalkError,
silent losses, requests a page) on stderr.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import clean_env, run_cli

from chatwoot_audit import (
    AsyncChatwootAudit,
    AuditLog,
    AuditLogPage,
    ChatwootAudit,
    ChatwootError,
    Checkpoint,
    IncompleteWalkError,
    RetryPolicy,
)
from chatwoot_audit._completeness import Ledger
from chatwoot_audit._convert import parse_page
from chatwoot_audit._pagination import LogWalk
from chatwoot_audit._planner import Emit, Fetch, Planner, Wait

TOKEN = "attack-token-5f1c0d"
ACCOUNT = 7
# History ends a little before the real now, so that the Date header and the stamps agree as on a real server.
NOW = int(time.time()) - 60
# Every server stops by itself after this long, whatever a test does.
SERVER_LIFETIME = 90.0
# ... and stops answering (401, which is never retried) after this many requests.
MAX_REQUESTS = 5_000

FAST_RETRIES = RetryPolicy(
    base_delay=0.001,
    max_delay=0.004,
    rate_limit_base_delay=0.002,
    rate_limit_max_delay=0.01,
    rate_limit_budget=5.0,
    rate_limit_window=None,
    jitter=0.0,
)

FAULTS = ("500", "502", "drop", "truncate", "429")


# -- the server's world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hazards:
    """What the server does. Rates are chances per request, or per second of wall time with ``per_second``."""

    entries: int = 300
    per_page: int = 25
    tie_density: float = 0.5  # chance that an entry shares the second of the one before it
    big_ties: int = 0  # tie groups of 30 to 80 entries (longer than a page) in the history
    group: int = 0  # one tie group of this many entries in the middle of the history (a bulk change)
    reorder: bool = True  # ties come back in a new order on every request
    top: float = 0.0  # an entry 1-2 s above the newest
    burst: tuple[int, int] = (1, 1)  # how many entries an arrival at the top writes at once
    same_second: float = 0.0  # an entry in the newest second
    late: float = 0.0  # an entry stamped 1-120 s below the newest, with an old id
    late_window: tuple[int, int] = (1, 120)
    skew: float = 0.0  # an entry from a fast clock, 1 min to 1 h ahead
    fast_at_start: int = 0  # entries from a fast clock already in the history
    per_second: bool = False  # the rates above are per second, not per request
    faults: float = 0.0  # a transient failure instead of the answer
    fault_kinds: tuple[str, ...] = FAULTS
    count_leads: float = 0.0  # the total counts an entry that becomes visible only on the next request
    count_lags: float = 0.0  # an entry appears, the total counts it only from the next request
    lag_at: int = 0  # ... and for certain at this request (counted from 1)
    phantom: float = 0.0  # the total grows by one for good, no entry behind it
    repeat: float = 0.0  # the answer is the previous answer again, whatever page was asked
    flip_per_page: float = 0.0  # the answer comes from a server with the other page size (15 <-> 25)
    stale: float = 0.0  # the answer is an older answer to the same page (a cache)
    replica: float = 0.0  # the answer is cut from the entries as they were 1-5 requests ago (a lagging replica)
    ignore_page: bool = False  # every page is answered with page 1 (a cache that ignores the query string)


@dataclass
class Reply:
    status: int
    kind: str  # "page", or one of FAULTS
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"


def entry_json(entry_id: int, stamp: int) -> dict[str, Any]:
    """A realistic entry, every key present."""
    kind = entry_id % 3
    return {
        "id": entry_id,
        "auditable_id": entry_id % 97 + 1,
        "auditable_type": ("AccountUser", "User", "Inbox")[kind],
        "auditable": {"id": entry_id % 97 + 1, "role": "administrator"} if kind == 0 else None,
        "associated_id": ACCOUNT,
        "associated_type": "Account",
        "user_id": 1 if kind != 2 else None,
        "user_type": "User" if kind != 2 else None,
        "username": "admin@acme.example" if kind != 2 else None,
        "action": ("update", "sign_in", "create")[kind],
        "audited_changes": {"role": [0, 1]} if kind == 0 else ({"name": "x"} if kind == 2 else None),
        "version": 1,
        "comment": None,
        "request_uuid": f"req-{entry_id}",
        "created_at": stamp,
        "remote_address": "203.0.113.10" if kind != 2 else None,
    }


class World:
    """The account's entries, newest first (no tie-breaker), and what happens to them between requests."""

    def __init__(self, hazards: Hazards, seed: int) -> None:
        self.hazards = hazards
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        rng = self.rng
        stamps: list[int] = []
        stamp = NOW - 4 * hazards.entries - 400
        big_at = set(rng.sample(range(max(1, hazards.entries)), min(hazards.big_ties, max(1, hazards.entries))))
        while len(stamps) < hazards.entries:
            if rng.random() >= hazards.tie_density:
                stamp += rng.randint(1, 3)
            if len(stamps) in big_at:
                stamp += 1
                stamps.extend([stamp] * rng.randint(30, 80))
                stamp += 1
            elif hazards.group and len(stamps) == hazards.entries // 3:
                stamp += 1
                stamps.extend([stamp] * hazards.group)
                stamp += 1
            else:
                stamps.append(stamp)
        stamps = stamps[: hazards.entries]
        # Ids grow with time (a sequence shared by every account: gaps); some are held by transactions not
        # committed yet, to be used by late commits.
        self.spare: list[int] = []
        next_id = 1000
        oldest_first: list[tuple[int, int]] = []
        for stamp in stamps:
            next_id += rng.randint(1, 3)
            if rng.random() < 0.2:
                self.spare.append(next_id)
                next_id += 1
            oldest_first.append((stamp, next_id))
        self.next_id = next_id + 10
        self.rows: list[tuple[int, int]] = oldest_first[::-1]  # newest first
        self.newest = stamps[-1] if stamps else NOW - 500  # the newest honest stamp
        self.fast: set[int] = set()
        self.per_page = hazards.per_page
        self.requests = 0
        self.page_requests: Counter[int] = Counter()
        self.answers = 0
        self.phantom = 0
        self.pending = 0  # arrivals the last answer's total already counted
        self.owed: dict[int, int] | None = None  # id -> stamp, when page 1 was first answered
        self.ever: dict[int, int] = {entry_id: stamp for stamp, entry_id in self.rows}
        self.last_body: bytes | None = None
        self.by_page: dict[int, bytes] = {}
        self.past: list[list[tuple[int, int]]] = []  # the entries before each of the last requests
        self.events: Counter[str] = Counter()
        self._clock = time.monotonic()
        for _ in range(hazards.fast_at_start):
            self.arrive_fast()

    # -- what happens --------------------------------------------------------------------------------

    def _insert(self, stamp: int, entry_id: int) -> None:
        """Insert in place: among equal stamps anywhere, as there is no tie-breaker."""
        rows = self.rows
        low, high = 0, len(rows)
        while low < high:  # first index whose stamp is <= stamp
            mid = (low + high) // 2
            if rows[mid][0] > stamp:
                low = mid + 1
            else:
                high = mid
        end = low
        while end < len(rows) and rows[end][0] == stamp:
            end += 1
        rows.insert(self.rng.randint(low, end), (stamp, entry_id))
        self.ever[entry_id] = stamp

    def _new_id(self) -> int:
        self.next_id += self.rng.randint(1, 3)
        return self.next_id

    def arrive_top(self) -> None:
        self.newest += self.rng.randint(1, 2)
        for _ in range(self.rng.randint(*self.hazards.burst)):
            self._insert(self.newest, self._new_id())
        self.events["top"] += 1

    def arrive_same_second(self) -> None:
        self._insert(self.newest, self._new_id())
        self.events["same_second"] += 1

    def arrive_late(self) -> None:
        rng = self.rng
        low, high = self.hazards.late_window
        stamp = self.newest - rng.randint(low, high)
        # An id taken when the transaction began: lower than ids already visible.
        visible_max = max((entry_id for _, entry_id in self.rows[:50]), default=self.next_id)
        if self.spare and self.spare[-1] < visible_max:
            entry_id = self.spare.pop(rng.randrange(max(0, len(self.spare) - 30), len(self.spare)))
        else:
            entry_id = self._new_id()
        self._insert(stamp, entry_id)
        self.events["late"] += 1

    def arrive_fast(self) -> None:
        entry_id = self._new_id()
        self.fast.add(entry_id)
        self._insert(self.newest + self.rng.randint(60, 3600), entry_id)
        self.events["fast"] += 1

    def _happen_once(self) -> None:
        rng, h = self.rng, self.hazards
        if rng.random() < h.top:
            self.arrive_top()
        if rng.random() < h.same_second:
            self.arrive_same_second()
        if rng.random() < h.late:
            self.arrive_late()
        if rng.random() < h.skew:
            self.arrive_fast()
        if rng.random() < h.phantom:
            self.phantom += 1
            self.events["phantom"] += 1

    def _happen(self) -> None:
        if self.hazards.per_second:
            now = time.monotonic()
            elapsed, self._clock = now - self._clock, now
            # Each 10 ms slice of wall time is a chance at every rate/100 per slice: bounded per request.
            for _ in range(min(100, round(elapsed * 100))):
                rng, h = self.rng, self.hazards
                if rng.random() < h.top / 100:
                    self.arrive_top()
                if rng.random() < h.same_second / 100:
                    self.arrive_same_second()
                if rng.random() < h.late / 100:
                    self.arrive_late()
                if rng.random() < h.skew / 100:
                    self.arrive_fast()
        else:
            self._happen_once()

    # -- answers -------------------------------------------------------------------------------------

    def _ordered(self, rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not self.hazards.reorder:
            return rows
        out: list[tuple[int, int]] = []
        start = 0
        for index in range(1, len(rows) + 1):
            if index == len(rows) or rows[index][0] != rows[start][0]:
                run = rows[start:index]
                if len(run) > 1:
                    self.rng.shuffle(run)
                out += run
                start = index
        return out

    def answer(self, page: int) -> Reply:
        """One request for ``page``: what happens first, then the answer (or a fault)."""
        with self.lock:
            self.requests += 1
            self.page_requests[page] += 1
            rng, h = self.rng, self.hazards
            if h.replica:
                self.past = [*self.past[-4:], list(self.rows)]
            if self.requests > MAX_REQUESTS:
                return Reply(401, "refused", b'{"error": "Invalid Access Token"}')
            for _ in range(self.pending):
                self.arrive_top()
            self.pending = 0
            if self.answers > 0:
                self._happen()
            if self.answers > 0 and rng.random() < h.faults:
                kind = rng.choice(h.fault_kinds)
                self.events[kind] += 1
                return _fault(kind)
            if self.answers > 0 and self.last_body is not None and rng.random() < h.repeat:
                self.events["repeat"] += 1
                return Reply(200, "page", self.last_body)
            if page in self.by_page and rng.random() < h.stale:
                self.events["stale"] += 1
                return Reply(200, "page", self.by_page[page])
            if h.ignore_page and 1 in self.by_page:
                self.events["ignore_page"] += 1
                return Reply(200, "page", self.by_page[1])
            lag = 0
            if self.answers > 0 and (rng.random() < h.count_lags or self.requests == h.lag_at):
                self.arrive_top()
                lag = 1
                self.events["count_lags"] += 1
            lead = 0
            if self.answers > 0 and rng.random() < h.count_leads:
                self.pending = lead = 1
                self.events["count_leads"] += 1
            per_page = self.per_page
            if rng.random() < h.flip_per_page:
                per_page = 15 if per_page == 25 else 25
                self.events["flip"] += 1
            rows = self.rows
            if self.past and rng.random() < h.replica:
                rows = self.past[rng.randrange(len(self.past))]
                self.events["replica"] += 1
            ordered = self._ordered(rows)
            begin = (page - 1) * per_page
            body = {
                "per_page": per_page,
                "total_entries": len(ordered) + self.phantom + lead - lag,
                "current_page": page,
                "audit_logs": [entry_json(entry_id, stamp) for stamp, entry_id in ordered[begin : begin + per_page]],
            }
            if page == 1 and self.owed is None:
                self.owed = {entry_id: stamp for stamp, entry_id in self.rows}
            self.answers += 1
            data = json.dumps(body).encode()
            self.last_body = self.by_page[page] = data
            return Reply(200, "page", data)

    def page(self, number: int) -> AuditLogPage | ChatwootError:
        """The answer as the planner takes it, for in-process walks: a page, or an error for any fault."""
        reply = self.answer(number)
        if reply.status != 200:
            return ChatwootError(f"fault {reply.kind}")
        return parse_page(json.loads(reply.body))

    def owed_in(self, since: int | None = None, until: int | None = None) -> set[int]:
        assert self.owed is not None, "page 1 was never answered"
        return {
            entry_id
            for entry_id, stamp in self.owed.items()
            if (since is None or stamp >= since) and (until is None or stamp <= until)
        }


def _fault(kind: str) -> Reply:
    if kind == "500":
        return Reply(500, kind, b'{"status": 500, "error": "Internal Server Error"}')
    if kind == "502":
        return Reply(502, kind, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
    if kind == "429":
        return Reply(429, kind, b"Retry later\n", "text/plain")
    return Reply(200, kind)  # drop / truncate: the handler breaks the connection


# -- the HTTP face --------------------------------------------------------------------------------


def _ruby_to_i(raw: str | None) -> int:
    """``page`` as Ruby's to_i reads it; anything below 1 is page 1."""
    digits = ""
    text = (raw or "").strip()
    sign = -1 if text.startswith("-") else 1
    for char in text.lstrip("+-"):
        if not char.isdigit():
            break
        digits += char
    value = sign * int(digits) if digits else 0
    return max(1, value)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    world: World

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != f"/api/v1/accounts/{ACCOUNT}/audit_logs":
            self._send(404, b'{"error": "Resource could not be found"}', "application/json; charset=utf-8")
            return
        token = self.headers.get("api_access_token") or self.headers.get("Api-Access-Token")
        if token != TOKEN:
            self._send(401, b'{"error": "Invalid Access Token"}', "application/json; charset=utf-8")
            return
        query = urllib.parse.parse_qs(url.query)
        reply = self.world.answer(_ruby_to_i(query.get("page", [""])[0]))
        if reply.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.kind == "truncate":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", "4000")
            self.end_headers()
            self.wfile.write(b'{"per_page": 25, "total_entries": 9')
            with contextlib.suppress(OSError):
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply.status, reply.body, reply.content_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)  # adds Date
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # 8 connections at once overflow the default backlog of 5: a 1 s SYN retry

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up is not news


@contextlib.contextmanager
def serve(world: World) -> Iterator[str]:
    """``world`` on 127.0.0.1 (a free port); stops on exit, or by itself after SERVER_LIFETIME seconds."""
    handler = type("Handler", (_Handler,), {"world": world})
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    watchdog = threading.Timer(SERVER_LIFETIME, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- walks and their verdicts ---------------------------------------------------------------------


@dataclass
class Tally:
    walks: int = 0
    complete: int = 0
    incomplete: int = 0
    losses: int = 0
    lost_entries: int = 0
    requests: int = 0
    pages: int = 0
    details: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        rate = self.incomplete / self.walks if self.walks else 0.0
        cost = self.requests / self.pages if self.pages else 0.0
        return (
            f"{name}: {self.walks} walks, {self.complete} complete, {self.incomplete} IncompleteWalkError "
            f"({rate:.0%}), {self.losses} silent losses ({self.lost_entries} entries), {cost:.2f} requests a page"
        )


TALLIES: dict[str, Tally] = {}


def tally(name: str) -> Tally:
    return TALLIES.setdefault(name, Tally())


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if TALLIES:
        lines = [tally_.line(name) for name, tally_ in sorted(TALLIES.items())]
        sys.stderr.write("\n" + "\n".join(lines) + "\n")


@dataclass
class Outcome:
    ids: list[int]
    error: IncompleteWalkError | None


def verdict(
    name: str,
    world: World,
    outcome: Outcome,
    *,
    since: int | None = None,
    until: int | None = None,
    strict: bool = True,
) -> list[int]:
    """Record the walk in its tally; fail on a repeat or an entry outside the window, and (strict) on a loss."""
    record = tally(name)
    record.walks += 1
    record.requests += world.requests
    record.pages += max(1, -(-len(world.owed or ()) // world.per_page))
    yielded = outcome.ids
    assert len(yielded) == len(set(yielded)), f"{name}: an entry yielded twice"
    for entry_id in yielded:
        stamp = world.ever[entry_id]
        assert since is None or stamp >= since, f"{name}: {entry_id} is older than the window"
        assert until is None or stamp <= until, f"{name}: {entry_id} is newer than the window"
    if outcome.error is not None:
        record.incomplete += 1
        assert outcome.error.missing >= 1
        return []
    lost = sorted(world.owed_in(since, until) - set(yielded))
    if lost:
        record.losses += 1
        record.lost_entries += len(lost)
        record.details.append(f"lost {lost} events={dict(world.events)}")
        assert not strict, f"{name}: lost {lost} silently (events {dict(world.events)})"
    else:
        record.complete += 1
    return lost


def client(base_url: str) -> ChatwootAudit:
    return ChatwootAudit(
        base_url, api_access_token=TOKEN, account_id=ACCOUNT, retry_policy=FAST_RETRIES, max_retries=10, timeout=10
    )


def async_client(base_url: str) -> AsyncChatwootAudit:
    return AsyncChatwootAudit(
        base_url, api_access_token=TOKEN, account_id=ACCOUNT, retry_policy=FAST_RETRIES, max_retries=10, timeout=10
    )


def walk_sync(base_url: str, walk: Callable[[ChatwootAudit], Iterator[AuditLog]]) -> Outcome:
    ids: list[int] = []
    with client(base_url) as api:
        try:
            ids.extend(log.id for log in walk(api))
        except IncompleteWalkError as exc:
            return Outcome(ids, exc)
    return Outcome(ids, None)


def to_datetime(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def window_of(world: World, rng: random.Random) -> tuple[int, int]:
    """A since/until window over the history: low and high stamps inclusive."""
    stamps = sorted(stamp for stamp, _ in world.rows)
    low = stamps[rng.randrange(len(stamps) // 2)]
    high = stamps[rng.randrange(len(stamps) // 2, len(stamps))]
    return low, high


# -- the hazards, named ---------------------------------------------------------------------------

TIES = Hazards(tie_density=0.6, big_ties=2)
TOP = Hazards(tie_density=0.5, top=0.5, burst=(1, 30), same_second=0.3)
LATE = Hazards(tie_density=0.5, late=0.3, top=0.3, same_second=0.1)
FAST_CLOCK = Hazards(tie_density=0.5, skew=0.2, top=0.3, late=0.1, fast_at_start=3)
FAULTY = Hazards(tie_density=0.5, top=0.2, late=0.1, faults=0.15)
STALE = Hazards(tie_density=0.5, top=0.3, late=0.1, stale=0.3)
REPLICA = Hazards(tie_density=0.5, top=0.3, late=0.1, same_second=0.1, replica=0.3)
EVERYTHING = Hazards(
    tie_density=0.6, big_ties=1, top=0.4, burst=(1, 5), same_second=0.2, late=0.2, skew=0.05, faults=0.1, stale=0.05
)
PER_SECOND = Hazards(tie_density=0.5, top=40.0, late=10.0, same_second=10.0, skew=2.0, per_second=True)
SMALL_PAGES = replace(EVERYTHING, per_page=15, big_ties=2)

HONEST = {
    "ties": TIES,
    "top": TOP,
    "late": LATE,
    "fast_clock": FAST_CLOCK,
    "faulty": FAULTY,
    "stale": STALE,
    "replica": REPLICA,
    "everything": EVERYTHING,
    "per_second": PER_SECOND,
    "small_pages": SMALL_PAGES,
}


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("name", sorted(HONEST))
def test_sync_full_walk_never_loses_silently(name: str, concurrency: int) -> None:
    """ChatwootAudit.logs(): every entry there at the start, each once, or IncompleteWalkError."""
    for seed in range(3):
        world = World(HONEST[name], seed=seed * 31 + concurrency)
        with serve(world) as url:
            outcome = walk_sync(url, lambda api: api.logs(concurrency=concurrency))
        verdict(f"sync logs c={concurrency} {name}", world, outcome)


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("name", ["ties", "late", "fast_clock", "everything", "small_pages"])
def test_sync_windowed_walk_never_loses_silently(name: str, concurrency: int) -> None:
    """logs(since=, until=): every entry of the window there at the start, or IncompleteWalkError."""
    for seed in range(3):
        world = World(HONEST[name], seed=seed * 17 + concurrency)
        low, high = window_of(world, random.Random(seed))
        since, until = [(low, high), (low, None), (None, high)][seed % 3]
        window = (None if since is None else to_datetime(since), None if until is None else to_datetime(until))

        def walk(api: ChatwootAudit, window: tuple[datetime | None, datetime | None] = window) -> Iterator[AuditLog]:
            return api.logs(since=window[0], until=window[1], concurrency=concurrency)

        with serve(world) as url:
            outcome = walk_sync(url, walk)
        verdict(f"sync window c={concurrency} {name}", world, outcome, since=since, until=until)


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("name", ["late", "fast_clock", "everything"])
def test_first_logs_after_never_loses_silently(name: str, concurrency: int) -> None:
    """The first logs_after(Checkpoint()) delivers every entry there at the start, oldest first, or raises."""
    for seed in range(2):
        world = World(HONEST[name], seed=seed * 7 + concurrency)
        with serve(world) as url:
            outcome = walk_sync(url, lambda api: api.logs_after(Checkpoint(), concurrency=concurrency))
        verdict(f"sync logs_after c={concurrency} {name}", world, outcome)
        if outcome.error is None:
            order = [(world.ever[entry_id], entry_id) for entry_id in outcome.ids]
            assert order == sorted(order), "logs_after delivers oldest first"


async def _collect(logs: AsyncIterator[AuditLog]) -> Outcome:
    ids: list[int] = []
    try:
        async for entry in logs:
            ids.append(entry.id)
    except IncompleteWalkError as exc:
        return Outcome(ids, exc)
    return Outcome(ids, None)


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("name", ["ties", "late", "fast_clock", "faulty", "everything", "per_second"])
async def test_async_walks_never_lose_silently(name: str, concurrency: int, anyio_backend: str) -> None:
    """AsyncChatwootAudit under asyncio and trio: full walks, a window, and a first logs_after."""
    for seed in range(2):
        world = World(HONEST[name], seed=seed * 13 + concurrency)
        with serve(world) as url:
            async with async_client(url) as api:
                outcome = await _collect(api.logs(concurrency=concurrency))
        verdict(f"async logs c={concurrency} {name}", world, outcome)

    world = World(HONEST[name], seed=99 + concurrency)
    low, high = window_of(world, random.Random(concurrency))
    with serve(world) as url:
        async with async_client(url) as api:
            outcome = await _collect(api.logs(since=to_datetime(low), until=to_datetime(high), concurrency=concurrency))
    verdict(f"async window c={concurrency} {name}", world, outcome, since=low, until=high)

    world = World(HONEST[name], seed=199 + concurrency)
    with serve(world) as url:
        async with async_client(url) as api:
            outcome = await _collect(api.logs_after(Checkpoint(), concurrency=concurrency))
    verdict(f"async logs_after c={concurrency} {name}", world, outcome)


# -- the command ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hazards", "args"),
    [
        ("late", LATE, ["--concurrency", "4"]),
        ("everything-sequential", replace(EVERYTHING, faults=0.0), ["--concurrency", "1"]),
        ("late-window", LATE, ["--concurrency", "8"]),
        ("few-faults", replace(LATE, faults=0.02, fault_kinds=("502", "drop")), ["--concurrency", "8"]),
    ],
)
def test_export_command_never_loses_silently(tmp_path: Path, name: str, hazards: Hazards, args: list[str]) -> None:
    """``chatwoot-audit export`` exits 0 with every entry there at the start, each once, or exits 6."""
    world = World(hazards, seed=len(name))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    out = tmp_path / "audit.jsonl"
    since = until = None
    if name.endswith("window"):
        since, until = window_of(world, random.Random(5))
        args = [*args, "--since", f"@{since}", "--until", f"@{until}"]
    with serve(world) as url:
        done = run_cli(
            [
                "export",
                "--base-url",
                url,
                "--account-id",
                str(ACCOUNT),
                "--token-file",
                str(token_file),
                "--no-progress",
                "--max-retries",
                "8",
                "--output",
                str(out),
                *args,
            ],
            clean_env(),
            timeout=60,
        )
    assert done.returncode in (0, 6), done.stderr
    error = None
    ids: list[int] = []
    if done.returncode == 6:
        error = IncompleteWalkError("exit 6", expected=1, found=0)
    else:
        ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
        assert not Path(f"{out}.resume.json").exists(), "a complete export leaves no resume state"
    verdict(f"cli export {name}", world, Outcome(ids, error), since=since, until=until)


# -- rates under realistic hazards ----------------------------------------------------------------


def drive(planner: Planner, serve_page: Callable[[int], AuditLogPage | ChatwootError]) -> list[int]:
    """Drive a planner as the sequential client does (each Fetch served at once, in order); the ids it yields."""
    out: list[int] = []
    for _ in range(50_000):
        action = planner.step()
        if action is None:
            return out
        if isinstance(action, Emit):
            out.extend(entry.id for entry in action.logs)
        elif isinstance(action, Fetch):
            planner.deliver({n: serve_page(n) for n in action.pages})
        elif isinstance(action, Wait):
            raise AssertionError("a batch driver never leaves a page on its way")
    raise AssertionError("the walk did not end")


def in_process(name: str, hazards: Hazards, seeds: range, *, concurrency: int = 1, strict: bool = True) -> Tally:
    """Walks of the planner against a World in process (no HTTP): many more per second."""
    for seed in seeds:
        world = World(hazards, seed=seed)
        walker = Planner(LogWalk(), concurrency=concurrency, check_completeness=True)
        try:
            outcome = Outcome(drive(walker, world.page), None)
        except IncompleteWalkError as exc:
            outcome = Outcome([], exc)
        verdict(name, world, outcome, strict=strict)
    return tally(name)


# Realistic: about half the page boundaries inside a tie group, an arrival every few requests, now and then
# in the newest second, a slow transaction now and then.
BUSY = Hazards(entries=1000, tie_density=0.5, top=0.3, same_second=0.1, late=0.03)
REALISTIC = {
    "quiet": replace(BUSY, top=0.0, same_second=0.0, late=0.0),  # only reordered ties
    "busy": replace(BUSY, late=0.0),
    "busy+late": BUSY,
    "busy+late 15/page": replace(BUSY, per_page=15),
    "bulk": replace(BUSY, big_ties=2),  # tie groups longer than a page
    "heavy late": replace(BUSY, late=0.2),
}


@pytest.mark.parametrize("name", sorted(REALISTIC))
def test_incomplete_rates_under_realistic_hazards(name: str) -> None:
    """How often a walk gives up when nothing is wrong but the usual (see the report): no loss, few alarms."""
    record = in_process(f"rate {name}", REALISTIC[name], range(30))
    assert record.losses == 0
    # A walk that gives up under everyday conditions is a false alarm the user cannot act on.
    assert record.incomplete <= record.walks // 10, record.line(name)


@pytest.mark.parametrize("group", [80, 120, 200])
def test_incomplete_rates_with_one_bulk_second(group: int) -> None:
    """Nothing arrives; one second holds a bulk change of ``group`` entries in a history of 300 (12 pages).

    Every re-read shows 25 of the group in a new order, so proving it whole takes about
    ``group / 25 * ln(group)`` reads of its pages, against a budget of ``2 * pages + 8``: reported, no loss.
    """
    record = in_process(f"rate one bulk second of {group} in 300", Hazards(tie_density=0.5, group=group), range(20))
    assert record.losses == 0


@pytest.mark.parametrize("concurrency", [1, 8])
def test_incomplete_rates_over_http(concurrency: int) -> None:
    """The same over HTTP with the sync client (a concurrent walk sees hazards between its own requests)."""
    name = f"rate http c={concurrency} busy+late+bulk"
    for seed in range(10):
        world = World(replace(BUSY, big_ties=1), seed=seed)
        with serve(world) as url:
            outcome = walk_sync(url, lambda api: api.logs(concurrency=concurrency))
        verdict(name, world, outcome)
    assert tally(name).incomplete <= 1, tally(name).line(name)


# -- lies: answers that do not agree with each other ----------------------------------------------
#
# The proof assumes that an answer's total_entries counts the very set its page was cut from, that the
# answer is the page asked for, and that one server has one page size. Chatwoot computes total_entries
# with a COUNT query in the controller and the page with a SELECT when the view renders it: two statements,
# each with its own READ COMMITTED snapshot, so an entry committed between them is on the page and not in
# the total ("count_lags"). A rolling upgrade across v4.14.0/v4.14.1 puts servers of 15 and 25 a page behind
# one balancer ("per_page_flip"). A cache may replay an answer ("repeat") or ignore ?page= ("ignore_page").

LIES = {
    "count_lags": replace(TIES, count_lags=0.2, top=0.2),
    "count_leads": replace(TIES, count_leads=0.2, top=0.2),
    "phantom": replace(TIES, phantom=0.05, top=0.2),
    "repeat": replace(TIES, repeat=0.1, top=0.2),
    "per_page_flip": replace(TIES, flip_per_page=0.3),
    "ignore_page": replace(TIES, ignore_page=True),
}
LOSES = {"count_lags", "count_leads"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason="silent loss: see the minimal reproductions below"))
        if name in LOSES
        else name
        for name in sorted(LIES)
    ],
)
def test_lying_answers_sequential(name: str) -> None:
    """Answers that lie a little, over HTTP, one request at a time (deterministic): a loss fails."""
    for seed in range(6):
        world = World(LIES[name], seed=seed * 5 + 1)
        with serve(world) as url:
            outcome = walk_sync(url, lambda api: api.logs())
        verdict(f"lie c=1 {name}", world, outcome)


@pytest.mark.parametrize("name", sorted(LIES))
def test_lying_answers_concurrent(name: str) -> None:
    """The same with concurrency 8: only tallied (the order of requests depends on threads)."""
    for seed in range(4):
        world = World(LIES[name], seed=seed * 5 + 8)
        with serve(world) as url:
            outcome = walk_sync(url, lambda api: api.logs(concurrency=8))
        verdict(f"lie c=8 {name}", world, outcome, strict=False)


def test_export_command_with_a_lagging_total(tmp_path: Path) -> None:
    """50 entries, no ties, nothing else happening: one entry commits between the COUNT and the SELECT of
    the request for page 2. ``chatwoot-audit export`` exits 0, removes its resume state, and one entry that
    existed from the start is not in the file."""
    world = World(Hazards(entries=50, tie_density=0.0, reorder=False, lag_at=2), seed=1)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    out = tmp_path / "audit.jsonl"
    with serve(world) as url:
        done = run_cli(
            [
                "export",
                *("--base-url", url, "--account-id", str(ACCOUNT), "--token-file", str(token_file)),
                *("--no-progress", "--concurrency", "1", "--output", str(out)),
            ],
            clean_env(),
            timeout=60,
        )
    assert done.returncode in (0, 6), done.stderr
    if done.returncode == 0:
        ids = {json.loads(line)["id"] for line in out.read_text().splitlines()}
        assert world.owed_in() <= ids, f"exit 0 without {sorted(world.owed_in() - ids)}"


def test_count_lag_loss_rate_under_realistic_hazards() -> None:
    """Realistic walks where, now and then, an entry commits between Chatwoot's COUNT and its SELECT.

    One request in 200 (an arrival every few requests, a few ms between the two statements): tallied only.
    """
    in_process("lie rate busy+late count_lags=0.005", replace(BUSY, count_lags=0.005), range(40), strict=False)


@pytest.mark.xfail(reason="silent loss: a total that lags its page by one entry")
def test_count_lag_loses_entries_under_realistic_hazards() -> None:
    """One request in 50 lagging: some walks of 1000 entries lose an entry and report success."""
    record = in_process("lie rate busy+late count_lags=0.02", replace(BUSY, count_lags=0.02), range(20))
    assert record.losses == 0


# -- minimal reproductions (pure planner and ledger, no HTTP) -------------------------------------------------


def log(entry_id: int, stamp: int) -> AuditLog:
    return AuditLog(id=entry_id, action="update", created_at=to_datetime(stamp))


def page_of(number: int, per_page: int, total: int, rows: list[tuple[int, int]]) -> AuditLogPage:
    """Page ``number`` of ``rows`` ((id, stamp), newest first) as a server of ``per_page`` cuts it."""
    begin = (number - 1) * per_page
    items = tuple(log(entry_id, stamp) for entry_id, stamp in rows[begin : begin + per_page])
    return AuditLogPage(items=items, current_page=number, per_page=per_page, total_entries=total)


def walk_in_process(serve_page: Callable[[int], AuditLogPage]) -> list[int]:
    """A full sequential walk with the completeness check, as ChatwootAudit.logs() drives it."""
    return drive(Planner(LogWalk(), check_completeness=True), serve_page)


T = 1_781_000_000


@pytest.mark.parametrize("entries", [50, 250])
def test_repro_count_lags_on_the_last_page(entries: int) -> None:
    """No ties, no late commit: one entry committing at the top between the COUNT and the SELECT of the
    request for the last (full) page. That answer's total is one short, so it holds no page 3 and its cuts
    say one entry too few lies below them; the band to the end of the list certifies without the oldest.

    Sequence (entries=50): p1 total 50 ids 150..126; [entry 500 commits] p2 total 50 (COUNT before it)
    ids 126..102 (SELECT after it); p1 total 51; p1 total 51; p2 total 51 ids 126..102; end: 49 of 50
    yielded, entry 101 never, no error.
    """
    rows = [(entries + 100 - i, T - 10 * i) for i in range(entries)]
    owed = {entry_id for entry_id, _ in rows}
    last = entries // 25
    requests = 0

    def serve_page(number: int) -> AuditLogPage:
        nonlocal requests
        requests += 1
        lag = 0
        if requests == last:  # the first request for the last page
            rows.insert(0, (500, T + 1))
            lag = 1
        return page_of(number, 25, len(rows) - lag, rows)

    try:
        out = walk_in_process(serve_page)
    except IncompleteWalkError:
        return
    assert owed <= set(out), f"lost {sorted(owed - set(out))} silently"


class Scripted:
    """Answers given by a script of (page, total, ids) for the first requests, then honest ones.

    ``rows`` is every entry (id, stamp) with ``arrives`` -- (request number, id, stamp) -- added when due;
    past the script, pages are cut from what exists, ties in the order of ``rows``.
    """

    def __init__(
        self,
        rows: list[tuple[int, int]],
        script: list[tuple[int, int, list[int]]],
        per_page: int,
        arrives: tuple[int, int, int],
    ) -> None:
        self.rows, self.script, self.per_page, self.arrives = rows, script, per_page, arrives
        self.requests = 0

    def __call__(self, number: int) -> AuditLogPage:
        self.requests += 1
        when, entry_id, stamp = self.arrives
        if self.requests == when:
            self.rows.insert(0, (entry_id, stamp))
        stamps = dict(self.rows)
        if self.requests <= len(self.script) and self.script[self.requests - 1][0] == number:
            _, total, ids = self.script[self.requests - 1]
            items = tuple(log(i, stamps[i]) for i in ids)
            return AuditLogPage(items=items, current_page=number, per_page=self.per_page, total_entries=total)
        return page_of(number, self.per_page, len(self.rows), self.rows)


@pytest.mark.xfail(reason="silent loss: a lagging total mid-walk, with ties reordered")
def test_repro_count_lags_mid_walk_with_ties() -> None:
    """Five entries (5 and 4 at second 1050; 3, 2, 1 at 1040), two a page. Entry 100 (1051) commits between
    the COUNT and the SELECT of request 2: that answer says 5 entries and shows page 2 of 6. Entry 2 is
    never shown; the walk ends without an error.

    p1 total 5 [4, 5]; p2 total 5 [4, 1] (lags); p3 total 6 [3, 1]; p1 total 6 [100, 4]; p2 total 6 [4, 3].
    """
    rows = [(5, 1050), (4, 1050), (3, 1040), (2, 1040), (1, 1040)]
    script = [(1, 5, [4, 5]), (2, 5, [4, 1]), (3, 6, [3, 1]), (1, 6, [100, 4]), (2, 6, [4, 3])]
    serve_page = Scripted(rows, script, 2, arrives=(2, 100, 1051))
    try:
        out = walk_in_process(serve_page)
    except IncompleteWalkError:
        return
    assert {1, 2, 3, 4, 5} <= set(out), f"lost {sorted({1, 2, 3, 4, 5} - set(out))} silently"


@pytest.mark.xfail(reason="silent loss: a total one above the set its page was cut from")
def test_repro_count_leads_with_ties() -> None:
    """Four entries (4, 3, 2 at 1040; 1 at 1030), two a page. Request 2 says 5 entries while its page is
    cut from the 4 (entry 100 at 1041 is visible from request 3 on). Entry 4 is never shown; no error.

    p1 total 4 [3, 2]; p2 total 5 [3, 1] (leads); p3 total 5 [1]; p1 total 5 [100, 3]; p2 total 5 [2, 3]; p3.
    """
    rows = [(4, 1040), (3, 1040), (2, 1040), (1, 1030)]
    script = [(1, 4, [3, 2]), (2, 5, [3, 1]), (3, 5, [1]), (1, 5, [100, 3]), (2, 5, [2, 3]), (3, 5, [1])]
    serve_page = Scripted(rows, script, 2, arrives=(3, 100, 1041))
    try:
        out = walk_in_process(serve_page)
    except IncompleteWalkError:
        return
    assert {1, 2, 3, 4} <= set(out), f"lost {sorted({1, 2, 3, 4} - set(out))} silently"


def test_repro_page_size_flip_in_the_ledger() -> None:
    """Four entries, distinct seconds. Page 1 from a server of 2 a page, page 2 from one of 3 (entry 2,
    at position 2, is on neither), page 1 again from the first. The re-read places page 2's head at
    ``total - 1 * 2`` (its own page size) instead of ``total - 1 * 3``: a cut saying 2 entries are at or
    below second 70 where there is 1, and the band (70, 90] certifies with entry 2 never seen.
    """
    ledger = Ledger()
    page_1 = [log(4, 100), log(3, 90)]
    ledger.start(page_1, 4)
    ledger.record(page_1, 1, 2, 4)
    ledger.record([log(1, 70)], 2, 3, 4)
    assert ledger.gaps() != []  # holds: the band (70, 90] is short
    ledger.record(page_1, 1, 2, 4)
    assert 2 in ledger or ledger.gaps() != []


@pytest.mark.parametrize("entries", [30, 300])
def test_repro_page_size_flip_walk(entries: int) -> None:
    """Nothing arrives, no ties: two servers behind a round-robin balancer, one of 15 a page (v4.14.0), one of
    25 (v4.14.1). 30 entries: 10 lost; 300: 55 lost; no error."""
    rows = [(entries - i, T - 10 * i) for i in range(entries)]
    requests = 0

    def serve_page(number: int) -> AuditLogPage:
        nonlocal requests
        requests += 1
        return page_of(number, 15 if requests % 2 else 25, entries, rows)

    try:
        out = walk_in_process(serve_page)
    except IncompleteWalkError:
        return
    assert set(range(1, entries + 1)) <= set(out), f"lost {entries - len(out)} silently"


def test_repro_repeated_answer() -> None:
    """Four entries, two a page: page 2 is answered with page 1's answer (a replay). No error, 2 of 4."""
    rows = [(4, 100), (3, 90), (2, 80), (1, 70)]
    first = page_of(1, 2, 4, rows)
    requests = 0

    def serve_page(number: int) -> AuditLogPage:
        nonlocal requests
        requests += 1
        return first if requests == 2 else page_of(number, 2, 4, rows)

    try:
        out = walk_in_process(serve_page)
    except IncompleteWalkError:
        return
    assert {1, 2, 3, 4} <= set(out), f"lost {sorted({1, 2, 3, 4} - set(out))} silently"


def test_repro_cache_ignoring_the_query_string() -> None:
    """300 entries: every request gets page 1's answer (its current_page says 1). The walk yields 25, no error."""
    rows = [(300 - i, T - 10 * i) for i in range(300)]
    first = page_of(1, 25, 300, rows)
    try:
        out = walk_in_process(lambda number: first)
    except IncompleteWalkError:
        return
    assert len(out) == 300, f"lost {300 - len(out)} silently"


def test_repro_phantom_total_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    """The control: a total one above the entries the pages hold, for good. The walk goes by the pages,
    which show where the list ends, yields every entry they hold, and warns about the count."""
    rows = [(4, 100), (3, 90), (2, 80), (1, 70)]
    with caplog.at_level("WARNING", logger="chatwoot_audit"):
        got = walk_in_process(lambda number: page_of(number, 2, 5, rows))
    assert sorted(got) == [1, 2, 3, 4]
    assert any("counts 5 entries but its pages end after 4" in r.getMessage() for r in caplog.records)


def test_long_walks_past_the_seal_never_lose_silently() -> None:
    """Walks long enough for the ledger to seal what it proved (forgetting the ids above it), calm at first
    (so that the proof advances), then with late commits anywhere, stale answers, arrivals and reordered ties."""
    calm = Hazards(entries=6000, tie_density=0.3, reorder=False)
    later = replace(calm, reorder=True, top=0.3, late=0.2, late_window=(1, 30_000), stale=0.2, same_second=0.1)
    for seed in range(2):
        world = World(calm, seed=seed)
        walk = LogWalk()
        planner = Planner(walk, concurrency=1 + 7 * seed, check_completeness=True)

        def serve_page(number: int, world: World = world) -> AuditLogPage | ChatwootError:
            if world.requests == 200:
                world.hazards = later
            return world.page(number)

        try:
            outcome = Outcome(drive(planner, serve_page), None)
        except IncompleteWalkError as exc:
            outcome = Outcome([], exc)
        verdict("long walk past the seal", world, outcome)
        assert walk.ledger._sealed is not None, "the walk never sealed: this test no longer tests that"
