"""Requests and answers without a network: build_request, page_from_response, connection_error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from _cli_helpers import answering, clean_env, run_cli
from _rows import ACCOUNT_USER_UPDATE as ROW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_audit._config import Settings, TokenHeader, resolve_settings
from chatwoot_audit._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ChatwootError,
    FeatureNotEnabledError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from chatwoot_audit._http import (
    TransientBody,
    build_request,
    connection_error,
    page_from_response,
    status_error,
)
from chatwoot_audit._models import AuditLogPage
from chatwoot_audit._redact import REDACTED, redact_request, scrub, scrub_parsed

TOKEN = "CANARY-TOKEN-1234"

PAGE_BODY: dict[str, Any] = {"per_page": 25, "total_entries": 53, "current_page": 3, "audit_logs": [ROW]}

JSON = {"content-type": "application/json; charset=utf-8"}
HTML = {"content-type": "text/html"}
TEXT = {"content-type": "text/plain"}


def make_settings(
    base_url: str = "https://chat.example.com", token_header: TokenHeader = "api_access_token", token: str = TOKEN
) -> Settings:
    """Settings for account 7 with the canary token (or ``token``)."""
    return resolve_settings(
        base_url=base_url,
        api_access_token=token,
        account_id=7,
        timeout=None,
        max_retries=None,
        retry_policy=None,
        token_header=token_header,
        allow_insecure_http=False,
        env={},
    )


SETTINGS = make_settings()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """An httpx client used only to build requests."""
    with httpx.Client() as c:
        yield c


def answer(
    status: int,
    content: bytes | str = b"",
    headers: dict[str, str] | None = None,
    settings: Settings = SETTINGS,
) -> httpx.Response:
    """A hand-made answer to a request that carries the token, as the client sends it."""
    request = httpx.Request("GET", "https://chat.example.com/api/v1/accounts/7/audit_logs?page=1")
    request.headers[settings.token_header] = settings.token
    body = content.encode() if isinstance(content, str) else content
    return httpx.Response(status, content=body, headers=headers or {}, request=request)


def json_answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    """An answer with a JSON body."""
    return answer(status, json.dumps(body), {**JSON, **(headers or {})})


def error_of(response: httpx.Response, settings: Settings = SETTINGS) -> ChatwootError:
    """The error page_from_response raises for ``response``."""
    with pytest.raises(ChatwootError) as info:
        page_from_response(response, settings)
    return info.value


def assert_token_hidden(error: ChatwootError) -> None:
    """The token is nowhere the error shows: message, repr, body, or the request it carries."""
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    body = getattr(error, "body", None)
    assert TOKEN not in (body if isinstance(body, str) else json.dumps(body))
    response = getattr(error, "response", None)
    request = response.request if response is not None else getattr(error, "request", None)
    if request is not None:
        assert TOKEN not in str(request.headers)
        assert TOKEN not in repr(request.headers)


# -- build_request -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "page", "expected"),
    [
        ("https://chat.example.com", 1, "https://chat.example.com/api/v1/accounts/7/audit_logs?page=1"),
        ("https://chat.example.com/", 3, "https://chat.example.com/api/v1/accounts/7/audit_logs?page=3"),
        ("https://example.com/chatwoot", 12, "https://example.com/chatwoot/api/v1/accounts/7/audit_logs?page=12"),
        ("https://example.com/chatwoot/", 2, "https://example.com/chatwoot/api/v1/accounts/7/audit_logs?page=2"),
        ("http://localhost:3000", 1, "http://localhost:3000/api/v1/accounts/7/audit_logs?page=1"),
    ],
)
def test_build_request_url(client: httpx.Client, base_url: str, page: int, expected: str) -> None:
    """The URL is {base}/api/v1/accounts/{id}/audit_logs?page=N, path prefix included."""
    request = build_request(client, make_settings(base_url), page)
    assert request.method == "GET"
    assert str(request.url) == expected
    assert request.url.params.get_list("page") == [str(page)]


@pytest.mark.parametrize("header", ["api_access_token", "Api-Access-Token"])
def test_build_request_token_header(client: httpx.Client, header: TokenHeader) -> None:
    """The token goes in the configured header, spelled as configured, with no prefix."""
    request = build_request(client, make_settings(token_header=header), 1)
    assert request.headers[header] == TOKEN
    assert (header.encode(), TOKEN.encode()) in request.headers.raw
    assert "authorization" not in request.headers
    other = "Api-Access-Token" if header == "api_access_token" else "api_access_token"
    assert other not in request.headers


def test_build_request_accepts_json(client: httpx.Client) -> None:
    """The request asks for JSON and names the SDK."""
    request = build_request(client, SETTINGS, 1)
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("chatwoot-audit/")


def test_build_request_timeout(client: httpx.Client) -> None:
    """The settings' timeout travels with the request."""
    request = build_request(client, SETTINGS, 1)
    assert request.extensions["timeout"] == SETTINGS.timeout.as_dict()


