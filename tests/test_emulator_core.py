"""The emulator's pure core: answers, data, knobs and reproducibility, with no sockets."""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from typing import Any

import pytest

from chatwoot_audit.testing import (
    FAULT_KINDS,
    ROLES,
    ConnectionDropped,
    Emulator,
    ManualClock,
    RandomFaults,
)
from chatwoot_audit.testing._store import KEYS
from chatwoot_audit.testing._world import COVERAGE

PATH = "/api/v1/accounts/{}/audit_logs"
ALWAYS_NULL = {
    "Inbox",
    "Account",
    "Webhook",
    "Macro",
    "AutomationRule",
    "InboxMember",
    "TeamMember",
    "Conversation",
    "SlaPolicy",
}


def get(emu: Emulator, query: str = "", token: str | None = "admin", account: int | None = None) -> Any:
    """GET a page from the core and return (status, headers, decoded JSON or raw text)."""
    headers = {} if token is None else {"api_access_token": emu.admin_token if token == "admin" else token}
    status, reply_headers, body = emu.handle("GET", PATH.format(account or emu.account_id), query, headers)
    try:
        return status, reply_headers, json.loads(body)
    except ValueError:
        return status, reply_headers, body


def walk(emu: Emulator) -> list[int]:
    """Ids of every page from 1 until an empty one, as a client would collect them."""
    ids: list[int] = []
    for page in range(1, 500):
        _, _, data = get(emu, f"page={page}")
        if not data["audit_logs"]:
            return ids
        ids += [entry["id"] for entry in data["audit_logs"]]
    raise AssertionError("the walk did not end")


# ---- authentication and errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "account", "status", "body"),
    [
        (None, "main", 401, {"errors": ["You need to sign in or sign up before continuing."]}),
        ("unknown", "main", 401, {"error": "Invalid Access Token"}),
        ("bot", "main", 401, {"error": "Access to this endpoint is not authorized for bots"}),
        ("platform_app", "main", 401, {"error": "Access to this endpoint is not authorized for bots"}),
        ("other_account", "main", 401, {"error": "You are not authorized to access this account"}),
        ("agent", "main", 401, {"error": "You are not authorized to do this action"}),
        ("suspended", "suspended", 401, {"error": "Account is suspended"}),
        ("administrator", "suspended", 401, {"error": "Account is suspended"}),
        ("administrator", "missing", 404, {"error": "Resource could not be found"}),
        ("bot", "missing", 401, {"error": "Access to this endpoint is not authorized for bots"}),
    ],
)
def test_error_table(role: str | None, account: str, status: int, body: dict[str, Any]) -> None:
    """Each refusal has the real status and body shape, in the order the server checks."""
    emu = Emulator(seed=1, entries=10)
    token = None if role is None else ("not-a-token" if role == "unknown" else emu.tokens[role])
    account_id = {"main": emu.account_id, "suspended": emu.suspended_account_id, "missing": 9999}[account]
    got_status, headers, data = get(emu, token=token, account=account_id)
    assert (got_status, data) == (status, body)
    assert headers["content-type"] == "application/json; charset=utf-8"


def test_feature_disabled_is_an_empty_200() -> None:
    """With the feature off the page is empty and total_entries is 0, indistinguishable from no entries."""
    emu = Emulator(seed=1, entries=30, feature_enabled=False)
    assert get(emu, "page=1")[2] == {"per_page": 25, "total_entries": 0, "current_page": 1, "audit_logs": []}
    assert get(emu, "page=3")[2]["current_page"] == 3
    emu.feature_enabled = True
    assert get(emu)[2]["total_entries"] == 30


def test_feature_disabled_still_checks_the_token() -> None:
    """Authorisation runs before the feature check."""
    emu = Emulator(seed=1, feature_enabled=False)
    assert get(emu, token=emu.tokens["agent"])[0] == 401


