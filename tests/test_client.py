"""The clients against the emulator, over both faces: walks, errors, retries, configuration, secrets."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from _support import FAST_MAX_RETRIES, FAST_RETRIES, MEMORY_BASE_URL, async_client, ids, sync_client

from chatwoot_audit import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncChatwootAudit,
    AuditLogPage,
    AuthenticationError,
    ChatwootAudit,
    ChatwootError,
    ConfigurationError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
)
from chatwoot_audit.testing import Emulator, RandomFaults

CANARY = "CANARY-TOKEN-8c1f2e"


def _created(entry: dict[str, Any]) -> int:
    return int(entry["created_at"])


# -- walks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [15, 25])
def test_logs_yields_every_entry_once_newest_first(face: str, per_page: int) -> None:
    """A full walk yields exactly the server's entries, each once, newest first."""
    emu = Emulator(seed=3, entries=137, per_page=per_page)
    with sync_client(emu, face) as client:
        logs = list(client.logs())
    assert sorted(log.id for log in logs) == sorted(ids(emu.entries))
    stamps = [log.timestamp for log in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert all(log.created_at.tzinfo is UTC for log in logs)
    assert emu.request_count == -(-137 // per_page)


def test_entries_convert_back_to_the_servers_json(face: str) -> None:
    """Every entry's to_dict() is the server's JSON, to the key and value."""
    emu = Emulator(seed=11, entries=80)
    with sync_client(emu, face) as client:
        by_id = {log.id: log for log in client.logs()}
    for entry in emu.entries:
        assert by_id[entry["id"]].to_dict() == entry
        assert list(by_id[entry["id"]].to_dict()) == list(entry)


def test_page_reports_server_numbers(face: str) -> None:
    """page(n) gives the server's per_page, totals and derived page count."""
    emu = Emulator(seed=1, entries=40, per_page=15)
    with sync_client(emu, face) as client:
        page = client.page(3)
    assert isinstance(page, AuditLogPage)
    assert (page.current_page, page.per_page, page.total_entries, page.total_pages) == (3, 15, 40, 3)
    assert not page.has_next_page
    assert len(page) == 10
    assert [log.id for log in page] == [log.id for log in page.items]


def test_page_past_the_end_is_empty(face: str) -> None:
    """A page past the end is empty and echoes the number asked for."""
    emu = Emulator(seed=1, entries=10)
    with sync_client(emu, face) as client:
        page = client.page(9)
    assert page.items == ()
    assert page.current_page == 9


def test_pages_stop_after_the_last_page(face: str) -> None:
    """pages() walks 1..total_pages and sends nothing past the last."""
    emu = Emulator(seed=2, entries=51)
    with sync_client(emu, face) as client:
        pages = list(client.pages())
    assert [p.current_page for p in pages] == [1, 2, 3]
    assert emu.request_count == 3


def test_empty_account_warns_that_the_feature_may_be_off(caplog: pytest.LogCaptureFixture) -> None:
    """An empty first page logs one warning about the audit_logs feature."""
    emu = Emulator(seed=1, entries=30, feature_enabled=False)
    with caplog.at_level(logging.WARNING, logger="chatwoot_audit"), sync_client(emu, "memory") as client:
        assert list(client.logs()) == []
        assert list(client.logs()) == []
    warnings = [r for r in caplog.records if "feature may be disabled" in r.getMessage()]
    assert len(warnings) == 1


def test_arrivals_mid_walk_never_repeat_an_id(face: str) -> None:
    """New entries pushing pages down cause no repeats and no misses of the original entries."""
    emu = Emulator(seed=5, entries=120, arrivals_per_request=4)
    before = set(ids(emu.entries))
    with sync_client(emu, face) as client:
        got = [log.id for log in client.logs()]
    assert len(got) == len(set(got))
    assert before <= set(got)


def test_since_until_and_limit(face: str) -> None:
    """since/until keep entries inside the window; limit stops after that many."""
    emu = Emulator(seed=8, entries=200)
    stamps = sorted({_created(e) for e in emu.entries})
    lo, hi = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    since, until = datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)
    expected = {e["id"] for e in emu.entries if lo <= _created(e) <= hi}
    with sync_client(emu, face) as client:
        window = [log.id for log in client.logs(since=since, until=until)]
        limited = [log.id for log in client.logs(limit=7)]
        everything = [log.id for log in client.logs()]
    assert set(window) == expected
    assert len(window) == len(expected)
    assert limited == everything[:7]


def test_since_stops_requesting_pages() -> None:
    """A walk with since asks for no page beyond the first one older than since."""
    emu = Emulator(seed=8, entries=250)
    newest = max(_created(e) for e in emu.entries)
    with sync_client(emu, "memory") as client:
        list(client.logs(since=datetime.fromtimestamp(newest, UTC)))
    assert emu.request_count <= 2


def test_until_skips_newer_pages_by_bisection() -> None:
    """until deep in the history costs about log2(pages) requests before the walk, not every page."""
    emu = Emulator(seed=4, entries=2500)
    stamps = sorted(_created(e) for e in emu.entries)
    until = stamps[len(stamps) // 10]
    expected = {e["id"] for e in emu.entries if _created(e) <= until}
    with sync_client(emu, "memory") as client:
        got = [log.id for log in client.logs(until=datetime.fromtimestamp(until, UTC))]
    assert set(got) == expected
    pages_walked = -(-len(expected) // 25) + 1
    assert emu.request_count <= pages_walked + 10  # log2(100) ~ 7 probes, vs ~90 newer pages


def test_breaking_out_sends_no_further_request() -> None:
    """Leaving the loop early stops the walk: no request after the page the last entry came from."""
    emu = Emulator(seed=2, entries=200)
    with sync_client(emu, "memory") as client:
        for n, _log in enumerate(client.logs(), start=1):
            if n == 30:
                break
    assert emu.request_count == 2


def test_bad_arguments_raise_before_any_request() -> None:
    """Bad arguments are ValueErrors of ours, raised when called, before a request."""
    emu = Emulator(seed=2, entries=10)
    naive = datetime(2026, 1, 1)
    with sync_client(emu, "memory") as client:
        for call in (
            lambda: client.page(0),
            lambda: client.logs(since=naive),
            lambda: client.logs(until=naive),
            lambda: client.logs(limit=-1),
            lambda: client.logs(concurrency=0),
            lambda: client.logs(since=datetime(2026, 2, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)),
        ):
            with pytest.raises(InvalidArgumentError) as info:
                call()
            assert isinstance(info.value, ValueError)
    assert emu.request_count == 0


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "fragment"),
    [
        ("agent", "not authorized to do this action"),
        ("bot", "not authorized for bots"),
        ("platform_app", "not authorized for bots"),
        ("other_account", "not authorized to access this account"),
    ],
)
def test_each_401_row_is_an_authentication_error(face: str, role: str, fragment: str) -> None:
    """Every 401 of the real server's table is an AuthenticationError with the server's message."""
    emu = Emulator(seed=1, entries=5)
    with (
        sync_client(emu, face, api_access_token=emu.tokens[role]) as client,
        pytest.raises(AuthenticationError) as info,
    ):
        client.page(1)
    assert info.value.status_code == 401
    assert fragment in str(info.value)
    assert emu.tokens[role] not in str(info.value)


def test_unknown_token_and_suspended_account(face: str) -> None:
    """An unknown token and a suspended account are 401s too."""
    emu = Emulator(seed=1, entries=5)
    with sync_client(emu, face, api_access_token=CANARY) as client, pytest.raises(AuthenticationError) as info:
        client.page(1)
    assert "Invalid Access Token" in str(info.value)
    suspended = {"api_access_token": emu.tokens["suspended"], "account_id": emu.suspended_account_id}
    with sync_client(emu, face, **suspended) as client, pytest.raises(AuthenticationError) as info:
        client.page(1)
    assert "suspended" in str(info.value)


def test_unknown_account_is_not_found(face: str) -> None:
    """An account id that does not exist is a NotFoundError that names the account."""
    emu = Emulator(seed=1, entries=5)
    with sync_client(emu, face, account_id=999_999) as client, pytest.raises(NotFoundError) as info:
        client.page(1)
    assert info.value.status_code == 404
    assert "999999" in str(info.value)


class _DropHeader(httpx.BaseTransport):
    """A proxy that drops header names with underscores, as nginx does by default."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kept = [(k, v) for k, v in request.headers.raw if b"_" not in k]
        proxied = httpx.Request(request.method, request.url, headers=kept, extensions=request.extensions)
        return self.inner.handle_request(proxied)


def test_a_proxy_dropping_the_token_header_is_explained() -> None:
    """The 401 {"errors": [...]} shape with a token sent points at the proxy and the dashed header."""
    emu = Emulator(seed=1, entries=5)
    opts: dict[str, Any] = {"api_access_token": emu.admin_token, "account_id": emu.account_id}
    with httpx.Client(transport=_DropHeader(emu.transport())) as http:
        with ChatwootAudit(MEMORY_BASE_URL, http_client=http, **opts) as client:
            with pytest.raises(AuthenticationError) as info:
                client.page(1)
            assert "Api-Access-Token" in str(info.value)
            assert "proxy" in str(info.value)
        with ChatwootAudit(MEMORY_BASE_URL, http_client=http, token_header="Api-Access-Token", **opts) as client:
            assert client.page(1).total_entries == 5


def test_rate_limited_walk_completes(face: str) -> None:
    """Under Chatwoot's 429 (plain text, no Retry-After) a walk waits and completes."""
    ticks = itertools.count()
    # A clock that moves a little at every look: windows turn over after a few requests, whatever the speed.
    emu = Emulator(seed=6, entries=100, rate_limit=2, rate_window=0.2, clock=lambda: next(ticks) * 0.01)
    with sync_client(emu, face) as client:
        got = [log.id for log in client.logs()]
    assert sorted(got) == sorted(ids(emu.entries))
    assert any(r.status == 429 for r in emu.requests)


def test_rate_limit_past_the_budget_is_a_rate_limit_error() -> None:
    """A server that never lets up ends in RateLimitError, not a hang."""
    emu = Emulator(seed=6, entries=10, rate_limit=0)
    policy = RetryPolicy(rate_limit_base_delay=0.001, rate_limit_max_delay=0.002, rate_limit_budget=0.01)
    with sync_client(emu, "memory", retry_policy=policy) as client, pytest.raises(RateLimitError) as info:
        client.page(1)
    assert info.value.status_code == 429
    assert "Retry later" in str(info.value)


def test_walk_survives_a_fault_schedule(face: str) -> None:
    """5xx, HTML, broken JSON, dropped and truncated answers are retried; every id comes once."""
    kinds = ["500", "502", "503", "504", "drop", "truncate", "html200", "badjson200"]
    emu = Emulator(seed=9, entries=150, faults={2 * n: kind for n, kind in enumerate(kinds, start=1)})
    with sync_client(emu, face) as client:
        got = [log.id for log in client.logs()]
    assert sorted(got) == sorted(ids(emu.entries))


def test_walk_survives_random_faults(face: str) -> None:
    """A seeded random fault plan never costs an entry."""
    emu = Emulator(seed=10, entries=200, faults=RandomFaults(probability=0.3, seed=4))
    with sync_client(emu, face) as client:
        got = [log.id for log in client.logs()]
    assert sorted(got) == sorted(ids(emu.entries))


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", InternalServerError),
        ("502", InternalServerError),
        ("drop", APIConnectionError),
        ("truncate", APIConnectionError),
        ("html200", APIResponseValidationError),
        ("badjson200", APIResponseValidationError),
    ],
)
def test_faults_without_retries_raise_our_errors(face: str, fault: str, error: type[ChatwootError]) -> None:
    """With max_retries=0 each fault surfaces as the matching error of ours."""
    emu = Emulator(seed=1, entries=5, faults={1: fault})
    with sync_client(emu, face, max_retries=0) as client, pytest.raises(error):
        client.page(1)


