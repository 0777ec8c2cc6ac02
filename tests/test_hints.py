"""Errors carry a Hint (a stable code, the SDK's advice, the settings to use); the CLI says it with flags."""

from __future__ import annotations

import copy
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _cli_helpers import answering, clean_env, run_cli

from chatwoot_audit import (
    APIResponseValidationError,
    AuthenticationError,
    ChatwootError,
    ConfigurationError,
    Hint,
    HintCode,
    InternalServerError,
    RateLimitError,
)
from chatwoot_audit._cli._exits import advice, describe
from chatwoot_audit._config import Settings, resolve_settings
from chatwoot_audit._errors import problem
from chatwoot_audit._http import AttemptLimits, connection_error, gave_up, page_from_response

TOKEN = "hint-canary-token-1234"
URL = "https://chat.example.com/api/v1/accounts/7/audit_logs?page=1"
# A keyword argument as Python code spells it: what the command line must never show.
KEYWORD = re.compile(
    r"\b(base_url|api_access_token|account_id|token_header|allow_insecure_http|max_retries|rate_limit_budget)="
)

# Two periods that are not part of an ellipsis ("pass base_url=...").
DOUBLE_PERIOD = re.compile(r"(?<!\.)\.\.(?!\.)")


def settings(**overrides: Any) -> Settings:
    options: dict[str, Any] = {
        "base_url": "https://chat.example.com",
        "api_access_token": TOKEN,
        "account_id": 7,
        "timeout": None,
        "max_retries": None,
        "retry_policy": None,
        "token_header": "api_access_token",
        "allow_insecure_http": False,
        "env": {},
    }
    options.update(overrides)
    return resolve_settings(**options)


def refused(**overrides: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        settings(**overrides)
    return caught.value


def answered(
    status: int, body: object = None, *, headers: dict[str, str] | None = None, **options: Any
) -> ChatwootError:
    """The error page_from_response gives for an answer (JSON when ``body`` is not bytes)."""
    fields = dict(headers or {})
    if isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body).encode()
        fields.setdefault("content-type", "application/json")
    response = httpx.Response(status, content=content, headers=fields, request=httpx.Request("GET", URL))
    with pytest.raises(ChatwootError) as caught:
        page_from_response(response, settings(**options), attempts=3)
    return gave_up(caught.value, 3)