def test_build_request_async_client() -> None:
    """An httpx.AsyncClient builds the same request."""
    async_client = httpx.AsyncClient()
    request = build_request(async_client, SETTINGS, 5)
    anyio.run(async_client.aclose)
    assert str(request.url) == "https://chat.example.com/api/v1/accounts/7/audit_logs?page=5"
    assert request.headers["api_access_token"] == TOKEN


def test_build_request_on_a_closed_client() -> None:
    """A closed httpx.Client or AsyncClient is a ChatwootError saying so, not httpx's RuntimeError."""
    closed = httpx.Client()
    closed.close()
    closed_async = httpx.AsyncClient()
    anyio.run(closed_async.aclose)
    for http_client in (closed, closed_async):
        for own_client in (False, True):
            with pytest.raises(ChatwootError, match=r"has been closed.*create a new one") as info:
                build_request(http_client, SETTINGS, 1, own_client=own_client)
            assert type(info.value) is ChatwootError


# -- 200 -----------------------------------------------------------------------------------------


def test_200_page() -> None:
    """A 200 with a page body gives the page."""
    page = page_from_response(json_answer(200, PAGE_BODY), SETTINGS)
    assert isinstance(page, AuditLogPage)
    assert (page.current_page, page.per_page, page.total_entries, page.total_pages) == (3, 25, 53, 3)
    assert [log.id for log in page] == [4119]
    assert page.to_dict() == PAGE_BODY


def test_200_json_without_json_content_type() -> None:
    """A page is read by its body, whatever the content-type says."""
    page = page_from_response(answer(200, json.dumps(PAGE_BODY), TEXT), SETTINGS)
    assert len(page) == 1


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        ("<html><body>502 Bad Gateway</body></html>", HTML),
        ('{"per_page": 25, "total_entries": 53, "current_page"', JSON),
        ("", JSON),
        (b"\xff\xfe\x00garbage", {"content-type": "application/octet-stream"}),
    ],
    ids=["html", "truncated", "empty", "binary"],
)
def test_200_not_json(content: str | bytes, headers: dict[str, str]) -> None:
    """A 200 whose body is not JSON is a TransientBody, a kind of APIResponseValidationError."""
    error = error_of(answer(200, content, headers))
    assert isinstance(error, TransientBody)
    assert isinstance(error, APIResponseValidationError)
    assert error.status_code == 200
    assert "not JSON" in str(error)
    assert_token_hidden(error)


@pytest.mark.parametrize(
    "body",
    [
        [ROW],
        {**PAGE_BODY, "total_entries": "53"},
        {**PAGE_BODY, "audit_logs": [{**ROW, "created_at": "yesterday"}]},
        {"error": "x"},
        None,
        "a string",
    ],
    ids=["bare-list", "string-count", "bad-created-at", "error-object", "null", "string"],
)
def test_200_wrong_types(body: object) -> None:
    """A 200 with valid JSON of the wrong shape is an APIResponseValidationError, not a TransientBody."""
    error = error_of(json_answer(200, body))
    assert type(error) is APIResponseValidationError
    assert error.body == body
    assert error.response is not None
    assert "not an audit-log page" in str(error)
    assert_token_hidden(error)


