"""Checkpoint: where an incremental sync stands, small enough to store after every entry.

The only I/O is :meth:`Checkpoint.save` and :meth:`Checkpoint.load` (and :func:`replace_file`, which both the
library and the CLI write their small files with); the other side effect is a warning on the
``chatwoot_audit`` logger for an entry stamped in the future.

One file format: :meth:`Checkpoint.save` writes :meth:`Checkpoint.to_json`. ``chatwoot-audit follow`` reads
such a file as its ``--checkpoint``, and writes an envelope around the same dict (``kind`` =
:data:`FOLLOW_KIND`, with the server, account and output it belongs to), which :meth:`Checkpoint.load` reads
too.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import math
import os
import reprlib
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeGuard

from ._errors import InvalidArgumentError
from ._models import AuditLog

__all__ = ["FOLLOW_KIND", "Checkpoint", "replace_file", "sync_directory"]

logger = logging.getLogger("chatwoot_audit")

_FORMAT = 1
# The envelope `chatwoot-audit follow` keeps its checkpoint in (format 1 as well).
FOLLOW_KIND: Final = "chatwoot-audit follow checkpoint"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# The Unix seconds an aware datetime can hold (years 1 to 9999): every entry's created_at is in range,
# so whatever advance() records, from_json() reads back.
EARLIEST: Final = -62_135_596_800
LATEST: Final = 253_402_300_799
# An overlap of more than about 3,000 years is a mistake, not a choice.
MAX_OVERLAP: Final = 10**11
# How far past the reference time (the server's Date) an entry's created_at may be and still move the
# high-water mark: app servers' clocks, and the Date header's own second, disagree by a few seconds, not by
# minutes. Capped at half the overlap (see Checkpoint.skew_margin), so that the floor stays at least half
# an overlap below the reference and entries written after it are read.
SKEW_MARGIN: Final = 60


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(name: str, value: object) -> int:
    """A time in Unix seconds: an int (not a bool or a float) that an aware datetime can hold."""
    if not _is_int(value):
        raise InvalidArgumentError(f"{name} must be whole Unix seconds (an int), not {_describe(value)}")
    if not EARLIEST <= value <= LATEST:
        raise InvalidArgumentError(f"{name} must be Unix seconds between years 1 and 9999, not {value}")
    return value


def _overlap(value: object) -> int:
    if not _is_int(value):
        raise InvalidArgumentError(f"overlap must be whole seconds (an int >= 0), not {_describe(value)}")
    if not 0 <= value < MAX_OVERLAP:
        raise InvalidArgumentError(f"overlap must be seconds >= 0 and below {MAX_OVERLAP}, not {value}")
    return value


def _describe(value: object) -> str:
    # reprlib: a bounded repr, whatever the size or the depth of what a checkpoint file held.
    text = reprlib.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reference(now: object) -> int | None:
    """``now`` (an aware datetime, whole Unix seconds, or None) as Unix seconds."""
    if now is None:
        return None
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise InvalidArgumentError("now must be a timezone-aware datetime, not a naive one")
        return math.floor(now.timestamp())
    if not _is_int(now):
        raise InvalidArgumentError(
            f"now must be a timezone-aware datetime or whole Unix seconds (an int), not {_describe(now)}"
        )
    return _seconds("now", now)


def _iso(seconds: int) -> str:
    return _as_datetime(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_datetime(seconds: int) -> datetime:
    # Clamped: a floor below year 1 reads from the start of time, which is the same thing.
    return _EPOCH + timedelta(seconds=min(max(seconds, EARLIEST), LATEST))


class Checkpoint:
    """How far an incremental sync has delivered entries, oldest first.

    It keeps the newest ``created_at`` delivered (the high-water mark) and the ids delivered in the
    ``overlap`` seconds before it. The next sync re-reads that overlap and delivers what it has not
    delivered yet, so an entry that becomes visible late with an earlier ``created_at`` (a slow
    transaction) is still delivered, once, as long as it is no later than ``overlap`` seconds.

    ``to_json()`` and ``Checkpoint.from_json()`` store and restore it; store it after each entry (or
    batch) you have shipped, and a restart neither repeats nor drops entries.

    Each app server stamps ``created_at`` with its own clock. Given the time the entries were read at
    (``advance(log, now=...)``), an entry stamped more than :attr:`skew_margin` seconds after it does not
    move the high-water mark past ``now + skew_margin``: it is recorded as delivered, kept among the
    recent ids until the floor passes it, and logged as a warning. Without that, one entry from
    a host whose clock runs an hour fast would lift the floor past every entry written in that hour.

    Args:
        overlap: seconds below the high-water mark that each sync reads again (default 300): how late an
            entry may become visible and still be delivered.
        high_water: the newest ``created_at`` delivered, in Unix seconds; None (default) before any.
        not_before: Unix seconds; entries stamped earlier are never delivered (see :meth:`starting_at`).
    """

    __slots__ = ("_clock_told", "_expiry", "_read_at", "_recent", "_warns", "high_water", "not_before", "overlap")

    def __init__(self, *, overlap: int = 300, high_water: int | None = None, not_before: int | None = None) -> None:
        self.overlap = _overlap(overlap)
        self.high_water = None if high_water is None else _seconds("high_water", high_water)
        self.not_before = None if not_before is None else _seconds("not_before", not_before)
        self._recent: dict[int, int] = {}
        # The recent ids by stamp, oldest first (a heap, rebuilt from _recent when None): pruning pops what
        # the floor passed, instead of scanning every recent id each time the high-water mark moves.
        self._expiry: list[tuple[int, int]] | None = None
        # When the entries being delivered were read (Unix seconds): logs_after and follow set it, so that
        # advance(log) from the caller's own loop measures skew like theirs. Not stored: it is per sync.
        self._read_at: int | None = None
        self._warns = True  # False for a working copy whose original will see the same entries
        self._clock_told = False  # whether a Date ahead of this machine's clock was warned about

    @classmethod
    def starting_at(cls, when: datetime, *, overlap: int = 300) -> Checkpoint:
        """A checkpoint that delivers only entries from ``when`` (aware) on, skipping older history.

        ``overlap`` is the constructor's.
        """
        if not isinstance(when, datetime) or when.tzinfo is None or when.utcoffset() is None:
            raise InvalidArgumentError("when must be a timezone-aware datetime")
        # Entries are stamped in whole seconds: the first second at or after `when`.
        return cls(overlap=overlap, not_before=math.ceil(when.timestamp()))

    def __repr__(self) -> str:
        return (
            f"Checkpoint(high_water={self.high_water!r}, overlap={self.overlap}, "
            f"not_before={self.not_before!r}, recent={len(self._recent)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> Checkpoint:
        # A copy of its own: the two must not share the list of recent ids' expiries.
        clone = Checkpoint.from_dict(self.to_dict())
        clone._read_at, clone._warns = self._read_at, self._warns
        return clone

    @property
    def floor(self) -> datetime | None:
        """The oldest ``created_at`` the next sync must read; None when it must read everything."""
        bounds = (self.not_before, None if self.high_water is None else self.high_water - self.overlap)
        known = [b for b in bounds if b is not None]
        return _as_datetime(max(known)) if known else None

    @property
    def skew_margin(self) -> int:
        """Seconds an entry may be stamped after ``now`` and still count as on time: 60, or half of
        ``overlap`` if that is less, so that the floor stays below ``now`` by at least half the overlap."""
        return min(SKEW_MARGIN, self.overlap // 2)

    @property
    def high_water_time(self) -> datetime | None:
        """The high-water mark as an aware datetime."""
        return None if self.high_water is None else _as_datetime(self.high_water)

    def is_new(self, log: AuditLog) -> bool:
        """Whether ``log`` has not been delivered yet."""
        stamp = log.timestamp
        if self.not_before is not None and stamp < self.not_before:
            return False
        if self.high_water is None:
            return True
        return log.id not in self._recent and stamp >= self.high_water - self.overlap

    def advance(self, log: AuditLog, *, now: datetime | int | None = None) -> None:
        """Record ``log`` as delivered.

        ``now`` is when ``log`` was read: the server's time (its ``Date`` header, as
        :attr:`AuditLogPage.server_time`), else this machine's; an aware datetime or whole Unix seconds.
        An entry stamped more than :attr:`skew_margin` seconds after ``now`` still counts as delivered,
        but moves the high-water mark no further than ``now + skew_margin``, and a warning names it.
        Without ``now``, entries handed out by ``logs_after`` and ``follow`` are measured against the
        time their sync read them; any other entry moves the high-water mark to its ``created_at``.
        """
        stamp = log.timestamp
        reference = _reference(now) if now is not None else self._read_at
        mark = stamp
        if reference is not None:
            limit = min(reference + self.skew_margin, LATEST)
            if stamp > limit:
                if self._warns and log.id not in self._recent:
                    logger.warning(
                        "entry %d has created_at %s, %d s ahead of the time it was read at (%s): is an app "
                        "server's clock fast? It counts as delivered, and the checkpoint's high-water mark "
                        "stops at %s, so entries written after it are still delivered",
                        log.id,
                        _iso(stamp),
                        stamp - reference,
                        _iso(reference),
                        _iso(limit),
                    )
                mark = limit
        self._recent[log.id] = stamp
        if self._expiry is not None:
            heapq.heappush(self._expiry, (stamp, log.id))
        if self.high_water is None or mark > self.high_water:
            self.high_water = mark
            self._prune()

    def _prune(self) -> None:
        # An id stamped above the high-water mark (by a fast clock) is read again by every sync until the
        # floor passes it, so it stays until then: it must not be delivered twice.
        if self.high_water is None:
            return
        cutoff = self.high_water - self.overlap
        expiry, recent = self._expiry, self._recent
        if expiry is None:
            expiry = self._expiry = [(stamp, entry_id) for entry_id, stamp in recent.items()]
            heapq.heapify(expiry)
        while expiry and expiry[0][0] < cutoff:
            stamp, entry_id = heapq.heappop(expiry)
            if recent.get(entry_id) == stamp:
                del recent[entry_id]

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint as a dict of JSON types, for storing inside a document of your own.

        ``recent`` lists ``[id, created_at]`` pairs in Unix seconds; :meth:`from_dict` reads it back.
        """
        return {
            "format": _FORMAT,
            "high_water": self.high_water,
            "overlap": self.overlap,
            "not_before": self.not_before,
            "recent": sorted([i, s] for i, s in self._recent.items()),
        }

    def to_json(self) -> str:
        """The checkpoint as one line of JSON."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        """Restore a checkpoint from ``data``, what :meth:`to_dict` returned (or the parsed :meth:`to_json`).

        Anything else, down to a float or a string where an int belongs or a time no datetime can hold,
        is an :class:`InvalidArgumentError`.
        """
        if not isinstance(data, dict) or not _is_int(data.get("format")) or data["format"] != _FORMAT:
            raise InvalidArgumentError("not a chatwoot-audit checkpoint (format 1)")
        missing = [key for key in ("overlap", "high_water", "recent") if key not in data]
        if missing:
            raise InvalidArgumentError(f"malformed checkpoint: {', '.join(missing)} missing")
        cp = cls(overlap=data["overlap"], high_water=data["high_water"], not_before=data.get("not_before"))
        recent = data["recent"]
        if not isinstance(recent, list):
            raise InvalidArgumentError(f"malformed checkpoint: recent is {_describe(recent)}, not a list")
        for pair in recent:
            if not isinstance(pair, list | tuple) or len(pair) != 2 or not _is_int(pair[0]):
                raise InvalidArgumentError(
                    f"malformed checkpoint: recent holds {_describe(pair)}, not an [id, created_at] pair of ints"
                )
            cp._recent[pair[0]] = _seconds("a recent entry's created_at", pair[1])
        cp._expiry = None
        return cp

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Restore a checkpoint from ``text``, written by :meth:`to_json`."""
        if not isinstance(text, str | bytes):
            raise InvalidArgumentError(f"a checkpoint is read from str or bytes, not {type(text).__name__}")
        try:
            data = json.loads(text)
        except ValueError as exc:  # UnicodeDecodeError and too long an integer included
            raise InvalidArgumentError(f"malformed checkpoint: {exc}") from None
        except RecursionError:
            raise InvalidArgumentError("malformed checkpoint: JSON nested too deeply") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the checkpoint to ``path``, all or nothing.

        The JSON of :meth:`to_json` goes to a temporary file in the same folder, is flushed to the disk
        (fsync) and renamed over ``path``; the folder is then flushed too where the platform allows. A crash
        at any moment leaves either the previous file or the new one, never half of one. The file is the
        one ``chatwoot-audit follow --checkpoint`` reads (it adopts the server and account of its first run);
        saved over a file of that command, it keeps the checkpoint but not the server, account and output
        size the command recorded beside it.

        Args:
            path: the file to write; its folder must exist.

        Raises:
            OSError: the file cannot be written (as :func:`open` would raise it); ``path`` is left as it was.
        """
        replace_file(os.fspath(path), (self.to_json() + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read a checkpoint file: one :meth:`save` wrote, or the ``--checkpoint`` of ``chatwoot-audit follow``.

        Args:
            path: the file to read.

        Raises:
            FileNotFoundError: there is no such file (the first run: start with ``Checkpoint()``).
            OSError: the file cannot be read.
            InvalidArgumentError: the file is not a checkpoint this version reads (a ``ValueError``).
        """
        with open(path, "rb") as handle:
            text = handle.read()
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgumentError(f"{os.fspath(path)!s} is not a checkpoint: {exc}") from None
        except RecursionError:
            raise InvalidArgumentError(f"{os.fspath(path)!s} is not a checkpoint: JSON nested too deeply") from None
        try:
            return cls.from_dict(unwrap(data))
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{os.fspath(path)!s}: {exc}") from None