def test_slow_answer_is_a_timeout(face: str) -> None:
    """An answer slower than the read timeout is an APITimeoutError."""
    emu = Emulator(seed=1, entries=5, faults={1: "slow"}, slow_delay=2.0)
    timeout = httpx.Timeout(5.0, read=0.2)
    with sync_client(emu, face, max_retries=0, timeout=timeout) as client, pytest.raises(APITimeoutError):
        client.page(1)


def test_retries_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """Each retry is one INFO record with the page, the status and the wait."""
    emu = Emulator(seed=1, entries=5, faults={1: "503", 2: "503"})
    with caplog.at_level(logging.INFO, logger="chatwoot_audit"), sync_client(emu, "memory") as client:
        client.page(1)
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2
    assert all(r.levelno == logging.INFO for r in retries)
    assert all("page 1" in r.getMessage() and "503" in r.getMessage() for r in retries)


def test_redirects_are_not_followed() -> None:
    """A redirect is an error that names where it points; the token goes nowhere else."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(301, headers={"location": "https://elsewhere.example/api"})

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        ChatwootAudit(MEMORY_BASE_URL, CANARY, 1, http_client=http) as client,
        pytest.raises(APIStatusError) as info,
    ):
        client.page(1)
    assert len(seen) == 1
    assert "elsewhere.example" in str(info.value)


@pytest.mark.parametrize("status", [499, 520, 522, 418])
def test_statuses_python_does_not_know(status: int) -> None:
    """Statuses HTTPStatus lacks work, and map by the status table."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="odd")

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as http,
        ChatwootAudit(MEMORY_BASE_URL, CANARY, 1, http_client=http, retry_policy=FAST_RETRIES) as client,
        pytest.raises(APIStatusError) as info,
    ):
        client.page(1)
    assert info.value.status_code == status
    assert isinstance(info.value, InternalServerError) == (status >= 500)


