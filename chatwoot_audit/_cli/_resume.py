"""Resuming an export: the parameters kept beside the output, and reading back what it already holds. Pure.

An export to ``FILE`` keeps ``FILE.resume.json`` while it runs: the parameters as resolved (absolute
``since``/``until``, filters, format, server, account). ``--resume`` takes them for the flags not given
(``export -o FILE --resume`` alone continues), refuses given ones that differ, reads the
ids already in the output (a trailing partial record, left by a kill, is cut), walks again and writes only
the others, so the final file holds every entry once. The state is removed when the export completes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

from ._exits import FileError, UsageError
from ._formats import csv_header

__all__ = [
    "STAGING_SUFFIX",
    "STATE_SUFFIX",
    "ExportParams",
    "Scan",
    "iter_records",
    "reconcile",
    "scan_csv",
    "scan_jsonl",
]

STATE_SUFFIX: Final = ".resume.json"
STAGING_SUFFIX: Final = ".partial.jsonl"
_STATE_KIND: Final = "chatwoot-audit export state"
_STATE_FORMAT: Final = 1


@dataclass(frozen=True)
class ExportParams:
    """What decides an export's content: two runs may share an output only if these agree."""

    base_url: str
    account_id: int
    format: str
    since: str | None = None
    until: str | None = None
    since_arg: str | None = None
    until_arg: str | None = None
    filters: dict[str, list[Any]] = field(default_factory=dict)
    spreadsheet_safe: bool = False

    def to_json(self) -> str:
        """The state file's text."""
        return json.dumps({"kind": _STATE_KIND, "format": _STATE_FORMAT, "params": asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, name: str) -> ExportParams:
        """Read a state file written by :meth:`to_json`; ``name`` is the file, for the message."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("kind") != _STATE_KIND or data.get("format") != _STATE_FORMAT:
                raise ValueError("not an export state (format 1)")
            params = data["params"]
            if not isinstance(params, dict):
                raise ValueError("no parameters")
            loaded = cls(**params)
            if not isinstance(loaded.account_id, int) or not isinstance(loaded.filters, dict):
                raise ValueError("malformed parameters")
        except (ValueError, KeyError, TypeError) as exc:
            raise FileError(
                f"{name} is not a resume state this version can read ({exc}); delete it to start over"
            ) from None
        return loaded


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def _window_mismatch(
    flag: str, stored: tuple[str | None, str | None], wanted: tuple[str | None, str | None]
) -> str | None:
    (stored_arg, stored_at), (wanted_arg, wanted_at) = stored, wanted
    # The same words mean the same window, even if "7d" resolves to another instant now: the stored one wins.
    if stored_arg == wanted_arg or stored_at == wanted_at:
        return None
    was = "not given" if stored_arg is None else f"{stored_arg!r} ({stored_at})"
    now = "not given" if wanted_arg is None else f"{wanted_arg!r}"
    return f"{flag} was {was}, now {now}"


def reconcile(stored: ExportParams, wanted: ExportParams) -> ExportParams:
    """The parameters a resumed export uses (the interrupted one's), or :class:`UsageError` if they differ."""
    problems: list[str] = []
    labels = {
        "base_url": "--base-url",
        "account_id": "--account-id",
        "format": "--format",
        "filters": "the filters (--action, --type, --user)",
        "spreadsheet_safe": "--spreadsheet-safe",
    }
    for name, label in labels.items():
        old, new = getattr(stored, name), getattr(wanted, name)
        if old != new:
            problems.append(f"{label} was {_show(old)}, now {_show(new)}")
    for flag, old_pair, new_pair in (
        ("--since", (stored.since_arg, stored.since), (wanted.since_arg, wanted.since)),
        ("--until", (stored.until_arg, stored.until), (wanted.until_arg, wanted.until)),
    ):
        problem = _window_mismatch(flag, old_pair, new_pair)
        if problem:
            problems.append(problem)
    if problems:
        raise UsageError(
            "cannot resume: this command differs from the interrupted export: "
            + "; ".join(problems)
            + ". Run it with the same flags, or without --resume to start over"
        )
    return replace(wanted, since=stored.since, until=stored.until)


@dataclass
class Scan:
    """What an output already holds: the ids, and where its last complete record ends."""

    ids: set[int] = field(default_factory=set)
    records: int = 0
    good_size: int = 0
    total_size: int = 0
    has_header: bool = False

    @property
    def partial(self) -> int:
        """Bytes after the last complete record: a record cut short, to be removed."""
        return self.total_size - self.good_size


def iter_records(lines: Iterable[bytes], *, quoted: bool = False) -> Iterator[tuple[bytes, int]]:
    """Complete records and the offset just past each; a trailing incomplete one is not yielded.

    A record ends at a newline; with ``quoted`` (CSV), only at a newline outside double quotes, which is
    where the count of quotes so far is even (quotes inside a field are doubled).
    """
    offset, parts, quotes = 0, [], 0
    for line in lines:
        offset += len(line)
        parts.append(line)
        if quoted:
            quotes += line.count(b'"')
        if line.endswith(b"\n") and quotes % 2 == 0:
            yield b"".join(parts), offset
            parts, quotes = [], 0


def _corrupt(name: str, number: int, why: str) -> FileError:
    return FileError(
        f"{name}: record {number} is {why}, so the file is not one this command wrote; "
        "cannot resume: move it away (and its .resume.json) and export again"
    )


def scan_jsonl(lines: Iterable[bytes], *, name: str) -> Scan:
    """Read back a JSON Lines output (or a JSON export's staging file)."""
    scan = Scan(has_header=True)
    for number, (record, end) in enumerate(iter_records(lines), start=1):
        scan.good_size = end
        try:
            entry = json.loads(record)
        except (ValueError, UnicodeDecodeError):
            raise _corrupt(name, number, "not JSON") from None
        entry_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, int) or isinstance(entry_id, bool):
            raise _corrupt(name, number, "not an audit-log entry")
        scan.ids.add(entry_id)
        scan.records += 1
    return scan


def scan_csv(lines: Iterable[bytes], *, name: str) -> Scan:
    """Read back a CSV output: the header, then one entry a record with its id in the first column."""
    scan = Scan()
    header = csv_header()
    for number, (record, end) in enumerate(iter_records(lines, quoted=True), start=1):
        scan.good_size = end
        if number == 1:
            if record != header:
                raise _corrupt(name, 1, "not this version's CSV header")
            scan.has_header = True
            continue
        try:
            cells = next(csv.reader(io.StringIO(record.decode("utf-8"), newline="")))
            entry_id = int(cells[0])
        except (ValueError, UnicodeDecodeError, IndexError, StopIteration, csv.Error):
            raise _corrupt(name, number, "not an audit-log entry") from None
        scan.ids.add(entry_id)
        scan.records += 1
    return scan