def unwrap(data: object) -> object:
    """The checkpoint dict inside a file's parsed JSON: ``follow``'s envelope opened, anything else as it is."""
    if isinstance(data, dict) and data.get("kind") == FOLLOW_KIND and data.get("format") == _FORMAT:
        return data.get("checkpoint")
    return data


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename in ``directory`` durable (where the platform and file system allow)."""
    # Some platforms (Windows) and file systems cannot open a directory: then there is nothing more to do.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_file(path: str, data: bytes) -> None:
    """Make ``path`` hold ``data``, all or nothing: a temporary file beside it, fsync, rename, fsync the folder.

    Raises ``OSError``; the temporary file is removed whatever happens.
    """
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    sync_directory(directory)


def to_deliver(checkpoint: Checkpoint, logs: Iterable[AuditLog], read_at: datetime | None) -> list[AuditLog]:
    """The entries of a sync that ``checkpoint`` has not delivered, oldest first, measured against ``read_at``.

    ``read_at`` is the newest server time the sync's answers gave (their ``Date`` headers). The earlier of it
    and this machine's clock is the reference: a reference too early only keeps the floor lower (entries are
    read again, never lost), while one too late (a ``Date`` that runs ahead) would let an entry from a fast
    clock lift the floor past entries written after it.
    """
    now = datetime.now(UTC)
    ahead = 0.0 if read_at is None else (read_at - now).total_seconds()
    if ahead > SKEW_MARGIN and checkpoint._warns and not checkpoint._clock_told:
        checkpoint._clock_told = True
        logger.warning(
            "the server's Date is %d s ahead of this machine's clock: entries are measured against this "
            "machine's clock, so one stamped after it is read again by each sync until the clock passes it "
            "(if this machine's clock is slow, set it right)",
            ahead,
        )
    checkpoint._read_at = math.floor((now if read_at is None else min(read_at, now)).timestamp())
    return oldest_first([log for log in logs if checkpoint.is_new(log)])


def oldest_first(logs: list[AuditLog]) -> list[AuditLog]:
    """Entries in delivery order: by ``created_at``, then by id (ids grow over time)."""
    return sorted(logs, key=lambda log: (log.created_at, log.id))


# Reprs, tracebacks and pickles name the public path, not the module that defines the class.
Checkpoint.__module__ = "chatwoot_audit"
