"""``chatwoot-audit sync --into FILE``: the account's entries into a SQLite archive, exactly once.

The work is :class:`chatwoot_audit.archive.Archive`'s: each batch of entries commits with the checkpoint
advanced past them, so a stop of any kind (Ctrl-C, SIGTERM, kill -9, power loss) followed by a rerun leaves
every entry in the file once. This module adds the flags, the signals and the lines on stderr.

Stops: without ``--follow``, Ctrl-C exits 130 and SIGTERM 143, after committing what was read; with
``--follow``, either stops it cleanly (exit 0), like ``follow``.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from .._client import ChatwootAudit
from ..archive import Archive, ArchiveError, SyncResult
from ._connect import RequestStats, connection_from_args, open_client
from ._exits import ExitCode, FileError
from ._logs import log, say
from ._signals import Stopped, StopSignals, Terminated, sigterm_raises
from ._times import parse_time

__all__ = ["sync_command"]


def _line(result: SyncResult, path: Path, seconds: float | None = None) -> str:
    repeated = result.delivered - result.inserted
    again = f" ({repeated:,} already there)" if repeated else ""
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    return (
        f"synced {result.inserted:,} new entries{again}{took} into {path} "
        f"(account {result.account_id} at {result.server})"
    )


def sync_command(args: argparse.Namespace) -> int:
    """Run ``chatwoot-audit sync``."""
    since = parse_time(args.since, now=datetime.now(UTC), flag="--since") if args.since is not None else None
    path = Path(args.into)
    connection = connection_from_args(args, os.environ)
    try:
        with (
            Archive(path, batch_size=args.batch_size) as archive,
            open_client(connection, RequestStats(), concurrency=args.concurrency) as client,
        ):
            if since is not None and archive.checkpoint(client) is not None:
                log.info("--since is ignored: %s already holds account %d's checkpoint", path, client.account_id)
            if args.follow:
                return _follow(archive, client, args, since, path)
            started = time.monotonic()
            try:
                with sigterm_raises():
                    result = archive.sync(client, concurrency=args.concurrency, since=since)
            except Terminated:
                say(f"terminated; {path} holds every entry committed before, run the command again to continue")
                return ExitCode.TERMINATED
            log.info("%s", _line(result, path, time.monotonic() - started))
    except ArchiveError as exc:
        raise FileError(str(exc)) from None
    return ExitCode.OK


def _follow(
    archive: Archive, client: ChatwootAudit, args: argparse.Namespace, since: datetime | None, path: Path
) -> ExitCode:
    stop = StopSignals()
    log.info("following account %d at %s every %g s into %s", client.account_id, client.base_url, args.interval, path)
    with stop.installed():
        try:
            for result in archive.follow(client, interval=args.interval, concurrency=args.concurrency, since=since):
                if result.delivered:
                    log.info("%s", _line(result, path))
                stop.check()
        except Stopped:
            log.info("stopped; %s holds every entry committed before", path)
    return ExitCode.OK
