"""Settings: arguments, environment variables, the base URL checks, and keeping the token secret."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import httpx
import pytest

from chatwoot_audit._config import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_TIMEOUT,
    ENV_ACCOUNT_ID,
    ENV_API_ACCESS_TOKEN,
    ENV_BASE_URL,
    Settings,
    check_base_url,
    resolve_settings,
)
from chatwoot_audit._errors import ConfigurationError, HintCode, InvalidArgumentError
from chatwoot_audit._redact import Token
from chatwoot_audit._retry import Retries, RetryPolicy

CANARY = "CANARY-TOKEN-1234"
BASE = "https://chat.example.com"


def resolve(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """resolve_settings with every argument given, an empty environment unless told otherwise."""
    kwargs: dict[str, Any] = {
        "base_url": BASE,
        "api_access_token": CANARY,
        "account_id": 1,
        "timeout": None,
        "max_retries": None,
        "retry_policy": None,
        "token_header": "api_access_token",
        "allow_insecure_http": False,
    }
    kwargs.update(overrides)
    return resolve_settings(env={} if env is None else env, **kwargs)


FULL_ENV = {ENV_BASE_URL: "https://env.example.com", ENV_API_ACCESS_TOKEN: "env-token", ENV_ACCOUNT_ID: "42"}


# -- arguments and environment -------------------------------------------------------------------


def test_from_arguments() -> None:
    """Arguments alone configure everything, with finite defaults."""
    settings = resolve(account_id=3)
    assert settings.base_url == httpx.URL(BASE)
    assert settings.account_id == 3
    assert settings.token == CANARY
    assert settings.token_header == "api_access_token"
    assert settings.timeout == DEFAULT_TIMEOUT
    assert settings.retry == Retries(RetryPolicy(), 4)


def test_default_timeout_is_finite() -> None:
    """The default timeout has a finite value for every phase."""
    for value in (DEFAULT_TIMEOUT.connect, DEFAULT_TIMEOUT.read, DEFAULT_TIMEOUT.write, DEFAULT_TIMEOUT.pool):
        assert value is not None
        assert math.isfinite(value)
        assert value > 0


def test_from_env() -> None:
    """With no arguments every setting comes from the CHATWOOT_* variables."""
    settings = resolve(env=FULL_ENV, base_url=None, api_access_token=None, account_id=None)
    assert str(settings.base_url) == "https://env.example.com"
    assert settings.token == "env-token"
    assert settings.account_id == 42


def test_arguments_beat_env() -> None:
    """An argument wins over its environment variable."""
    settings = resolve(env=FULL_ENV, base_url="https://arg.example.com", api_access_token="arg-token", account_id=7)
    assert str(settings.base_url) == "https://arg.example.com"
    assert settings.token == "arg-token"
    assert settings.account_id == 7


def test_partial_env() -> None:
    """Arguments and variables mix: each setting from wherever it is given."""
    settings = resolve(env={ENV_ACCOUNT_ID: "9"}, account_id=None)
    assert settings.account_id == 9
    assert str(settings.base_url) == BASE


def test_account_id_string_argument() -> None:
    """account_id may be a numeric string, as it often comes from config files."""
    assert resolve(account_id="12").account_id == 12
    assert resolve(env={ENV_ACCOUNT_ID: " 12 "}, account_id=None).account_id == 12


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without env=, the process environment is read."""
    monkeypatch.setenv(ENV_ACCOUNT_ID, "77")
    settings = resolve_settings(
        base_url=BASE,
        api_access_token=CANARY,
        account_id=None,
        timeout=None,
        max_retries=None,
        retry_policy=None,
        token_header="api_access_token",
        allow_insecure_http=False,
    )
    assert settings.account_id == 77