@pytest.mark.parametrize("name", ["api_access_token", "Api-Access-Token", "API_ACCESS_TOKEN", "api-access-token"])
def test_both_token_header_spellings(name: str) -> None:
    """Underscored and dashed header names, in any case, reach the same check."""
    emu = Emulator(seed=1, entries=5)
    assert emu.handle("GET", PATH.format(emu.account_id), "", {name: emu.admin_token})[0] == 200


def test_blank_token_counts_as_no_token() -> None:
    """A blank header is treated as absent, like Rails' present?."""
    emu = Emulator(seed=1)
    status, _, body = emu.handle("GET", PATH.format(emu.account_id), "", [("api_access_token", "  ")])
    assert status == 401
    assert "errors" in json.loads(body)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", PATH), ("DELETE", PATH), ("GET", "/api/v1/accounts/{}/audit_log"), ("GET", "/api/v2/accounts/{}/x")],
)
def test_other_routes_are_the_html_404(method: str, path: str) -> None:
    """Only GET on the audit-log route reaches the API; anything else is Rails' HTML 404."""
    emu = Emulator(seed=1)
    status, headers, body = emu.handle(method, path.format(emu.account_id), "", {"api_access_token": emu.admin_token})
    assert status == 404
    assert headers["content-type"].startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")


def test_head_has_headers_but_no_body() -> None:
    """HEAD is routed like GET and answered without a body."""
    emu = Emulator(seed=1)
    status, headers, body = emu.handle("HEAD", PATH.format(emu.account_id), "", {"api_access_token": emu.admin_token})
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) > 0


def test_account_segment_is_cast_like_to_i() -> None:
    """Rails finds account 1 for "1-acme"."""
    emu = Emulator(seed=1, entries=5)
    assert get(emu, account=None)[0] == 200
    status, _, _ = emu.handle(
        "GET", f"/api/v1/accounts/{emu.account_id}-acme/audit_logs", "", {"api_access_token": emu.admin_token}
    )
    assert status == 200


def test_request_id_echoes_a_cleaned_caller_id() -> None:
    """x-request-id is the caller's X-Request-Id without unsafe characters, else a fresh UUID."""
    emu = Emulator(seed=1)
    headers = {"api_access_token": emu.admin_token, "X-Request-Id": "trace 42/<x>"}
    assert emu.handle("GET", PATH.format(emu.account_id), "", headers)[1]["x-request-id"] == "trace42x"
    fresh = emu.handle("GET", PATH.format(emu.account_id), "", {"api_access_token": emu.admin_token})[1]
    uuid.UUID(fresh["x-request-id"])


# ---- pagination ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("", 1),
        ("page=", 1),
        ("page", 1),
        ("page=0", 1),
        ("page=-4", 1),
        ("page=abc", 1),
        ("page=2.9", 2),
        ("page=2abc", 2),
        ("page=+2", 2),
        ("page=%202", 2),
        ("page=1_0", 10),
        ("page=1&page=3", 3),
        ("page[]=1&page=2", 2),
        ("per_page=100&page=2", 2),
    ],
)
def test_page_coercion(query: str, page: int) -> None:
    """page is read like Ruby's to_i, and anything below 1 is page 1."""
    emu = Emulator(seed=2, entries=300)
    status, _, data = get(emu, query)
    assert status == 200
    assert data["current_page"] == page
    assert [entry["id"] for entry in data["audit_logs"]] == [e["id"] for e in emu.entries[25 * (page - 1) : 25 * page]]


@pytest.mark.parametrize(
    ("query", "status"), [("page[]=1", 500), ("page[x]=1", 500), ("page=1&page[]=2", 400), ("page=%zz", 400)]
)
def test_unusable_page_parameter(query: str, status: int) -> None:
    """An array or hash page is a 500 (to_i on an Array); a malformed query is a 400."""
    emu = Emulator(seed=2)
    got, _, data = get(emu, query)
    assert got == status
    assert data["status"] == status


