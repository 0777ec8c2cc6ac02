"""Checkpoint: where an incremental sync stands, small enough to store after every entry. No I/O."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from ._errors import InvalidArgumentError
from ._models import AuditLog

__all__ = ["Checkpoint"]

_FORMAT = 1


def _seconds(name: str, value: object, *, signed: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (value < 0 and not signed):
        raise InvalidArgumentError(f"{name} must be whole seconds (an int{'' if signed else ' >= 0'}), not {value!r}")
    return value


class Checkpoint:
    """How far an incremental sync has delivered entries, oldest first.

    It keeps the newest ``created_at`` delivered (the high-water mark) and the ids delivered in the
    ``overlap`` seconds before it. The next sync re-reads that overlap and delivers what it has not
    delivered yet, so an entry that becomes visible late with an earlier ``created_at`` (a slow
    transaction) is still delivered, once, as long as it is no later than ``overlap`` seconds.

    ``to_json()`` and ``Checkpoint.from_json()`` store and restore it; store it after each entry (or
    batch) you have shipped, and a restart neither repeats nor drops entries.
    """

    __slots__ = ("_recent", "high_water", "not_before", "overlap")

    def __init__(self, *, overlap: int = 300, high_water: int | None = None, not_before: int | None = None) -> None:
        self.overlap = _seconds("overlap", overlap)
        self.high_water = None if high_water is None else _seconds("high_water", high_water, signed=True)
        self.not_before = None if not_before is None else _seconds("not_before", not_before, signed=True)
        self._recent: dict[int, int] = {}

    @classmethod
    def starting_at(cls, when: datetime, *, overlap: int = 300) -> Checkpoint:
        """A checkpoint that delivers only entries from ``when`` (aware) on, skipping older history."""
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

    @property
    def floor(self) -> datetime | None:
        """The oldest ``created_at`` the next sync must read; None when it must read everything."""
        bounds = (self.not_before, None if self.high_water is None else self.high_water - self.overlap)
        known = [b for b in bounds if b is not None]
        return datetime.fromtimestamp(max(known), UTC) if known else None

    @property
    def high_water_time(self) -> datetime | None:
        """The high-water mark as an aware datetime."""
        return None if self.high_water is None else datetime.fromtimestamp(self.high_water, UTC)

    def is_new(self, log: AuditLog) -> bool:
        """Whether ``log`` has not been delivered yet."""
        stamp = log.timestamp
        if self.not_before is not None and stamp < self.not_before:
            return False
        if self.high_water is None:
            return True
        return log.id not in self._recent and stamp >= self.high_water - self.overlap

    def advance(self, log: AuditLog) -> None:
        """Record ``log`` as delivered."""
        stamp = log.timestamp
        self._recent[log.id] = stamp
        if self.high_water is None or stamp > self.high_water:
            self.high_water = stamp
            self._prune()

    def _prune(self) -> None:
        if self.high_water is None:
            return
        cutoff = self.high_water - self.overlap
        if any(stamp < cutoff for stamp in self._recent.values()):
            self._recent = {i: s for i, s in self._recent.items() if s >= cutoff}

    def to_dict(self) -> dict[str, Any]:
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
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise InvalidArgumentError("not a chatwoot-audit checkpoint (format 1)")
        try:
            cp = cls(overlap=data["overlap"], high_water=data["high_water"], not_before=data.get("not_before"))
            recent = data["recent"]
            if not isinstance(recent, list):
                raise TypeError("recent is not a list")
            for pair in recent:
                entry_id, stamp = pair
                if isinstance(entry_id, bool) or isinstance(stamp, bool):
                    raise TypeError("ids and times are ints")
                cp._recent[int(entry_id)] = int(stamp)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"malformed checkpoint: {exc}") from None
        return cp

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Restore a checkpoint written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgumentError(f"malformed checkpoint: {exc}") from None
        return cls.from_dict(data)


def oldest_first(logs: list[AuditLog]) -> list[AuditLog]:
    """Entries in delivery order: by ``created_at``, then by id (ids grow over time)."""
    return sorted(logs, key=lambda log: (log.created_at, log.id))