@pytest.mark.parametrize(
    ("argument", "variable"),
    [("base_url", ENV_BASE_URL), ("api_access_token", ENV_API_ACCESS_TOKEN), ("account_id", ENV_ACCOUNT_ID)],
)
@pytest.mark.parametrize("env_value", [None, ""])
def test_missing_setting_names_both_places(argument: str, variable: str, env_value: str | None) -> None:
    """A missing setting (or an empty variable) raises ConfigurationError naming the argument and the variable."""
    env = {} if env_value is None else {variable: env_value}
    with pytest.raises(ConfigurationError) as info:
        resolve(env=env, **{argument: None})
    assert argument in str(info.value)
    assert variable in str(info.value)


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "1e3", " ", "0x10"])
def test_account_id_env_rejected(value: str) -> None:
    """A CHATWOOT_ACCOUNT_ID that is not a positive integer is refused, naming the variable."""
    with pytest.raises(ConfigurationError, match=ENV_ACCOUNT_ID):
        resolve(env={ENV_ACCOUNT_ID: value}, account_id=None)


@pytest.mark.parametrize("value", [0, -1, True, "abc", "0", [1]])
def test_account_id_argument_rejected(value: object) -> None:
    """An account_id argument that is not a positive integer is refused, naming the argument."""
    with pytest.raises(ConfigurationError, match="account_id"):
        resolve(account_id=value)


def test_account_id_float_rejected() -> None:
    """A float account_id is refused rather than truncated to another account."""
    with pytest.raises(ConfigurationError, match="account_id"):
        resolve(account_id=1.9)


def test_configuration_error_is_value_error() -> None:
    """Configuration errors are InvalidArgumentErrors and ValueErrors."""
    with pytest.raises(ValueError, match="account_id") as info:
        resolve(account_id=0)
    assert isinstance(info.value, InvalidArgumentError)


# -- the base URL --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://chat.example.com", "http://10.0.0.5:3000", "http://192.168.1.2", "http://localhost.evil.example"]
)
def test_plain_http_refused(url: str) -> None:
    """Plain http to a host that is not loopback is refused, and the message says how to allow it."""
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        check_base_url(url, allow_insecure_http=False)


@pytest.mark.parametrize("url", ["http://chat.example.com", "http://10.0.0.5:3000"])
def test_plain_http_allowed_when_asked(url: str) -> None:
    """allow_insecure_http=True lets plain http through."""
    assert check_base_url(url, allow_insecure_http=True) == httpx.URL(url)
    assert resolve(base_url=url, allow_insecure_http=True).base_url == httpx.URL(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost",
        "http://localhost:3000",
        "http://LOCALHOST:3000",
        "http://127.0.0.1:3000",
        "http://127.5.5.5",
        "http://[::1]:3000",
        "http://[::1]",
    ],
)
def test_plain_http_loopback_allowed(url: str) -> None:
    """Plain http to loopback is fine without opting in."""
    assert check_base_url(url, allow_insecure_http=False).scheme == "http"


@pytest.mark.parametrize("url", ["http://chatwoot.localhost:8080", "http://localhost.:3000", "http://a.b.localhost"])
def test_plain_http_to_names_under_localhost_refused(url: str) -> None:
    """Names under .localhost (and 'localhost.') may go to DNS: plain http to them needs opting in."""
    with pytest.raises(ConfigurationError, match=r"only 'localhost' itself") as caught:
        check_base_url(url, allow_insecure_http=False)
    assert caught.value.hint is not None
    assert caught.value.hint.code == HintCode.INSECURE_HTTP
    assert check_base_url(url, allow_insecure_http=True).scheme == "http"


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://chat.example.com/?page=2", "query"),
        ("https://chat.example.com/#top", "fragment"),
        ("https://user:secret@chat.example.com", "credentials"),
        ("https://user@chat.example.com", "credentials"),
        ("ftp://chat.example.com", "http(s)"),
        ("chat.example.com", "http(s)"),
        ("https://", "http(s)"),
        ("", "http(s)"),
        ("https://chat.example.com:abc", "base_url"),
    ],
)
def test_bad_base_url(url: str, fragment: str) -> None:
    """Queries, fragments, credentials, other schemes and hostless URLs are refused."""
    with pytest.raises(ConfigurationError) as info:
        check_base_url(url, allow_insecure_http=True)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.example.com", "https://chat.example.com"),
        ("https://chat.example.com/", "https://chat.example.com"),
        ("https://example.com/chatwoot", "https://example.com/chatwoot"),
        ("https://example.com/chatwoot/", "https://example.com/chatwoot"),
        ("https://example.com/a/b///", "https://example.com/a/b"),
        ("  https://example.com/chatwoot/  ", "https://example.com/chatwoot"),
        ("https://example.com:8443/x/", "https://example.com:8443/x"),
    ],
)
def test_path_prefix_kept(url: str, expected: str) -> None:
    """A path prefix is kept, without a trailing slash."""
    result = check_base_url(url, allow_insecure_http=False)
    assert str(result) == expected
    assert not str(result).endswith("/")


