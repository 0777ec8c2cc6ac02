"""Running the installed ``chatwoot-audit`` command against an emulator on 127.0.0.1, with bounded waits."""

from __future__ import annotations

import http.server
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chatwoot_audit.testing import Emulator

# Every run is bounded; a hung command fails its test instead of the suite.
RUN_TIMEOUT = 30.0

_DROPPED_ENV = (
    "CHATWOOT_BASE_URL",
    "CHATWOOT_ACCOUNT_ID",
    "CHATWOOT_API_ACCESS_TOKEN",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def cli_command() -> list[str]:
    """The installed console script beside this interpreter, else the module run by this interpreter."""
    script = Path(sys.executable).with_name("chatwoot-audit")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "chatwoot_audit.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Chatwoot settings or proxies, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env.update(extra)
    return env


@dataclass
class Served:
    """An emulator serving on loopback, and how a command reaches it."""

    emulator: Emulator
    base_url: str
    token_file: Path
    env: dict[str, str]

    def auth(self, *args: str) -> list[str]:
        """``args`` with the token file appended (the token itself is never on a command line)."""
        return [*args, "--token-file", str(self.token_file)]

    @property
    def token(self) -> str:
        """The administrator token the command reads from the file."""
        return self.emulator.admin_token


@contextmanager
def serving(tmp_path: Path, **knobs: Any) -> Iterator[Served]:
    """An emulator with ``knobs`` on 127.0.0.1 (a free port), stopped on exit."""
    emulator = Emulator(**knobs)
    token_file = tmp_path / "token"
    token_file.write_text(emulator.admin_token + "\n")
    with emulator.serve() as server:
        env = clean_env(CHATWOOT_BASE_URL=server.base_url, CHATWOOT_ACCOUNT_ID=str(emulator.account_id))
        yield Served(emulator, server.base_url, token_file, env)


@contextmanager
def answering(status: int, body: bytes, *, headers: dict[str, str] | None = None) -> Iterator[str]:
    """A server on 127.0.0.1 that gives every GET the same answer (what the emulator never says); its base URL."""
    fields = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            for name, value in fields.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that hangs up without reading the answer is not this server's news

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def run_cli(
    args: Sequence[str], env: dict[str, str], *, timeout: float = RUN_TIMEOUT, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command to completion and capture its output."""
    return subprocess.run(
        [*cli_command(), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
    )


_RESTORE_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def _with_default_sigint(command: list[str]) -> list[str]:
    # A test run started as a shell's background job ignores SIGINT, and an ignored signal stays ignored
    # across exec: go through a step that restores the default, so that the command sees Ctrl-C.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return [sys.executable, "-c", _RESTORE_SIGINT, *command]
    return command


def start_cli(
    args: Sequence[str], env: dict[str, str], *, stdout: int | IO[Any] = subprocess.PIPE, stderr: int | IO[Any]
) -> subprocess.Popen[bytes]:
    """Start the command with SIGINT at its default; the caller stops it and waits (see :func:`stop`)."""
    return subprocess.Popen(_with_default_sigint([*cli_command(), *args]), env=env, stdout=stdout, stderr=stderr)


@contextmanager
def running(
    args: Sequence[str], env: dict[str, str], *, stderr: Path, stdout: int = subprocess.PIPE
) -> Iterator[tuple[subprocess.Popen[bytes], LineReader | None]]:
    """The command running with stderr to a file, and a reader of its stdout; killed and reaped on exit."""
    with stderr.open("wb") as err:
        process = start_cli(args, env, stdout=stdout, stderr=err)
        reader = LineReader(process.stdout) if process.stdout is not None else None
        try:
            yield process, reader
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(10)
            if reader is not None:
                reader.close()


def stop(process: subprocess.Popen[bytes], *, timeout: float = RUN_TIMEOUT) -> int:
    """Wait for ``process``; kill it if it does not end within ``timeout``. Returns its exit status."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        raise


def wait_for(condition: Callable[[], bool], *, timeout: float = 15.0, what: str = "a condition") -> None:
    """Poll ``condition`` every 10 ms until it holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def count_lines(path: Path) -> int:
    """Complete lines in ``path`` (0 if it does not exist yet)."""
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


class LineReader:
    """Reads a pipe's lines on a thread, so a test can wait for some with a deadline."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._pipe = pipe
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._pipe:
                self._lines.put(line)
        except ValueError:  # closed under it: the test is over
            pass
        self._lines.put(None)

    def close(self) -> None:
        """Wait for the end of the stream (the process is gone) and close the pipe."""
        self._thread.join(10)
        self._pipe.close()

    def take(self, count: int, *, timeout: float = 15.0) -> list[bytes]:
        """The next ``count`` lines; fails if they do not all come within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        out: list[bytes] = []
        while len(out) < count:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"got {len(out)} of {count} lines within {timeout} s") from None
            if line is None:
                raise AssertionError(f"the stream ended after {len(out)} of {count} lines")
            out.append(line)
        return out

    def rest(self, *, timeout: float = 15.0) -> list[bytes]:
        """Every line until the stream ends (the process has exited)."""
        self._thread.join(timeout)
        out: list[bytes] = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return out
            if line is not None:
                out.append(line)


def newest_first(entries: list[dict[str, Any]]) -> list[int]:
    """The ids in the order a walk returns them."""
    return [entry["id"] for entry in entries]


def oldest_first(entries: list[dict[str, Any]]) -> list[int]:
    """The ids in the order ``follow`` delivers them."""
    return [entry["id"] for entry in sorted(entries, key=lambda entry: (entry["created_at"], entry["id"]))]
