"""``chatwoot-audit follow``: new entries as JSON Lines, oldest first, with a checkpoint that survives restarts.

Each poll streams what the checkpoint has not delivered (:meth:`ChatwootAudit.logs_after`, on a copy, which
reads oldest first in windows: memory stays flat on a first run over a long history), writes each line and
advances the real checkpoint past it; the checkpoint file is replaced (temporary file, fsync, rename) after
every few lines, once they are written (and, for ``--output``, on disk).

Delivery: a stop by SIGINT or SIGTERM finishes the line being written, saves the checkpoint and exits 0, so
a restart neither repeats nor drops an entry. A crash (kill -9, power loss) between writing lines and saving
the checkpoint repeats those lines (at most one save's worth) on stdout; with ``--output FILE`` the checkpoint
also records the file's size and a restart cuts the file back to it, so the file gets every entry once.

Clock skew: each entry is recorded against the time its window was read at (the earlier of the server's
``Date`` and this machine's clock). An
entry stamped more than :attr:`Checkpoint.skew_margin` seconds after that (an app server whose clock runs
fast) is delivered and logged as a warning, but does not lift the checkpoint past the entries that follow.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .._checkpoint import FOLLOW_KIND, Checkpoint
from .._client import ChatwootAudit
from .._errors import ChatwootError, InvalidArgumentError, passes, problem
from ._connect import RequestStats, connection_from_args, open_client
from ._exits import ExitCode, FileError, UsageError
from ._files import AppendFile, file_error, replace_file, write_all
from ._filters import EntryFilter, build_filter
from ._formats import jsonl_line
from ._logs import log, say
from ._progress import require_rich
from ._signals import Stopped, StopSignals
from ._times import format_time, parse_time

__all__ = ["FollowState", "Follower", "follow_command"]

_KIND: Final = FOLLOW_KIND
_FORMAT: Final = 1
# Lines between checkpoint saves: what a crash may repeat on stdout, against one fsync per this many lines.
SAVE_EVERY: Final = 100


@dataclass
class FollowState:
    """The checkpoint file: where delivery stands, for which server and account, and the output's size."""

    checkpoint: Checkpoint
    base_url: str | None = None
    account_id: int | None = None
    output: str | None = None
    output_size: int | None = None

    def to_json(self) -> str:
        """The file's text."""
        data: dict[str, Any] = {
            "kind": _KIND,
            "format": _FORMAT,
            "base_url": self.base_url,
            "account_id": self.account_id,
            "output": self.output,
            "output_size": self.output_size,
            "checkpoint": self.checkpoint.to_dict(),
        }
        return json.dumps(data, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, name: str) -> FollowState:
        """Read a checkpoint file: this command's, or a bare ``Checkpoint.to_json()`` from the library."""
        try:
            data = json.loads(text)
            if isinstance(data, dict) and data.get("kind") == _KIND and data.get("format") == _FORMAT:
                state = cls(
                    checkpoint=Checkpoint.from_dict(data["checkpoint"]),
                    base_url=data.get("base_url"),
                    account_id=data.get("account_id"),
                    output=data.get("output"),
                    output_size=data.get("output_size"),
                )
                size = state.output_size
                if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
                    raise ValueError("output_size is not a size")
                return state
            return cls(checkpoint=Checkpoint.from_dict(data))
        except (ValueError, KeyError, TypeError, InvalidArgumentError) as exc:
            raise FileError(
                f"{name} is not a checkpoint this version can read ({exc}); fix it, or move it away to start "
                "over (which delivers again from --since)"
            ) from None

    def check_source(self, base_url: str, account_id: int, *, name: str) -> None:
        """Refuse a checkpoint kept for another server or account."""
        if self.base_url is None and self.account_id is None:
            self.base_url, self.account_id = base_url, account_id
            return
        if (self.base_url, self.account_id) != (base_url, account_id):
            raise UsageError(
                f"{name} is the checkpoint of account {self.account_id} at {self.base_url}, not of account "
                f"{account_id} at {base_url}: give each account its own --checkpoint file"
            )


