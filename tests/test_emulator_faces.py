"""The emulator's two faces, the httpx transport and the loopback server, with sync and async clients.

Every test runs on all four combinations; the answers must not depend on the face.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from chatwoot_audit.testing import FAULT_KINDS, Emulator, ManualClock

FACES = ["transport-sync", "transport-async", "socket-sync", "socket-async"]
PATH = "/api/v1/accounts/{}/audit_logs"


@pytest.fixture
def anyio_backend() -> str:
    """These tests run on asyncio; test_emulator_trio covers trio."""
    return "asyncio"


class Face:
    """One client talking to one emulator through one face."""

    def __init__(self, kind: str, emu: Emulator, client: httpx.Client | httpx.AsyncClient) -> None:
        self.kind = kind
        self.emu = emu
        self.client = client

    async def get(
        self,
        query: dict[str, Any] | str | None = None,
        *,
        token: str | None = "admin",
        account: int | None = None,
        headers: dict[str, str] | None = None,
        client_timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """GET the audit log, with the administrator's token unless told otherwise."""
        sent = dict(headers or {})
        if token is not None and not headers:
            sent["api_access_token"] = self.emu.admin_token if token == "admin" else token
        url = PATH.format(self.emu.account_id if account is None else account)
        if isinstance(query, str):
            url += "?" + query
            query = None
        extra: dict[str, Any] = {} if client_timeout is None else {"timeout": client_timeout}
        if isinstance(self.client, httpx.AsyncClient):
            return await self.client.get(url, params=query, headers=sent, **extra)
        return self.client.get(url, params=query, headers=sent, **extra)

    async def stream_body(self) -> tuple[int, int, bytes]:
        """Stream a page: the status arrives first, the body after."""
        url = PATH.format(self.emu.account_id)
        headers = {"api_access_token": self.emu.admin_token}
        chunks = []
        if isinstance(self.client, httpx.AsyncClient):
            async with self.client.stream("GET", url, headers=headers) as response:
                status, declared = response.status_code, int(response.headers["content-length"])
                try:
                    async for chunk in response.aiter_raw():
                        chunks.append(chunk)
                except httpx.RemoteProtocolError:
                    return status, declared, b"".join(chunks)
        else:
            with self.client.stream("GET", url, headers=headers) as response:
                status, declared = response.status_code, int(response.headers["content-length"])
                try:
                    for chunk in response.iter_raw():
                        chunks.append(chunk)
                except httpx.RemoteProtocolError:
                    return status, declared, b"".join(chunks)
        raise AssertionError("the body was complete")


Connect = Callable[[Emulator], Awaitable[Face]]


@pytest.fixture(params=FACES)
async def connect(request: pytest.FixtureRequest, anyio_backend: str) -> AsyncIterator[Connect]:
    """A function opening a client to an emulator through this test's face; all closed at the end."""
    kind: str = request.param
    async with AsyncExitStack() as stack:

        async def open_face(emu: Emulator) -> Face:
            if kind.startswith("socket"):
                server = stack.enter_context(emu.serve())
                base_url, transport = server.base_url, None
            else:
                base_url, transport = "http://chatwoot.test", emu.transport()
            timeout = httpx.Timeout(10.0)
            client: httpx.Client | httpx.AsyncClient
            if kind.endswith("async"):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)
                )
            else:
                client = stack.enter_context(httpx.Client(base_url=base_url, transport=transport, timeout=timeout))
            return Face(kind, emu, client)

        yield open_face


ERROR_ROWS = [
    (None, "main", 401, {"errors": ["You need to sign in or sign up before continuing."]}),
    ("unknown", "main", 401, {"error": "Invalid Access Token"}),
    ("bot", "main", 401, {"error": "Access to this endpoint is not authorized for bots"}),
    ("platform_app", "main", 401, {"error": "Access to this endpoint is not authorized for bots"}),
    ("other_account", "main", 401, {"error": "You are not authorized to access this account"}),
    ("agent", "main", 401, {"error": "You are not authorized to do this action"}),
    ("suspended", "suspended", 401, {"error": "Account is suspended"}),
    ("administrator", "missing", 404, {"error": "Resource could not be found"}),
]


@pytest.mark.anyio
async def test_error_table(connect: Connect) -> None:
    """Every row of the real server's error table, with its status and body shape."""
    emu = Emulator(seed=1, entries=10)
    face = await connect(emu)
    for role, account, status, body in ERROR_ROWS:
        token = None if role is None else ("not-a-token" if role == "unknown" else emu.tokens[role])
        account_id = {"main": emu.account_id, "suspended": emu.suspended_account_id, "missing": 987654}[account]
        response = await face.get(token=token, account=account_id)
        assert (response.status_code, response.json()) == (status, body), role
        assert response.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["api_access_token", "Api-Access-Token"])