SDK_ERRORS: dict[str, tuple[Callable[[], ChatwootError], HintCode, dict[str, Any]]] = {
    "no base_url": (lambda: refused(base_url=None), HintCode.BASE_URL, {}),
    "not a URL": (lambda: refused(base_url="ftp://chat.example.com"), HintCode.BASE_URL, {}),
    "pasted API path": (
        lambda: refused(base_url="https://chat.example.com/api/v1"),
        HintCode.BASE_URL,
        {"base_url": "https://chat.example.com"},
    ),
    "dashboard page": (
        lambda: refused(base_url="https://chat.example.com/app/accounts/3/dashboard"),
        HintCode.BASE_URL,
        {"base_url": "https://chat.example.com", "account_id": 3},
    ),
    "credentials in the URL": (lambda: refused(base_url="https://me:pw@chat.example.com"), HintCode.CREDENTIALS, {}),
    "plain http": (lambda: refused(base_url="http://chat.example.com"), HintCode.INSECURE_HTTP, {}),
    "no token": (lambda: refused(api_access_token=None), HintCode.TOKEN, {}),
    "token on two lines": (lambda: refused(api_access_token="a\nb"), HintCode.TOKEN, {}),
    "no account": (lambda: refused(account_id=None), HintCode.ACCOUNT, {}),
    "account not a number": (lambda: refused(account_id="three"), HintCode.ACCOUNT, {}),
    "bad token_header": (lambda: refused(token_header="Authorization"), HintCode.TOKEN_HEADER, {}),
    "bad timeout": (lambda: refused(timeout=-1), HintCode.TIMEOUT, {}),
    "bad max_retries": (lambda: refused(max_retries=-1), HintCode.RETRIES, {}),
    "bad max_body_size": (lambda: refused(max_body_size=0), HintCode.BODY_SIZE, {}),
    "401 refused": (lambda: answered(401, {"error": "Invalid Access Token"}), HintCode.TOKEN, {}),
    "401 no token seen": (
        lambda: answered(401, {"errors": ["You need to sign in or sign up before continuing."]}),
        HintCode.TOKEN_HEADER,
        {"token_header": "Api-Access-Token"},
    ),
    "401 no token seen, dashed": (
        lambda: answered(401, {"errors": ["No token."]}, token_header="Api-Access-Token"),
        HintCode.TOKEN_HEADER,
        {},
    ),
    "404": (lambda: answered(404, {"error": "Resource could not be found"}), HintCode.ACCOUNT, {}),
    "422": (lambda: answered(422, {"error": "feature"}), HintCode.FEATURE, {}),
    "429": (
        lambda: answered(429, b"Retry later\n", headers={"content-type": "text/plain"}),
        HintCode.RATE_LIMIT,
        {},
    ),
    "redirect": (
        lambda: answered(301, b"", headers={"location": "https://new.example.com/cw/api/v1/accounts/7/audit_logs"}),
        HintCode.BASE_URL,
        {"base_url": "https://new.example.com/cw"},
    ),
    "redirect elsewhere": (
        lambda: answered(302, b"", headers={"location": "https://chat.example.com/login"}),
        HintCode.BASE_URL,
        {},
    ),
    "200 not JSON": (
        lambda: answered(200, b"<html>login</html>", headers={"content-type": "text/html"}),
        HintCode.BASE_URL,
        {},
    ),
    "refused connection": (
        lambda: gave_up(connection_error(httpx.ConnectError("refused"), httpx.Request("GET", URL), settings()), 5),
        HintCode.CONNECTION,
        {},
    ),
    "read timeout": (
        lambda: connection_error(httpx.ReadTimeout("slow"), httpx.Request("GET", URL), settings()),
        HintCode.TIMEOUT,
        {},
    ),
    "attempt timeout": (
        lambda: AttemptLimits(settings()).timed_out(httpx.Request("GET", URL)),
        HintCode.TIMEOUT,
        {},
    ),
    "body too large": (
        lambda: AttemptLimits(settings(max_body_size=10)).too_large(
            httpx.Response(200, request=httpx.Request("GET", URL))
        ),
        HintCode.BODY_SIZE,
        {},
    ),
}


@pytest.mark.parametrize("case", SDK_ERRORS)
def test_each_error_carries_its_hint(case: str) -> None:
    """The code says what to look at; fix holds the values the SDK is sure of; the advice ends the message."""
    make, code, fix = SDK_ERRORS[case]
    error = make()
    assert error.hint is not None
    assert error.hint.code is code
    assert error.hint.fix == fix
    assert str(error) == error.message
    assert str(error).startswith(problem(error))
    assert str(error).endswith(error.hint.advice)
    assert not DOUBLE_PERIOD.search(str(error))
    assert TOKEN not in str(error) + repr(error.hint)


@pytest.mark.parametrize("case", SDK_ERRORS)
def test_the_cli_gives_flags_not_keywords(case: str) -> None:
    """The command's line is the problem and its own advice: never the SDK's sentence, never a keyword."""
    error = SDK_ERRORS[case][0]()
    assert error.hint is not None
    _, line = describe(error)
    assert problem(error).split(".")[0] in line
    if error.hint.advice:
        assert error.hint.advice not in line
    assert not KEYWORD.search(line), line
    assert "\n" not in line
    assert not DOUBLE_PERIOD.search(line)
    for name, value in error.hint.fix.items():
        flag = "--" + name.replace("_", "-")
        assert f"{flag} {value}" in line


def test_every_code_has_advice_on_the_command_line() -> None:
    """A new HintCode needs its line in the CLI's table: no code falls through to nothing."""
    for code in HintCode:
        said = advice(Hint(code))
        assert said, code
        assert not KEYWORD.search(said)