# -- the token never shows -------------------------------------------------------------------------


def _every_error(emu: Emulator, face: str) -> list[BaseException]:
    errors: list[BaseException] = []
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({}, {}),
        ({"account_id": 424242}, {}),
        ({"max_retries": 0}, {"faults": {1: "500"}}),
        ({"max_retries": 0}, {"faults": {1: "drop"}}),
        ({"max_retries": 0}, {"faults": {1: "truncate"}}),
        ({"max_retries": 0}, {"faults": {1: "html200"}}),
        ({"max_retries": 0}, {"faults": {1: "badjson200"}}),
        ({"max_retries": 0, "timeout": httpx.Timeout(5.0, read=0.1)}, {"faults": {1: "slow"}, "slow_delay": 1.0}),
    ]
    for client_kwargs, knobs in cases:
        emu.configure(faults=knobs.get("faults"), slow_delay=knobs.get("slow_delay", 5.0))
        with sync_client(emu, face, api_access_token=CANARY, **client_kwargs) as client:
            try:
                client.page(1)
            except ChatwootError as exc:
                errors.append(exc)
    return errors


def test_the_token_never_appears_in_errors_or_logs(face: str, caplog: pytest.LogCaptureFixture) -> None:
    """A canary token is absent from every error's str, repr, request and from every log record."""
    emu = Emulator(seed=1, entries=5)
    with caplog.at_level(logging.DEBUG):
        errors = _every_error(emu, face)
    assert len(errors) == 8
    for exc in errors:
        request = getattr(exc, "request", None) or getattr(getattr(exc, "response", None), "request", None)
        texts = [str(exc), repr(exc), repr(exc.args), str(getattr(exc, "body", ""))]
        if request is not None:
            texts.append(str(request.headers))
        assert not any(CANARY in t for t in texts), (exc, texts)
    assert all(CANARY not in r.getMessage() for r in caplog.records)
    with ChatwootAudit(MEMORY_BASE_URL, CANARY, 1) as client:
        assert CANARY not in repr(client)
        assert CANARY not in repr(client.generated)


