"""Walking Chatwoot's offset pages: page arithmetic, dedupe, windows, completeness. No I/O.

Chatwoot numbers pages over a newest-first list ordered by ``created_at`` alone (whole seconds, no
tie-breaker). Two things follow, and this module is where they are handled:

* An entry written while a client pages through pushes every older entry one place down, so a page read
  after another can repeat an entry: the walk drops repeats by id. Pages must be read in order in time
  for that to be all: a page read *before* the page above it (as a concurrent walk may) can miss the
  entries pushed onto it afterwards. Totals only grow, so such a page is recognised by a smaller
  ``total_entries`` than the page before it, and is read again (:meth:`LogWalk.is_stale`).
* Entries that share a second may come back in another order on the next request, so one can slip
  across a page boundary and be missed. That can only happen where the last entry of a page and the
  first of the next share a ``created_at``: those boundaries are remembered, and a full walk that finds
  fewer entries than the server reported re-reads the pages around them (:meth:`LogWalk.recovery_pages`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from ._errors import InvalidArgumentError
from ._models import AuditLog, AuditLogPage

__all__ = [
    "LogWalk",
    "StartSearch",
    "check_concurrency",
    "check_limit",
    "check_page",
    "check_window",
    "plan_fetches",
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


def plan_fetches(next_page: int, pending: Collection[int], last_page: int | None, limit: int) -> list[int]:
    """Pages to request now so that up to ``limit`` pages from ``next_page`` on are fetched or on the way.

    Before the first answer the number of pages is unknown (``last_page`` None): only ``next_page``.
    """
    if last_page is None:
        return [] if next_page in pending else [next_page]
    stop = max(min(next_page + limit, last_page + 1), next_page + 1)
    return [n for n in range(next_page, stop) if n not in pending]


class LogWalk:
    """One walk over entries, newest first: each id at most once, inside ``[since, until]``, up to ``limit``.

    Completeness: Chatwoot never deletes entries, so the entries a walk should find are the ones that
    stood between the top of its window and the bottom when it began. The top is the head of the list
    (or the first entry at or before ``until``), the bottom is the first entry older than ``since`` (or
    the end of the list); each is a position on the page where the walk met it, and each page says how
    many entries the list held when it was read. Arrivals only ever land above both, so ``position -
    total`` of each boundary is fixed over time, and their difference is the number of entries expected
    in the window (:meth:`expected_in_window`). ``expected`` is the ``total_entries`` of page 1.

    Entries newer than the newest on page 1 (the horizon) were written after the walk began: a walk
    leaves them to the next walk, which keeps its output strictly newest first. Entries written in the
    horizon's own second are told apart by id (ids grow): those with an id above every id read before
    the total first grew are not counted as found, so that an arrival cannot hide a missed entry.
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
        self.next_page: int | None = check_page(start)
        self.start = start
        self.seen: set[int] = set()
        self.yielded = 0
        self.expected: int | None = None
        self.stopped_early = False
        self.last_total: int | None = None
        self.per_page: int | None = None
        self._horizon: int | None = None
        self._found_before_horizon = 0
        self._at_horizon: list[int] = []
        self._baseline_id = 0
        self._limited = False
        self._pages_read = 0
        # The window's boundaries, each as (position in the list, total_entries) when the walk met it.
        self._top: tuple[int, int] | None = None
        self._bottom: tuple[int, int] | None = None
        self._tail: tuple[int, int] | None = None  # (page number, created_at of its last entry)
        self._suspects: dict[int, int] = {}  # boundary page -> total_entries when it was read
        if self.limit == 0:
            self.next_page = None
            self.stopped_early = True
            self._limited = True

    @property
    def full(self) -> bool:
        """Whether this walk covers every entry from page 1 (no window, no limit) and ran to the end."""
        return (
            self.start == 1
            and self.since is None
            and self.until is None
            and self.limit is None
            and not self.stopped_early
            and self.next_page is None
        )

    @property
    def last_page(self) -> int | None:
        """The last page by the newest total seen; None before the first answer."""
        if self.last_total is None or not self.per_page:
            return None
        return max(1, -(-self.last_total // self.per_page))

    def is_stale(self, page: AuditLogPage) -> bool:
        """Whether ``page`` was read before the page above it had grown: read it again before using it."""
        return self.last_total is not None and page.total_entries < self.last_total

    def _advance(self, page: AuditLogPage, requested: int) -> None:
        # Trust the number asked for over the echo: it is what the next request must follow.
        self.last_total = max(self.last_total or 0, page.total_entries)
        if page.per_page:
            self.per_page = page.per_page
        if not page.items or requested >= page.total_pages:
            self.next_page = None
        else:
            self.next_page = requested + 1

    def _note_boundary(self, page: AuditLogPage, requested: int) -> None:
        if not page.items:
            return
        if self._tail is not None and self._tail[0] == requested - 1 and self._tail[1] == page.items[0].timestamp:
            self._suspects[requested - 1] = page.total_entries
        self._tail = (requested, page.items[-1].timestamp)

    def note_first_page(self, page: AuditLogPage) -> None:
        """Take page 1 as read when the walk began (by the walk itself, or by the search for ``until``)."""
        if self.expected is None:
            self.expected = page.total_entries
            self._horizon = max((item.timestamp for item in page.items), default=None)
            self._note_baseline(page)

    def feed(self, page: AuditLogPage, requested: int) -> list[AuditLog]:
        """The entries of ``page`` (the answer for page ``requested``) to yield, in order."""
        if requested == 1:
            self.note_first_page(page)
        self._note_baseline(page)
        self._advance(page, requested)
        self._note_boundary(page, requested)
        self._pages_read += 1
        out: list[AuditLog] = []
        seen, since, until, horizon = self.seen, self.since, self.until, self._horizon
        base, total = (requested - 1) * page.per_page, page.total_entries
        for index, item in enumerate(page.items):
            if item.id in seen:
                continue
            if since is not None and item.created_at < since:
                self._bottom = (base + index, total)
                self.next_page = None
                self.stopped_early = True
                break
            stamp = item.timestamp
            if horizon is not None and stamp > horizon:
                continue
            seen.add(item.id)
            if until is not None and item.created_at > until:
                continue
            if self._top is None:
                self._top = (base + index, total)
            if horizon is not None:
                self._count(item, horizon)
            out.append(item)
            self.yielded += 1
            if self.limit is not None and self.yielded >= self.limit:
                self.next_page = None
                self.stopped_early = True
                self._limited = True
                break
        if self.next_page is None and self._bottom is None and not self._limited:
            self._bottom = (total, total)  # the end of the list
        return out

    @property
    def checkable(self) -> bool:
        """Whether the walk ran to the bottom of its window, so its count can be checked."""
        return (
            self.next_page is None
            and not self._limited
            and self._bottom is not None
            and self._horizon is not None
            and (self.start == 1 or self.until is not None)
        )

    def expected_in_window(self) -> int:
        """How many entries stood in the window when the walk began (0 until it can tell)."""
        if not self.checkable or self._bottom is None:
            return 0
        top = self._top if self._top is not None else self._bottom
        return max(0, (self._bottom[0] - self._bottom[1]) - (top[0] - top[1]))

    def found_in_window(self) -> int:
        """How many of those the walk has found."""
        baseline = self._baseline_id
        return self._found_before_horizon + sum(1 for entry_id in self._at_horizon if entry_id <= baseline)

    def shortfall(self) -> int:
        """How many entries of the window the walk has not found (0 for walks that cannot tell)."""
        if not self.checkable:
            return 0
        return max(0, self.expected_in_window() - self.found_in_window())

    def _note_baseline(self, page: AuditLogPage) -> None:
        # A page read while the total was still the first page's saw nothing written since.
        if page.items and page.total_entries == self.expected:
            self._baseline_id = max(self._baseline_id, max(item.id for item in page.items))

    def _count(self, item: AuditLog, horizon: int) -> None:
        if item.timestamp < horizon:
            self._found_before_horizon += 1
        else:
            self._at_horizon.append(item.id)

    @property
    def found(self) -> int:
        """Distinct entries found so far."""
        return len(self.seen)

    def recovery_pages(self) -> list[int]:
        """The pages around boundaries where equal timestamps met, shifted by what arrived since.

        Empty when re-reading cannot help: no tied boundary, or more entries missing than every tied
        boundary could have let slip (a server whose count is wrong, not one that reordered ties).
        """
        per_page = self.per_page or 1
        if self.shortfall() > len(self._suspects) * per_page:
            return []
        latest = self.last_total or 0
        # However the totals grew, the entries looked for cannot have moved further than the walk's own
        # length: a server reporting an absurd total must not send a round over millions of pages.
        furthest = self._pages_read + 1
        pages: set[int] = set()
        for boundary, total_then in self._suspects.items():
            drift = min(-(-max(0, latest - total_then) // per_page), furthest)
            pages.update(range(boundary, boundary + 2 + drift))
        return sorted(pages)[: 2 * furthest + 2]

    def recover(self, page: AuditLogPage) -> list[AuditLog]:
        """Entries of a re-read page not yielded before."""
        self.last_total = max(self.last_total or 0, page.total_entries)
        self._note_baseline(page)
        horizon, since, until = self._horizon, self.since, self.until
        out = [
            item
            for item in page.items
            if item.id not in self.seen
            and (horizon is None or item.timestamp <= horizon)
            and (since is None or item.created_at >= since)
            and (until is None or item.created_at <= until)
        ]
        self.seen.update(item.id for item in out)
        if horizon is not None:
            for item in out:
                self._count(item, horizon)
        self.yielded += len(out)
        return out


class StartSearch:
    """Where a walk with ``until`` starts: the first page holding an entry at or before ``until``.

    Pages before it hold only newer entries, so they need not be read. A bisection over page numbers
    (``fanout`` 1) finds it in about log2(pages) requests; a concurrent walk probes ``fanout`` pages at
    once and narrows the range by ``fanout + 1`` each round. Arrivals during the search only push entries
    to later pages, so the page found is never past the first one that matters.
    """

    def __init__(self, until: datetime, first: AuditLogPage) -> None:
        self.until = until
        self.pages: dict[int, AuditLogPage] = {1: first}
        if self._holds_until(first):
            self.lo = self.hi = 1
        else:
            self.lo, self.hi = 2, first.total_pages + 1

    def _holds_until(self, page: AuditLogPage) -> bool:
        return not page.items or page.items[-1].created_at <= self.until

    @property
    def done(self) -> bool:
        return self.lo >= self.hi

    @property
    def result(self) -> int:
        """The page to start at (past the last page when nothing is that old)."""
        return self.lo

    def probes(self, fanout: int = 1) -> list[int]:
        """The pages to read next: ``fanout`` points splitting the remaining range evenly."""
        if self.done:
            return []
        width = self.hi - self.lo
        points = {self.lo + (width * i) // (fanout + 1) for i in range(1, fanout + 1)}
        return sorted(p for p in points if self.lo <= p < self.hi) or [self.lo]

    def feed(self, number: int, page: AuditLogPage) -> None:
        self.pages[number] = page
        if self._holds_until(page):
            self.hi = min(self.hi, number)
        else:
            self.lo = max(self.lo, number + 1)