def test_page_past_the_end() -> None:
    """A page past the end is an empty 200 echoing the page asked for."""
    emu = Emulator(seed=2, entries=30)
    assert get(emu, "page=7")[2] == {"per_page": 25, "total_entries": 30, "current_page": 7, "audit_logs": []}


def test_absurd_page_fails_in_the_database() -> None:
    """An offset beyond PostgreSQL's bigint makes the query fail: 500."""
    emu = Emulator(seed=2)
    assert get(emu, f"page={10**30}")[0] == 500


@pytest.mark.parametrize("per_page", [25, 15, 7])
def test_pages_cover_the_entries_in_order(per_page: int) -> None:
    """Pages of per_page entries, newest first by created_at, concatenate to every entry once."""
    emu = Emulator(seed=3, entries=103, per_page=per_page)
    _, _, first = get(emu, "per_page=100")
    assert first["per_page"] == per_page
    assert len(first["audit_logs"]) == per_page
    ids = walk(emu)
    assert ids == [entry["id"] for entry in emu.entries]
    times = [entry["created_at"] for entry in emu.entries]
    assert times == sorted(times, reverse=True)


def test_body_has_exactly_the_real_keys() -> None:
    """The top level has four keys; every entry has every key of the real server, in its order."""
    emu = Emulator(seed=4, entries=40)
    _, _, data = get(emu)
    assert list(data) == ["per_page", "total_entries", "current_page", "audit_logs"]
    for entry in data["audit_logs"]:
        assert tuple(entry) == KEYS
        assert isinstance(entry["created_at"], int)


def test_stable_order_without_unstable_ties() -> None:
    """Without unstable ties, the same page comes back byte for byte (but for the request id)."""
    emu = Emulator(seed=5, entries=80)
    assert len({get(emu, "page=2")[2]["audit_logs"].__repr__() for _ in range(5)}) == 1


# ---- data ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_seeded_data_covers_every_type_and_action(seed: int) -> None:
    """The default 60 entries hold every auditable type and action the real server writes."""
    entries = Emulator(seed=seed).entries
    assert len(entries) == 60
    seen = {(entry["action"], entry["auditable_type"]) for entry in entries}
    assert {pair for pair in COVERAGE if pair[0] != "system"} <= seen
    assert any(entry["user_id"] is None for entry in entries)


def test_seeded_data_is_realistic() -> None:
    """Nulls, pairs, string enums, ties, id gaps and foreign request ids appear where the server has them."""
    entries = [entry for seed in range(6) for entry in Emulator(seed=seed, entries=150).entries]
    for entry in entries:
        if entry["auditable_type"] in ALWAYS_NULL:
            assert entry["auditable"] is None
        if entry["action"] in ("sign_in", "sign_out"):
            assert entry["auditable_type"] == "User"
            assert entry["audited_changes"] is None
            assert entry["auditable"] is None
        if entry["action"] == "update":
            assert all(isinstance(v, list) and len(v) == 2 and v[0] != v[1] for v in entry["audited_changes"].values())
        if entry["action"] == "create" and entry["auditable_type"] != "User":
            assert entry["version"] == 1
        if entry["user_id"] is None:
            assert entry["user_type"] is None
            assert entry["username"] is None
            assert entry["remote_address"] is None
        else:
            assert entry["user_type"] == "User"
            assert "@" in entry["username"]
        assert entry["associated_type"] == "Account"
        assert entry["comment"] is None
    destroyed = [entry for entry in entries if entry["action"] == "destroy"]
    assert any(isinstance(entry["audited_changes"].get("role"), str) for entry in destroyed)
    assert any(isinstance(entry["audited_changes"].get("webhook_type"), int) for entry in destroyed)
    assert any(entry["auditable"] is not None for entry in entries)
    assert any(entry["auditable"] is None and entry["auditable_type"] == "Team" for entry in entries)
    assert any(_is_not_uuid(entry["request_uuid"]) for entry in entries)
    assert max(Counter(entry["created_at"] for entry in entries).values()) >= 3
    creates = [entry["audited_changes"] for entry in entries if entry["action"] == "create"]
    assert any(isinstance(v, list) and len(v) == 2 for changes in creates for v in changes.values())
    for seed in range(3):
        ids = [entry["id"] for entry in Emulator(seed=seed, entries=100).entries]
        assert len(set(ids)) == len(ids)
        assert any(a - b > 1 for a, b in itertools.pairwise(ids))