# -- configuration ---------------------------------------------------------------------------------


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """base_url, token and account id fall back to the CHATWOOT_* variables."""
    emu = Emulator(seed=1, entries=12)
    with emu.serve() as server:
        monkeypatch.setenv("CHATWOOT_BASE_URL", server.base_url)
        monkeypatch.setenv("CHATWOOT_API_ACCESS_TOKEN", emu.admin_token)
        monkeypatch.setenv("CHATWOOT_ACCOUNT_ID", str(emu.account_id))
        with ChatwootAudit() as client:
            assert client.account_id == emu.account_id
            assert client.page(1).total_entries == 12


def test_missing_settings_name_the_argument_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing setting says which argument and which environment variable."""
    for var in ("CHATWOOT_BASE_URL", "CHATWOOT_API_ACCESS_TOKEN", "CHATWOOT_ACCOUNT_ID"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigurationError, match=r"base_url.*CHATWOOT_BASE_URL"):
        ChatwootAudit()
    with pytest.raises(ConfigurationError, match=r"api_access_token.*CHATWOOT_API_ACCESS_TOKEN"):
        ChatwootAudit("https://chat.example.com")
    with pytest.raises(ConfigurationError, match=r"account_id.*CHATWOOT_ACCOUNT_ID"):
        AsyncChatwootAudit("https://chat.example.com", CANARY)


def test_plain_http_only_to_loopback_unless_allowed() -> None:
    """http:// to another host is refused unless allow_insecure_http=True."""
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        ChatwootAudit("http://chat.example.com", CANARY, 1)
    ChatwootAudit("http://chat.example.com", CANARY, 1, allow_insecure_http=True).close()
    ChatwootAudit("http://127.0.0.1:3000", CANARY, 1).close()
    ChatwootAudit("http://localhost:3000", CANARY, 1).close()


