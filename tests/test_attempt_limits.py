"""Each attempt ends by its deadline and reads at most max_body_size bytes; both retried, responses closed."""

from __future__ import annotations

import json
import math
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import anyio
import httpx
import pytest
from _support import FAST_RETRIES

from chatwoot_audit import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncChatwootAudit,
    ChatwootAudit,
    InternalServerError,
)
from chatwoot_audit._cli._connect import Connection, RequestStats, open_client
from chatwoot_audit._errors import PASSING_ERRORS, ResponseTooLargeError
from chatwoot_audit._redact import Secret
from chatwoot_audit.testing import Emulator

TOKEN = "CANARY-TOKEN-77d1"
DEADLINE = 0.3
GAP = 0.05  # between trickled bytes: well inside the read timeout, so only the deadline can end the wait
READ_TIMEOUT = 2.0
EMPTY_PAGE = json.dumps({"per_page": 25, "total_entries": 0, "current_page": 1, "audit_logs": []}).encode()

# What one connection is sent: (seconds to wait first, bytes) pairs, as a generator so it can be endless.
Answer = Callable[[], Iterator[tuple[float, bytes]]]


def _head(status: int = 200, **fields: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def trickled_body(body: bytes = EMPTY_PAGE * 40, gap: float = GAP) -> Answer:
    """Headers at once, then the body a byte at a time."""

    def answer() -> Iterator[tuple[float, bytes]]:
        yield 0.0, _head(Content_Length=str(len(body)))
        for byte in body:
            yield gap, bytes([byte])

    return answer


def trickled_headers(gap: float = GAP) -> Answer:
    """The status line and headers themselves a byte at a time."""

    def answer() -> Iterator[tuple[float, bytes]]:
        for byte in _head(Content_Length=str(len(EMPTY_PAGE))) + EMPTY_PAGE:
            yield gap, bytes([byte])

    return answer


def endless(chunk: int = 64 * 1024) -> Answer:
    """A chunked 200 that never ends (the server gives up after 256 MiB, should the client not)."""

    def answer() -> Iterator[tuple[float, bytes]]:
        yield 0.0, _head(Transfer_Encoding="chunked")
        piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
        for _ in range(256 * 1024 * 1024 // chunk):
            yield 0.0, piece

    return answer


def declared(size: int) -> Answer:
    """Headers that announce ``size`` bytes, then nothing (the client must not wait for them)."""

    def answer() -> Iterator[tuple[float, bytes]]:
        yield 0.0, _head(Content_Length=str(size))

    return answer


def whole(body: bytes = EMPTY_PAGE) -> Answer:
    """A prompt, complete answer."""

    def answer() -> Iterator[tuple[float, bytes]]:
        yield 0.0, _head(Content_Length=str(len(body))) + body

    return answer


class Scripted:
    """A server on 127.0.0.1 giving its n-th connection the n-th answer (the last one repeats).

    It notes each attempt and each connection the client hung up on; waits end early when it stops.
    """

    def __init__(self, answers: list[Answer]) -> None:
        self._answers = answers
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self.attempts = 0
        self.hung_up = 0
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                answer = self._answers[min(self.attempts, len(self._answers) - 1)]
                self.attempts += 1
            thread = threading.Thread(target=self._handle, args=(conn, answer), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket, answer: Answer) -> None:
        with conn:
            conn.settimeout(5.0)
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                for pause, data in answer():
                    if pause and self._stop.wait(pause):
                        return
                    if self._client_gone(conn):
                        break
                    conn.sendall(data)
                else:
                    # All sent: wait (boundedly) for the client to close its end.
                    ready, _, _ = select.select([conn], [], [], 5.0)
                    if not ready or conn.recv(1):
                        return
            except OSError:
                pass
            with self._changed:
                self.hung_up += 1
                self._changed.notify_all()

    @staticmethod
    def _client_gone(conn: socket.socket) -> bool:
        ready, _, _ = select.select([conn], [], [], 0)
        return bool(ready) and conn.recv(1, socket.MSG_PEEK) == b""

    def wait_hung_up(self, count: int, timeout: float = 5.0) -> None:
        """Wait until the client has closed ``count`` connections."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.hung_up >= count, timeout), (self.hung_up, count)

    def stop(self, serving: threading.Thread) -> None:
        """Stop accepting, then end every answer still being sent."""
        self._stop.set()
        self._listener.close()
        serving.join(10)
        for thread in self._threads:
            thread.join(10)


@contextmanager
def scripted(*answers: Answer) -> Iterator[Scripted]:
    """A :class:`Scripted` server, serving until the block ends."""
    server = Scripted(list(answers))
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop(thread)


def options(**overrides: Any) -> dict[str, Any]:
    """Client arguments for the scripted server: the canary token, short limits, fast retries."""
    chosen: dict[str, Any] = {
        "api_access_token": TOKEN,
        "account_id": 1,
        "timeout": READ_TIMEOUT,
        "attempt_timeout": DEADLINE,
        "retry_policy": FAST_RETRIES,
        "max_retries": 0,
    }
    chosen.update(overrides)
    return chosen


def assert_token_hidden(error: Exception) -> None:
    assert TOKEN not in str(error)
    request = getattr(error, "request", None)
    response = getattr(error, "response", None)
    if response is not None:
        request = response.request
    assert request is not None
    assert TOKEN not in str(request.headers)


# -- the deadline, over a real socket ----------------------------------------------------------------


def test_a_trickled_body_ends_at_the_deadline() -> None:
    """A body arriving a byte at a time (each well within the read timeout) ends the attempt at its deadline."""
    with scripted(trickled_body()) as server:
        with ChatwootAudit(server.base_url, **options(max_retries=1)) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match=r"attempt_timeout=0\.3s") as info:
                client.page(1)
            elapsed = time.monotonic() - started
        server.wait_hung_up(2)
    # Two attempts of 0.3 s, each at most one trickle gap late: nowhere near the 100 s the body would take.
    assert 2 * DEADLINE <= elapsed < 2 * (DEADLINE + GAP) + 0.5
    assert server.attempts == 2
    assert_token_hidden(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("answer", [trickled_body(), trickled_headers()], ids=["body", "headers"])
async def test_the_async_client_ends_a_trickle_at_the_deadline(answer: Answer) -> None:
    """Under asyncio and trio, a trickled body or even trickled headers end the attempt at its deadline."""
    with scripted(answer) as server:
        async with AsyncChatwootAudit(server.base_url, **options(max_retries=1)) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match=r"attempt_timeout=0\.3s") as info:
                await client.page(1)
            elapsed = time.monotonic() - started
        server.wait_hung_up(2)
    assert 2 * DEADLINE <= elapsed < 2 * DEADLINE + 0.5
    assert server.attempts == 2
    assert_token_hidden(info.value)


def test_a_slow_attempt_is_retried_and_the_next_one_answers() -> None:
    """An attempt past its deadline is retried like any timeout, and a prompt answer then wins."""
    with scripted(trickled_body(), whole()) as server:
        with ChatwootAudit(server.base_url, **options(max_retries=2)) as client:
            assert client.page(1).total_entries == 0
        server.wait_hung_up(2)
    assert server.attempts == 2


@pytest.mark.anyio
async def test_the_async_client_retries_a_slow_attempt() -> None:
    """The async twin retries an attempt past its deadline too."""
    with scripted(trickled_headers(), whole()) as server:
        async with AsyncChatwootAudit(server.base_url, **options(max_retries=2)) as client:
            assert (await client.page(1)).total_entries == 0
        server.wait_hung_up(2)
    assert server.attempts == 2


@pytest.mark.parametrize("limit", [1.0, math.inf])
def test_a_body_trickled_within_the_deadline_is_read(limit: float) -> None:
    """A body that trickles in slower than usual but within the deadline (or with none) is a page."""
    with (
        scripted(trickled_body(EMPTY_PAGE, gap=0.002)) as server,
        ChatwootAudit(server.base_url, **options(attempt_timeout=limit)) as client,
    ):
        assert client.page(1).per_page == 25


@pytest.mark.anyio
async def test_the_async_client_reads_a_body_trickled_within_the_deadline() -> None:
    """The async twin likewise."""
    with scripted(trickled_body(EMPTY_PAGE, gap=0.002)) as server:
        async with AsyncChatwootAudit(server.base_url, **options(attempt_timeout=1.0)) as client:
            assert (await client.page(1)).per_page == 25


# -- the size cap, over a real socket ----------------------------------------------------------------


def test_an_endless_body_is_cut_at_max_body_size() -> None:
    """An endless chunked 200 ends in ResponseTooLargeError once past the cap, retried, connections closed."""
    with scripted(endless()) as server:
        with (
            ChatwootAudit(server.base_url, **options(max_body_size=1024 * 1024, max_retries=1)) as client,
            pytest.raises(ResponseTooLargeError, match="max_body_size=1048576") as info,
        ):
            client.page(1)
        server.wait_hung_up(2)
    assert server.attempts == 2
    error = info.value
    assert isinstance(error, APIResponseValidationError)
    assert (error.limit, error.status_code, error.body) == (1024 * 1024, 200, None)
    assert_token_hidden(error)


@pytest.mark.anyio
async def test_the_async_client_cuts_an_endless_body() -> None:
    """The async twin stops reading at the cap too."""
    with scripted(endless()) as server:
        async with AsyncChatwootAudit(server.base_url, **options(max_body_size=1024 * 1024, max_retries=1)) as client:
            with pytest.raises(ResponseTooLargeError):
                await client.page(1)
        server.wait_hung_up(2)
    assert server.attempts == 2


def test_a_declared_length_over_the_cap_is_refused_unread() -> None:
    """A Content-Length over the cap fails at once, without waiting for a body that never comes."""
    with scripted(declared(10**12)) as server:
        with ChatwootAudit(server.base_url, **options(attempt_timeout=math.inf)) as client:
            started = time.monotonic()
            with pytest.raises(ResponseTooLargeError):
                client.page(1)
            assert time.monotonic() - started < READ_TIMEOUT
        server.wait_hung_up(1)


def test_the_default_cap_is_far_above_a_page() -> None:
    """By default a body of a few MiB passes the cap (and fails as the non-page it is), 16 MiB does not."""
    big = b'{"x": "' + b"y" * (4 * 1024 * 1024) + b'"}'
    with (
        scripted(whole(big), declared(16 * 1024 * 1024 + 1)) as server,
        ChatwootAudit(server.base_url, **options(attempt_timeout=None)) as client,
    ):
        with pytest.raises(APIResponseValidationError) as info:
            client.page(1)
        assert type(info.value) is APIResponseValidationError
        with pytest.raises(ResponseTooLargeError, match="max_body_size=16777216"):
            client.page(1)


def test_both_failures_are_waited_out_by_a_follower() -> None:
    """follow() and the command wait a timeout or an oversized answer out until the next poll."""
    assert issubclass(APITimeoutError, PASSING_ERRORS)
    assert issubclass(ResponseTooLargeError, PASSING_ERRORS)


# -- every path closes the response, in process --------------------------------------------------------


class Recorded(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body given piece by piece (after ``gap`` seconds each, or failing midway), noting that it was closed."""

    def __init__(self, pieces: Iterable[bytes], gap: float = 0.0, fail: bool = False) -> None:
        self._pieces = pieces
        self._gap = gap
        self._fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            if self._gap:
                time.sleep(self._gap)
            yield piece
            if self._fail:
                raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            # Each piece is a read, and a read waits (if only for a moment), as on a socket.
            await anyio.sleep(self._gap)
            yield piece
            if self._fail:
                raise httpx.ReadError("connection reset")

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers each request with ``make()``, keeping every body it handed out."""

    def __init__(self, make: Callable[[], tuple[int, dict[str, str], Recorded]]) -> None:
        self._make = make
        self.bodies: list[Recorded] = []

    def _answer(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = self._make()
        self.bodies.append(body)
        return httpx.Response(status, headers=headers, stream=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._answer(request)


JSON = {"content-type": "application/json"}
PATHS: dict[str, tuple[Callable[[], tuple[int, dict[str, str], Recorded]], type[Exception] | None]] = {
    "page": (lambda: (200, JSON, Recorded([EMPTY_PAGE[:10], EMPTY_PAGE[10:]])), None),
    "status": (lambda: (500, JSON, Recorded([b'{"error": "boom"}'])), InternalServerError),
    "not json": (lambda: (200, {"content-type": "text/html"}, Recorded([b"<html>"])), APIResponseValidationError),
    "too large": (lambda: (200, JSON, Recorded(b"x" * 1024 for _ in range(100_000))), ResponseTooLargeError),
    "declared": (lambda: (200, {**JSON, "content-length": str(10**9)}, Recorded([b"{}"])), ResponseTooLargeError),
    "slow": (lambda: (200, JSON, Recorded([b"{"] * 1000, gap=GAP)), APITimeoutError),
    "dropped": (lambda: (200, JSON, Recorded([b'{"per'], fail=True)), APIConnectionError),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_attempt_closes_its_response(path: str) -> None:
    """Whatever an attempt ends in (a page or any failure, retried), its response is closed."""
    make, expected = PATHS[path]
    transport = Recording(make)
    with httpx.Client(transport=transport) as http:
        client = ChatwootAudit("https://chat.test", http_client=http, **options(max_body_size=64 * 1024, max_retries=1))
        if expected is None:
            client.page(1)
        else:
            with pytest.raises(expected):
                client.page(1)
    assert transport.bodies
    assert all(body.closed for body in transport.bodies)
    assert len(transport.bodies) == (1 if expected is None else 2)


@pytest.mark.anyio
@pytest.mark.parametrize("path", list(PATHS))
async def test_every_async_attempt_closes_its_response(path: str) -> None:
    """The async twin closes every response, a cancelled (late) one included."""
    make, expected = PATHS[path]
    transport = Recording(make)
    async with httpx.AsyncClient(transport=transport) as http:
        client = AsyncChatwootAudit(
            "https://chat.test", http_client=http, **options(max_body_size=64 * 1024, max_retries=1)
        )
        if expected is None:
            await client.page(1)
        else:
            with pytest.raises(expected):
                await client.page(1)
    assert transport.bodies
    assert all(body.closed for body in transport.bodies)
    assert len(transport.bodies) == (1 if expected is None else 2)


def test_a_walk_with_concurrency_keeps_the_limits() -> None:
    """Pages fetched on worker threads are held to the same deadline."""
    transport = Recording(PATHS["slow"][0])
    with httpx.Client(transport=transport) as http:
        client = ChatwootAudit("https://chat.test", http_client=http, **options())
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            list(client.pages(concurrency=4))
        assert time.monotonic() - started < DEADLINE + 1.0


# -- the command's client -------------------------------------------------------------------------------


def test_the_commands_request_counter_leaves_the_body_to_the_limits() -> None:
    """The command's progress hooks never read a body themselves, so its walks keep the deadline too."""
    connection = Connection(base_url="", account_id=1, token=Secret(TOKEN), timeout=0.1, max_retries=0)
    with scripted(trickled_body()) as server:
        stats = RequestStats(read_totals=True)
        with open_client(replace(connection, base_url=server.base_url), stats) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match=r"attempt_timeout=0\.3s"):
                client.page(1)
            assert time.monotonic() - started < 3 * 0.1 + 0.5
        assert stats.total_entries is None
        assert stats.requests == 1


def test_the_commands_request_counter_reads_totals_once_the_sdk_has() -> None:
    """total_entries, for the progress display, comes from the bodies the SDK read."""
    emu = Emulator(seed=4, entries=60)
    with emu.serve() as server:
        connection = Connection(base_url=server.base_url, account_id=emu.account_id, token=Secret(emu.admin_token))
        stats = RequestStats(read_totals=True)
        with open_client(connection, stats, concurrency=4) as client:
            before = stats.total_entries
            assert len(list(client.logs(concurrency=4))) == 60
        assert (before, stats.total_entries) == (None, 60)
        assert stats.pages >= 3  # a concurrent walk may ask past the end
