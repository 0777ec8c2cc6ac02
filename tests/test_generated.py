"""The generated low-level client against what a real Chatwoot server sends, through an in-process transport."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from _rows import ACCOUNT_USER_UPDATE, SIGN_IN, SYSTEM_UPDATE, UNKNOWN_ACTION

# The committed generated/ tree is what these tests pin, whichever copy the environment may have installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "generated"))

from chatwoot_audit_generated import AuthenticatedClient
from chatwoot_audit_generated.api.audit_logs import get_account_audit_logs
from chatwoot_audit_generated.models.audit_log import AuditLog
from chatwoot_audit_generated.models.audit_log_auditable_type_0 import AuditLogAuditableType0
from chatwoot_audit_generated.models.audit_log_audited_changes_type_0 import AuditLogAuditedChangesType0
from chatwoot_audit_generated.models.audit_log_list import AuditLogList
from chatwoot_audit_generated.models.auth_error import AuthError
from chatwoot_audit_generated.types import Response

BASE_URL = "https://chat.example.com"
TOKEN = "tok-3f9a2c"
ACCOUNT_ID = 1

# A key the spec does not list, which the generated model keeps in additional_properties.
EXTRA_KEY: dict[str, Any] = {**ACCOUNT_USER_UPDATE, "id": 4124, "tenant": {"region": "eu-1"}}
ENTRIES = [ACCOUNT_USER_UPDATE, SIGN_IN, SYSTEM_UPDATE, UNKNOWN_ACTION, EXTRA_KEY]
PAGE: dict[str, Any] = {"per_page": 25, "total_entries": 53, "current_page": 2, "audit_logs": ENTRIES}

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=BASE_URL,
        token=TOKEN,
        prefix="",
        auth_header_name="api_access_token",
        httpx_args={"transport": httpx.MockTransport(handler)},
    )


def fetch(response: httpx.Response) -> Response[Any]:
    """One synchronous call answered with ``response``."""
    with make_client(lambda request: response) as client:
        return get_account_audit_logs.sync_detailed(ACCOUNT_ID, client=client)


def test_request_carries_token_header_and_page_param() -> None:
    """The token goes in api_access_token with no prefix, the page as a query parameter."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PAGE)

    with make_client(handler) as client:
        get_account_audit_logs.sync_detailed(ACCOUNT_ID, client=client, page=2)

    (request,) = seen
    assert request.method == "GET"
    assert request.headers["api_access_token"] == TOKEN
    assert "authorization" not in request.headers
    assert request.url.path == f"/api/v1/accounts/{ACCOUNT_ID}/audit_logs"
    assert dict(request.url.params) == {"page": "2"}


def test_parses_a_realistic_page_and_round_trips_it() -> None:
    """A page of real-server entries parses into AuditLogList and converts back to the same JSON."""
    response = fetch(httpx.Response(200, json=PAGE))
    assert response.status_code == HTTPStatus.OK
    page = response.parsed
    assert isinstance(page, AuditLogList)
    assert (page.per_page, page.total_entries, page.current_page) == (25, 53, 2)
    assert [log.id for log in page.audit_logs] == [entry["id"] for entry in ENTRIES]
    assert page.to_dict() == PAGE


@pytest.mark.parametrize("entry", ENTRIES, ids=["account_user_update", "sign_in", "system", "unknown_action", "extra"])
def test_entry_round_trips_exactly(entry: dict[str, Any]) -> None:
    """Each realistic entry converts back to exactly the JSON it came from."""
    assert AuditLog.from_dict(entry).to_dict() == entry


def test_account_user_update_entry() -> None:
    """The update row keeps its auditable object and [old, new] changes."""
    log = AuditLog.from_dict(ACCOUNT_USER_UPDATE)
    assert isinstance(log.auditable, AuditLogAuditableType0)
    assert log.auditable.to_dict() == ACCOUNT_USER_UPDATE["auditable"]
    assert isinstance(log.audited_changes, AuditLogAuditedChangesType0)
    assert log.audited_changes["role"] == [0, 1]
    assert (log.action, log.created_at, log.comment) == ("update", 1781602887, None)


def test_sign_in_entry_has_null_changes_and_auditable() -> None:
    """A sign_in row has null audited_changes and null auditable, and a request id that is not a UUID."""
    log = AuditLog.from_dict(SIGN_IN)
    assert log.action == "sign_in"
    assert log.audited_changes is None
    assert log.auditable is None
    assert log.request_uuid == "my-proxy-request-17"