# -- statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Invalid Access Token",
        "You are not authorized to access this account",
        "You are not authorized to do this action",
        "Account is suspended",
    ],
)
def test_401_error_object(message: str) -> None:
    """401 with {"error": ...} is an AuthenticationError carrying the server's message."""
    error = error_of(json_answer(401, {"error": message}))
    assert type(error) is AuthenticationError
    assert error.status_code == 401
    assert error.body == {"error": message}
    assert message in str(error)
    assert "administrator of account 7" in str(error)
    assert_token_hidden(error)


def test_401_errors_list_points_at_proxy() -> None:
    """401 with {"errors": [...]} (no token seen) says a proxy may drop the header, and names the fix."""
    error = error_of(json_answer(401, {"errors": ["You need to sign in or sign up before continuing."]}))
    assert type(error) is AuthenticationError
    text = str(error)
    assert "You need to sign in or sign up before continuing." in text
    assert "proxy" in text
    assert "Api-Access-Token" in text
    assert "underscores" in text


def test_401_errors_list_with_dashed_header() -> None:
    """With the dashed header already in use, the hint does not suggest switching to it."""
    settings = make_settings(token_header="Api-Access-Token")
    error = error_of(json_answer(401, {"errors": ["You need to sign in or sign up before continuing."]}), settings)
    assert type(error) is AuthenticationError
    assert "proxies" in str(error)
    assert "Pass token_header" not in str(error)


def test_404() -> None:
    """404 is a NotFoundError that names the account and the Enterprise requirement."""
    error = error_of(json_answer(404, {"error": "Resource could not be found"}))
    assert type(error) is NotFoundError
    assert "Resource could not be found" in str(error)
    assert "Account 7" in str(error)
    assert "Enterprise" in str(error)


def test_404_community_build_html() -> None:
    """An HTML 404 (a Community build) is a NotFoundError with the text as body."""
    error = error_of(answer(404, "<html><h1>The page you were looking for doesn't exist.</h1></html>", HTML))
    assert type(error) is NotFoundError
    assert isinstance(error.body, str)
    assert "doesn't exist" in error.body


def test_422() -> None:
    """422 is a FeatureNotEnabledError."""
    error = error_of(json_answer(422, {"message": "feature not enabled"}))
    assert type(error) is FeatureNotEnabledError
    assert error.body == {"message": "feature not enabled"}


def test_403() -> None:
    """403 is a PermissionDeniedError."""
    error = error_of(json_answer(403, {"error": "Forbidden"}))
    assert type(error) is PermissionDeniedError
    assert "Forbidden" in str(error)


def test_429_plain_text() -> None:
    """Chatwoot's own 429 (text/plain, "Retry later") is a RateLimitError with the text as body."""
    response = answer(429, "Retry later\n", TEXT)
    with pytest.raises(RateLimitError) as info:
        page_from_response(response, SETTINGS, attempts=6)
    error = info.value
    assert error.status_code == 429
    assert error.body == "Retry later\n"
    assert "Retry later" in str(error)
    assert "6 attempts" in str(error)


@pytest.mark.parametrize(
    ("status", "content", "headers"),
    [
        (500, '{"status": 500, "error": "Internal Server Error"}', JSON),
        (502, "<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>", HTML),
        (503, "Service Unavailable", TEXT),
        (504, "<html>Gateway Time-out</html>", HTML),
        (500, "{not json", JSON),
    ],
)
def test_5xx(status: int, content: str, headers: dict[str, str]) -> None:
    """5xx answers, JSON or a proxy's HTML, are InternalServerErrors."""
    error = error_of(answer(status, content, headers))
    assert type(error) is InternalServerError
    assert error.status_code == status


def test_500_json_body_parsed() -> None:
    """A JSON error body is kept parsed, and its error text is the message."""
    error = error_of(json_answer(500, {"status": 500, "error": "Internal Server Error"}))
    assert isinstance(error, APIStatusError)
    assert error.body == {"status": 500, "error": "Internal Server Error"}
    assert str(error).startswith("500 Internal Server Error: Internal Server Error")


