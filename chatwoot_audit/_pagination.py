"""Walking Chatwoot's offset pages: page arithmetic, dedupe, time windows and limits. No I/O.

Chatwoot numbers pages over a newest-first list. An entry written while a client pages through pushes
every older entry one place down, so the next page repeats one already seen; the walk drops repeats by
id. Entries are ordered by ``created_at`` (whole seconds), so once a page holds an entry older than
``since`` nothing after it can be newer.
"""

from __future__ import annotations

from datetime import datetime

from ._errors import InvalidArgumentError
from ._models import AuditLog, AuditLogPage

__all__ = ["LogWalk", "PageWalk", "check_limit", "check_page", "check_window"]


def check_page(page: object) -> int:
    """A page number as the API takes it: an int >= 1 (the server would quietly read anything else as 1)."""
    if isinstance(page, bool) or not isinstance(page, int):
        raise InvalidArgumentError(f"page must be an int >= 1, not {page!r}")
    if page < 1:
        raise InvalidArgumentError(f"page must be >= 1, not {page}")
    return page


def check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidArgumentError(f"limit must be an int >= 0 or None, not {limit!r}")
    return limit


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


class PageWalk:
    """Which page to ask for next when walking pages in order, and when to stop."""

    def __init__(self, start: int = 1) -> None:
        self.next_page: int | None = check_page(start)

    def feed(self, page: AuditLogPage, requested: int) -> None:
        """Take the page the server sent for ``requested``; ``next_page`` becomes None at the end."""
        # Trust the number asked for over the echo: it is what the next request must follow.
        if not page.items or requested >= page.total_pages:
            self.next_page = None
        else:
            self.next_page = requested + 1


class LogWalk:
    """One walk over entries, newest first: each id at most once, inside ``[since, until]``, up to ``limit``.

    ``expected`` is the ``total_entries`` of the first page read: every one of those entries existed when
    the walk began, and Chatwoot never deletes entries, so a full walk must find at least that many.
    """

    def __init__(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        start: int = 1,
    ) -> None:
        self.since, self.until = check_window(since, until)
        self.limit = check_limit(limit)
        self.pages = PageWalk(start)
        self.seen: set[int] = set()
        self.yielded = 0
        self.expected: int | None = None
        self.stopped_early = False
        if self.limit == 0:
            self.pages.next_page = None
            self.stopped_early = True

    @property
    def next_page(self) -> int | None:
        return self.pages.next_page

    @property
    def full(self) -> bool:
        """Whether this walk covers every entry (no window, no limit) and ran to the end."""
        return self.since is None and self.until is None and self.limit is None and not self.stopped_early

    def feed(self, page: AuditLogPage, requested: int) -> list[AuditLog]:
        """The entries of ``page`` to yield, in order; advances ``next_page``."""
        if self.expected is None:
            self.expected = page.total_entries
        self.pages.feed(page, requested)
        out: list[AuditLog] = []
        seen, since, until = self.seen, self.since, self.until
        for item in page.items:
            if item.id in seen:
                continue
            if since is not None and item.created_at < since:
                self.pages.next_page = None
                self.stopped_early = True
                break
            seen.add(item.id)
            if until is not None and item.created_at > until:
                continue
            out.append(item)
            self.yielded += 1
            if self.limit is not None and self.yielded >= self.limit:
                self.pages.next_page = None
                self.stopped_early = True
                break
        return out