def _is_not_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return True
    return len(text) != 36


def test_auditable_is_rendered_when_read() -> None:
    """An entry shows its record as it is now: a later destroy turns every older row's auditable to null."""
    emu = Emulator(seed=7, entries=60)
    for _ in range(40):
        before = {entry["id"]: entry["auditable"] for entry in emu.entries}
        emu.add_entries(5)
        after = {entry["id"]: entry["auditable"] for entry in emu.entries}
        if any(before[key] is not None and after[key] is None for key in before):
            return
    raise AssertionError("no destroy turned an older auditable to null")


# ---- knobs -----------------------------------------------------------------------------------------


def test_same_seed_same_everything() -> None:
    """Same seed and knobs: same entries, tokens, bodies and fault sequence."""

    def run() -> tuple[list[Any], list[Any], list[Any]]:
        emu = Emulator(seed=11, entries=90, arrivals_per_request=1, unstable_ties=True, faults=RandomFaults(0.3))
        bodies = []
        for page in range(1, 8):
            try:
                bodies.append(get(emu, f"page={page}"))
            except ConnectionDropped:
                bodies.append("dropped")
        return emu.entries, bodies, [(r.fault, r.status) for r in emu.requests]

    first, second = run(), run()
    assert first == second
    assert Emulator(seed=11).tokens == Emulator(seed=11).tokens
    assert Emulator(seed=12).entries != Emulator(seed=11).entries
    assert Emulator(seed=12).tokens != Emulator(seed=11).tokens
    assert any(fault for fault, _ in first[2])


def test_arrivals_per_request_shift_the_next_page() -> None:
    """An entry written between two pages pushes the last of page 1 onto page 2."""
    emu = Emulator(seed=1, entries=60, arrivals_per_request=1)
    newest = emu.entries[0]["created_at"]
    page1 = get(emu, "page=1")[2]["audit_logs"]
    page2 = get(emu, "page=2")[2]
    assert page2["total_entries"] == 61
    assert page2["audit_logs"][0]["id"] == page1[-1]["id"]
    assert emu.total_entries == 62
    assert all(entry["created_at"] >= newest for entry in emu.entries[:2])


def test_arrivals_per_second_follow_the_clock() -> None:
    """Timed arrivals are written as the injected clock advances, newer than everything before."""
    clock = ManualClock()
    emu = Emulator(seed=1, entries=20, arrivals_per_second=4.0, clock=clock)
    assert emu.total_entries == 20
    clock.advance(2.5)
    assert emu.total_entries == 30
    assert get(emu)[2]["total_entries"] == 30
    emu.arrivals_per_second = 0
    clock.advance(10)
    assert emu.total_entries == 30


def test_add_entries_and_a_late_entry() -> None:
    """add_entries writes newer entries; add_entry can insert an older timestamp with a newer id."""
    emu = Emulator(seed=1, entries=30)
    newest = emu.entries[0]
    added = emu.add_entries(3)
    assert all(entry["created_at"] >= newest["created_at"] and entry["id"] > newest["id"] for entry in added)
    oldest = emu.entries[-1]
    late = emu.add_entry(created_at=oldest["created_at"] - 5, action="update", future_field={"x": 1})
    assert late["id"] > max(entry["id"] for entry in added)
    assert emu.entries[-1] == late
    assert tuple(late)[: len(KEYS)] == KEYS
    assert late["future_field"] == {"x": 1}
    with pytest.raises(ValueError, match="already exists"):
        emu.add_entry(id=late["id"])
    with pytest.raises(TypeError):
        emu.add_entry(created_at="2026-06-01T00:00:00Z")