def test_json_content_type_bad_json_body_is_text() -> None:
    """A body labelled JSON that does not parse is kept as text."""
    error = error_of(answer(502, "{truncated", JSON))
    assert isinstance(error, APIStatusError)
    assert error.body == "{truncated"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(499, APIStatusError), (418, APIStatusError), (520, InternalServerError), (522, InternalServerError)],
)
def test_unlisted_statuses(status: int, cls: type[APIStatusError]) -> None:
    """Statuses with no phrase of their own map to exactly the right class, without a ValueError."""
    error = error_of(answer(status, "<html>origin unreachable</html>", HTML))
    assert type(error) is cls
    assert error.status_code == status
    assert not isinstance(error, ValueError)
    assert str(error).startswith(str(status))


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect(status: int) -> None:
    """A redirect is an APIStatusError that says redirects are not followed and where it pointed."""
    error = error_of(answer(status, "", {"location": "https://new.example.com/api/v1/accounts/7/audit_logs"}))
    assert type(error) is APIStatusError
    assert "redirects are not followed" in str(error)
    assert "https://new.example.com" in str(error)


def test_redirect_without_location() -> None:
    """A redirect with no Location still says redirects are not followed."""
    error = error_of(answer(302))
    assert "redirects are not followed" in str(error)


def test_request_id() -> None:
    """X-Request-Id ends up in .request_id and in the message."""
    error = error_of(json_answer(500, {"error": "boom"}, {"X-Request-Id": "req-abc-123"}))
    assert isinstance(error, APIStatusError)
    assert error.request_id == "req-abc-123"
    assert "req-abc-123" in str(error)
    assert error.response.status_code == 500


def test_no_request_id() -> None:
    """Without X-Request-Id, request_id is None."""
    error = error_of(json_answer(404, {"error": "x"}))
    assert isinstance(error, APIStatusError)
    assert error.request_id is None


def test_long_text_body_shortened_in_message() -> None:
    """A long HTML body is cut short in the message but kept whole in .body."""
    body = "<html>" + "x" * 5000 + "</html>"
    error = error_of(answer(502, body, HTML))
    assert isinstance(error, APIStatusError)
    assert len(str(error)) < 400
    assert error.body == body


# -- the token never shows -----------------------------------------------------------------------

ERROR_ANSWERS = [
    (200, "<html>oops</html>", HTML),
    (200, json.dumps({"oops": 1}), JSON),
    (401, json.dumps({"error": "Invalid Access Token"}), JSON),
    (401, json.dumps({"errors": ["You need to sign in"]}), JSON),
    (404, "", TEXT),
    (429, "Retry later\n", TEXT),
    (502, "<html>bad gateway</html>", HTML),
    (302, "", {"location": "https://elsewhere.example.com/"}),
]


@pytest.mark.parametrize(("status", "content", "headers"), ERROR_ANSWERS)
@pytest.mark.parametrize("header", ["api_access_token", "Api-Access-Token"])
def test_error_request_token_blanked(status: int, content: str, headers: dict[str, str], header: TokenHeader) -> None:
    """After any error, the request the error keeps has its token header blanked."""
    settings = make_settings(token_header=header)
    response = answer(status, content, headers, settings=settings)
    error = error_of(response, settings)
    assert response.request.headers[header] == REDACTED
    assert_token_hidden(error)


@pytest.mark.parametrize(
    ("status", "headers"), [(502, HTML), (500, TEXT), (404, HTML), (200, HTML), (401, HTML), (418, TEXT)]
)
def test_echoed_token_scrubbed_from_text(status: int, headers: dict[str, str]) -> None:
    """A server page echoing the request headers does not put the token into the message or .body."""
    page = f"<html><pre>GET /api/v1/accounts/7/audit_logs\napi_access_token: {TOKEN}\n</pre></html>"
    error = error_of(answer(status, page, headers))
    assert_token_hidden(error)
    assert REDACTED in str(getattr(error, "body", ""))


def test_echoed_token_scrubbed_from_json_error_body() -> None:
    """A JSON error body echoing the token does not keep it in .body."""
    error = error_of(json_answer(401, {"error": f"Invalid Access Token {TOKEN}"}))
    assert TOKEN not in str(error)
    assert_token_hidden(error)


