"""Every check of an argument a caller passes to a walk: done before any request, each a ValueError. No I/O.

The client's settings (base URL, token, timeouts) are checked where they are resolved, in ``_config``.
"""

from __future__ import annotations

import math
from datetime import datetime

from ._checkpoint import Checkpoint
from ._errors import InvalidArgumentError

__all__ = [
    "check_checkpoint",
    "check_concurrency",
    "check_interval",
    "check_limit",
    "check_page",
    "check_window",
]


def check_page(page: object) -> int:
    """A page number as the API takes it: an int >= 1 (the server would quietly read anything else as 1)."""
    if isinstance(page, bool) or not isinstance(page, int):
        raise InvalidArgumentError(f"page must be an int >= 1, not {page!r}")
    if page < 1:
        raise InvalidArgumentError(f"page must be >= 1, not {page}")
    return page


def check_limit(limit: object) -> int | None:
    """``limit`` as a walk takes it: None (no limit) or an int >= 0."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidArgumentError(f"limit must be an int >= 0 or None, not {limit!r}")
    return limit


def check_concurrency(concurrency: object) -> int:
    """How many pages a walk may fetch at once: an int from 1 to 64."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 64:
        raise InvalidArgumentError(f"concurrency must be an int from 1 to 64, not {concurrency!r}")
    return concurrency


def _check_aware(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{name} must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc)): a naive datetime "
            "is ambiguous and entries are stamped in UTC"
        )
    return value


def check_window(since: object, until: object) -> tuple[datetime | None, datetime | None]:
    """Vet ``since``/``until``: aware datetimes, ``since`` not after ``until``."""
    lo, hi = _check_aware("since", since), _check_aware("until", until)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidArgumentError(f"since ({lo.isoformat()}) is after until ({hi.isoformat()})")
    return lo, hi


def check_interval(interval: object) -> float:
    """How long ``follow`` waits between polls: a finite number of seconds > 0."""
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0 < interval < math.inf:
        raise InvalidArgumentError(f"interval must be a number of seconds > 0, not {interval!r}")
    return float(interval)


def check_checkpoint(checkpoint: object) -> Checkpoint:
    """A :class:`Checkpoint`, and nothing else."""
    if not isinstance(checkpoint, Checkpoint):
        raise InvalidArgumentError(f"checkpoint must be a Checkpoint, not {type(checkpoint).__name__}")
    return checkpoint