def test_unstable_ties_reorder_between_requests() -> None:
    """With unstable ties the order within a second changes between requests, never across seconds."""
    emu = Emulator(seed=6, entries=200, unstable_ties=True)
    orders = set()
    for _ in range(12):
        logs = get(emu, "page=1")[2]["audit_logs"]
        times = [entry["created_at"] for entry in logs]
        assert times == sorted(times, reverse=True)
        orders.add(tuple(entry["id"] for entry in logs))
    assert len(orders) > 1
    expected_times = [entry["created_at"] for entry in emu.entries[:25]]
    assert [entry["created_at"] for entry in get(emu, "page=1")[2]["audit_logs"]] == expected_times


def test_unstable_ties_can_move_entries_across_pages() -> None:
    """A walk under unstable ties may miss one entry and repeat another, but never leaves a second."""
    for seed in range(30):
        emu = Emulator(seed=seed, entries=120, unstable_ties=True)
        expected = [entry["id"] for entry in emu.entries]
        ids = walk(emu)
        assert len(ids) == len(expected)
        if set(ids) != set(expected):
            return
    raise AssertionError("no seed moved an entry across a page boundary")


def test_rate_limit_with_an_injected_clock() -> None:
    """N requests per window, then 429 text/plain without Retry-After; windows start at multiples."""
    clock = ManualClock(start=120.0)
    emu = Emulator(seed=1, entries=5, rate_limit=3, rate_window=60.0, clock=clock)
    assert [get(emu)[0] for _ in range(3)] == [200, 200, 200]
    status, headers, body = get(emu)
    assert (status, body) == (429, b"Retry later\n")
    assert headers["content-type"] == "text/plain"
    assert not {"retry-after", "x-ratelimit-limit", "ratelimit-limit"} & set(headers)
    assert get(emu, token=None)[0] == 429
    clock.advance(59.9)
    assert get(emu)[0] == 429
    clock.advance(0.1)
    assert get(emu)[0] == 200
    emu.rate_limit = None
    assert all(get(emu)[0] == 200 for _ in range(5))


# What the real server answers in each case: see ../shared/docs/chatwoot-server.md.
REFUSAL_BODIES = {
    "401": {"error": "Invalid Access Token"},
    "401-signin": {"errors": ["You need to sign in or sign up before continuing."]},
    "404": {"error": "Resource could not be found"},
}


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_in_the_core(kind: str) -> None:
    """A scheduled fault hits exactly its request number and is logged."""
    emu = Emulator(seed=1, entries=30, faults={2: kind}, slow_delay=3.0)
    assert get(emu)[0] == 200
    reply = emu.respond("GET", PATH.format(emu.account_id), "", {"api_access_token": emu.admin_token})
    assert reply.fault == kind
    expected_status = {"500": 500, "502": 502, "503": 503, "504": 504, "drop": 0}.get(kind, 200)
    expected_status = {"401": 401, "401-signin": 401, "404": 404, "429": 429}.get(kind, expected_status)
    assert reply.status == expected_status
    if kind == "drop":
        assert reply.body == b""
    if kind == "truncate":
        assert len(reply.body) < int(reply.headers["content-length"])
    if kind == "slow":
        assert reply.delay == 3.0
    if kind == "html200":
        assert reply.headers["content-type"].startswith("text/html")
    if kind == "badjson200":
        assert reply.headers["content-type"].startswith("application/json")
        assert len(reply.body) == int(reply.headers["content-length"])
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.body)
    if kind in ("502", "503", "504"):
        assert reply.body.startswith(b"<html>")
        assert "x-request-id" not in reply.headers
    if kind == "500":
        assert json.loads(reply.body) == {"status": 500, "error": "Internal Server Error"}
    if kind in REFUSAL_BODIES:
        assert reply.headers["content-type"].startswith("application/json")
        assert json.loads(reply.body) == REFUSAL_BODIES[kind]
    if kind == "429":
        assert (reply.headers["content-type"], reply.body) == ("text/plain", b"Retry later\n")
        assert "retry-after" not in reply.headers
    assert get(emu)[0] == 200
    assert [record.fault for record in emu.requests] == [None, kind, None]