def test_a_callers_http_client_is_not_closed() -> None:
    """close() leaves a caller's httpx.Client open and closes our own."""
    emu = Emulator(seed=1, entries=3)
    http = httpx.Client(transport=emu.transport())
    with ChatwootAudit(MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http) as client:
        client.page(1)
    assert not http.is_closed
    http.close()
    own = ChatwootAudit(MEMORY_BASE_URL, CANARY, 1)
    inner = own.generated.get_httpx_client()
    own.close()
    assert inner.is_closed


def test_default_timeout_is_finite() -> None:
    """The default timeout is finite for connect and read, unlike the generated client's."""
    with ChatwootAudit(MEMORY_BASE_URL, CANARY, 1) as client:
        assert client.timeout.connect is not None
        assert client.timeout.read is not None
        assert client.generated.get_httpx_client().timeout.read is not None


def test_wrong_http_client_type_is_refused() -> None:
    """The sync client takes an httpx.Client, the async one an httpx.AsyncClient."""
    with pytest.raises(TypeError):
        ChatwootAudit(MEMORY_BASE_URL, CANARY, 1, http_client=httpx.AsyncClient())  # type: ignore[arg-type]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_closed_client_says_so(concurrency: int) -> None:
    """After close(), page, pages and logs raise a ChatwootError that says to create a new client."""
    emu = Emulator(seed=3, entries=40)
    with sync_client(emu, "memory") as client:
        client.page(1)
    for call in (
        lambda: client.page(1),
        lambda: next(client.pages()),
        lambda: list(client.logs(concurrency=concurrency)),
    ):
        with pytest.raises(ChatwootError, match=r"has been closed.*create a new one") as info:
            call()
        assert type(info.value) is ChatwootError
    http = httpx.Client(transport=emu.transport())
    with ChatwootAudit(MEMORY_BASE_URL, emu.admin_token, emu.account_id, http_client=http) as theirs:
        http.close()
        with pytest.raises(ChatwootError, match="has been closed"):
            theirs.page(1)


