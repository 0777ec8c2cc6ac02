"""An audit archive in SQLite: every entry once, and the checkpoint in the same file, in the same transaction.

    from chatwoot_audit import ChatwootAudit
    from chatwoot_audit.archive import Archive

    with ChatwootAudit() as client, Archive("audit.sqlite") as archive:
        archive.sync(client)          # the whole history the first time, then only what is new

Each sync reads what the account's checkpoint (stored in the file) has not delivered, with
:meth:`ChatwootAudit.logs_after`, and commits the entries in batches: every ``batch_size`` entries, every
``batch_seconds`` seconds and at the end. Each batch's transaction holds its rows *and* the checkpoint
advanced past exactly those rows, so a process killed at any moment (``kill -9``, power loss) leaves the
file as it was after some batch: a rerun continues from there and every entry is in the file exactly once.
The key ``(server, account_id, id)`` is unique and rows are inserted with ``INSERT OR IGNORE``: a second
guard, which also keeps two syncs of the same account at once from writing an entry twice.

One file holds any number of accounts, on any number of servers. ``server`` is the client's base URL as it
normalises it (:func:`server_key`): scheme, host in lower case, port unless it is the scheme's default, and
the path prefix Chatwoot is served under, without a trailing slash; never a token or credentials. So
``https://Chat.Example.com:443/`` and ``https://chat.example.com`` are the same server, while ``http://``
and ``https://`` to the same host are two (give the same base URL each time).

The file is in WAL mode with ``synchronous=NORMAL``: readers (the ``sqlite3`` shell, a BI tool) never block
the writer nor see half a batch; a power loss may undo the last batches, never split one. The tables,
columns and the ``audit_changes`` view are described in ``docs/archive.md``.

:class:`AsyncArchive` is the twin for :class:`AsyncChatwootAudit`: ``sqlite3`` blocks, so each batch is
written on a worker thread (``anyio.to_thread.run_sync``) while the event loop goes on; a cancellation waits
for the batch being written, then the entries read since are written too, and the cancellation goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self

import anyio
import anyio.to_thread
import httpx

from ._archive_schema import (
    COLUMNS,
    SCHEMA_VERSION,
    ArchiveError,
    ArchiveVersionError,
    entry_row,
    prepare,
    row_entry,
    safe_row,
)
from ._checkpoint import Checkpoint
from ._client import AsyncChatwootAudit, ChatwootAudit
from ._errors import ChatwootError, InvalidArgumentError, passes
from ._models import AuditLog

__all__ = [
    "SCHEMA_VERSION",
    "Archive",
    "ArchiveError",
    "ArchiveVersionError",
    "AsyncArchive",
    "SyncResult",
    "server_key",
]

logger = logging.getLogger("chatwoot_audit")

BATCH_SIZE: Final = 2000
BATCH_SECONDS: Final = 1.0

# Rows per INSERT statement: SQLite releases the GIL once per statement, so many rows to a statement let
# the walk's threads run while it works, at a third less time than a statement per row.
_ROWS_PER_INSERT: Final = 100
_ROW: Final = f"({', '.join('?' * len(COLUMNS))})"
_INSERT: Final = f"INSERT OR IGNORE INTO audit_logs ({', '.join(COLUMNS)}) VALUES {_ROW}"  # noqa: S608
_INSERT_MANY: Final = f"{_INSERT}{f', {_ROW}' * (_ROWS_PER_INSERT - 1)}"
_UPSERT_SOURCE: Final = """
INSERT INTO sources (server, account_id, checkpoint, first_synced_at, last_synced_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (server, account_id) DO UPDATE SET checkpoint = excluded.checkpoint,
    last_synced_at = excluded.last_synced_at
"""


def server_key(base_url: str | httpx.URL) -> str:
    """The ``server`` an archive files a client's entries under: its base URL, normalised, without secrets.

    Scheme and host in lower case, the port only when it is not the scheme's default, the path prefix
    without a trailing slash; user info, query and fragment dropped.
    """
    url = httpx.URL(str(base_url).strip())
    host = url.host.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme.lower()}://{host}{port}{url.path.rstrip('/')}"


@dataclass(frozen=True)
class SyncResult:
    """What one sync of one account did.

    Attributes:
        server: the server, as :func:`server_key` names it in the file.
        account_id: the account.
        delivered: entries the checkpoint had not delivered, now delivered into the file.
        inserted: rows added (``delivered`` less any the file already held).
    """

    server: str
    account_id: int
    delivered: int
    inserted: int


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "database is locked" in text:
        return f"{text} (another program holds a write lock on it for too long)"
    return text


class _Store:
    """The SQLite side: one connection, writes serialised by a lock (the async twin writes from threads)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float) -> None:
        self.name = os.fspath(path)
        self._lock = threading.Lock()
        try:
            # Autocommit, with transactions begun by hand: each batch is one BEGIN IMMEDIATE ... COMMIT.
            self.conn = sqlite3.connect(self.name, timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open {self.name}: {_describe(exc)}") from None
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            prepare(self.conn, self.name)
        except ArchiveError:
            self.conn.close()
            raise
        except sqlite3.Error as exc:
            self.conn.close()
            raise ArchiveError(f"cannot use {self.name}: {_describe(exc)}") from None

    def checkpoint(self, server: str, account_id: int) -> Checkpoint | None:
        with self._lock, self._errors("read"):
            row = self.conn.execute(
                "SELECT checkpoint FROM sources WHERE server = ? AND account_id = ?", (server, account_id)
            ).fetchone()
        if row is None:
            return None
        try:
            return Checkpoint.from_json(row[0])
        except InvalidArgumentError as exc:
            raise ArchiveError(
                f"{self.name}: the checkpoint of account {account_id} at {server} is damaged ({exc})"
            ) from None

    def write(self, server: str, account_id: int, logs: list[AuditLog], checkpoint: str) -> int:
        """Insert ``logs`` and store ``checkpoint`` in one transaction; the rows added."""
        rows = [entry_row(server, account_id, log) for log in logs]
        now = _now_text()
        with self._lock, self._errors("write"):
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                try:
                    _insert(conn, rows)
                except (UnicodeEncodeError, OverflowError):
                    # Rare values SQLite cannot bind; the rows already inserted are ignored the second time.
                    _insert(conn, [safe_row(row) for row in rows])
                inserted = conn.total_changes - before
                conn.execute(_UPSERT_SOURCE, (server, account_id, checkpoint, now, now))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        return inserted

    def entries(self, server: str | None, account_id: int | None) -> list[tuple[Any, ...]]:
        where: list[str] = []
        params: list[object] = []
        if server is not None:
            where.append("server = ?")
            params.append(server)
        if account_id is not None:
            where.append("account_id = ?")
            params.append(account_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT {', '.join(COLUMNS)} FROM audit_logs{clause} ORDER BY created_at_unix, id"  # noqa: S608
        with self._lock, self._errors("read"):
            return self.conn.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot {doing} {self.name}: {_describe(exc)}") from None

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    whole = len(rows) - len(rows) % _ROWS_PER_INSERT
    if whole:
        conn.executemany(
            _INSERT_MANY,
            (
                tuple(itertools.chain.from_iterable(rows[i : i + _ROWS_PER_INSERT]))
                for i in range(0, whole, _ROWS_PER_INSERT)
            ),
        )
    if whole < len(rows):
        conn.executemany(_INSERT, rows[whole:])


class _Batch:
    """Entries read but not committed yet, and the checkpoint advanced past exactly them (no I/O)."""

    def __init__(self, checkpoint: Checkpoint, server: str, account_id: int, size: int, seconds: float) -> None:
        self.checkpoint = checkpoint
        self.server = server
        self.account_id = account_id
        self.size = size
        self.seconds = seconds
        self.logs: list[AuditLog] = []
        self.started = time.monotonic()
        self.delivered = 0

    def add(self, log: AuditLog) -> bool:
        """Take ``log``; whether the batch is due for a commit."""
        self.logs.append(log)
        self.delivered += 1
        return len(self.logs) >= self.size or time.monotonic() - self.started >= self.seconds

    def take(self) -> tuple[str, int, list[AuditLog], str]:
        """The arguments of :meth:`_Store.write` for what is pending, and a fresh batch."""
        logs, self.logs = self.logs, []
        self.started = time.monotonic()
        if logs:
            # logs_after has advanced the checkpoint past each entry but the one in hand (an entry counts
            # as delivered when the loop asks for the next): acknowledged here, the checkpoint covers
            # exactly this batch. Advancing past an entry twice changes nothing.
            self.checkpoint.advance(logs[-1])
        return self.server, self.account_id, logs, self.checkpoint.to_json()


def _check_batching(batch_size: object, batch_seconds: object) -> tuple[int, float]:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be an int >= 1, not {batch_size!r}")
    if not isinstance(batch_seconds, int | float) or isinstance(batch_seconds, bool) or not batch_seconds > 0:
        raise InvalidArgumentError(f"batch_seconds must be a number of seconds > 0, not {batch_seconds!r}")
    return batch_size, float(batch_seconds)


def _check_interval(interval: object) -> float:
    if not isinstance(interval, int | float) or isinstance(interval, bool) or not 0 < interval < float("inf"):
        raise InvalidArgumentError(f"interval must be a number of seconds > 0, not {interval!r}")
    return float(interval)


def _start(checkpoint: Checkpoint | None, since: datetime | None) -> Checkpoint:
    if checkpoint is not None:
        return checkpoint
    return Checkpoint.starting_at(since) if since is not None else Checkpoint()


class Archive:
    """An audit archive: a SQLite file that holds entries of any accounts, each once, with their checkpoints.

    Opening creates the file (and its tables) if it is missing, and migrates a file of an older layout.
    Use it as a context manager, or call :meth:`close`.

    Args:
        path: the SQLite file.
        batch_size: entries per transaction at most (default 2000).
        batch_seconds: seconds between commits at most while entries come in (default 1).
        timeout: seconds to wait for another writer's lock before :class:`ArchiveError` (default 30).

    Raises:
        ArchiveVersionError: the file was written by a newer chatwoot-audit.
        ArchiveError: the file cannot be opened, or is another program's database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        batch_size: int = BATCH_SIZE,
        batch_seconds: float = BATCH_SECONDS,
        timeout: float = 30.0,
    ) -> None:
        self._batch_size, self._batch_seconds = _check_batching(batch_size, batch_seconds)
        self._store = _Store(path, timeout)

    def __repr__(self) -> str:
        return f"Archive({self._store.name!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._store.close()

    @property
    def path(self) -> str:
        """The file."""
        return self._store.name

    def checkpoint(self, client: ChatwootAudit | AsyncChatwootAudit) -> Checkpoint | None:
        """The stored checkpoint of ``client``'s account (None before its first sync)."""
        return self._store.checkpoint(server_key(client.base_url), client.account_id)

    def sync(self, client: ChatwootAudit, *, concurrency: int = 1, since: datetime | None = None) -> SyncResult:
        """Add the entries of ``client``'s account that the file does not hold yet, oldest first.

        The first sync of an account reads its whole history, or from ``since`` (an aware datetime) on;
        later syncs read from the stored checkpoint, and ``since`` is ignored. Batches are committed as
        they fill; when an error stops the walk, what was read before it is committed, then the error
        is raised: the next sync continues from there.

        Args:
            client: the account to read.
            concurrency: pages fetched at once (1 to 64).
            since: where a first sync starts; default: the beginning.
        """
        server, account_id = server_key(client.base_url), client.account_id
        batch = _Batch(
            _start(self._store.checkpoint(server, account_id), since),
            server,
            account_id,
            self._batch_size,
            self._batch_seconds,
        )
        inserted = 0
        try:
            for log in client.logs_after(batch.checkpoint, concurrency=concurrency):
                if batch.add(log):
                    inserted += self._store.write(*batch.take())
        except BaseException:
            # What was read before the error is delivered: committed, then the error goes on.
            if batch.logs:
                with contextlib.suppress(ArchiveError):
                    inserted += self._store.write(*batch.take())
            raise
        # Written even with nothing new: a first sync records its source (and where `since` put it).
        inserted += self._store.write(*batch.take())
        return SyncResult(server, account_id, batch.delivered, inserted)

    def follow(
        self, client: ChatwootAudit, *, interval: float = 30.0, concurrency: int = 1, since: datetime | None = None
    ) -> Generator[SyncResult]:
        """:meth:`sync` again and again, every ``interval`` seconds, yielding each poll's result; forever.

        Outages (connection errors, 5xx, throttling past the retry budget, a poll that could not account
        for every entry) are logged and waited out until the next poll; what needs a person (a bad token,
        a missing account, a file that cannot be written) is raised. Leave the loop to stop.
        """
        return self._follow(client, _check_interval(interval), concurrency, since)

    def _follow(
        self, client: ChatwootAudit, interval: float, concurrency: int, since: datetime | None
    ) -> Generator[SyncResult]:
        while True:
            try:
                result = self.sync(client, concurrency=concurrency, since=since)
            except ChatwootError as exc:
                if isinstance(exc, ArchiveError) or not passes(exc):
                    raise
                logger.warning("syncing audit logs failed, trying again in %gs: %s", interval, exc)
            else:
                yield result
            time.sleep(interval)

    def entries(self, client: ChatwootAudit | AsyncChatwootAudit | None = None) -> list[AuditLog]:
        """The entries in the file, oldest first: all of them, or those of ``client``'s account."""
        server = None if client is None else server_key(client.base_url)
        account_id = None if client is None else client.account_id
        return [AuditLog.from_dict(row_entry(row)) for row in self._store.entries(server, account_id)]


async def _committed(store: _Store, batch: _Batch) -> int:
    """Write what ``batch`` holds on a worker thread; the rows added."""
    # Shielded: once taken from the batch, the entries reach the file even if the caller is cancelled
    # meanwhile (the cancellation is delivered at the next await).
    with anyio.CancelScope(shield=True):
        inserted = await anyio.to_thread.run_sync(store.write, *batch.take())
    return inserted  # noqa: RET504 - after the block: a cancel scope may swallow its exception, says mypy


class AsyncArchive:
    """The twin of :class:`Archive` for :class:`AsyncChatwootAudit`; file work runs on worker threads.

    Open it with ``async with AsyncArchive(path) as archive:`` (or let the first call open it, and call
    :meth:`aclose`). The arguments are :class:`Archive`'s.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        batch_size: int = BATCH_SIZE,
        batch_seconds: float = BATCH_SECONDS,
        timeout: float = 30.0,
    ) -> None:
        self._batch_size, self._batch_seconds = _check_batching(batch_size, batch_seconds)
        self._path = path
        self._timeout = timeout
        self._store: _Store | None = None
        self._opening = anyio.Lock()

    def __repr__(self) -> str:
        return f"AsyncArchive({os.fspath(self._path)!r})"

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the file."""
        store, self._store = self._store, None
        if store is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(store.close)

    @property
    def path(self) -> str:
        """The file."""
        return os.fspath(self._path)

    async def _open(self) -> _Store:
        async with self._opening:
            if self._store is None:
                self._store = await anyio.to_thread.run_sync(_Store, self._path, self._timeout)
            return self._store

    async def checkpoint(self, client: ChatwootAudit | AsyncChatwootAudit) -> Checkpoint | None:
        """The stored checkpoint of ``client``'s account (None before its first sync)."""
        store = await self._open()
        return await anyio.to_thread.run_sync(store.checkpoint, server_key(client.base_url), client.account_id)

    async def sync(
        self, client: AsyncChatwootAudit, *, concurrency: int = 1, since: datetime | None = None
    ) -> SyncResult:
        """:meth:`Archive.sync` for an async client."""
        store = await self._open()
        server, account_id = server_key(client.base_url), client.account_id
        stored = await anyio.to_thread.run_sync(store.checkpoint, server, account_id)
        batch = _Batch(_start(stored, since), server, account_id, self._batch_size, self._batch_seconds)
        inserted = 0
        try:
            logs = client.logs_after(batch.checkpoint, concurrency=concurrency)
            async with contextlib.aclosing(logs):
                async for log in logs:
                    if batch.add(log):
                        inserted += await _committed(store, batch)
        except BaseException:
            if batch.logs:
                with contextlib.suppress(ArchiveError):
                    await _committed(store, batch)
            raise
        inserted += await _committed(store, batch)
        return SyncResult(server, account_id, batch.delivered, inserted)

    async def follow(
        self,
        client: AsyncChatwootAudit,
        *,
        interval: float = 30.0,
        concurrency: int = 1,
        since: datetime | None = None,
    ) -> AsyncGenerator[SyncResult]:
        """:meth:`Archive.follow` for an async client."""
        wait = _check_interval(interval)
        while True:
            try:
                result = await self.sync(client, concurrency=concurrency, since=since)
            except ChatwootError as exc:
                if isinstance(exc, ArchiveError) or not passes(exc):
                    raise
                logger.warning("syncing audit logs failed, trying again in %gs: %s", wait, exc)
            else:
                yield result
            await anyio.sleep(wait)


# Reprs and tracebacks name the public path, not the module that defines the errors.
ArchiveError.__module__ = ArchiveVersionError.__module__ = __name__