def test_base_url_accepts_httpx_url() -> None:
    """base_url may be an httpx.URL."""
    assert str(resolve(base_url=httpx.URL("https://example.com/cw/")).base_url) == "https://example.com/cw"


# -- the token -----------------------------------------------------------------------------------


def test_token_repr_redacted() -> None:
    """Token is a str whose repr never shows it."""
    token = Token(CANARY)
    assert token == CANARY
    assert isinstance(token, str)
    assert CANARY not in repr(token)
    assert CANARY not in repr([token])
    assert CANARY not in repr({"t": token})


def test_settings_repr_hides_token() -> None:
    """Neither repr nor str of Settings shows the token."""
    settings = resolve()
    assert CANARY not in repr(settings)
    assert CANARY not in str(settings)
    assert CANARY not in repr(attrs.asdict(settings, recurse=False))


def test_token_stripped() -> None:
    """Surrounding spaces (a common copy-paste slip) are stripped from the token."""
    assert resolve(api_access_token=f"  {CANARY} ").token == CANARY


@pytest.mark.parametrize(
    "value", ["", "   ", f"{CANARY}\nX", f"{CANARY}\rY", f"A\0{CANARY}", b"CANARY-TOKEN-1234", 1234]
)
def test_bad_token_rejected_without_echo(value: object) -> None:
    """A malformed token is refused without echoing it."""
    with pytest.raises(ConfigurationError, match="api_access_token") as info:
        resolve(api_access_token=value)
    assert CANARY not in str(info.value)
    assert CANARY not in repr(info.value)


@pytest.mark.parametrize(
    "value",
    [f"\ufeff{CANARY}", f"{CANARY}\ufeff", "CANARY-TÖK-1234", f"{CANARY}\tX", f"CANARY {CANARY}", f"{CANARY}\x7f"],
    ids=["bom", "trailing bom", "non-ascii", "tab inside", "space inside", "delete"],
)
def test_token_must_be_visible_ascii(value: str) -> None:
    """A token with a non-ASCII or non-printable character is refused up front, showing no part of it."""
    with pytest.raises(ConfigurationError, match="visible ASCII") as info:
        resolve(api_access_token=value)
    shown = str(info.value) + repr(info.value) + "".join(map(str, info.value.args))
    for piece in ("CANARY", "TOKEN", "1234", "TÖK", "\ufeff"):
        assert piece not in shown


def test_token_of_every_visible_ascii_character_accepted() -> None:
    """Every character from '!' to '~' may appear in a token."""
    token = "".join(map(chr, range(0x21, 0x7F)))
    assert resolve(api_access_token=f"\t{token} \n").token == token


# Every error path of resolve_settings, each with the canary as the token.
ERROR_PATHS: list[tuple[str, dict[str, Any], Mapping[str, str]]] = [
    ("no base_url", {"base_url": None}, {}),
    ("bad base_url", {"base_url": "not a url"}, {}),
    ("ftp base_url", {"base_url": "ftp://chat.example.com"}, {}),
    ("query", {"base_url": f"{BASE}/?x=1"}, {}),
    ("fragment", {"base_url": f"{BASE}/#x"}, {}),
    ("credentials", {"base_url": "https://u:p@chat.example.com"}, {}),
    ("insecure", {"base_url": "http://chat.example.com"}, {}),
    ("bad port", {"base_url": "https://chat.example.com:abc"}, {}),
    ("no token", {"api_access_token": None}, {}),
    ("token newline", {"api_access_token": CANARY + "\nX"}, {}),
    ("token bom", {"api_access_token": "\ufeff" + CANARY}, {}),
    ("env token non-ascii", {"api_access_token": None}, {ENV_API_ACCESS_TOKEN: CANARY + "ö"}),
    ("env token newline", {"api_access_token": None}, {ENV_API_ACCESS_TOKEN: CANARY + "\r\nX"}),
    ("no account", {"account_id": None}, {}),
    ("account zero", {"account_id": 0}, {}),
    ("account text", {"account_id": "abc"}, {}),
    ("account bool", {"account_id": True}, {}),
    ("env account", {"account_id": None}, {ENV_ACCOUNT_ID: "-1"}),
    ("token header", {"token_header": "Authorization"}, {}),
    ("timeout zero", {"timeout": 0}, {}),
    ("timeout text", {"timeout": "30"}, {}),
    ("timeout object negative", {"timeout": httpx.Timeout(-1)}, {}),
    ("max_retries", {"max_retries": -1}, {}),
    ("max_retries bool", {"max_retries": True}, {}),
]


