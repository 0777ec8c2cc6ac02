"""``--since`` and ``--until``: ISO-8601, relative (``7d``, ``12h``, ``1h30m``), ``@unix-seconds`` or a word. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ._exits import UsageError

__all__ = ["TIME_FORMS", "check_window", "format_time", "parse_time"]

TIME_FORMS = (
    "an ISO-8601 date or time (2026-06-01, 2026-06-01T12:00:00Z, 2026-06-01 14:00+02:00; UTC when no offset), "
    "a time ago (30s, 15m, 12h, 7d, 2w, 1d12h), @unix-seconds, or now, today, yesterday"
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_RELATIVE = re.compile(r"(?:\d+[smhdw])+")
_PART = re.compile(r"(\d+)([smhdw])")
_EPOCH = re.compile(r"@-?\d+(?:\.\d+)?")


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _parse(text: str, now: datetime) -> datetime:
    lowered = text.lower()
    if lowered == "now":
        return now
    if lowered == "today":
        return _midnight(now)
    if lowered == "yesterday":
        return _midnight(now) - timedelta(days=1)
    if _RELATIVE.fullmatch(lowered):
        seconds = sum(int(number) * _UNITS[unit] for number, unit in _PART.findall(lowered))
        return now - timedelta(seconds=seconds)
    if _EPOCH.fullmatch(text):
        try:
            return datetime.fromtimestamp(float(text[1:]), UTC)
        except ValueError as exc:
            # A well-formed number of seconds outside the years 1 to 9999.
            raise OverflowError(str(exc)) from None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        # Chatwoot stamps entries in UTC; a time without an offset means UTC, not this machine's zone.
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _echo(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_time(text: str, *, now: datetime, flag: str = "--since") -> datetime:
    """``text`` as an aware UTC datetime, relative forms counted back from ``now``.

    Raises :class:`UsageError` (and nothing else) when ``text`` is not a time this command reads.
    """
    stripped = text.strip()
    if not stripped:
        raise UsageError(f"{flag} needs a time: {TIME_FORMS}")
    try:
        return _parse(stripped, now.astimezone(UTC))
    except (OverflowError, OSError):
        raise UsageError(f"{flag} {_echo(stripped)} is out of range") from None
    except ValueError:
        raise UsageError(f"{flag} {_echo(stripped)} is not a time: use {TIME_FORMS}") from None


def check_window(since: datetime | None, until: datetime | None) -> None:
    """Refuse a window that ends before it starts."""
    if since is not None and until is not None and since > until:
        raise UsageError(f"--since ({format_time(since)}) is after --until ({format_time(until)})")


def format_time(moment: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC with a ``Z``: ``2026-06-16T10:21:27Z``."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