# -- async twin ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_walk_matches_the_sync_walk(face: str) -> None:
    """The async client yields what the sync one does, under asyncio and trio."""
    emu = Emulator(seed=12, entries=90)
    with sync_client(emu, "memory") as client:
        expected = [log.id for log in client.logs()]
    async with async_client(emu, face) as aclient:
        got = [log.id async for log in aclient.logs()]
        page = await aclient.page(2)
        pages = [p.current_page async for p in aclient.pages()]
    assert got == expected
    assert page.current_page == 2
    assert pages == [1, 2, 3, 4]


@pytest.mark.anyio
async def test_async_errors_are_ours(face: str) -> None:
    """The async client raises the same errors."""
    emu = Emulator(seed=1, entries=5, faults={1: "drop"})
    async with async_client(emu, face, max_retries=0) as aclient:
        with pytest.raises(APIConnectionError):
            await aclient.page(1)
        with pytest.raises(NotFoundError):
            async with async_client(emu, face, account_id=777) as other:
                await other.page(1)


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_async_closed_client_says_so(concurrency: int) -> None:
    """After aclose(), the async client raises the same ChatwootError, not httpx's RuntimeError."""
    emu = Emulator(seed=3, entries=40)
    async with async_client(emu, "memory") as aclient:
        await aclient.page(1)
    await aclient.aclose()
    with pytest.raises(ChatwootError, match=r"has been closed.*create a new one") as info:
        await aclient.page(1)
    assert type(info.value) is ChatwootError
    with pytest.raises(ChatwootError, match="has been closed"):
        [log async for log in aclient.logs(concurrency=concurrency)]


@pytest.mark.anyio
async def test_async_since_and_limit() -> None:
    """Windows and limits behave the same in the async client."""
    emu = Emulator(seed=8, entries=120)
    since = datetime.fromtimestamp(max(_created(e) for e in emu.entries), UTC) - timedelta(seconds=30)
    async with async_client(emu, "memory") as aclient:
        recent = [log async for log in aclient.logs(since=since)]
        limited = [log async for log in aclient.logs(limit=3)]
    assert recent
    assert all(log.created_at >= since for log in recent)
    assert len(limited) == 3


def test_the_generated_client_is_reachable_and_configured() -> None:
    """client.generated calls the endpoint with the SDK's base URL, token header and timeout."""
    from chatwoot_audit_generated.api.audit_logs import get_account_audit_logs
    from chatwoot_audit_generated.models import AuditLogList

    emu = Emulator(seed=1, entries=30)
    with emu.serve() as server, ChatwootAudit(server.base_url, emu.admin_token, emu.account_id) as client:
        answer = get_account_audit_logs.sync_detailed(emu.account_id, client=client.generated, page=2)
        assert isinstance(answer.parsed, AuditLogList)
        assert answer.parsed.current_page == 2
        assert client.generated.get_httpx_client() is client.generated.get_httpx_client()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_windowed_walk_under_unstable_ties_is_checked_and_complete(concurrency: int) -> None:
    """since/until walks count what their window held and re-read tied boundaries: nothing slips out."""
    emu = Emulator(seed=13, entries=1000, unstable_ties=True, arrivals_per_request=1)
    stamps = sorted(_created(e) for e in emu.entries)
    lo, hi = stamps[100], stamps[800]
    expected = {e["id"] for e in emu.entries if lo <= _created(e) <= hi}
    with sync_client(emu, "memory") as client:
        got = [
            log.id
            for log in client.logs(
                since=datetime.fromtimestamp(lo, UTC), until=datetime.fromtimestamp(hi, UTC), concurrency=concurrency
            )
        ]
    assert len(got) == len(set(got))
    assert set(got) == expected


