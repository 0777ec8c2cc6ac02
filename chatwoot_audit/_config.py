"""Client settings: defaults, environment variables, and the checks made before any request."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import urllib.request
from collections.abc import Mapping
from typing import Final, Literal

import attrs
import httpcore
import httpx

from ._errors import ConfigurationError, Hint, HintCode
from ._redact import Token, is_visible_ascii
from ._retry import DEFAULT_MAX_RETRIES, Retries, RetryPolicy

__all__ = [
    "ATTEMPT_TIMEOUT_FACTOR",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_TIMEOUT",
    "ENV_ACCOUNT_ID",
    "ENV_API_ACCESS_TOKEN",
    "ENV_BASE_URL",
    "Settings",
    "TokenHeader",
    "check_proxy_route",
    "default_attempt_timeout",
    "direct_mounts",
    "is_loopback",
    "resolve_settings",
]

ENV_BASE_URL: Final = "CHATWOOT_BASE_URL"
ENV_API_ACCESS_TOKEN: Final = "CHATWOOT_API_ACCESS_TOKEN"
ENV_ACCOUNT_ID: Final = "CHATWOOT_ACCOUNT_ID"

# Finite on purpose: the generated client waits forever by default.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)

# httpx's timeouts bound each wait for the network, not an attempt: a server that sends a byte now and
# then holds a request for as long as it likes. By default one attempt, from sending the request to the
# last byte of the answer, may take this many times the longest phase of `timeout` (90 s with the default
# timeout): room for a slow connect, a slow first byte and a slow body, yet bounded.
ATTEMPT_TIMEOUT_FACTOR: Final = 3.0

# A real page of 25 entries is tens of kilobytes; this is far above any, and bounds the memory an endless
# or absurd answer can take.
DEFAULT_MAX_BODY_SIZE: Final = 16 * 1024 * 1024

# Chatwoot reads the token from `api_access_token`; the dashed spelling reaches the same check and
# survives proxies (nginx among them) that drop header names with underscores.
TokenHeader = Literal["api_access_token", "Api-Access-Token"]
TOKEN_HEADERS: Final = ("api_access_token", "Api-Access-Token")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine by its name alone: ``localhost``, 127.0.0.0/8 or ``::1``.

    ``*.localhost`` and ``localhost.`` are not: many resolvers (glibc's among them) send those names to
    DNS. Resolving them here would not help either: the connection resolves the name again, and may get
    another answer.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def direct_mounts(base_url: str | httpx.URL) -> dict[str, None]:
    """httpx ``mounts`` that send requests for a loopback ``base_url`` straight to it, past any proxy.

    httpx takes proxies from ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``ALL_PROXY``: a request for loopback
    would travel to the proxy, over plain http with the token in it when the URL is plain http, and the
    proxy's loopback is not ours anyway. A mount of None means "no proxy" and outranks the environment's.
    Empty for any other host, or a URL that does not parse (the settings check reports that).
    """
    try:
        host = httpx.URL(str(base_url).strip()).host
    except (httpx.InvalidURL, TypeError, ValueError):
        return {}
    if not host or not is_loopback(host):
        return {}
    return {f"all://[{host}]" if ":" in host else f"all://{host}": None}


_PROXY_POOLS: Final = (httpcore.HTTPProxy, httpcore.SOCKSProxy, httpcore.AsyncHTTPProxy, httpcore.AsyncSOCKSProxy)


def _routes_through_proxy(client: httpx.Client | httpx.AsyncClient, url: httpx.URL) -> bool:
    """Whether ``client`` would send a request for ``url`` to a proxy (its own, or one from the environment)."""
    try:
        # httpx has no public way to ask; this is the method its own send() asks.
        transport: object = client._transport_for_url(url)
    except AttributeError:
        # Another httpx: judge by the environment, as httpx does for a client that trusts it.
        if not client.trust_env:
            return False
        proxies = urllib.request.getproxies()
        return bool(proxies.get(url.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(url.host)
    return isinstance(getattr(transport, "_pool", None), _PROXY_POOLS)


def check_proxy_route(
    client: httpx.Client | httpx.AsyncClient, base_url: httpx.URL, *, allow_insecure_http: bool
) -> None:
    """Refuse a caller's client that would carry the token over plain http to a proxy.

    Plain http is allowed to loopback because the token never leaves this machine; through a proxy it
    would, unencrypted. ``allow_insecure_http=True`` says the network (proxies included) is trusted.
    """
    if base_url.scheme != "http" or allow_insecure_http or not _routes_through_proxy(client, base_url):
        return
    raise ConfigurationError(
        f"refusing to send the API token over plain http through a proxy: http_client would send requests for "
        f"{base_url.scheme}://{base_url.netloc.decode('ascii')} to a proxy (from HTTP_PROXY or ALL_PROXY, or its "
        "own proxy= or mounts=)",
        hint=Hint(
            HintCode.INSECURE_HTTP,
            "Build it with trust_env=False, add the host to NO_PROXY, use https, or pass allow_insecure_http=True "
            "if the proxy is trusted",
        ),
    )


@attrs.frozen(kw_only=True)
class Settings:
    """Everything a client needs, checked. The token is kept out of the repr."""

    base_url: httpx.URL
    account_id: int
    token: Token = attrs.field(repr=False)
    token_header: TokenHeader
    timeout: httpx.Timeout
    retry: Retries
    attempt_timeout: float | None
    max_body_size: int


# The hints of malformed settings: the message says what is wrong with the value.
_TIMEOUT: Final = Hint(HintCode.TIMEOUT)
_BASE_URL: Final = Hint(HintCode.BASE_URL)
_TOKEN: Final = Hint(HintCode.TOKEN)
_ACCOUNT: Final = Hint(HintCode.ACCOUNT)


def _check_timeout(timeout: httpx.Timeout) -> httpx.Timeout:
    """An httpx.Timeout whose every phase is None (no limit, the caller's choice) or finite seconds >= 0."""
    for phase, value in timeout.as_dict().items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise ConfigurationError(
                f"timeout has {phase}={value!r}: each phase must be a finite number of seconds >= 0, or None",
                hint=_TIMEOUT,
            )
    return timeout


def default_attempt_timeout(timeout: httpx.Timeout) -> float | None:
    """:data:`ATTEMPT_TIMEOUT_FACTOR` times the longest phase of ``timeout``; no limit with no read limit.

    A caller who lets a read wait forever has said an answer may take as long as it takes.
    """
    if timeout.read is None:
        return None
    return ATTEMPT_TIMEOUT_FACTOR * max(value for value in timeout.as_dict().values() if value is not None)


def _check_attempt_timeout(value: object, timeout: httpx.Timeout) -> float | None:
    if value is None:
        return default_attempt_timeout(timeout)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value) or value <= 0:
        raise ConfigurationError(
            f"attempt_timeout must be a number of seconds > 0 (math.inf for no limit), not {value!r}", hint=_TIMEOUT
        )
    return None if math.isinf(value) else float(value)