def test_echoed_token_scrubbed_from_validation_error() -> None:
    """A 200 JSON body of the wrong shape echoing the token does not show it in the message."""
    error = error_of(json_answer(200, {**PAGE_BODY, "audit_logs": TOKEN}))
    assert type(error) is APIResponseValidationError
    assert_token_hidden(error)


@pytest.mark.parametrize("status", [200, 502])
def test_echoed_token_prefix_not_leaked(status: int) -> None:
    """Wherever the token falls in a long body, no 8-character piece of it reaches the message."""
    pieces = {TOKEN[i : i + 8] for i in range(len(TOKEN) - 7)}
    for offset in range(80, 220):
        error = error_of(answer(status, "a" * offset + TOKEN + " b", HTML))
        leaked = [piece for piece in pieces if piece in str(error)]
        assert not leaked, (offset, leaked)


# A token with a slash, which JSON may escape as "\\/", and two ways a proxy may echo it escaped.
SLASHED = "CANARY/TOKEN-1234"
ESCAPED = ["CANARY\\/TOKEN-1234", "\\u0043ANARY/TOKEN-1234", "\\u0043\\u0041NARY\\/TOKEN-1234"]


def assert_slashed_token_hidden(error: ChatwootError) -> None:
    """The slashed token is nowhere in the error's message, repr or decoded body."""
    assert SLASHED not in str(error)
    assert SLASHED not in repr(error)
    body = getattr(error, "body", None)
    assert SLASHED not in (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))


@pytest.mark.parametrize("escaped", ESCAPED)
@pytest.mark.parametrize("status", [401, 404, 418, 429, 502])
def test_json_escaped_token_scrubbed_from_status_error_body(status: int, escaped: str) -> None:
    """A proxy echoing the token JSON-escaped does not leave it in .body once decoded, keys included."""
    settings = make_settings(token=SLASHED)
    content = (
        f'{{"error": "Invalid token {escaped}", "echo": {{"headers": [{{"api_access_token": "{escaped}"}}], '
        f'"{escaped}": ["x {escaped} y", 1, null]}}}}'
    )
    assert SLASHED not in content
    error = error_of(answer(status, content, JSON, settings=settings), settings)
    assert isinstance(error, APIStatusError)
    assert_slashed_token_hidden(error)
    assert isinstance(error.body, dict)
    assert error.body["error"] == f"Invalid token {REDACTED}"
    assert error.body["echo"] == {"headers": [{"api_access_token": REDACTED}], REDACTED: [f"x {REDACTED} y", 1, None]}


@pytest.mark.parametrize("escaped", ESCAPED)
def test_json_escaped_token_scrubbed_from_validation_error(escaped: str) -> None:
    """A 200 of the wrong shape echoing the token JSON-escaped shows no 8-character piece of it anywhere."""
    settings = make_settings(token=SLASHED)
    pieces = {SLASHED[i : i + 8] for i in range(len(SLASHED) - 7)}
    for offset in range(70):
        content = json.dumps({**PAGE_BODY, "audit_logs": None})[:-1] + f', "echo": ["{escaped}"]}}'
        content = content.replace('"audit_logs": null', f'"audit_logs": "{"a" * offset}{escaped} b"')
        error = error_of(answer(200, content, JSON, settings=settings), settings)
        assert type(error) is APIResponseValidationError
        assert_slashed_token_hidden(error)
        assert isinstance(error.body, dict)
        assert error.body["echo"] == [REDACTED]
        leaked = [piece for piece in pieces if piece in str(error)]
        assert not leaked, (offset, leaked)


def test_scrub_parsed_walks_every_string() -> None:
    """scrub_parsed blanks the token in keys and values at any depth, and leaves other values alone."""
    body: object = {"a": [TOKEN, {TOKEN: f"x{TOKEN}"}], "n": [1, 2.5, True, None], TOKEN: "plain"}
    assert scrub_parsed(body, TOKEN) == {
        "a": [REDACTED, {REDACTED: f"x{REDACTED}"}],
        "n": [1, 2.5, True, None],
        REDACTED: "plain",
    }
    assert scrub_parsed(f"{TOKEN}!", TOKEN) == f"{REDACTED}!"
    assert scrub_parsed(7, TOKEN) == 7
    deep = json.loads("[" * 900 + json.dumps(TOKEN) + "]" * 900)
    assert TOKEN not in json.dumps(scrub_parsed(deep, TOKEN))