def test_a_fix_the_cli_has_no_flag_for_falls_back_to_the_code() -> None:
    """A fix naming a setting with no flag gives the code's advice instead of a half-translated one."""
    said = advice(Hint(HintCode.TIMEOUT, "x", {"attempt_timeout": 60.0}))
    assert said == advice(Hint(HintCode.TIMEOUT))
    assert "attempt_timeout" not in said


def test_no_hint_where_there_is_no_advice() -> None:
    """A 5xx has nothing to change on this side: hint is None, and the CLI says to try again later."""
    error = answered(503, {"status": 503, "error": "Service Unavailable"})
    assert isinstance(error, InternalServerError)
    assert error.hint is None
    assert problem(error) == str(error)
    assert describe(error)[1].endswith("Try again later.")


def test_the_401_without_a_token_reads_as_sentences() -> None:
    """The server's text ends with a period: the advice follows it once, with no double period."""
    error = answered(401, {"errors": ["You need to sign in or sign up before continuing."]})
    assert isinstance(error, AuthenticationError)
    assert "continuing. The server saw no token" in str(error)
    _, line = describe(error)
    assert "continuing. The server saw no token" in line
    assert line.endswith("use --token-header Api-Access-Token.")


def test_a_non_json_body_keeps_its_hint_when_it_becomes_public() -> None:
    """The internal retry mark gives way to APIResponseValidationError with the same hint."""
    error = answered(200, b"<html>login</html>", headers={"content-type": "text/html"})
    assert type(error) is APIResponseValidationError
    assert error.hint is not None
    assert error.hint.code is HintCode.BASE_URL


@pytest.mark.parametrize("case", ["dashboard page", "401 no token seen", "429", "refused connection"])
def test_hints_survive_pickle_and_copy(case: str) -> None:
    """An error's hint and message come back whole from pickle, copy and deepcopy."""
    error = SDK_ERRORS[case][0]()
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):  # noqa: S301
        assert again.hint == error.hint
        assert str(again) == str(error)
        assert problem(again) == problem(error)


def test_a_hint_is_a_plain_value() -> None:
    """Hints compare by value and their codes are the stable strings programs match on."""
    assert Hint(HintCode.TOKEN, "a") == Hint(HintCode.TOKEN, "a")
    assert str(HintCode.TOKEN_HEADER) == "token_header"
    assert HintCode("token_header") is HintCode.TOKEN_HEADER
    assert {Hint(HintCode.BASE_URL, "x", {"base_url": "y"})}  # hashable although fix is a dict
    assert ChatwootError("plain").hint is None
    assert str(ChatwootError("what", hint=Hint(HintCode.TOKEN, "Do this"))) == "what. Do this"


def test_the_cli_end_to_end_names_the_token_header_flag(tmp_path: Path) -> None:
    """A 401 in Devise's shape: exit 3, one line, --token-header in it and no keyword argument."""
    token_file = tmp_path / "token"
    token_file.write_text("a-token\n")
    body = json.dumps({"errors": ["You need to sign in or sign up before continuing."]}).encode()
    with answering(401, body) as url:
        args = ["export", "--base-url", url, "--account-id", "1", "--token-file", str(token_file)]
        done = run_cli(args, clean_env())
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1
    assert "use --token-header Api-Access-Token." in done.stderr
    assert not KEYWORD.search(done.stderr)
    assert not DOUBLE_PERIOD.search(done.stderr)


def test_a_throttled_export_says_concurrency(tmp_path: Path) -> None:
    """A 429 that outlasts the retries: the CLI's advice from the code, not the SDK's rate_limit_budget."""
    response = httpx.Response(429, request=httpx.Request("GET", URL))
    error = RateLimitError("429", response=response, body=None, hint=Hint(HintCode.RATE_LIMIT, "Use rate_limit_budget"))
    _, line = describe(error)
    assert "Lower --concurrency" in line
    assert "rate_limit_budget" not in line