async def test_token_header_spellings(connect: Connect, name: str) -> None:
    """Both spellings of the token header are accepted."""
    emu = Emulator(seed=1, entries=10)
    face = await connect(emu)
    response = await face.get(headers={name: emu.admin_token})
    assert response.status_code == 200
    assert response.json()["total_entries"] == 10


@pytest.mark.anyio
async def test_feature_disabled(connect: Connect) -> None:
    """Feature off: an empty 200 with total_entries 0."""
    face = await connect(Emulator(seed=1, feature_enabled=False))
    response = await face.get({"page": 2})
    assert response.json() == {"per_page": 25, "total_entries": 0, "current_page": 2, "audit_logs": []}


@pytest.mark.anyio
async def test_rate_limit(connect: Connect) -> None:
    """Past the limit: 429, text/plain, "Retry later", no Retry-After; the next window is open again."""
    clock = ManualClock()
    emu = Emulator(seed=1, entries=5, rate_limit=2, clock=clock)
    face = await connect(emu)
    assert [(await face.get()).status_code for _ in range(2)] == [200, 200]
    response = await face.get()
    assert (response.status_code, response.text) == (429, "Retry later\n")
    assert response.headers["content-type"] == "text/plain"
    assert "retry-after" not in response.headers
    clock.advance(60)
    assert (await face.get()).status_code == 200


@pytest.mark.anyio
async def test_page_coercion(connect: Connect) -> None:
    """page is coerced like Ruby's to_i; per_page is ignored; an array page is a 500."""
    emu = Emulator(seed=2, entries=80)
    face = await connect(emu)
    ids = [entry["id"] for entry in emu.entries]
    cases = [("", 1), ("page=", 1), ("page=0", 1), ("page=-1", 1), ("page=abc", 1), ("page=2.9", 2), ("page=2abc", 2)]
    for query, page in [*cases, ("per_page=100&page=3", 3)]:
        data = (await face.get(query)).json()
        assert data["current_page"] == page, query
        assert data["per_page"] == 25
        assert [entry["id"] for entry in data["audit_logs"]] == ids[25 * (page - 1) : 25 * page]
    assert (await face.get("page[]=1")).status_code == 500


@pytest.mark.anyio
async def test_past_the_end_and_full_walk(connect: Connect) -> None:
    """Pages concatenate to every entry; past the end is empty and echoes the page."""
    emu = Emulator(seed=3, entries=47, per_page=15)
    face = await connect(emu)
    seen: list[int] = []
    for page in range(1, 5):
        data = (await face.get({"page": page})).json()
        assert list(data) == ["per_page", "total_entries", "current_page", "audit_logs"]
        assert (data["per_page"], data["total_entries"], data["current_page"]) == (15, 47, page)
        seen += [entry["id"] for entry in data["audit_logs"]]
    assert seen == [entry["id"] for entry in emu.entries]
    assert (await face.get({"page": 9})).json() == {
        "per_page": 15,
        "total_entries": 47,
        "current_page": 9,
        "audit_logs": [],
    }