def test_handle_raises_on_drop() -> None:
    """The pure handle() has no connection to drop, so it raises."""
    emu = Emulator(seed=1, faults={1: "drop"})
    with pytest.raises(ConnectionDropped):
        get(emu)
    assert emu.requests[0].status is None


def test_random_faults_and_function_faults() -> None:
    """Probability faults are seeded per request number; a function can decide too."""
    plan = RandomFaults(0.5, kinds=["502", "503"], seed=3)
    first = [plan.pick(number, 0) for number in range(1, 40)]
    assert first == [plan.pick(number, 99) for number in range(1, 40)]
    assert {"502", "503", None} == set(first)
    emu = Emulator(seed=1, faults=lambda n: "504" if n % 2 == 0 else None)
    assert [get(emu)[0] for _ in range(4)] == [200, 504, 200, 504]
    with pytest.raises(ValueError, match="unknown fault"):
        Emulator(faults={1: "teapot"})
    with pytest.raises(ValueError, match="probability"):
        RandomFaults(1.5)


def test_request_log_never_holds_a_token() -> None:
    """The log keeps the role of the token, never the token itself."""
    emu = Emulator(seed=1, entries=5)
    for role in ROLES:
        get(emu, "page=2", token=emu.tokens[role])
    get(emu, token="secret-unknown-token")
    get(emu, token=None)
    text = repr(emu.requests) + repr(emu)
    assert not any(token in text for token in emu.tokens.values())
    assert "secret-unknown-token" not in text
    assert [record.role for record in emu.requests] == [*ROLES, "unknown", None]
    assert [record.page for record in emu.requests][:2] == ["2", "2"]
    assert [record.number for record in emu.requests] == list(range(1, len(ROLES) + 3))


def test_request_log_is_bounded() -> None:
    """Only the newest request_log_limit records are kept."""
    emu = Emulator(seed=1, entries=1, request_log_limit=3)
    for _ in range(5):
        get(emu)
    assert [record.number for record in emu.requests] == [3, 4, 5]
    assert emu.request_count == 5


def test_knobs_validate_and_configure() -> None:
    """Bad knob values are refused; configure sets several at once."""
    emu = Emulator(seed=1)
    emu.configure(per_page=15, latency=0.25, unstable_ties=True)
    assert (emu.per_page, emu.latency, emu.unstable_ties) == (15, 0.25, True)
    with pytest.raises(ValueError, match="per_page"):
        emu.per_page = 0
    with pytest.raises(ValueError, match="latency"):
        emu.latency = -1
    with pytest.raises(TypeError):
        emu.configure(account_id=3)
    with pytest.raises(TypeError):
        emu.configure(nope=1)
    assert emu.respond("GET", PATH.format(emu.account_id), "", {"api_access_token": emu.admin_token}).delay == 0.25


def test_identities() -> None:
    """Tokens for every role, distinct; the admin token is the administrator's."""
    emu = Emulator(seed=1, account_id=7)
    assert set(emu.tokens) == set(ROLES)
    assert len(set(emu.tokens.values())) == len(ROLES)
    assert emu.admin_token == emu.tokens["administrator"]
    assert (emu.account_id, emu.other_account_id, emu.suspended_account_id) == (7, 8, 9)
    assert all(entry["associated_id"] == 7 for entry in emu.entries)
    status, _, data = get(emu, token=emu.tokens["other_account"], account=emu.other_account_id)
    assert (status, data["total_entries"]) == (200, 0)
