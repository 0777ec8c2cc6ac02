"""The emulator itself: state, knobs and the answer to one request, with no sockets and no sleeping.

``Emulator.respond`` decides everything about a request (status, headers, body, fault, how long to wait);
the two faces, an httpx transport and a loopback HTTP server, only carry that out. One lock guards the
state, so knobs can be turned and entries added while requests are being served from other threads.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ._auth import ROLES, Directory, Principal, make_token
from ._faults import FaultPlan, Faults, check_faults
from ._json import JSON
from ._knobs import Knob, count, flag, optional_count, positive_int, positive_seconds, seconds
from ._params import page_param
from ._ratelimit import Clock, RateLimiter
from ._replies import (
    DASHBOARD_HTML,
    NOT_FOUND_HTML,
    Reply,
    html_reply,
    json_reply,
    proxy_error,
    request_id,
    throttled,
)
from ._store import KEYS, Entry, EntryStore
from ._world import Draft, World

if TYPE_CHECKING:
    from ._server import EmulatorServer
    from ._transport import EmulatorTransport

_ROUTE = re.compile(r"/api/v1/accounts/([^/.?]+)/audit_logs(?:\.json)?/?")
_SERVER_ERROR = {"status": 500, "error": "Internal Server Error"}
_BAD_REQUEST = {"status": 400, "error": "Bad Request"}
# A fixed moment in June 2026 so that a seed gives the same timestamps on every run.
DEFAULT_START_TIME = 1_781_000_000

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


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
    ``arrivals_per_second``, ``unstable_ties``, ``rate_limit``, ``rate_window``, ``faults``) are also
    attributes, and can be changed from any thread while requests are served.

    seed: fixes the entries, tokens, tie order and random faults. entries: how many to start with.
    per_page: 25 (v4.14.1 and later) or 15 (v4.14.0 and earlier). feature_enabled: when off, every page is
    empty with ``total_entries`` 0, as on a server without the enterprise feature. latency: seconds each
    answer waits. arrivals_per_request: entries written after each request; arrivals_per_second: entries
    written as time passes on ``clock``. unstable_ties: the order of entries with the same ``created_at``
    changes from one request to the next. rate_limit: requests allowed per ``rate_window`` seconds before
    429s. faults: ``{request_number: kind}``, a ``RandomFaults`` or a function of the request number.
    slow_delay: how long a ``slow`` fault holds the answer back. clock: seconds, for the rate limit and
    timed arrivals (``ManualClock`` makes both deterministic). account_id: the main account's id; the
    other account and the suspended one follow it. start_time: ``created_at`` of the oldest entry.
    request_log_limit: how many request records to keep (the newest).

    Order of events for one request: a fault that replaces the answer (5xx, ``drop``, ``html200``,
    ``badjson200``) is decided first and does not count against the rate limit; then the rate limit; then
    routing, the token checks and the page. ``truncate`` and ``slow`` deform that answer. Entries due to
    ``arrivals_per_request`` are written after the answer, whatever it was.
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
        start_time: int = DEFAULT_START_TIME,
        request_log_limit: int | None = 10_000,
    ) -> None:
        count(entries, "entries")
        self._lock = threading.Lock()
        self._seed = seed
        self._clock = clock
        self._account_id = account_id
        self._world = World(seed, account_id, start_time)
        self._store = EntryStore(seed)
        self._directory = Directory()
        self._tokens = {role: make_token(seed, role) for role in ROLES}
        self._setup_directory()
        self._requests: deque[RequestRecord] = deque(maxlen=request_log_limit)
        self._request_count = 0
        self._timed_origin = clock()
        self._timed_arrived = 0
        self.per_page = per_page
        self.feature_enabled = feature_enabled
        self.latency = latency
        self.slow_delay = slow_delay
        self.arrivals_per_request = arrivals_per_request
        self.arrivals_per_second = arrivals_per_second
        self.unstable_ties = unstable_ties
        self.faults = faults
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._store_drafts(self._world.take(entries, arriving=False))

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
    arrivals_per_second = Knob(seconds, "Entries written per second of ``clock`` time, counted from when set.")
    unstable_ties = Knob(flag, "Whether entries sharing a ``created_at`` come in a new order on each request.")
    rate_limit = Knob(optional_count, "Requests allowed per ``rate_window`` (``None``: unlimited); more get 429.")
    rate_window = Knob(positive_seconds, "Length of the rate limit's window in seconds (starting at multiples).")
    faults = Knob(check_faults, "The fault plan: a schedule (kept as a copy), a ``RandomFaults``, a function or None.")

    def _knob_changed(self, name: str, value: Any) -> None:
        with self._lock:
            if name == "arrivals_per_second" and f"_knob_{name}" in self.__dict__:
                # Entries due at the old rate arrive first; the new rate counts from now.
                self._arrive_on_time()
                self._timed_origin, self._timed_arrived = self._clock(), 0
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
        """
        with self._lock:
            self._arrive_on_time()
            return [entry.as_dict() for entry in self._store]

    @property
    def total_entries(self) -> int:
        """How many entries the main account holds (what a page reports when the feature is on)."""
        with self._lock:
            self._arrive_on_time()
            return len(self._store)

    def add_entries(self, n: int) -> list[JSON]:
        """Write ``n`` new entries now (``created_at`` at or after the newest); returns them, oldest first."""
        with self._lock:
            return [entry.as_dict() for entry in self._arrive(count(n, "n"))]

    def add_entry(self, **fields: Any) -> JSON:
        """Write one entry with the given fields, e.g. an older ``created_at`` that shows up late.

        Missing fields come from a sign-in of the administrator at the newest ``created_at``; the id is new
        and larger than every other unless given. Keys the API does not know are kept, after the others.
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
                "created_at": self._store.newest or self._world.now,
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
            self._world.now = max(self._world.now, entry.created_at)
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
            self._arrive_on_time()
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
            self._requests.append(
                RequestRecord(
                    number=number,
                    method=method.upper(),
                    path=path,
                    page=page.raw,
                    status=None if reply.dropped else reply.status,
                    fault=fault,
                    role=role,
                    at=self._clock(),
                )
            )
            if self.arrivals_per_request:
                self._arrive(self.arrivals_per_request)
            return reply

    def transport(self) -> EmulatorTransport:
        """An ``httpx`` transport answering from this emulator, for ``httpx.Client`` and ``httpx.AsyncClient``."""
        from ._transport import EmulatorTransport

        return EmulatorTransport(self)

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
        return head + b",".join(entry.render() for entry in items) + b"]}"

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

    def _arrive_on_time(self) -> None:
        if self.arrivals_per_second <= 0:
            return
        due = int((self._clock() - self._timed_origin) * self.arrivals_per_second) - self._timed_arrived
        if due > 0:
            self._timed_arrived += due
            self._arrive(due)

    def _store_drafts(self, drafts: list[Draft]) -> list[Entry]:
        stored = []
        for draft in drafts:
            fields = dict(draft.fields)
            newest = self._store.newest
            if newest is not None and fields["created_at"] < newest:
                fields["created_at"] = newest
            if fields["id"] <= self._store.max_id:
                fields["id"] = self._store.max_id + 1
            self._world.now = max(self._world.now, fields["created_at"])
            self._world.next_id = max(self._world.next_id, fields["id"])
            entry = Entry.build(fields, draft.record)
            self._store.add(entry)
            stored.append(entry)
        return stored

    def _setup_directory(self) -> None:
        directory, world = self._directory, self._world
        directory.accounts = {self._account_id: False, self.other_account_id: False, self.suspended_account_id: True}
        admin, agent = world.admin().user.id, world.agent().user.id
        other, suspended = world.new_user_id() + 1000, world.new_user_id() + 1000
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
