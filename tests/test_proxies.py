"""Plain http to loopback never travels to a proxy: the SDK's pool, a caller's client, and the command."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from _cli_helpers import run_cli, serving
from _support import FAST_RETRIES

from chatwoot_audit import AsyncChatwootAudit, ChatwootAudit, ConfigurationError
from chatwoot_audit._config import _routes_through_proxy, direct_mounts
from chatwoot_audit.testing import Emulator

CANARY = "CANARY-TOKEN-5a7e"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class RecordingProxy:
    """A stand-in proxy on 127.0.0.1: it notes each request it gets and answers 502."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()

    def record(self, method: str, target: str, carried_token: bool) -> None:
        with self._lock:
            self.requests.append((method, target, carried_token))


@contextmanager
def recording_proxy() -> Iterator[RecordingProxy]:
    """A :class:`RecordingProxy` on a free port, stopped on exit."""
    proxy: RecordingProxy | None = None

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5.0

        def _answer(self) -> None:
            assert proxy is not None
            carried = any(name.lower() in ("api_access_token", "api-access-token") for name in self.headers)
            proxy.record(self.command, self.path, carried)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_CONNECT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy = RecordingProxy(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    """A recording proxy, with no proxy variable set yet in either spelling."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with recording_proxy() as recording:
        yield recording


# -- the SDK's own connection pool -------------------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_sdk_reaches_loopback_past_an_environment_proxy(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, variable: str, host: str
) -> None:
    """With a proxy in the environment, a walk of a plain-http loopback server sends the proxy nothing."""
    monkeypatch.setenv(variable, proxy.url)
    emu = Emulator(seed=1, entries=30)
    with emu.serve() as server:
        url = server.base_url.replace("127.0.0.1", host)
        with ChatwootAudit(url, emu.admin_token, emu.account_id, retry_policy=FAST_RETRIES, timeout=5.0) as client:
            assert len(list(client.logs())) == 30
    assert proxy.requests == []
    assert emu.request_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY"])
async def test_the_async_sdk_reaches_loopback_past_an_environment_proxy(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """The async twin, under asyncio and trio alike."""
    monkeypatch.setenv(variable, proxy.url)
    emu = Emulator(seed=2, entries=30)
    with emu.serve() as server:
        async with AsyncChatwootAudit(
            server.base_url, emu.admin_token, emu.account_id, retry_policy=FAST_RETRIES, timeout=5.0
        ) as client:
            assert len([log async for log in client.logs()]) == 30
    assert proxy.requests == []


def test_a_remote_host_still_uses_the_environment_proxy(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback is taken past the proxy: a remote server is reached through it, as httpx would."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with (
        ChatwootAudit(
            "http://chat.example.com", CANARY, 1, allow_insecure_http=True, max_retries=0, timeout=5.0
        ) as client,
        pytest.raises(Exception, match="502"),
    ):
        client.page(1)
    assert [(method, target) for method, target, _ in proxy.requests] == [
        ("GET", "http://chat.example.com/api/v1/accounts/1/audit_logs?page=1")
    ]


# -- a caller's own client ---------------------------------------------------------------------------


def _proxied_clients(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, how: str) -> httpx.Client:
    if how == "environment":
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        return httpx.Client()
    if how == "all_proxy":
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        return httpx.Client()
    if how == "argument":
        return httpx.Client(proxy=proxy.url)
    return httpx.Client(mounts={"http://127.0.0.1": httpx.HTTPTransport(proxy=proxy.url)})


@pytest.mark.parametrize("how", ["environment", "all_proxy", "argument", "mount"])
def test_a_callers_client_that_would_proxy_plain_http_loopback_is_refused(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A caller's client that routes plain-http loopback to a proxy is refused before any request."""
    with _proxied_clients(proxy, monkeypatch, how) as http:
        with pytest.raises(ConfigurationError, match="through a proxy") as info:
            ChatwootAudit("http://127.0.0.1:9", CANARY, 1, http_client=http)
        http.get("http://127.0.0.1:9/")  # the client does use the proxy
    assert "trust_env=False" in str(info.value)
    assert CANARY not in str(info.value)
    assert proxy.requests == [("GET", "http://127.0.0.1:9/", False)]


@pytest.mark.anyio
async def test_an_async_callers_client_that_would_proxy_plain_http_loopback_is_refused(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The async twin refuses the same client."""
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError, match="through a proxy"):
            AsyncChatwootAudit("http://localhost:9", CANARY, 1, http_client=http)
    assert proxy.requests == []


@pytest.mark.parametrize("how", ["trust_env=False", "NO_PROXY", "no_proxy", "mount"])
def test_a_callers_client_that_bypasses_the_proxy_is_accepted(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A caller's client that reaches loopback directly (by any of httpx's ways) is used, the proxy unasked."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    options: dict[str, Any] = {}
    if how == "trust_env=False":
        options["trust_env"] = False
    elif how == "mount":
        options["mounts"] = {"all://127.0.0.1": None}
    else:
        monkeypatch.setenv(how, "127.0.0.1")
    emu = Emulator(seed=3, entries=10)
    with (
        emu.serve() as server,
        httpx.Client(**options) as http,
        ChatwootAudit(
            server.base_url, emu.admin_token, emu.account_id, http_client=http, retry_policy=FAST_RETRIES
        ) as client,
    ):
        assert client.page(1).total_entries == 10
    assert proxy.requests == []


def test_allow_insecure_http_trusts_the_callers_proxy(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """allow_insecure_http=True says the network, its proxies included, is trusted."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with httpx.Client() as http:
        ChatwootAudit("http://127.0.0.1:9", CANARY, 1, http_client=http, allow_insecure_http=True).close()


def test_https_loopback_through_a_callers_proxy_is_accepted(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over https the token travels inside TLS, whatever carries it: the caller's proxy is their business."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with httpx.Client() as http:
        ChatwootAudit("https://127.0.0.1:9", CANARY, 1, http_client=http).close()


# -- how a route is judged ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3000", "http://localhost", "http://LOCALHOST:1", "http://[::1]:8080", "https://127.0.0.2"]
)
def test_direct_mounts_take_loopback_past_every_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """A client with direct_mounts reaches a loopback URL directly; the same client without, through the proxy."""
    monkeypatch.setenv("ALL_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with httpx.Client() as plain, httpx.Client(mounts=direct_mounts(url)) as direct:
        assert _routes_through_proxy(plain, httpx.URL(url))
        assert not _routes_through_proxy(direct, httpx.URL(url))


@pytest.mark.parametrize(
    "url", ["https://chat.example.com", "http://chatwoot.localhost", "http://localhost.", "http://10.0.0.1", "::"]
)
def test_direct_mounts_leave_other_hosts_alone(url: str) -> None:
    """Only loopback hosts (by name or address, not names under .localhost) are taken past proxies."""
    assert direct_mounts(url) == {}


def test_without_httpx_routing_the_environment_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should httpx lose the method the check asks, the proxy variables decide, NO_PROXY included."""

    class Bare:
        trust_env = True

    client = cast(httpx.Client, Bare())
    url = httpx.URL("http://127.0.0.1:3000")
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert not _routes_through_proxy(client, url)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert _routes_through_proxy(client, url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert not _routes_through_proxy(client, url)


# -- the command -------------------------------------------------------------------------------------


def test_the_command_reaches_loopback_past_an_environment_proxy(tmp_path: Path, proxy: RecordingProxy) -> None:
    """``export`` to a plain-http loopback server sends the environment's proxy nothing."""
    with serving(tmp_path, seed=5, entries=30) as served:
        env = {**served.env, "HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url}
        done = run_cli(served.auth("export", "--output", str(tmp_path / "out.jsonl")), env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 30
    assert proxy.requests == []