def test_scrub_and_redact() -> None:
    """scrub blanks the token in text; redact blanks the header and tolerates None."""
    assert scrub(f"x {TOKEN} y {TOKEN}", TOKEN) == f"x {REDACTED} y {REDACTED}"
    assert scrub("nothing here", TOKEN) == "nothing here"
    request = httpx.Request("GET", "https://chat.example.com/", headers={"api_access_token": TOKEN})
    redact_request(request, SETTINGS.token_header)
    assert request.headers["api_access_token"] == REDACTED
    redact_request(None, SETTINGS.token_header)
    bare = httpx.Request("GET", "https://chat.example.com/")
    redact_request(bare, SETTINGS.token_header)
    assert "api_access_token" not in bare.headers


def test_status_error_direct() -> None:
    """status_error builds the error without raising it."""
    error = status_error(json_answer(404, {"error": "Resource could not be found"}), SETTINGS)
    assert type(error) is NotFoundError


# -- connection errors ---------------------------------------------------------------------------


def _request(header: str = "api_access_token") -> httpx.Request:
    return httpx.Request("GET", "https://chat.example.com/api/v1/accounts/7/audit_logs?page=4", headers={header: TOKEN})


@pytest.mark.parametrize(
    ("exc_type", "cls"),
    [
        (httpx.ConnectError, APIConnectionError),
        (httpx.RemoteProtocolError, APIConnectionError),
        (httpx.ReadError, APIConnectionError),
        (httpx.ReadTimeout, APITimeoutError),
        (httpx.ConnectTimeout, APITimeoutError),
        (httpx.WriteTimeout, APITimeoutError),
        (httpx.PoolTimeout, APITimeoutError),
    ],
)
def test_connection_error_classes(exc_type: type[httpx.TransportError], cls: type[APIConnectionError]) -> None:
    """Transport failures map to APIConnectionError, timeouts to APITimeoutError."""
    request = _request()
    error = connection_error(
        exc_type(f"boom while sending api_access_token: {TOKEN}", request=request), request, SETTINGS
    )
    assert type(error) is cls
    assert isinstance(error, APIConnectionError)
    assert error.request is request
    assert request.headers["api_access_token"] == REDACTED
    assert_token_hidden(error)
    assert exc_type.__name__ in str(error)


def test_connection_error_message_names_request_without_query() -> None:
    """The message names the method and URL, without the query."""
    request = _request()
    error = connection_error(httpx.ConnectError("refused"), request, SETTINGS)
    assert "GET https://chat.example.com/api/v1/accounts/7/audit_logs" in str(error)
    assert "page=4" not in str(error)
    assert "refused" in str(error)


def test_connection_error_without_request() -> None:
    """An error with no request still maps, and says so."""
    error = connection_error(httpx.ReadTimeout("slow"), None, SETTINGS)
    assert type(error) is APITimeoutError
    assert "the request" in str(error)


def test_connection_error_empty_message() -> None:
    """An exception with no message is named by its type."""
    error = connection_error(httpx.RemoteProtocolError(""), _request(), SETTINGS)
    assert "RemoteProtocolError" in str(error)


def test_connection_error_other_http_error() -> None:
    """A non-transport httpx error (a bad header value, say) is an APIConnectionError too."""
    error = connection_error(httpx.DecodingError("bad gzip"), _request(), SETTINGS)
    assert type(error) is APIConnectionError


# -- edge cases found while testing ---------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json(status: int) -> None:
    """A pathologically nested JSON body is a ChatwootError, not a RecursionError."""
    error_of(answer(status, b"[" * 100_000 + b"]" * 100_000, JSON))


@pytest.mark.parametrize("charset", ["rot13", "hex", "base64", "idna", "undefined"])
@pytest.mark.parametrize("status", [200, 502])
def test_odd_charset(charset: str, status: int) -> None:
    """A non-JSON body whose content-type names an odd charset still gives a ChatwootError."""
    error_of(answer(status, b"<html>oops \xff</html>", {"content-type": f"text/html; charset={charset}"}))


