"""``chatwoot-audit export``: every entry (or a window of them) to a file or stdout, resumable.

The walk is the SDK's :meth:`ChatwootAudit.logs`: newest first, each id once, checked for completeness when
it covers the whole history. Records are appended whole (see ``_files``); a JSON array is staged as JSON
Lines and only becomes the output, by a rename, once it is complete.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from .._client import ChatwootAudit
from .._config import ENV_ACCOUNT_ID, ENV_BASE_URL
from .._errors import ChatwootError, IncompleteWalkError, RateLimitError
from ._connect import RequestStats, connection_from_args, open_client
from ._exits import CliError, ExitCode, FileError, UsageError, throttled
from ._files import AppendFile, file_error, read_lines, remove, replace_file, sync_directory, write_all
from ._filters import EntryFilter, build_filter
from ._formats import Encoder, format_from_path, json_array
from ._logs import log, say
from ._progress import ExportProgress, NoProgress, require_rich
from ._resume import STAGING_SUFFIX, STATE_SUFFIX, ExportParams, Scan, reconcile, scan_csv, scan_jsonl
from ._signals import Terminated, sigterm_raises
from ._times import check_window, format_time, parse_time

__all__ = ["Export", "ExportResult", "FileTarget", "StdoutTarget", "export_command", "stored_params", "take_stored"]

_CHUNK = 1 << 16


class Target(Protocol):
    """Where records go."""

    seen: set[int]

    def prepare(self, params: ExportParams) -> ExportParams:
        """Before the walk: the parameters to use (a resumed export's own) and fill :attr:`seen`."""
        ...

    def write(self, record: bytes) -> None:
        """Write one whole record."""
        ...

    def commit(self) -> None:
        """The walk is complete: make the output whole and final."""
        ...

    def abort(self) -> None:
        """The walk failed or was interrupted: release what is open, keep what can be resumed."""
        ...


def _copy_array(lines: IO[bytes], sink: AppendFile | int) -> None:
    # Gathered into large writes: the array is assembled after the walk, when only speed matters.
    buffer = bytearray()
    for piece in json_array(lines):
        buffer += piece
        if len(buffer) >= _CHUNK:
            _emit(sink, bytes(buffer))
            buffer.clear()
    _emit(sink, bytes(buffer))


def _emit(sink: AppendFile | int, data: bytes) -> None:
    if isinstance(sink, AppendFile):
        sink.write(data)
    elif data:
        write_all(sink, data)


class StdoutTarget:
    """Records to standard output; a JSON array is staged in a temporary file and printed whole at the end."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.seen: set[int] = set()
        self._started = False
        self._staging: IO[bytes] | None = None

    def prepare(self, params: ExportParams) -> ExportParams:
        """Nothing to take up: stdout cannot be resumed."""
        return params

    def write(self, record: bytes) -> None:
        """Print a record (the CSV header before the first), or stage it for the JSON array."""
        if self.encoder.staged:
            if self._staging is None:
                self._staging = tempfile.TemporaryFile(prefix="chatwoot-audit-")  # noqa: SIM115
            self._staging.write(record)
            return
        if not self._started:
            self._started = True
            write_all(1, self.encoder.header + record)
            return
        write_all(1, record)

    def commit(self) -> None:
        """Print the JSON array, or the CSV header of an export with no entries."""
        if self.encoder.staged:
            if self._staging is None:
                write_all(1, b"[]\n")
                return
            self._staging.seek(0)
            _copy_array(self._staging, 1)
            self.abort()
        elif not self._started:
            self._started = True
            write_all(1, self.encoder.header)

    def abort(self) -> None:
        """Drop a staged JSON array: half an array is not JSON."""
        if self._staging is not None:
            self._staging.close()
            self._staging = None


class FileTarget:
    """Records appended to ``FILE``, with ``FILE.resume.json`` beside it until the export completes."""

    def __init__(self, path: Path, encoder: Encoder, *, resume: bool = False, keep_state: bool = True) -> None:
        self.path = path
        self.encoder = encoder
        self.resume = resume
        self.keep_state = keep_state
        self.state_path = path.with_name(path.name + STATE_SUFFIX)
        self.staging_path = path.with_name(path.name + STAGING_SUFFIX)
        self.data_path = self.staging_path if encoder.staged else path
        self.seen: set[int] = set()
        self._file: AppendFile | None = None
        self._params: ExportParams | None = None

    def prepare(self, params: ExportParams) -> ExportParams:
        """With ``resume``, take up an interrupted export: its parameters and the ids its output holds."""
        self._params = params
        if not self.resume:
            return params
        stored = self._stored()
        if stored is None:
            if self.path.exists() and self.path.stat().st_size > 0:
                raise UsageError(
                    f"nothing to resume: {self.path} exists but {self.state_path.name} does not (a finished export "
                    "leaves none); move the file away, or run without --resume to overwrite it"
                )
            return params
        params = reconcile(stored, params)
        self._params = params
        self._file = AppendFile(self.data_path)
        try:
            scan = self._scan()
        except BaseException:
            self.abort()
            raise
        if scan.partial:
            log.info("cut %d bytes of a record left unfinished at the end of %s", scan.partial, self.data_path)
            self._file.truncate(scan.good_size)
        if not scan.has_header:
            self._file.truncate(0)
            self._file.write(self.encoder.header)
        self.seen = scan.ids
        log.info("resuming: %d entries already in %s", scan.records, self.data_path)
        return params

    def _stored(self) -> ExportParams | None:
        return stored_params(self.state_path)

    def _scan(self) -> Scan:
        assert self._file is not None
        lines = read_lines(self.data_path)
        name = str(self.data_path)
        scan = scan_csv(lines, name=name) if self.encoder.format == "csv" else scan_jsonl(lines, name=name)
        scan.total_size = self._file.size()
        return scan

    def _open_fresh(self) -> AppendFile:
        # Only once there is something to write: an export that fails at its first request leaves a previous
        # output (and its resume state) as they were.
        if self.keep_state and self._params is not None:
            replace_file(self.state_path, self._params.to_json().encode("utf-8"))
        file = AppendFile(self.data_path, truncate=True)
        file.write(self.encoder.header)
        return file

    def write(self, record: bytes) -> None:
        """Append a record, creating (or overwriting) the output at the first."""
        if self._file is None:
            self._file = self._open_fresh()
        self._file.write(record)

    def commit(self) -> None:
        """Make the output complete and durable, then drop the resume state."""
        if self._file is None:
            self._file = self._open_fresh()
        self._file.sync()
        self._file.close()
        if self.encoder.staged:
            self._assemble()
        remove(self.state_path)
        if self.encoder.staged:
            remove(self.staging_path)

    def _assemble(self) -> None:
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            out = AppendFile(temp, truncate=True)
            try:
                with self.staging_path.open("rb") as staged:
                    _copy_array(staged, out)
                out.sync()
            finally:
                out.close()
            os.replace(temp, self.path)
            sync_directory(self.path.parent)
        except OSError as exc:
            raise file_error(exc, "write", self.path) from None
        finally:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Close the output as it is: whole records, and the state to resume from."""
        if self._file is not None:
            self._file.close()


def stored_params(state_path: Path) -> ExportParams | None:
    """The parameters an interrupted export kept in ``state_path``; None if there is no such file."""
    try:
        text = state_path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise file_error(exc, "read", state_path) from None
    return ExportParams.from_json(text, name=str(state_path))


def take_stored(args: argparse.Namespace, stored: ExportParams, env: Mapping[str, str]) -> None:
    """Fill the flags not given with an interrupted export's own, so ``--resume`` alone continues it.

    Flags that are given stay as they are: :func:`reconcile` then refuses any that differ, naming them.
    """
    if args.base_url is None and not env.get(ENV_BASE_URL):
        args.base_url = stored.base_url
    if args.account_id is None and not env.get(ENV_ACCOUNT_ID):
        args.account_id = stored.account_id
    if args.format is None:
        args.format = stored.format
    if args.since is None:
        args.since = stored.since_arg
    if args.until is None:
        args.until = stored.until_arg
    filters = stored.filters
    users = [str(i) for i in filters.get("user_ids", [])] + [str(n) for n in filters.get("usernames", [])]
    for flag, values in (("action", filters.get("actions")), ("type", filters.get("types")), ("user", users)):
        if getattr(args, flag) is None and values:
            setattr(args, flag, [str(value) for value in values])
    # A switch cannot say "not given": off means "as stored", so only an added one is a difference.
    args.spreadsheet_safe = args.spreadsheet_safe or stored.spreadsheet_safe


@dataclass
class ExportResult:
    """What an export did, for its summary line."""

    written: int = 0
    skipped: int = 0
    scanned: int = 0
    seconds: float = 0.0
    requests: int = 0
    pages: int = 0
    destination: str = "stdout"
    filtered: bool = False
    since: datetime | None = None
    until: datetime | None = None

    def summary(self) -> str:
        """One line: entries, pages and requests, seconds, where."""
        new = "new " if self.skipped else ""
        read = f" of {self.scanned:,} read" if self.filtered else ""
        kept = f"; {self.skipped:,} were already there" if self.skipped else ""
        return (
            f"exported {_count(self.written, new + 'entry', new + 'entries')}{read} in {self.seconds:.1f} s "
            f"({_count(self.pages, 'page')}, {_count(self.requests, 'request')}) to {self.destination}{kept}"
        )


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


class Export:
    """One export run: walk, filter, skip what the output holds, write. ``result`` is kept up to date."""

    def __init__(
        self,
        target: Target,
        encoder: Encoder,
        params: ExportParams,
        *,
        entry_filter: EntryFilter | None = None,
        concurrency: int = 4,
        destination: str = "stdout",
    ) -> None:
        self.target = target
        self.encoder = encoder
        self.params = params
        self.entry_filter = entry_filter or EntryFilter()
        self.concurrency = concurrency
        self.result = ExportResult(destination=destination, filtered=self.entry_filter.active)

    def run(self, client: ChatwootAudit, stats: RequestStats, *, progress: bool = False) -> ExportResult:
        """Walk and write; on any failure the output keeps its whole records and the state to resume."""
        result = self.result
        started = time.monotonic()
        try:
            params = self.target.prepare(self.params)
            since = _instant(params.since)
            until = _instant(params.until)
            result.since, result.until = since, until
            display = (
                ExportProgress(
                    stats,
                    since=None if since is None else int(since.timestamp()),
                    until=None if until is None else int(until.timestamp()),
                )
                if progress
                else NoProgress()
            )
            target, seen = self.target, self.target.seen
            matches, encode = self.entry_filter.matches, self.encoder.encode
            with display:
                for entry in client.logs(since=since, until=until, concurrency=self.concurrency):
                    result.scanned += 1
                    if matches(entry):
                        if entry.id in seen:
                            result.skipped += 1
                        else:
                            target.write(encode(entry))
                            result.written += 1
                    display.update(scanned=result.scanned, written=result.written, last=entry)
            target.commit()
        except BaseException:
            self.target.abort()
            raise
        finally:
            result.seconds = time.monotonic() - started
            result.requests, result.pages = stats.requests, stats.pages
        return result


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _wants_progress(args: argparse.Namespace) -> bool:
    if args.quiet or args.no_progress or not sys.stderr.isatty():
        return False
    # Entries printed on this same terminal are the display; a bar would garble them.
    return bool(args.output) or not sys.stdout.isatty()


def export_command(args: argparse.Namespace) -> int:
    """Run ``chatwoot-audit export``."""
    require_rich()
    if args.resume and args.output and args.output != "-":
        path = Path(args.output)
        stored = stored_params(path.with_name(path.name + STATE_SUFFIX))
        if stored is not None:
            take_stored(args, stored, os.environ)
    now = datetime.now(UTC)
    since = parse_time(args.since, now=now, flag="--since") if args.since is not None else None
    until = parse_time(args.until, now=now, flag="--until") if args.until is not None else None
    check_window(since, until)
    if args.output == "-":
        args.output = None
    fmt = args.format or (format_from_path(args.output) if args.output else None) or "jsonl"
    if args.resume and not args.output:
        raise UsageError("--resume needs --output FILE: only a file can be continued")
    if args.spreadsheet_safe and fmt != "csv":
        raise UsageError("--spreadsheet-safe applies to --format csv only")
    entry_filter = build_filter(args.action, args.type, args.user)
    for warning in entry_filter.warnings:
        log.warning("%s", warning)
    connection = connection_from_args(args, os.environ)
    encoder = Encoder(fmt, spreadsheet_safe=args.spreadsheet_safe)
    stats = RequestStats(read_totals=_wants_progress(args))
    with open_client(connection, stats, concurrency=args.concurrency) as client:
        params = ExportParams(
            base_url=str(client.base_url),
            account_id=client.account_id,
            format=fmt,
            since=None if since is None else format_time(since),
            until=None if until is None else format_time(until),
            since_arg=args.since,
            until_arg=args.until,
            filters=entry_filter.describe(),
            spreadsheet_safe=args.spreadsheet_safe,
        )
        target: Target
        if args.output:
            path = Path(args.output)
            if path.is_dir():
                raise FileError(f"--output {path} is a directory: name a file in it")
            if not path.absolute().parent.is_dir():
                raise FileError(f"--output {path}: the directory {path.absolute().parent} does not exist")
            target = FileTarget(path, encoder, resume=args.resume)
            destination = str(path)
        else:
            target, destination = StdoutTarget(encoder), "stdout"
        export = Export(
            target, encoder, params, entry_filter=entry_filter, concurrency=args.concurrency, destination=destination
        )
        try:
            with sigterm_raises():
                result = export.run(client, stats, progress=_wants_progress(args))
        except (KeyboardInterrupt, Terminated) as exc:
            _interrupted(export.result, resumable=bool(args.output))
            return ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED
        except IncompleteWalkError as exc:
            raise _incomplete(exc, export.result, resumable=bool(args.output)) from exc
        except RateLimitError as exc:
            raise _throttled(exc, export.result, resumable=bool(args.output)) from exc
        missed = _where_history_lies(client, result) if result.scanned == 0 else None
    log.info("%s", result.summary())
    if missed:
        log.info("%s", missed)
    return ExitCode.OK


def _where_history_lies(client: ChatwootAudit, result: ExportResult) -> str | None:
    """For a window that held nothing: where the entries are, read from the first and the last page."""
    since, until = result.since, result.until
    if since is not None and until is not None:
        window = f"from {format_time(since)} to {format_time(until)}"
    elif since is not None:
        window = f"since {format_time(since)}"
    elif until is not None:
        window = f"until {format_time(until)}"
    else:
        return None
    try:
        first = client.page(1)
        if not first.items:
            return f"no entries {window}: the account has none at all (or the audit_logs feature is off)"
        last = client.page(first.total_pages) if first.total_pages > 1 else first
    except ChatwootError:
        # Only a hint: the export itself went well.
        return None
    newest, oldest = first.items[0], (last.items or first.items)[-1]
    return (
        f"no entries {window}; the account's {_count(first.total_entries, 'entry', 'entries')} run from "
        f"{format_time(oldest.created_at)} (oldest) to {format_time(newest.created_at)} (newest)"
    )


def _incomplete(exc: IncompleteWalkError, result: ExportResult, *, resumable: bool) -> CliError:
    # The SDK's advice is for library users; on the command line, --resume is the way to look again.
    found = f"the server reported {exc.expected:,} entries but the walk found {exc.found:,} ({exc.missing:,} missing)"
    if resumable:
        advice = f"{result.destination} holds those found; run the same command with --resume to look for the rest"
    else:
        advice = "run it again (with --output FILE, --resume looks again for just the missing ones)"
    return CliError(f"incomplete export: {found}; {advice}", ExitCode.INCOMPLETE)


def _throttled(exc: RateLimitError, result: ExportResult, *, resumable: bool) -> CliError:
    if resumable:
        again = f"wait a few minutes and run the same command with --resume to continue {result.destination}"
    else:
        again = "wait a few minutes and run it again (with --output FILE, --resume continues where it stopped)"
    return throttled(exc, again=again)


def _interrupted(result: ExportResult, *, resumable: bool) -> None:
    done = f"interrupted after {result.written:,} entries"
    if resumable:
        say(f"{done} (in {result.destination}); run the same command with --resume to continue")
    else:
        say(f"{done}; nothing is left to continue: use --output FILE to be able to --resume")
