"""The emulator itself: state, knobs and the answer to one request, with no sockets and no sleeping.

``Emulator.respond`` decides everything about a request (status, headers, body, fault, how long to wait);
the two faces, an httpx transport and a loopback HTTP server, only carry that out. One lock guards the
state, so knobs can be turned and entries added while requests are being served from other threads.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._archive import Archive, archive_offsets
from ._auth import INVALID_TOKEN, NO_TOKEN, NOT_FOUND, ROLES, Directory, Principal, make_token
from ._faults import FaultPlan, Faults, check_faults
from ._json import JSON
from ._knobs import Knob, count, flag, optional_count, positive_int, positive_seconds, rate, second_range, seconds
from ._params import page_param
from ._ratelimit import Clock, RateLimiter
from ._replies import (
    DASHBOARD_HTML,
    NOT_FOUND_HTML,
    Reply,
    dated,
    html_reply,
    json_reply,
    proxy_error,
    request_id,
    throttled,
)
from ._store import KEYS, Entry, EntryStore
from ._world import Draft, World

if TYPE_CHECKING:
    from .._client import AsyncChatwootAudit, ChatwootAudit
    from ._server import EmulatorServer
    from ._transport import EmulatorTransport

_ROUTE = re.compile(r"/api/v1/accounts/([^/.?]+)/audit_logs(?:\.json)?/?")
_SERVER_ERROR = {"status": 500, "error": "Internal Server Error"}
_BAD_REQUEST = {"status": 400, "error": "Bad Request"}
# The refusals a fault can stand in for, with the bodies the real server gives them.
_REFUSALS = {"401": (401, INVALID_TOKEN), "401-signin": (401, NO_TOKEN), "404": (404, NOT_FOUND)}
# A moment in June 2026, for tests that want the same timestamps on every run (as start_time= or now=).
DEFAULT_START_TIME = 1_781_000_000

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

# Above this many starting entries, all but the newest ``_SIMULATED`` are archived: kept compact and rendered
# when read, as copies of ``_MODELS`` entries the world writes first. Histories up to this size are
# simulated whole, entry by entry, as they always were.
_ARCHIVE_ABOVE = 10_000
_SIMULATED = 2_000
_MODELS = 2_048

# Knobs that write entries as ``clock`` time passes, each counted from when it was last set.
_TIMED = ("arrivals_per_second", "late_commits_per_second")


class ConnectionDropped(ConnectionError):
    """Raised by ``Emulator.handle`` when the request's fault is ``drop``: there is no answer at all."""


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it. The token is never kept, only which kind of token it was.

    ``role`` is a key of ``Emulator.tokens``, ``"unknown"`` for a token the emulator did not issue, or
    ``None`` when no token arrived. ``page`` is the page parameter as sent (``None`` when absent). ``status``
    is ``None`` when the connection was dropped. ``at`` is the emulator clock's reading.
    """

    number: int
    method: str
    path: str
    page: str | None
    status: int | None
    fault: str | None
    role: str | None
    at: float


class Emulator:
    """A fake Chatwoot server for ``GET /api/v1/accounts/{account_id}/audit_logs``, faithful to the real one.

    The knobs (``per_page``, ``feature_enabled``, ``latency``, ``slow_delay``, ``arrivals_per_request``,
    ``arrivals_per_second``, ``late_commits_per_request``, ``late_commits_per_second``, ``late_window``,
    ``unstable_ties``, ``rate_limit``, ``rate_window``, ``faults``) are also attributes, and can be changed
    from any thread while requests are served.

    seed: fixes the entries, tokens, tie order, late commits and random faults. entries: how many to start with;
    beyond 10,000 all but the newest 2,000 are kept compact and rendered when read, so a million build in well under
    a second and a page costs the same anywhere in the history. per_page: 25 (v4.14.1 and later) or 15 (v4.14.0 and
    earlier). feature_enabled: when off, every page is empty with ``total_entries`` 0, as on a server without the
    enterprise feature. latency: seconds each answer waits. arrivals_per_request: entries written after each
    request; arrivals_per_second: entries written as time passes on ``clock``. unstable_ties: the order of entries
    with the same ``created_at`` changes from one request to the next. rate_limit: requests allowed per
    ``rate_window`` seconds before 429s. faults: ``{request_number: kind}``, a ``RandomFaults`` or a function of the
    request number. slow_delay: how long a ``slow`` fault holds the answer back. clock: seconds, for the rate limit,
    timed arrivals and late commits, and the ``Date`` header (``ManualClock`` makes them deterministic). account_id:
    the main account's id; the other account and the suspended one follow it. now: the ``created_at`` of the newest
    starting entry, in Unix seconds or as an aware datetime; by default the moment the emulator is built (by the
    system clock, whatever ``clock`` is), so that its history ends now and runs back from there. Pin it to get the
    same timestamps on every run: the seed fixes the rest. start_time: instead of ``now``, the ``created_at`` of the
    oldest entry. request_log_limit: how many request records to keep (the newest).

    late_commits_per_request and late_commits_per_second: like the arrivals, but for entries whose
    transaction commits late, as a slow one does on the real server. Each is stamped a whole number of
    seconds behind the newest entry (entries from a fast clock aside), drawn uniformly from ``late_window``
    ``(lo, hi)``; it becomes visible in its place, below the top, pushing every older entry one place down;
    and its id is a free one near its neighbours', usually lower than ids that were visible before it.
    ``add_late_entries`` writes some at a moment of the caller's choosing.

    Every answer that reaches the client carries a ``Date`` header read from ``clock``, as nginx adds one
    in front of the real server. An entry from a host whose clock runs fast is ``add_entry`` with a
    ``created_at`` ahead of the others: it sorts at the top, and entries written after it keep honest
    stamps, below it, until the emulator's time has passed it.

    Order of events for one request: a fault that replaces the answer (5xx, ``drop``, ``html200``,
    ``badjson200``, ``401``, ``401-signin``, ``404``, ``429``) is decided first and does not count against
    the rate limit; then the rate limit; then routing, the token checks and the page. ``truncate`` and
    ``slow`` deform that answer. Entries due to ``arrivals_per_request``, then those due to
    ``late_commits_per_request``, are written after the answer, whatever it was.
    """

    def __init__(
        self,
        seed: int = 0,
        entries: int = 60,
        per_page: int = 25,
        feature_enabled: bool = True,
        latency: float = 0.0,
        arrivals_per_request: int = 0,
        arrivals_per_second: float = 0.0,
        unstable_ties: bool = False,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        faults: Faults = None,
        *,
        slow_delay: float = 5.0,
        clock: Clock = time.time,
        account_id: int = 1,
        now: float | datetime | None = None,
        start_time: int | None = None,
        request_log_limit: int | None = 10_000,
        late_commits_per_request: int = 0,
        late_commits_per_second: float = 0.0,
        late_window: tuple[int, int] = (1, 120),
    ) -> None:
        count(entries, "entries")
        archived = entries - _SIMULATED if entries > _ARCHIVE_ABOVE else 0
        models = _MODELS if archived else 0
        offsets = archive_offsets(seed, archived)
        archive_span = offsets[-1] if archived else 0
        if start_time is None:
            newest = int(time.time()) if now is None else _unix_seconds(now)
            start_time = newest - archive_span - _history_span(seed, account_id, entries - archived, models)
        elif now is not None:
            raise ValueError("pass now= (the newest entry) or start_time= (the oldest), not both")
        self._lock = threading.Lock()
        self._seed = seed
        self._clock = clock
        self._account_id = account_id
        self._world = World(seed, account_id, start_time)
        self._directory = Directory()
        self._tokens = {role: make_token(seed, role) for role in ROLES}
        self._setup_directory()
        archive = None
        if archived:
            world = self._world
            archive = Archive(seed, start_time, offsets, world.next_id, world.history(models))
            world.next_id = max(world.next_id, archive.max_id)
            world.now = start_time + archive_span
        self._store = EntryStore(seed, archive)
        self._requests: deque[RequestRecord] = deque(maxlen=request_log_limit)
        self._request_count = 0
        origin = clock()
        self._paces = {name: _Pace(origin) for name in _TIMED}
        self._late_rng = random.Random(f"chatwoot-audit:{seed}:late")
        self.per_page = per_page
        self.feature_enabled = feature_enabled
        self.latency = latency
        self.slow_delay = slow_delay
        self.arrivals_per_request = arrivals_per_request
        self.arrivals_per_second = arrivals_per_second
        self.late_commits_per_request = late_commits_per_request
        self.late_commits_per_second = late_commits_per_second
        self.late_window = late_window
        self.unstable_ties = unstable_ties
        self.faults = faults
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._store_drafts(self._world.take(entries - archived, arriving=False))

    def __repr__(self) -> str:
        return (
            f"Emulator(seed={self._seed}, account_id={self._account_id}, total_entries={self.total_entries}, "
            f"per_page={self.per_page})"
        )

    # ---- identities -------------------------------------------------------------------------------

    @property
    def seed(self) -> int:
        """The seed everything random derives from."""
        return self._seed

    @property
    def account_id(self) -> int:
        """The main account, the one with entries."""
        return self._account_id

    @property
    def other_account_id(self) -> int:
        """An account the administrator is not a member of (its own administrator holds ``other_account``)."""
        return self._account_id + 1

    @property
    def suspended_account_id(self) -> int:
        """A suspended account: every token is refused there with "Account is suspended"."""
        return self._account_id + 2

    @property
    def tokens(self) -> dict[str, str]:
        """Tokens by role (a copy): see ``ROLES``. They depend only on the seed."""
        return dict(self._tokens)

    @property
    def admin_token(self) -> str:
        """The token of an administrator of ``account_id``: the one that can read the audit log."""
        return self._tokens["administrator"]

    # ---- knobs ------------------------------------------------------------------------------------

    per_page = Knob(positive_int, "Entries per page (25 like v4.14.1 and later, 15 like v4.14.0 and earlier).")
    feature_enabled = Knob(flag, "Whether the audit_logs feature is on for the main account.")
    latency = Knob(seconds, "Seconds every answer waits before it is sent.")
    slow_delay = Knob(seconds, "Seconds a ``slow`` fault holds the answer back (on top of ``latency``).")
    arrivals_per_request = Knob(count, "Entries written after each request is answered.")
    arrivals_per_second = Knob(rate, "Entries written per second of ``clock`` time, counted from when set.")
    late_commits_per_request = Knob(count, "Entries that become visible late, below the top, after each request.")
    late_commits_per_second = Knob(rate, "Late-committing entries per second of ``clock`` time, counted from when set.")
    late_window = Knob(second_range, "``(lo, hi)``: how many seconds behind the newest a late entry is stamped.")
    unstable_ties = Knob(flag, "Whether entries sharing a ``created_at`` come in a new order on each request.")
    rate_limit = Knob(optional_count, "Requests allowed per ``rate_window`` (``None``: unlimited); more get 429.")
    rate_window = Knob(positive_seconds, "Length of the rate limit's window in seconds (starting at multiples).")
    faults = Knob(check_faults, "The fault plan: a schedule (kept as a copy), a ``RandomFaults``, a function or None.")

    def _knob_changed(self, name: str, value: Any) -> None:
        with self._lock:
            if name in _TIMED and f"_knob_{name}" in self.__dict__:
                # Entries due at the old rate arrive first; the new rate counts from now.
                self._catch_up()
                self._paces[name] = _Pace(self._clock())
            self.__dict__[f"_knob_{name}"] = value
            if name == "faults":
                self._fault_plan = FaultPlan(value, self._seed)
            if name in ("rate_limit", "rate_window") and "_knob_rate_window" in self.__dict__:
                self._limiter = RateLimiter(self.rate_limit, self.rate_window, self._clock)

    def configure(self, **knobs: Any) -> None:
        """Set several knobs by name, e.g. ``configure(latency=0.1, faults={3: "502"})``."""
        for name in knobs:
            if not isinstance(getattr(type(self), name, None), Knob):
                raise TypeError(f"{name!r} is not a knob of Emulator")
        for name, value in knobs.items():
            setattr(self, name, value)

    # ---- entries ----------------------------------------------------------------------------------

    @property
    def entries(self) -> list[JSON]:
        """Every stored entry of the main account as the API renders it now, newest first (a copy).

        Entries of the same second are in the order a request without ``unstable_ties`` would list them.
        Every entry is decoded: for a long history, reading pages with ``handle`` is far cheaper.
        """
        with self._lock:
            self._catch_up()
            return [json.loads(body) for body in self._store]

    @property
    def total_entries(self) -> int:
        """How many entries the main account holds (what a page reports when the feature is on)."""
        with self._lock:
            self._catch_up()
            return len(self._store)

    def add_entries(self, n: int) -> list[JSON]:
        """Write ``n`` new entries now, at the top; returns them, oldest first.

        Their ``created_at`` is at or after the newest, but for entries from a fast clock (see ``add_entry``),
        which stay above them until the emulator's time passes theirs. Their ids are larger than every other.
        """
        with self._lock:
            return [entry.as_dict() for entry in self._arrive(count(n, "n"))]

    def add_late_entries(self, n: int) -> list[JSON]:
        """Make ``n`` entries visible now whose transactions committed late; returns them as written.

        Each is stamped within ``late_window`` seconds behind the newest entry and takes its place there,
        below the top, with a free id near its neighbours' (see ``late_commits_per_request``).
        """
        with self._lock:
            return [entry.as_dict() for entry in self._commit_late(count(n, "n"))]

    def add_entry(self, **fields: Any) -> JSON:
        """Write one entry with the given fields, e.g. an older ``created_at`` that shows up late.

        Missing fields come from a sign-in of the administrator at the newest ``created_at`` (entries from a
        fast clock aside); the id is new and larger than every other unless given. Keys the API does not
        know are kept, after the others.

        A ``created_at`` ahead of the newest is an entry from a host whose clock runs fast: it sorts at the
        top, and the emulator's own time does not jump to it, so entries written after it are stamped
        honestly, below it, until enough of them have arrived for their stamps to pass it. To make it lie
        ahead of the server's ``Date`` as well, stamp it beyond the ``clock`` reading (``time.time()`` unless
        another clock was given).
        """
        with self._lock:
            admin = self._world.admin()
            admin.user.version += 1
            self._world.next_id = max(self._world.next_id, self._store.max_id) + 1
            base: JSON = {
                "id": self._world.next_id,
                "auditable_id": admin.user.id,
                "auditable_type": "User",
                "auditable": None,
                "associated_id": self._account_id,
                "associated_type": "Account",
                "user_id": admin.user.id,
                "user_type": "User",
                "username": admin.email,
                "action": "sign_in",
                "audited_changes": None,
                "version": admin.user.version,
                "comment": None,
                "request_uuid": self._world.request_uuid(),
                "created_at": self._present(),
                "remote_address": admin.ip,
            }
            merged = {**base, **fields}
            for key in ("id", "created_at"):
                if not isinstance(merged[key], int) or isinstance(merged[key], bool):
                    raise TypeError(f"{key} must be an int")
            if merged["id"] in self._store:
                raise ValueError(f"an entry with id {merged['id']} already exists")
            ordered = {key: merged[key] for key in KEYS} | {k: v for k, v in merged.items() if k not in KEYS}
            auditable = ordered.pop("auditable")
            entry = Entry.build(ordered, None, auditable)
            self._store.add(entry)
            self._world.next_id = max(self._world.next_id, entry.id)
            return entry.as_dict()

    # ---- requests ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log, oldest first (the newest ``request_log_limit`` records)."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests have been answered; the next one is number ``request_count + 1``."""
        with self._lock:
            return self._request_count

    def handle(
        self, method: str, path: str, query: str | bytes = "", headers: Headers | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request with ``(status, headers, body)``, without waiting for latency or ``slow``.

        A ``drop`` fault raises ``ConnectionDropped``; a ``truncate`` fault returns a body shorter than its
        ``content-length``. ``path`` may carry the query after ``?``.
        """
        reply = self.respond(method, path, query, headers)
        if reply.dropped:
            raise ConnectionDropped("the emulator dropped the connection without answering")
        return reply.status, dict(reply.headers), reply.body

    def respond(self, method: str, path: str, query: str | bytes = "", headers: Headers | None = None) -> Reply:
        """Answer one request with a ``Reply``: everything ``handle`` gives, plus the fault and the delay."""
        if isinstance(query, bytes):
            query = query.decode("latin-1")
        if "?" in path:
            path, _, in_path = path.partition("?")
            query = query or in_path
        fields = _header_fields(headers)
        token = fields.get("api-access-token", "").strip() or None
        with self._lock:
            self._request_count += 1
            number = self._request_count
            self._catch_up()
            rid = request_id(fields.get("x-request-id"), str(uuid.UUID(int=self._rid_bits(number), version=4)))
            fault = self._fault_plan.fault_for(number)
            page = page_param(query, self.per_page)
            role = self._role_of(token)
            reply = self._faulted(fault, method, path, query, rid, number)
            if reply is None:
                reply = (
                    self._answer(method, path, query, token, rid, number) if self._limiter.allow() else throttled(rid)
                )
                reply = _wrap(reply, fault)
            if method.upper() == "HEAD":
                reply = replace(reply, body=b"")
            reply = replace(reply, delay=self.latency + (self.slow_delay if fault == "slow" else 0.0))
            now = self._clock()
            reply = dated(reply, now)
            self._requests.append(
                RequestRecord(
                    number=number,
                    method=method.upper(),
                    path=path,
                    page=page.raw,
                    status=None if reply.dropped else reply.status,
                    fault=fault,
                    role=role,
                    at=now,
                )
            )
            if self.arrivals_per_request:
                self._arrive(self.arrivals_per_request)
            if self.late_commits_per_request:
                self._commit_late(self.late_commits_per_request)
            return reply

    def transport(self) -> EmulatorTransport:
        """An ``httpx`` transport answering from this emulator, for ``httpx.Client`` and ``httpx.AsyncClient``."""
        from ._transport import EmulatorTransport

        return EmulatorTransport(self)

    def client(self, **overrides: Any) -> ChatwootAudit:
        """A ``ChatwootAudit`` for this emulator, in process (no socket), ready for a test.

        It carries ``admin_token`` and ``account_id``, talks to ``https://chatwoot.test`` through
        ``transport()``, and retries with ``TEST_RETRY_POLICY``: waits of milliseconds, 429s included, so a
        walk through throttling and outages takes milliseconds too. ``overrides`` go to the constructor as
        they are, e.g. ``client(api_access_token="wrong")``, ``client(max_retries=0)`` or
        ``client(retry_policy=RetryPolicy())`` for the real schedule. Use it as a context manager.
        """
        from ._clients import sync_client

        return sync_client(self, overrides)

    def async_client(self, **overrides: Any) -> AsyncChatwootAudit:
        """The async twin of ``client()``: an ``AsyncChatwootAudit``, for asyncio and trio alike."""
        from ._clients import async_client

        return async_client(self, overrides)

    def serve(self, port: int = 0) -> EmulatorServer:
        """Serve over HTTP/1.1 on 127.0.0.1 (``port=0``: a free port) until the returned server is closed."""
        from ._server import EmulatorServer

        return EmulatorServer(self, port=port)

    # ---- internals (called with the lock held) ----------------------------------------------------

    def _answer(self, method: str, path: str, query: str, token: str | None, rid: str, number: int) -> Reply:
        route = _ROUTE.fullmatch(path)
        if route is None or method.upper() not in ("GET", "HEAD"):
            return html_reply(404, NOT_FOUND_HTML, rid)
        decision = self._directory.decide(route.group(1), token)
        if decision.status is not None:
            return json_reply(decision.status, decision.payload, rid)
        page = page_param(query, self.per_page)
        if page.error is not None:
            return json_reply(page.error, _SERVER_ERROR if page.error == 500 else _BAD_REQUEST, rid)
        return json_reply(200, self._page_body(page.number, decision.account_id, number), rid)

    def _faulted(self, fault: str | None, method: str, path: str, query: str, rid: str, number: int) -> Reply | None:
        # These faults stand in for the whole answer: the app never sees the request.
        if fault == "drop":
            return Reply(0, fault="drop")
        if fault == "500":
            return replace(json_reply(500, _SERVER_ERROR, rid), fault=fault)
        if fault in ("502", "503", "504"):
            return replace(proxy_error(int(fault)), fault=fault)
        if fault == "html200":
            return replace(html_reply(200, DASHBOARD_HTML, rid), fault=fault)
        if fault in _REFUSALS:
            status, payload = _REFUSALS[fault]
            return replace(json_reply(status, payload, rid), fault=fault)
        if fault == "429":
            return replace(throttled(rid), fault=fault)
        if fault == "badjson200":
            page = page_param(query, self.per_page)
            body = self._page_body(page.number, self._account_id, number)
            broken = body[: max(1, len(body) // 2)]
            return replace(json_reply(200, broken, rid), fault=fault)
        return None

    def _page_body(self, page: int, account_id: int | None, number: int) -> bytes:
        per_page = self.per_page
        if account_id != self._account_id or not self.feature_enabled:
            total, items = 0, []
        else:
            total = len(self._store)
            shuffle = number if self.unstable_ties else None
            items = self._store.page(per_page * (page - 1), per_page, shuffle)
        head = b'{"per_page":%d,"total_entries":%d,"current_page":%d,"audit_logs":[' % (per_page, total, page)
        return head + b",".join(items) + b"]}"

    def _role_of(self, token: str | None) -> str | None:
        if token is None:
            return None
        principal = self._directory.tokens.get(token)
        return principal.role if principal else "unknown"

    def _rid_bits(self, number: int) -> int:
        return random.Random(f"chatwoot-audit:{self._seed}:rid:{number}").getrandbits(128)

    def _arrive(self, count: int) -> list[Entry]:
        self._world.next_id = max(self._world.next_id, self._store.max_id)
        return self._store_drafts(self._world.take(count, arriving=True))

    def _catch_up(self) -> None:
        arrivals, late = self.arrivals_per_second, self.late_commits_per_second
        if arrivals <= 0 and late <= 0:
            return
        now = self._clock()
        if arrivals > 0 and (due := self._paces["arrivals_per_second"].due(now, arrivals)):
            self._arrive(due)
        if late > 0 and (due := self._paces["late_commits_per_second"].due(now, late)):
            self._commit_late(due)

    def _present(self) -> int:
        # The world's clock runs ahead of the store only by entries still pending, and behind it only when
        # an entry from a fast clock sits on top: the smaller of the two is the newest honest stamp.
        newest = self._store.newest
        return self._world.now if newest is None else min(newest, self._world.now)

    def _store_drafts(self, drafts: list[Draft]) -> list[Entry]:
        # Drafts are stamped by the world's clock, which never runs behind an honest entry: they land at the
        # top, or below entries from a fast clock. Only ids need catching up, past any given to add_entry.
        stored = []
        for draft in drafts:
            fields = dict(draft.fields)
            if fields["id"] <= self._store.max_id:
                fields["id"] = self._store.max_id + 1
            self._world.next_id = max(self._world.next_id, fields["id"])
            entry = Entry.build(fields, draft.record)
            self._store.add(entry)
            stored.append(entry)
        return stored

    def _commit_late(self, count: int) -> list[Entry]:
        low, high = self.late_window
        stored = []
        for draft in self._world.take_late(count):
            fields = dict(draft.fields)
            present = self._present()
            fields["created_at"] = self._late_rng.randint(present - high, present - low)
            fields["id"] = self._store.free_id_near(fields["created_at"], self._late_rng)
            entry = Entry.build(fields, draft.record)
            self._store.add(entry)
            stored.append(entry)
        return stored

    def _setup_directory(self) -> None:
        directory, world = self._directory, self._world
        directory.accounts = {self._account_id: False, self.other_account_id: False, self.suspended_account_id: True}
        admin, agent = world.admin().user.id, world.agent().user.id
        other, suspended = _outside_users(world)
        directory.roles = {
            (self._account_id, admin): "administrator",
            (self._account_id, agent): "agent",
            (self.other_account_id, other): "administrator",
            (self.suspended_account_id, suspended): "administrator",
        }
        owners = {
            "administrator": Principal("administrator", admin),
            "agent": Principal("agent", agent),
            "bot": Principal("bot"),
            "platform_app": Principal("platform_app"),
            "other_account": Principal("other_account", other),
            "suspended": Principal("suspended", suspended),
        }
        directory.tokens = {self._tokens[role]: owner for role, owner in owners.items()}


@dataclass
class _Pace:
    """How many entries a rate per second of clock time has written since ``origin``."""

    origin: float
    done: int = 0

    def due(self, now: float, per_second: float) -> int:
        """How many more are due at ``now``, counted as written."""
        due = max(0, int((now - self.origin) * per_second) - self.done)
        self.done += due
        return due


@lru_cache(maxsize=64)
def _history_span(seed: int, account_id: int, entries: int, models: int) -> int:
    """Seconds from the oldest to the newest of the first ``entries`` a world with this seed writes
    after ``models`` entries of its past (see ``World.history``).

    Steps between entries come from the seed alone, never from the time they start at, so a world started
    this many seconds before a moment ends exactly at it.
    """
    world = World(seed, account_id, 0)
    # The same draws as the emulator's own world makes before its first entry.
    _outside_users(world)
    world.history(models)
    drafts = world.take(entries, arriving=False)
    return int(drafts[-1].fields["created_at"]) if drafts else 0


def _outside_users(world: World) -> tuple[int, int]:
    # The administrators of the other account and of the suspended one: users outside the main account.
    return world.new_user_id() + 1000, world.new_user_id() + 1000


def _unix_seconds(moment: float | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("now must be an aware datetime (with a timezone) or Unix seconds")
        return math.floor(moment.timestamp())
    if isinstance(moment, bool) or not isinstance(moment, int | float) or not math.isfinite(moment):
        raise TypeError(f"now must be Unix seconds or an aware datetime, not {moment!r}")
    # created_at has whole seconds: a moment within a second belongs to that second.
    return math.floor(moment)


def _wrap(reply: Reply, fault: str | None) -> Reply:
    # Faults that deform the app's own answer rather than replace it.
    if fault == "truncate":
        return replace(reply, body=reply.body[: len(reply.body) // 2], fault=fault)
    if fault == "slow":
        return replace(reply, fault=fault)
    return reply


def _header_fields(headers: Headers | None) -> dict[str, str]:
    # Header names are case-insensitive, and Rack maps '-' and '_' to the same variable: both spellings of
    # the token header reach the same check. The last of several values wins, as in Rack's env.
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name.lower().replace("_", "-"): value for name, value in items}