# -- property ------------------------------------------------------------------------------------

content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/vnd.api+json",
            "text/html",
            "text/html; charset=utf-8",
            "text/plain",
            "text/plain; charset=bogus-charset",
            "application/octet-stream",
            "",
        ]
    ),
    st.from_regex(r"[a-z]{1,8}/[a-z+.-]{1,12}", fullmatch=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(json.dumps(PAGE_BODY).encode()),
)


@given(
    status=st.integers(min_value=100, max_value=599),
    content=bodies,
    content_type=st.one_of(st.none(), content_types),
    request_id=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True)),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_page_from_response_only_chatwoot_errors(
    status: int, content: bytes, content_type: str | None, request_id: str | None
) -> None:
    """Any status and body gives a page (200 only) or a ChatwootError, never anything else."""
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["content-type"] = content_type
    if request_id is not None:
        headers["x-request-id"] = request_id
    response = answer(status, content, headers)
    try:
        result: AuditLogPage | ChatwootError = page_from_response(response, SETTINGS)
    except (APIStatusError, APIResponseValidationError) as exc:
        result = exc
    if isinstance(result, AuditLogPage):
        assert status == 200
        return
    assert response.request.headers["api_access_token"] == REDACTED
    if isinstance(result, APIStatusError):
        assert status != 200
        assert result.status_code == status
        assert result.request_id == request_id
    else:
        assert status == 200
        assert isinstance(result, APIResponseValidationError)


def test_an_echoed_token_is_blanked_in_the_request_id() -> None:
    """A proxy that echoes the token as the request id leaves it in no attribute of the error."""
    request = httpx.Request("GET", "https://chat.example.com/api/v1/accounts/1/audit_logs")
    echoed = {"x-request-id": f"req-{SETTINGS.token}"}
    response = httpx.Response(502, text="bad gateway", headers=echoed, request=request)
    error = status_error(response, SETTINGS)
    assert error.request_id is not None
    assert SETTINGS.token not in error.request_id
    assert SETTINGS.token not in str(error)


# -- the token behind an error, and in wide encodings ---------------------------------------------


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception chained behind it, as a traceback would reach them."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [current.__context__, current.__cause__]
    return seen


def assert_no_token_behind(error: BaseException) -> None:
    """No exception chained to ``error`` holds the token: not in its message, args, nor a json error's .doc."""
    for link in _chain(error):
        assert TOKEN not in str(link), type(link)
        assert TOKEN not in repr(link.args), type(link)
        assert TOKEN not in str(getattr(link, "doc", "")), type(link)


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({**PAGE_BODY, "audit_logs": TOKEN}),
        json.dumps({**PAGE_BODY, "audit_logs": [{**ROW, "id": TOKEN}]}),
        json.dumps({**PAGE_BODY, "per_page": f"x{TOKEN}"}),
    ],
)
def test_a_validation_error_chains_no_exception_holding_the_token(content: str) -> None:
    """A 200 echoing the token into a field that fails validation leaves it in no chained exception."""
    error = error_of(answer(200, content, JSON))
    assert type(error) is APIResponseValidationError
    assert_token_hidden(error)
    assert_no_token_behind(error)


@pytest.mark.parametrize("content", [f"<html>api_access_token: {TOKEN}</html>", f'{{"echo": "{TOKEN}"'])
def test_a_body_that_is_not_json_chains_no_exception_holding_the_token(content: str) -> None:
    """A 200 that is not JSON leaves no json error (whose .doc is the whole body) behind its error."""
    error = error_of(answer(200, content, JSON))
    assert isinstance(error, TransientBody)
    assert_token_hidden(error)
    assert_no_token_behind(error)


WIDE_ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]


def assert_no_trace_of_the_token(text: str) -> None:
    """Not the token, nor the token between NULs, nor characters that encode back to it."""
    assert TOKEN not in text
    assert TOKEN not in text.replace("\x00", "")
    for encoding in WIDE_ENCODINGS:
        assert TOKEN.encode() not in text.encode(encoding, errors="surrogatepass")


