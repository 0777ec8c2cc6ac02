"""The emulator over a real socket: HTTP/1.1 with keep-alive on 127.0.0.1, one thread per connection.

Each answer leaves in a single write on a socket with TCP_NODELAY: otherwise the body would wait for the
client's delayed ACK of the headers, some 40 ms per request on loopback. Faults happen on the wire: ``drop``
closes the connection without a byte, ``truncate`` announces the whole body and closes partway through.
Closing the server stops accepting, wakes any connection waiting for a request or sleeping on a delay,
and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import socketserver
import sys
import threading
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from ._core import Emulator

_JOIN_TIMEOUT = 5.0


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read the emulator's request log instead."""

    def _serve(self) -> None:
        self._discard_body()
        path, _, query = self.path.partition("?")
        reply = self.server.emulator.respond(self.command, unquote(path), query, self.headers.items())
        if reply.delay > 0 and self.server.stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.dropped:
            self.close_connection = True
            return
        if reply.truncated:
            self.close_connection = True
        # The date header comes with the reply, read from the emulator's clock like everything else timed.
        lines = [f"HTTP/1.1 {reply.status} {_phrase(reply.status)}"]
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        if self.close_connection:
            lines.append("connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _discard_body(self) -> None:
        # The endpoint reads no body, but an unread one would be taken for the next request.
        if self.headers.get("transfer-encoding"):
            self.close_connection = True
            return
        length = self.headers.get("content-length")
        if length and length.isdigit():
            self.rfile.read(int(length))


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, emulator: Emulator, port: int) -> None:
        self.emulator = emulator
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self.accepted = 0
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.stopping.is_set():
            self.shutdown_request(request)
            return
        worker = threading.Thread(
            target=self._work, args=(request, client_address), daemon=True, name="chatwoot-emulator-connection"
        )
        with self._lock:
            self.accepted += 1
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-request is normal here (timeouts, dropped connections).
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            connections, workers = list(self._connections), list(self._workers)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(_JOIN_TIMEOUT)


class EmulatorServer:
    """A running loopback server for an ``Emulator``; a context manager that always stops and joins.

    ``base_url`` is ``http://127.0.0.1:PORT``; ``port`` is the port it bound; ``emulator`` answers.
    """

    def __init__(self, emulator: Emulator, port: int = 0) -> None:
        self.emulator = emulator
        self._httpd = _HTTPServer(emulator, port)
        self.port: int = self._httpd.server_port
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        self._closed = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True, name="chatwoot-emulator"
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"EmulatorServer(base_url={self.base_url!r}, closed={self._closed})"

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def connections_accepted(self) -> int:
        """How many TCP connections the server has accepted (one per client with keep-alive)."""
        return self._httpd.accepted

    def close(self) -> None:
        """Stop accepting, close every connection and join every thread. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._httpd.shutdown()
            self._thread.join(_JOIN_TIMEOUT)
        finally:
            self._httpd.server_close()
            self._httpd.stop()
