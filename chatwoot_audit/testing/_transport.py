"""The emulator as an in-process httpx transport, for ``httpx.Client`` and ``httpx.AsyncClient`` alike.

Faults end the way they would on a real connection, as httpx reports them: a dropped connection raises
``httpx.RemoteProtocolError`` before any response; a truncated body raises it while the body is read
(after the status and headers, as with ``client.stream``); an answer that would come after the request's
read timeout raises ``httpx.ReadTimeout`` once that timeout has passed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import anyio
import httpx

from ._replies import Reply

if TYPE_CHECKING:
    from ._core import Emulator


class _CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that ends before its ``content-length``, then fails like a closed connection."""

    def __init__(self, body: bytes, expected: int, request: httpx.Request) -> None:
        self._body = body
        self._expected = expected
        self._request = request

    def _error(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {len(self._body)} bytes, expected {self._expected})",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        if self._body:
            yield self._body
        raise self._error()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body
        raise self._error()


class EmulatorTransport(httpx.MockTransport):
    """Answers every request from an ``Emulator``; pass it as ``transport=`` to an httpx client."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(self._answer_now)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request``, sleeping with ``time.sleep`` for latency."""
        request.read()
        reply = self._reply(request)
        wait, times_out = _wait(reply, request)
        if wait > 0:
            time.sleep(wait)
        return self._finish(reply, request, times_out)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request``, sleeping with ``anyio.sleep`` for latency (asyncio and trio)."""
        await request.aread()
        reply = self._reply(request)
        wait, times_out = _wait(reply, request)
        if wait > 0:
            await anyio.sleep(wait)
        return self._finish(reply, request, times_out)

    def _answer_now(self, request: httpx.Request) -> httpx.Response:
        # MockTransport's handler, for code that calls it directly: the answer without any waiting.
        return self._finish(self._reply(request), request, times_out=False)

    def _reply(self, request: httpx.Request) -> Reply:
        return self.emulator.respond(request.method, request.url.path, request.url.query, request.headers.multi_items())

    @staticmethod
    def _finish(reply: Reply, request: httpx.Request, times_out: bool) -> httpx.Response:
        if times_out:
            raise httpx.ReadTimeout("timed out", request=request)
        if reply.dropped:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        headers = list(reply.headers.items())
        if reply.truncated:
            expected = int(reply.headers.get("content-length", len(reply.body)))
            return httpx.Response(reply.status, headers=headers, stream=_CutStream(reply.body, expected, request))
        return httpx.Response(reply.status, headers=headers, content=reply.body)


def _wait(reply: Reply, request: httpx.Request) -> tuple[float, bool]:
    # A real client gives up after its read timeout; the answer never comes in that case.
    timeout = request.extensions.get("timeout", {})
    read = timeout.get("read") if isinstance(timeout, dict) else None
    if read is not None and reply.delay > read:
        return float(read), True
    return reply.delay, False