@pytest.mark.parametrize("encoding", WIDE_ENCODINGS)
@pytest.mark.parametrize(("status", "content_type"), [(502, "text/html"), (200, "text/html"), (401, None)])
def test_a_token_echoed_in_a_wide_encoding_without_a_charset_is_blanked(
    encoding: str, status: int, content_type: str | None
) -> None:
    """A UTF-16 or UTF-32 body with no charset is read by its BOM or NULs, and the token in it blanked."""
    page = f"<html><pre>api_access_token: {TOKEN}</pre></html>"
    headers = {"content-type": content_type} if content_type else {}
    error = error_of(answer(status, page.encode(encoding), headers))
    assert_token_hidden(error)
    assert_no_trace_of_the_token(str(error))
    assert_no_trace_of_the_token(str(getattr(error, "body", "")))
    # Read in its own encoding, the rest of the page reads as text.
    assert "api_access_token: <redacted>" in str(error)


@pytest.mark.parametrize("encoding", WIDE_ENCODINGS)
def test_a_wide_json_error_body_without_a_charset_is_parsed_and_blanked(encoding: str) -> None:
    """A JSON 401 in UTF-16 or UTF-32 with no charset is parsed, with the token blanked in it."""
    content = json.dumps({"error": f"Invalid Access Token {TOKEN}"}).encode(encoding)
    error = error_of(answer(401, content, {"content-type": "application/json"}))
    assert isinstance(error, AuthenticationError)
    assert error.body == {"error": f"Invalid Access Token {REDACTED}"}
    assert_no_trace_of_the_token(str(error))


@pytest.mark.parametrize(
    ("encoding", "charset"), [("utf-16-le", "utf-8"), ("utf-8", "utf-16"), ("utf-32-be", "latin-1"), ("utf-8", "cp500")]
)
def test_a_token_under_the_wrong_charset_leaves_no_trace(encoding: str, charset: str) -> None:
    """A body in one encoding declared as another shows no form of the token that encodes back to it."""
    page = f"<html>echo: {TOKEN}</html>".encode(encoding)
    error = error_of(answer(502, page, {"content-type": f"text/html; charset={charset}"}))
    assert_no_trace_of_the_token(str(error))
    assert_no_trace_of_the_token(str(getattr(error, "body", "")))
    assert TOKEN.encode() not in str(error).encode(charset, errors="replace")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_byte_order_mark_outranks_the_declared_charset(encoding: str) -> None:
    """A body that starts with a BOM is read by it, whatever charset the header names."""
    page = f"<html>echo: {TOKEN}</html>".encode(encoding)
    error = error_of(answer(502, page, {"content-type": "text/html; charset=utf-8"}))
    assert "<html>echo: <redacted></html>" in str(error)
    assert_no_trace_of_the_token(str(error))


def test_a_wide_json_page_of_the_wrong_shape_is_blanked() -> None:
    """A 200 JSON body in UTF-16 echoing the token into a failing field shows it nowhere."""
    content = json.dumps({**PAGE_BODY, "audit_logs": TOKEN}).encode("utf-16")
    error = error_of(answer(200, content, {"content-type": "application/json"}))
    assert type(error) is APIResponseValidationError
    assert_token_hidden(error)
    assert_no_trace_of_the_token(str(error))
    assert_no_token_behind(error)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-le"])
def test_the_command_prints_no_wide_echo_of_the_token(tmp_path: Path, encoding: str) -> None:
    """A proxy page echoing the token in UTF-16 or UTF-32, no charset, leaves no trace of it on stderr."""
    token = "canary-TOKEN-5e1d0b"
    page = f"<html><pre>api_access_token: {token}</pre></html>".encode(encoding)
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    with answering(502, page, headers={"Content-Type": "text/html"}) as base_url:
        env = clean_env(CHATWOOT_BASE_URL=base_url, CHATWOOT_ACCOUNT_ID="1")
        done = run_cli(["export", "--debug", "--max-retries", "0", "--token-file", str(token_file)], env)
    assert done.returncode != 0
    assert "<redacted>" in done.stderr
    for text in (done.stdout, done.stderr):
        assert token not in text.replace("\x00", "")
        for wide in WIDE_ENCODINGS:
            assert token.encode() not in text.encode(wide, errors="surrogatepass")