@pytest.mark.parametrize(("overrides", "env"), [c[1:] for c in ERROR_PATHS], ids=[c[0] for c in ERROR_PATHS])
@pytest.mark.parametrize("source", ["argument", "env"])
def test_no_error_shows_the_token(overrides: dict[str, Any], env: Mapping[str, str], source: str) -> None:
    """No ConfigurationError, whatever went wrong, shows the token in its str, repr or args."""
    if source == "env" and "api_access_token" not in overrides:
        env = {**env, ENV_API_ACCESS_TOKEN: CANARY}
        overrides = {"api_access_token": None, **overrides}
    with pytest.raises(ConfigurationError) as info:
        resolve(env=env, **overrides)
    error = info.value
    assert CANARY not in str(error)
    assert CANARY not in repr(error)
    assert all(CANARY not in str(arg) for arg in error.args)
    assert error.__cause__ is None or CANARY not in str(error.__cause__)


def test_base_url_password_never_echoed() -> None:
    """A password in the base URL is never repeated in an error message."""
    for url in ("ftp://user:hunter2-SECRET@chat.example.com", "https://user:hunter2-SECRET@", "user:hunter2-SECRET@x"):
        with pytest.raises(ConfigurationError) as info:
            check_base_url(url, allow_insecure_http=False)
        assert "hunter2-SECRET" not in str(info.value)


# -- timeout, retries, token header --------------------------------------------------------------


@pytest.mark.parametrize("value", [12.5, 1, 0.001])
def test_timeout_number(value: float) -> None:
    """A number of seconds becomes an httpx.Timeout for every phase."""
    timeout = resolve(timeout=value).timeout
    assert isinstance(timeout, httpx.Timeout)
    assert timeout == httpx.Timeout(float(value))


def test_timeout_object_kept() -> None:
    """An httpx.Timeout is used as given."""
    given = httpx.Timeout(5.0, connect=2.0)
    assert resolve(timeout=given).timeout is given


@pytest.mark.parametrize("value", [0, 0.0, -1, -0.5, math.nan, True, "30", [30]])
def test_timeout_invalid(value: object) -> None:
    """Zero, negative, NaN, bool and non-numbers are refused."""
    with pytest.raises(ConfigurationError, match="timeout"):
        resolve(timeout=value)


def test_timeout_infinite_rejected() -> None:
    """An infinite timeout is refused: the design promises finite timeouts."""
    with pytest.raises(ConfigurationError, match="timeout"):
        resolve(timeout=math.inf)


@pytest.mark.parametrize(
    "value",
    [
        httpx.Timeout(-1),
        httpx.Timeout(5.0, read=float("inf")),
        httpx.Timeout(5.0, connect=-0.5),
        httpx.Timeout(5.0, pool=math.nan),
        httpx.Timeout(5.0, write="5"),  # type: ignore[arg-type]
        httpx.Timeout(5.0, read=True),
    ],
    ids=["negative", "infinite read", "negative connect", "nan pool", "text write", "bool read"],
)
def test_timeout_object_with_a_bad_phase_rejected(value: httpx.Timeout) -> None:
    """An httpx.Timeout with a negative, non-finite or non-numeric phase is refused, naming the phase."""
    with pytest.raises(ConfigurationError, match=r"timeout has (connect|read|write|pool)="):
        resolve(timeout=value)