class _Stdout:
    """Lines to standard output, each in one write: line-buffered for a pipe into a log shipper."""

    def write(self, line: bytes) -> None:
        write_all(1, line)

    def flush_to_disk(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class _OutputFile:
    """Lines appended to ``--output``; the size of what was written whole is what the checkpoint records."""

    def __init__(self, path: Path, state: FollowState) -> None:
        self.file = AppendFile(path)
        self.path = path
        size = self.file.size()
        recorded = state.output_size if state.output == str(path) else None
        if recorded is not None and size > recorded:
            # Lines written after the last checkpoint save: they are delivered again below, so cut them.
            self.file.truncate(recorded)
            log.info("cut %d bytes written to %s after the last checkpoint; they follow again", size - recorded, path)
            size = recorded
        elif recorded is not None and size < recorded:
            log.warning(
                "%s is shorter than the checkpoint recorded (%d < %d bytes): truncated or rotated by something "
                "else? Appending from here",
                path,
                size,
                recorded,
            )
        elif state.output is not None and state.output != str(path):
            log.info("the checkpoint was kept for output %s; now writing to %s", state.output, path)
        self.size = size
        state.output, state.output_size = str(path), size

    def write(self, line: bytes) -> None:
        self.file.write(line)
        self.size += len(line)

    def flush_to_disk(self) -> int | None:
        self.file.sync()
        return self.size

    def close(self) -> None:
        self.file.close()


class Follower:
    """Polls, writes and checkpoints until stopped (or after one poll with ``once``)."""

    def __init__(
        self,
        client: ChatwootAudit,
        state: FollowState,
        *,
        checkpoint_path: Path | None,
        output: _Stdout | _OutputFile,
        entry_filter: EntryFilter | None = None,
        interval: float = 30.0,
        concurrency: int = 1,
        once: bool = False,
        stop: StopSignals | None = None,
    ) -> None:
        self.client = client
        self.state = state
        self.checkpoint_path = checkpoint_path
        self.output = output
        self.entry_filter = entry_filter or EntryFilter()
        self.interval = interval
        self.concurrency = concurrency
        self.once = once
        self.stop = stop or StopSignals()
        self.delivered = 0

    def run(self) -> None:
        """Poll until stopped; raises what needs a person (a refused token, a missing account)."""
        while True:
            try:
                self._poll()
            except ChatwootError as exc:
                # The SDK's list of outages, shared with ChatwootAudit.follow(): a 200 that is not JSON at all
                # (a proxy's page) passes; JSON that is not an audit-log page does not, and needs a person.
                if self.once or not passes(exc):
                    raise
                # What failed only: the SDK's advice names keyword arguments, and waiting is the command's own.
                log.warning("polling failed, trying again in %gs: %s", self.interval, problem(exc))
            if self.once:
                return
            self.stop.check()
            time.sleep(self.interval)

    def _poll(self) -> None:
        """Write the entries not delivered yet, each as the sync hands it out, and record them as written."""
        # On a copy: the real checkpoint moves only past lines that are written.
        probe = Checkpoint.from_dict(self.state.checkpoint.to_dict())
        probe._warns = False  # the real checkpoint warns, once, as it delivers
        checkpoint, matches = self.state.checkpoint, self.entry_filter.matches
        pending = written = 0
        newest: datetime | None = None
        try:
            for entry in self.client.logs_after(probe, concurrency=self.concurrency):
                # The time the entry's window was read at (the server's Date, else this machine's clock): an
                # entry stamped well after it comes from a clock that runs fast.
                read_at = probe._read_at
                with self.stop.shielded():
                    if matches(entry):
                        self.output.write(jsonl_line(entry))
                        written += 1
                    checkpoint.advance(entry, now=read_at)
                    newest = entry.created_at
                    pending += 1
                    if pending >= SAVE_EVERY:
                        self.save()
                        pending = 0
                if self.stop.requested is not None:
                    break
        finally:
            # Also when the sync failed or a stop came while it was reading: what was written is recorded.
            if pending:
                with self.stop.shielded():
                    self.save()
            self.delivered += written
        if written:
            log.info("delivered %d new entries (newest %s)", written, format_time(newest) if newest else "-")
        elif self.once:
            log.info("no new entries")
        self.stop.check()

    def save(self) -> None:
        """Record what was written: the output flushed first, then the checkpoint replaced atomically."""
        size = self.output.flush_to_disk()
        if size is not None:
            self.state.output_size = size
        if self.checkpoint_path is not None:
            replace_file(self.checkpoint_path, self.state.to_json().encode("utf-8"))


def _load_state(path: Path | None) -> FollowState | None:
    if path is None:
        return None
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise file_error(exc, "read", path) from None
    return FollowState.from_json(text, name=str(path))


def follow_command(args: argparse.Namespace) -> int:
    """Run ``chatwoot-audit follow``."""
    require_rich()
    since = parse_time(args.since, now=datetime.now(UTC), flag="--since") if args.since is not None else None
    entry_filter = build_filter(args.action, args.type, args.user)
    for warning in entry_filter.warnings:
        log.warning("%s", warning)
    checkpoint_path = Path(args.checkpoint) if args.checkpoint else None
    output_path = Path(args.output).absolute() if args.output else None
    if checkpoint_path is not None and output_path is not None and checkpoint_path.absolute() == output_path:
        raise UsageError("--checkpoint and --output must be different files")
    connection = connection_from_args(args, os.environ)
    stop = StopSignals()
    follower: Follower | None = None
    with stop.installed():
        try:
            with open_client(connection, RequestStats(), concurrency=args.concurrency) as client:
                follower = _follower(client, args, since, entry_filter, checkpoint_path, output_path, stop)
                try:
                    # Saved at once, so that a relative --since is pinned and a restart starts where this run did.
                    follower.save()
                    log.info(
                        "following account %d at %s%s; checkpoint %s",
                        client.account_id,
                        client.base_url,
                        "" if args.once else f" every {args.interval:g} s",
                        checkpoint_path or "(none)",
                    )
                    follower.run()
                finally:
                    follower.output.close()
        except Stopped:
            delivered = follower.delivered if follower is not None else 0
            log.info("stopped after delivering %d entries; checkpoint saved", delivered)
        except BrokenPipeError:
            say("stdout was closed by its reader; the checkpoint covers every line written before")
            return ExitCode.BROKEN_PIPE
    return ExitCode.OK


def _follower(
    client: ChatwootAudit,
    args: argparse.Namespace,
    since: datetime | None,
    entry_filter: EntryFilter,
    checkpoint_path: Path | None,
    output_path: Path | None,
    stop: StopSignals,
) -> Follower:
    base_url, account_id = str(client.base_url), client.account_id
    state = _load_state(checkpoint_path)
    if state is None:
        start = Checkpoint.starting_at(since) if since is not None else Checkpoint()
        state = FollowState(start, base_url=base_url, account_id=account_id)
        if checkpoint_path is None:
            log.warning("no --checkpoint: a restart delivers again from %s", args.since or "the beginning")
    else:
        state.check_source(base_url, account_id, name=str(checkpoint_path))
        if args.since is not None:
            log.info("--since is ignored: %s says where to continue", checkpoint_path)
    output = _OutputFile(output_path, state) if output_path is not None else _Stdout()
    return Follower(
        client,
        state,
        checkpoint_path=checkpoint_path,
        output=output,
        entry_filter=entry_filter,
        interval=args.interval,
        concurrency=args.concurrency,
        once=args.once,
        stop=stop,
    )