def _check_max_body_size(value: object) -> int:
    if value is None:
        return DEFAULT_MAX_BODY_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_body_size must be a number of bytes, an int >= 1, not {value!r}", hint=Hint(HintCode.BODY_SIZE)
        )
    return value


def _pick(value: str | int | None, env: Mapping[str, str], var: str) -> str | int | None:
    if value is not None:
        return value
    from_env = env.get(var)
    return from_env if from_env not in (None, "") else None


def _shown(raw: str) -> str:
    """A URL fit for an error message: whatever stands before an '@' may be a password."""
    scheme, sep, rest = raw.partition("://")
    if "@" in rest.split("/", 1)[0]:
        rest = "<credentials>@" + rest.split("@", 1)[1]
    return repr(scheme + sep + rest if sep else ("<credentials>@" + raw.split("@", 1)[1] if "@" in raw else raw))


# What people paste instead of the server's root: the API's own path (copied from API docs), or a page of
# the dashboard (copied from the address bar). Anything before it is kept: Chatwoot may live under a prefix.
_PASTED_PATH: Final = re.compile(
    r"(?P<api>/api(?:/v\d+)?)(?:/.*)?$|/app(?:/accounts/(?P<account>\d+))?(?:/.*)?$", re.IGNORECASE
)


def check_base_url(raw: str | httpx.URL, *, allow_insecure_http: bool) -> httpx.URL:
    """Parse and vet a base URL: http(s), a host, no query, and plain http only to loopback unless allowed.

    A URL with the API's path (``/api/v1``) or a dashboard page (``/app/accounts/3/...``) is refused with a
    :class:`ConfigurationError` that gives the base URL to use instead.
    """
    text = str(raw).strip()
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise ConfigurationError(f"base_url {_shown(text)} is not a valid URL", hint=_BASE_URL) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an http(s) URL with a host, like https://chat.example.com, not {_shown(text)}",
            hint=_BASE_URL,
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigurationError(f"base_url has port {url.port}, which is not between 1 and 65535", hint=_BASE_URL)
    if url.username or url.password:
        raise ConfigurationError(
            "base_url must not hold credentials",
            hint=Hint(HintCode.CREDENTIALS, "Pass the token as api_access_token, and the URL without them"),
        )
    mistake = _PASTED_PATH.search(url.path)
    if mistake is not None or url.query or url.fragment:
        # Refused rather than rewritten: the same value is often shared with other tools (and the CLI's
        # environment), so the fix belongs in the configuration, and a guess could cut a real path prefix.
        kept = url.path[: mistake.start()] if mistake is not None else url.path
        fix = str(url.copy_with(path=kept.rstrip("/") or "/", query=None, fragment=None)).rstrip("/")
        account = mistake.group("account") if mistake is not None else None
        if mistake is not None and mistake.group("api"):
            why = f"holds the API's own path {mistake.group('api')}, which the client adds itself"
        elif mistake is not None:
            why = "is a page of the dashboard, not the server's root"
        else:
            why = "has a query or a fragment, which a base URL cannot carry"
        also = f" and account_id={account}" if account else ""
        fixed: dict[str, object] = {"base_url": fix} | ({"account_id": int(account)} if account else {})
        raise ConfigurationError(
            f"base_url {_shown(text)} {why}",
            hint=Hint(HintCode.BASE_URL, f"Use base_url={fix!r}{also}", fixed),
        )
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        named = url.host.rstrip(".").endswith("localhost")
        raise ConfigurationError(
            f"refusing to send the API token over plain http to {url.host}"
            + (" (only 'localhost' itself counts as loopback: other names may resolve anywhere)" if named else ""),
            hint=Hint(
                HintCode.INSECURE_HTTP,
                "Use https, or pass allow_insecure_http=True if the network between you and the server is trusted",
            ),
        )
    # Chatwoot may live under a path prefix; keep it, without a trailing slash, so paths append to it.
    return url.copy_with(path=url.path.rstrip("/") or "")