@pytest.mark.parametrize("concurrency", [1, 2, 8])
def test_until_with_arrivals_during_the_search_loses_nothing(concurrency: int) -> None:
    """Entries that move down while until's search probes pages are still found, wherever until falls."""
    lost = {}
    for position in range(0, 200, 9):
        emu = Emulator(seed=7, entries=200, per_page=15, arrivals_per_request=2)
        until = _created(emu.entries[position])
        expected = {e["id"] for e in emu.entries if _created(e) <= until}
        with sync_client(emu, "memory") as client:
            got = [log.id for log in client.logs(until=datetime.fromtimestamp(until, UTC), concurrency=concurrency)]
        assert len(got) == len(set(got))
        if expected - set(got):
            lost[position] = len(expected - set(got))
    assert lost == {}


# -- per-call options ------------------------------------------------------------------------------


def test_with_options_changes_per_call_settings_and_shares_the_pool() -> None:
    """with_options gives a client with other retries and timeout on the same pool; closing it keeps the pool."""
    emu = Emulator(seed=14, entries=30, faults={1: "500"})
    with sync_client(emu, "socket") as client:
        strict = client.with_options(timeout=7.0, max_retries=0)
        assert type(strict) is ChatwootAudit
        assert strict.timeout == httpx.Timeout(7.0)
        assert strict.max_retries == 0
        assert strict.retry_policy is client.retry_policy
        assert client.max_retries == FAST_MAX_RETRIES
        assert client.with_options(timeout=8.0).max_retries == FAST_MAX_RETRIES
        assert strict.generated.get_httpx_client() is client.generated.get_httpx_client()
        with pytest.raises(InternalServerError):
            strict.page(1)
        assert client.page(1).total_entries == 30  # the parent still retries
        strict.close()
        assert [log.id for log in client.logs(concurrency=4)] == [log.id for log in strict.logs()]
    assert client.with_options().timeout == client.timeout


def test_with_options_timeout_holds_each_request_on_the_shared_pool(face: str) -> None:
    """A shorter read timeout from with_options times out a slow answer that the parent waits for."""
    emu = Emulator(seed=15, entries=5, faults={1: "slow"}, slow_delay=1.0)
    with sync_client(emu, face, timeout=5.0) as client:
        hasty = client.with_options(timeout=httpx.Timeout(5.0, read=0.1), max_retries=0)
        with pytest.raises(APITimeoutError):
            hasty.page(1)
        assert client.page(1).total_entries == 5


def test_with_options_checks_its_arguments() -> None:
    """Bad values are refused like the constructor refuses them, before any request."""
    with ChatwootAudit(MEMORY_BASE_URL, CANARY, 1) as client:
        for bad in ({"timeout": -1.0}, {"timeout": "soon"}, {"max_retries": -1}):
            with pytest.raises(ConfigurationError):
                client.with_options(**bad)


@pytest.mark.anyio
async def test_async_with_options_shares_the_pool_and_the_walks_owner() -> None:
    """The async twin's copy shares the pool and, inside the parent's block, walks with a sliding window."""
    emu = Emulator(seed=16, entries=300, faults={2: "503"})
    async with async_client(emu, "memory") as client:
        strict = client.with_options(max_retries=0, timeout=9.0)
        assert type(strict) is AsyncChatwootAudit
        assert strict.timeout == httpx.Timeout(9.0)
        assert strict.generated.get_async_httpx_client() is client.generated.get_async_httpx_client()
        assert (await strict.page(1)).total_entries == 300
        with pytest.raises(InternalServerError):
            await strict.page(2)
        await strict.aclose()
        got = [log.id async for log in strict.logs(concurrency=4)]
    with sync_client(emu, "memory") as sync:
        assert got == [log.id for log in sync.logs()]
