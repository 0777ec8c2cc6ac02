"""Where to connect and with what token: flags first, then the library's environment variables.

The token is read only from ``CHATWOOT_API_ACCESS_TOKEN`` or ``--token-file``: a flag's value would show in
the shell history and in ``ps``. The command brings its own ``httpx.Client`` so it can count requests and
read ``total_entries`` for the progress display; everything else is the SDK's own walk. Like the SDK's own
client, it reaches a loopback server directly, whatever proxy the environment names.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from .._client import ChatwootAudit
from .._config import DEFAULT_TIMEOUT, ENV_ACCOUNT_ID, ENV_API_ACCESS_TOKEN, ENV_BASE_URL, direct_mounts
from .._redact import Secret, add_secret, is_visible_ascii
from ._exits import UsageError

__all__ = ["Connection", "RequestStats", "connection_from_args", "open_client", "read_token_file"]


@dataclass(frozen=True)
class Connection:
    """Everything needed to reach one account's audit log."""

    base_url: str
    account_id: int | str
    token: Secret
    token_header: str = "api_access_token"
    timeout: float | None = None
    max_retries: int | None = None
    allow_insecure_http: bool = False
    trust_env: bool = True


def read_token_file(path: str) -> str:
    """The token in ``path``: its first line, without surrounding whitespace (nor the BOM Notepad adds)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read --token-file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--token-file {path} is not UTF-8 text") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise UsageError(f"--token-file {path} must hold the token on one line (it holds {len(lines)} lines)")
    return lines[0]


def _check_token(token: str, source: str) -> None:
    # An HTTP header carries ASCII only, and a token holds no spaces: anything else is a copy-and-paste
    # accident. The SDK refuses it too; saying so here names where the token came from. The message never
    # quotes the token, nor the character at fault: that would show part of the secret.
    if not is_visible_ascii(token):
        raise UsageError(
            f"the API token in {source} must be visible ASCII characters only (no spaces, accented letters or "
            "other non-ASCII characters): copy it again from the profile settings page"
        )


def connection_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Connection:
    """The connection the flags and the environment describe; a missing setting names both ways to give it."""
    base_url = args.base_url or env.get(ENV_BASE_URL) or None
    if base_url is None:
        raise UsageError(f"no server given: pass --base-url https://chat.example.com or set {ENV_BASE_URL}")
    account_id: int | str | None = args.account_id if args.account_id is not None else env.get(ENV_ACCOUNT_ID)
    if account_id is None or account_id == "":
        raise UsageError(f"no account given: pass --account-id N or set {ENV_ACCOUNT_ID}")
    if args.token_file:
        token = read_token_file(args.token_file)
    else:
        token = (env.get(ENV_API_ACCESS_TOKEN) or "").strip()
        if not token:
            raise UsageError(
                f"no API token: set {ENV_API_ACCESS_TOKEN} or pass --token-file FILE "
                "(an administrator's access token, from the profile settings page)"
            )
    add_secret(token)
    _check_token(token, f"--token-file {args.token_file}" if args.token_file else ENV_API_ACCESS_TOKEN)
    return Connection(
        base_url=base_url,
        account_id=account_id,
        token=Secret(token),
        token_header=args.token_header,
        timeout=args.timeout,
        max_retries=args.max_retries,
        allow_insecure_http=args.allow_insecure_http,
    )


class RequestStats:
    """Counts what the walk sends, from httpx's event hooks (which worker threads call concurrently).

    The hooks see an answer before its body is read, and must not read it: the SDK reads it, held to its
    deadline and size limit. ``total_entries`` looks at the bodies the SDK has read since it last looked.
    """

    def __init__(self, *, read_totals: bool = False) -> None:
        self.read_totals = read_totals
        self._lock = threading.Lock()
        self.requests = 0
        self._pages: set[int] = set()
        self._total: int | None = None
        self._unread: list[httpx.Response] = []

    @property
    def pages(self) -> int:
        """Distinct pages answered with 200."""
        with self._lock:
            return len(self._pages)

    def on_request(self, request: httpx.Request) -> None:
        """Count an attempt (retries included)."""
        with self._lock:
            self.requests += 1

    def on_response(self, response: httpx.Response) -> None:
        """Note the page a 200 answered, and keep the answer for ``total_entries`` when asked to."""
        if response.status_code != 200:
            return
        page = response.request.url.params.get("page", "1")
        with self._lock:
            if page.isdigit():
                self._pages.add(int(page))
            if self.read_totals:
                self._unread.append(response)

    @property
    def total_entries(self) -> int | None:
        """The largest ``total_entries`` among the 200 answers read so far, for the progress display."""
        with self._lock:
            pending, self._unread = self._unread, []
        waiting: list[httpx.Response] = []
        totals: list[int] = []
        for response in pending:
            try:
                content = response.content
            except httpx.ResponseNotRead:
                # Still arriving; one the SDK gave up on (closed, never read) is dropped.
                if not response.is_closed:
                    waiting.append(response)
                continue
            total = self._total_in(content)
            if total is not None:
                totals.append(total)
        with self._lock:
            self._unread.extend(waiting)
            if totals:
                self._total = max(self._total or 0, *totals)
            return self._total

    @staticmethod
    def _total_in(content: bytes) -> int | None:
        try:
            total = json.loads(content).get("total_entries")
        except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
            return None
        return total if isinstance(total, int) and not isinstance(total, bool) else None


@contextmanager
def open_client(connection: Connection, stats: RequestStats, *, concurrency: int = 1) -> Iterator[ChatwootAudit]:
    """A :class:`ChatwootAudit` for ``connection`` whose requests ``stats`` counts; closed on exit."""
    timeout = httpx.Timeout(connection.timeout) if connection.timeout is not None else DEFAULT_TIMEOUT
    pool = max(10, concurrency)
    http = httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        trust_env=connection.trust_env,
        # Plain http to loopback carries the token; through a proxy it would leave the machine.
        mounts=direct_mounts(connection.base_url),
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        event_hooks={"request": [stats.on_request], "response": [stats.on_response]},
    )
    try:
        client = ChatwootAudit(
            connection.base_url,
            connection.token.reveal(),
            connection.account_id,
            timeout=timeout,
            max_retries=connection.max_retries,
            token_header=connection.token_header,
            allow_insecure_http=connection.allow_insecure_http,
            http_client=http,
        )
        with client:
            yield client
    finally:
        http.close()