def resolve_settings(
    *,
    base_url: str | httpx.URL | None,
    api_access_token: str | None,
    account_id: int | str | None,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    retry_policy: RetryPolicy | None,
    token_header: str,
    allow_insecure_http: bool,
    attempt_timeout: float | None = None,
    max_body_size: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Arguments first, then ``CHATWOOT_*`` environment variables; a missing one names both places."""
    env = os.environ if env is None else env
    raw_url = _pick(str(base_url) if base_url is not None else None, env, ENV_BASE_URL)
    if raw_url is None:
        raise ConfigurationError(
            "base_url is required", hint=Hint(HintCode.BASE_URL, f"Pass base_url=... or set {ENV_BASE_URL}")
        )
    url = check_base_url(str(raw_url), allow_insecure_http=allow_insecure_http)

    token = _pick(api_access_token, env, ENV_API_ACCESS_TOKEN)
    if token is None:
        raise ConfigurationError(
            "api_access_token is required",
            hint=Hint(HintCode.TOKEN, f"Pass api_access_token=... or set {ENV_API_ACCESS_TOKEN}"),
        )
    if isinstance(token, str):
        # A token read from a file or a secret store often ends with a newline.
        token = token.strip()
    if not isinstance(token, str) or not token or any(c in token for c in "\r\n\0"):
        # Never echo the value: it is a secret even when it is malformed.
        raise ConfigurationError("api_access_token must be a non-empty string on one line", hint=_TOKEN)
    if not is_visible_ascii(token):
        # An HTTP header carries ASCII only: httpx would fail on a BOM or an accented letter, with the
        # whole token in its error. Name the rule, not the character: that would show part of the secret.
        raise ConfigurationError(
            "api_access_token must be visible ASCII characters only (no spaces, tabs, byte-order marks or "
            "accented letters)",
            hint=Hint(HintCode.TOKEN, "Check how it was copied"),
        )

    raw_account = _pick(account_id, env, ENV_ACCOUNT_ID)
    if raw_account is None:
        raise ConfigurationError(
            "account_id is required", hint=Hint(HintCode.ACCOUNT, f"Pass account_id=... or set {ENV_ACCOUNT_ID}")
        )
    source = "account_id" if account_id is not None else ENV_ACCOUNT_ID
    if isinstance(raw_account, str) and raw_account.strip().isascii() and raw_account.strip().isdigit():
        number = int(raw_account.strip())
    elif isinstance(raw_account, int) and not isinstance(raw_account, bool):
        number = raw_account
    else:
        raise ConfigurationError(f"{source} must be a positive integer, not {raw_account!r}", hint=_ACCOUNT)
    if number < 1:
        raise ConfigurationError(f"{source} must be a positive integer, not {raw_account!r}", hint=_ACCOUNT)

    if token_header not in TOKEN_HEADERS:
        raise ConfigurationError(
            f"token_header must be one of {', '.join(TOKEN_HEADERS)}, not {token_header!r}",
            hint=Hint(HintCode.TOKEN_HEADER),
        )

    if timeout is None:
        resolved_timeout = DEFAULT_TIMEOUT
    elif isinstance(timeout, httpx.Timeout):
        resolved_timeout = _check_timeout(timeout)
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 < timeout < math.inf:
        resolved_timeout = httpx.Timeout(float(timeout))
    else:
        raise ConfigurationError(
            f"timeout must be a number of seconds > 0 or an httpx.Timeout, not {timeout!r}", hint=_TIMEOUT
        )

    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise ConfigurationError(f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}")
    count = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, not {count!r}", hint=Hint(HintCode.RETRIES))
    retry = Retries(retry_policy if retry_policy is not None else RetryPolicy(), count)

    return Settings(
        base_url=url,
        account_id=number,
        token=Token(token),
        token_header=token_header,  # type: ignore[arg-type]
        timeout=resolved_timeout,
        retry=retry,
        attempt_timeout=_check_attempt_timeout(attempt_timeout, resolved_timeout),
        max_body_size=_check_max_body_size(max_body_size),
    )