@pytest.mark.anyio
async def test_arrivals_shift_pages(connect: Connect) -> None:
    """An entry arriving between pages makes page 2 repeat the end of page 1."""
    face = await connect(Emulator(seed=1, entries=60, arrivals_per_request=1))
    first = (await face.get({"page": 1})).json()["audit_logs"]
    second = (await face.get({"page": 2})).json()["audit_logs"]
    assert second[0]["id"] == first[-1]["id"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_fault(connect: Connect, kind: str) -> None:
    """Every fault, as the client sees it on this face; the request after it is fine."""
    emu = Emulator(seed=1, entries=40, faults={1: kind}, slow_delay=3.0)
    face = await connect(emu)
    if kind in ("drop", "truncate"):
        with pytest.raises(httpx.RemoteProtocolError):
            await face.get()
    elif kind == "slow":
        with pytest.raises(httpx.ReadTimeout):
            await face.get(client_timeout=httpx.Timeout(10.0, read=0.05))
    else:
        response = await face.get()
        statuses = {"500": 500, "502": 502, "503": 503, "504": 504, "401": 401, "401-signin": 401, "404": 404}
        assert response.status_code == {**statuses, "429": 429}.get(kind, 200)
        if kind == "500":
            assert response.json() == {"status": 500, "error": "Internal Server Error"}
        elif kind in ("502", "503", "504", "html200"):
            assert response.headers["content-type"].startswith("text/html")
            assert "<html>" in response.text.lower() or "<!doctype html>" in response.text.lower()
        elif kind == "badjson200":
            assert response.headers["content-type"] == "application/json; charset=utf-8"
            with pytest.raises(json.JSONDecodeError):
                json.loads(response.content)
        elif kind == "401":
            assert response.json() == {"error": "Invalid Access Token"}
        elif kind == "401-signin":
            assert response.json() == {"errors": ["You need to sign in or sign up before continuing."]}
        elif kind == "404":
            assert response.json() == {"error": "Resource could not be found"}
        elif kind == "429":
            assert response.headers["content-type"] == "text/plain"
            assert response.content == b"Retry later\n"
            assert "retry-after" not in response.headers
    assert (await face.get()).status_code == 200
    assert [record.fault for record in emu.requests] == [kind, None]


@pytest.mark.anyio
async def test_truncated_body_after_headers(connect: Connect) -> None:
    """A truncated answer shows its status, then fails while the body is read."""
    emu = Emulator(seed=1, entries=40, faults={1: "truncate"})
    face = await connect(emu)
    status, declared, partial = await face.stream_body()
    assert status == 200
    assert 0 < len(partial) < declared


@pytest.mark.anyio
async def test_slow_within_the_timeout_and_latency(connect: Connect) -> None:
    """A slow answer or latency within the read timeout still arrives intact."""
    emu = Emulator(seed=1, entries=30, faults={1: "slow"}, slow_delay=0.02, latency=0.01)
    face = await connect(emu)
    response = await face.get()
    assert response.status_code == 200
    assert response.json()["total_entries"] == 30


@pytest.mark.anyio
async def test_request_log_has_no_token(connect: Connect) -> None:
    """The log records the kind of token, never the token, on every face."""
    emu = Emulator(seed=1, entries=5)
    face = await connect(emu)
    await face.get({"page": "2abc"})
    await face.get(token=emu.tokens["agent"])
    await face.get(token=None)
    assert [(r.role, r.page, r.status) for r in emu.requests] == [
        ("administrator", "2abc", 200),
        ("agent", None, 401),
        (None, None, 401),
    ]
    assert not any(token in repr(emu.requests) for token in emu.tokens.values())


def test_socket_server_keeps_connections_alive_and_stops_cleanly() -> None:
    """One client reuses one connection; closing the server joins every thread and frees the port."""
    emu = Emulator(seed=1, entries=60)
    before = set(threading.enumerate())
    with emu.serve() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, headers={"api_access_token": emu.admin_token}) as client:
            for page in range(1, 11):
                assert client.get(PATH.format(emu.account_id), params={"page": page}).status_code == 200
        assert server.connections_accepted == 1
        # A client that stays connected without sending anything must not keep the server alive.
        idle = httpx.Client(base_url=server.base_url)
        idle.get(PATH.format(emu.account_id))
    idle.close()
    assert {t for t in threading.enumerate() if t.name.startswith("chatwoot-emulator")} - before == set()
    with pytest.raises(httpx.ConnectError), httpx.Client() as client:
        client.get(server.base_url + PATH.format(emu.account_id))


def test_server_close_interrupts_a_slow_answer() -> None:
    """Closing the server does not wait for a pending slow answer."""
    emu = Emulator(seed=1, faults={1: "slow"}, slow_delay=60.0)
    server = emu.serve()
    try:
        with (
            httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(10.0, read=0.05)) as client,
            pytest.raises(httpx.ReadTimeout),
        ):
            client.get(PATH.format(emu.account_id), headers={"api_access_token": emu.admin_token})
    finally:
        server.close()
    server.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("chatwoot-emulator") and t.is_alive()]


def test_concurrent_clients_and_knob_changes() -> None:
    """Many connections at once, with arrivals and knobs turned meanwhile: every request answered once."""
    emu = Emulator(seed=8, entries=200, arrivals_per_request=1, unstable_ties=True)
    errors: list[BaseException] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(server_url: str) -> None:
        try:
            with httpx.Client(base_url=server_url, headers={"api_access_token": emu.admin_token}, timeout=10) as client:
                for page in range(1, 16):
                    status = client.get(PATH.format(emu.account_id), params={"page": page}).status_code
                    with lock:
                        statuses.append(status)
        except BaseException as exc:  # collected and re-raised on the main thread
            errors.append(exc)

    with emu.serve() as server:
        threads = [threading.Thread(target=worker, args=(server.base_url,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for flip in range(20):
            emu.feature_enabled = flip % 2 == 0
            emu.per_page = 15 if flip % 3 else 25
        for thread in threads:
            thread.join(30)
        assert server.connections_accepted == 8
    assert not errors
    assert len(statuses) == 120
    assert set(statuses) == {200}
    assert sorted(record.number for record in emu.requests) == list(range(1, 121))
    assert emu.total_entries == 320


def test_server_settings() -> None:
    """Loopback only, a deep listen backlog, TCP_NODELAY, HTTP/1.1."""
    from chatwoot_audit.testing._server import _Handler, _HTTPServer

    assert _HTTPServer.request_queue_size >= 128
    assert _HTTPServer.daemon_threads
    assert _Handler.disable_nagle_algorithm
    assert _Handler.protocol_version == "HTTP/1.1"
    emu = Emulator(seed=1, entries=1)
    with emu.serve() as server:
        assert server.host == "127.0.0.1"
        assert server.base_url == f"http://127.0.0.1:{server.port}"