@pytest.mark.parametrize(
    "value", [httpx.Timeout(None), httpx.Timeout(5.0, read=None), httpx.Timeout(5.0, pool=0), httpx.Timeout(2)]
)
def test_timeout_object_with_no_limit_phases_kept(value: httpx.Timeout) -> None:
    """None phases (no limit, the caller's explicit choice) and finite ones are kept as given."""
    assert resolve(timeout=value).timeout is value


def test_max_retries_is_the_one_count() -> None:
    """max_retries is the client's count of retries, 4 by default; the policy only says how long to wait."""
    assert resolve(max_retries=7).retry == Retries(RetryPolicy(), 7)
    assert resolve(max_retries=0).retry.max_retries == 0
    assert resolve().retry.max_retries == 4


def test_max_retries_with_a_custom_policy() -> None:
    """A retry_policy is kept as it is, next to max_retries."""
    policy = RetryPolicy(base_delay=0.1)
    settings = resolve(retry_policy=policy, max_retries=9)
    assert settings.retry.max_retries == 9
    assert settings.retry.policy is policy
    assert resolve(retry_policy=policy).retry.max_retries == 4


@pytest.mark.parametrize("value", [-1, 1.5, "3"])
def test_max_retries_invalid(value: object) -> None:
    """A bad max_retries is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match="max_retries"):
        resolve(max_retries=value)


@pytest.mark.parametrize("header", ["api_access_token", "Api-Access-Token"])
def test_token_header_spellings(header: str) -> None:
    """The two spellings Chatwoot reads are accepted."""
    assert resolve(token_header=header).token_header == header


@pytest.mark.parametrize("header", ["Authorization", "api-access-token", "API_ACCESS_TOKEN", "", "X-Api-Key"])
def test_token_header_others_refused(header: str) -> None:
    """Anything but the two spellings is refused."""
    with pytest.raises(ConfigurationError, match="token_header"):
        resolve(token_header=header)


def test_surrounding_whitespace_of_a_token_is_dropped() -> None:
    """A token read from a file with its trailing newline is used without it."""
    settings = resolve(api_access_token=f"  {CANARY}\r\n")
    assert settings.token == CANARY


# -- attempt_timeout and max_body_size -----------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (None, 90.0),
        (5, 15.0),
        (httpx.Timeout(10.0, connect=20.0), 60.0),
        (httpx.Timeout(10.0, pool=None), 30.0),
        (httpx.Timeout(None), None),
        (httpx.Timeout(10.0, read=None), None),
    ],
)
def test_attempt_timeout_defaults_to_three_times_the_longest_phase(
    timeout: float | httpx.Timeout | None, expected: float | None
) -> None:
    """By default an attempt may take 3x the longest phase of timeout; with no read limit, no limit at all."""
    assert resolve(timeout=timeout).attempt_timeout == expected


@pytest.mark.parametrize(("value", "expected"), [(0.25, 0.25), (7, 7.0), (math.inf, None)])
def test_attempt_timeout_given(value: float, expected: float | None) -> None:
    """A number of seconds is kept; math.inf means no limit."""
    assert resolve(attempt_timeout=value).attempt_timeout == expected


@pytest.mark.parametrize("value", [0, -1, math.nan, -math.inf, True, "3", httpx.Timeout(3)])
def test_attempt_timeout_invalid(value: object) -> None:
    """Zero, negative, NaN or a value of another kind is refused, naming the argument."""
    with pytest.raises(ConfigurationError, match="attempt_timeout"):
        resolve(attempt_timeout=value)


def test_max_body_size_default_is_far_above_a_page() -> None:
    """16 MiB by default: hundreds of times a page of 25 entries."""
    assert resolve().max_body_size == DEFAULT_MAX_BODY_SIZE == 16 * 1024 * 1024
    assert resolve(max_body_size=1024).max_body_size == 1024


@pytest.mark.parametrize("value", [0, -5, 1.5, True, "1024", math.inf])
def test_max_body_size_invalid(value: object) -> None:
    """A size must be a whole number of bytes >= 1."""
    with pytest.raises(ConfigurationError, match="max_body_size"):
        resolve(max_body_size=value)