def test_system_entry_has_null_user_and_address() -> None:
    """A change made by the system has null user_id, user_type, username and remote_address."""
    log = AuditLog.from_dict(SYSTEM_UPDATE)
    assert (log.user_id, log.user_type, log.username, log.remote_address) == (None, None, None, None)


def test_unknown_action_passes_through() -> None:
    """An action the spec does not list is kept as the string it is."""
    assert AuditLog.from_dict(UNKNOWN_ACTION).action == "merge"


def test_unknown_key_is_kept() -> None:
    """A key the spec does not list lands in additional_properties, not in the bin."""
    log = AuditLog.from_dict(EXTRA_KEY)
    assert log.additional_properties == {"tenant": {"region": "eu-1"}}
    assert log["tenant"] == {"region": "eu-1"}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"errors": ["You need to sign in or sign up before continuing."]}),
        (401, {"error": "Invalid Access Token"}),
        (404, {"error": "Resource could not be found"}),
    ],
    ids=["401-no-token", "401-bad-token", "404-no-account"],
)
def test_auth_and_not_found_bodies_parse_as_auth_error(status: int, body: dict[str, Any]) -> None:
    """Both 401 body shapes and the 404 parse as AuthError and keep their messages."""
    response = fetch(httpx.Response(status, json=body))
    assert response.status_code == status
    assert isinstance(response.parsed, AuthError)
    assert response.parsed.to_dict() == body


def test_known_generator_gaps_the_facade_must_cover() -> None:
    """What the generated layer gets wrong, pinned so that a generator change that alters it is noticed."""
    # No timeout at all unless the caller passes one: a stalled server would hang a walk forever.
    assert make_client(lambda request: httpx.Response(200)).get_httpx_client().timeout == httpx.Timeout(None)

    # Statuses outside http.HTTPStatus (nginx's 499, Cloudflare's 52x) crash while the Response is built.
    for status in (499, 522):
        with pytest.raises(ValueError, match=f"{status} is not a valid HTTPStatus"):
            fetch(httpx.Response(status, text="error code: 522"))

    # A proxy's HTML page, even under 200 or 401, escapes as a JSON decoding error.
    html = {"content-type": "text/html"}
    for status in (200, 401):
        with pytest.raises(json.JSONDecodeError):
            fetch(httpx.Response(status, text="<html><body>Bad gateway</body></html>", headers=html))

    # The real 429 is plain text with no Retry-After, and 5xx is not in the spec: both give parsed None.
    throttled = fetch(httpx.Response(429, text="Retry later\n", headers={"content-type": "text/plain"}))
    assert (throttled.status_code, throttled.parsed) == (HTTPStatus.TOO_MANY_REQUESTS, None)
    failed = fetch(httpx.Response(500, json={"status": 500, "error": "Internal Server Error"}))
    assert (failed.status_code, failed.parsed) == (HTTPStatus.INTERNAL_SERVER_ERROR, None)

    # Wrong types in a 200 are not validated: they pass through as they came.
    wrong = {**ACCOUNT_USER_UPDATE, "id": "4119", "created_at": "x", "action": 5}
    page = fetch(httpx.Response(200, json={**PAGE, "audit_logs": [wrong]})).parsed
    assert isinstance(page, AuditLogList)
    passed: Any = page.audit_logs[0]  # typed int / str by the model, which is exactly what is not checked
    assert (passed.id, passed.created_at, passed.action) == ("4119", "x", 5)

    # A page without one of its keys is a bare KeyError; the bare list that servers from before mid-2023 sent
    # is a ValueError from dict(), or a KeyError when it is empty.
    incomplete = {key: value for key, value in PAGE.items() if key != "total_entries"}
    with pytest.raises(KeyError, match="total_entries"):
        fetch(httpx.Response(200, json=incomplete))
    with pytest.raises(ValueError, match="dictionary update sequence"):
        fetch(httpx.Response(200, json=ENTRIES))
    with pytest.raises(KeyError, match="per_page"):
        fetch(httpx.Response(200, json=[]))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_detailed_parses_the_same_page() -> None:
    """The async twin sends the same request and parses the same page."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PAGE)

    async with make_client(handler) as client:
        response = await get_account_audit_logs.asyncio_detailed(ACCOUNT_ID, client=client, page=3)

    assert isinstance(response.parsed, AuditLogList)
    assert response.parsed.to_dict() == PAGE
    assert seen[0].headers["api_access_token"] == TOKEN
    assert dict(seen[0].url.params) == {"page": "3"}
