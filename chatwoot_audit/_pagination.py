"""Walking Chatwoot's offset pages: page arithmetic, windows, the start search. No I/O.

Chatwoot numbers pages over a newest-first list ordered by ``created_at`` alone (whole seconds, no
tie-breaker). An entry written while a client pages through pushes every older entry one place down,
so a page read after another can repeat an entry: the walk drops repeats by id. Pages must be read in
order in time for that to be all: a page read *before* the page above it (as a concurrent walk may)
can miss the entries pushed onto it afterwards. Totals only grow, so such a page is recognised by a
smaller ``total_entries`` than the page before it, and is read again (:meth:`LogWalk.is_stale`).
Whatever else goes wrong (ties reordered across a page boundary, entries committed late below the
top) is found, and repaired or reported, by ``_completeness``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime

from ._completeness import Gap, Ledger
from ._models import AuditLog, AuditLogPage
from ._validate import check_limit, check_page, check_window

__all__ = [
    "LogWalk",
    "StartSearch",
    "plan_fetches",
]


def plan_fetches(next_page: int, pending: Collection[int], last_page: int | None, limit: int) -> list[int]:
    """Pages to request now so that up to ``limit`` pages from ``next_page`` on are fetched or on the way.

    Before the first answer the number of pages is unknown (``last_page`` None): only ``next_page``.
    """
    if last_page is None:
        return [] if next_page in pending else [next_page]
    stop = max(min(next_page + limit, last_page + 1), next_page + 1)
    return [n for n in range(next_page, stop) if n not in pending]


logger = logging.getLogger("chatwoot_audit")

# How many pages a walk reads between carrying its proof forward (and forgetting what it proved): often
# enough to keep memory flat, seldom enough to cost nothing a page.
_PROVE_EVERY = 16


def _place(page: AuditLogPage, requested: int) -> int:
    """The page number an answer's positions are counted from; 0 (no positions) when it says it is another."""
    return requested if page.current_page == requested else 0


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LogWalk:
    """One walk over entries, newest first: each id at most once, inside ``[since, until]``, up to ``limit``.

    Completeness is proven by the :class:`~._completeness.Ledger` every answer is recorded in (the
    argument is in that module): a walk that ran to the bottom of its window and whose :meth:`gaps` is
    empty has yielded every entry of the window that existed when it began.

    Entries newer than the newest on page 1 (the horizon) were written after the walk began: a walk
    leaves them to the next walk, which keeps its output strictly newest first. Entries that appear
    below the horizon while the walk runs (slow transactions) are yielded when met, like any other.
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
        self.ledger = Ledger(since=self.since, until=self.until)
        self.yielded = 0
        self.stopped_early = False
        self.last_total: int | None = None
        self.per_page: int | None = None
        self.pages_read = 0
        self.witness_end = False  # set by a planner that proves the walk complete
        self._miscounted = False
        self._limited = False
        self._ended = False  # met the bottom of its window: an entry older than since, or the end
        # The newest and oldest created_at read, to say where the history lies when a window is empty.
        self._span: tuple[datetime, datetime] | None = None
        if self.limit == 0:
            self.next_page = None
            self.stopped_early = True
            self._limited = True

    @property
    def expected(self) -> int | None:
        """``total_entries`` of page 1 when the walk began."""
        return self.ledger.first_total

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
        if not page.items or (requested >= page.total_pages and not self._witness(page, requested)):
            self.next_page = None
        else:
            self.next_page = requested + 1

    def _check_end(self, page: AuditLogPage, requested: int) -> None:
        # Where a page shows the list ending, the pages are what the walk proves itself by; a total that
        # says otherwise is reported, once, so that a server that counts what it never lists is noticed.
        if self._miscounted or page.current_page != requested or len(page.items) >= page.per_page > 0:
            return
        shown = (requested - 1) * page.per_page + len(page.items)
        counted = page.total_entries
        if (counted != shown) if page.items else (counted > shown and self.pages_read > 1):
            self._miscounted = True
            logger.warning(
                "the server counts %d entries but its pages end after %d: the walk goes by the pages", counted, shown
            )

    def _witness(self, page: AuditLogPage, requested: int) -> bool:
        # A walk that proves what it read does not take the total's word for where the list ends: a total
        # counted a moment before its page was cut lags it by what committed in between. A full last page
        # is followed by one more read, which comes back empty, or with what the total missed; one, not
        # more, so that a server answering every page alike cannot keep a walk going.
        last = self.last_page or 0
        return self.witness_end and len(page.items) >= page.per_page > 0 and requested <= last

    def note_first_page(self, page: AuditLogPage, requested: int = 1) -> None:
        """Take the first answer of the walk as read when it began: page 1 (read by the walk itself, or by the
        search for ``until``), or the page a window of an incremental sync starts at."""
        self.ledger.start(page.items, page.total_entries, _place(page, requested), page.per_page)

    def note(self, page: AuditLogPage, requested: int) -> None:
        """Record an answer the walk read but does not walk (a probe): it yields nothing."""
        self._widen(page)
        self.last_total = max(self.last_total or 0, page.total_entries)
        self.ledger.record(page.items, _place(page, requested), page.per_page, page.total_entries)

    def _wanted(self, item: AuditLog) -> bool:
        horizon, until = self.ledger.horizon, self.until
        return (horizon is None or item.timestamp <= horizon) and (until is None or item.created_at <= until)

    def feed(self, page: AuditLogPage, requested: int) -> list[AuditLog]:
        """The entries of ``page`` (the answer for page ``requested``) to yield, in order."""
        if requested == 1:
            self.note_first_page(page)
        self._advance(page, requested)
        if self.next_page is None and self.witness_end:
            self._check_end(page, requested)
        if self.since is not None or self.until is not None:
            self._widen(page)
        self.pages_read += 1
        fresh = self.ledger.record(page.items, _place(page, requested), page.per_page, page.total_entries)
        since, until, limit, horizon = self.since, self.until, self.limit, self.ledger.horizon
        if since is None and until is None and limit is None:
            # A full walk, the common case: only entries newer than the horizon are held back.
            out = fresh if horizon is None else [item for item in fresh if item.timestamp <= horizon]
            self.yielded += len(out)
        else:
            out = []
            for item in fresh:
                created = item.created_at
                if since is not None and created < since:
                    self.next_page = None
                    self.stopped_early = True
                    self._ended = True
                    break
                # _wanted, inline: this loop runs for every entry of every window of an incremental sync.
                if (until is not None and created > until) or (horizon is not None and item.timestamp > horizon):
                    continue
                out.append(item)
                self.yielded += 1
                if limit is not None and self.yielded >= limit:
                    self.next_page = None
                    self.stopped_early = True
                    self._limited = True
                    break
        if self.next_page is None and not self._limited:
            self._ended = True
            if not self.yielded and (since is not None or until is not None):
                self._say_where_history_lies()
        if self.pages_read % _PROVE_EVERY == 0 or self.next_page is None:
            self.ledger.advance()
        return out

    def _widen(self, page: AuditLogPage) -> None:
        if not page.items:
            return
        ends = (page.items[0].created_at, page.items[-1].created_at)
        span = self._span
        self._span = (max(ends), min(ends)) if span is None else (max(span[0], *ends), min(span[1], *ends))

    def _say_where_history_lies(self) -> None:
        window = f"from {_iso(self.since)} " if self.since is not None else ""
        window += f"until {_iso(self.until)}" if self.until is not None else "on"
        if self._span is None:
            logger.info("no entries %s: the pages read held none at all", window)
        else:
            logger.info(
                "no entries %s: the pages read held entries from %s to %s",
                window,
                _iso(self._span[1]),
                _iso(self._span[0]),
            )

    @property
    def checkable(self) -> bool:
        """Whether the walk ran to the bottom of its window, so that it can prove it found everything."""
        return (
            self.next_page is None
            and not self._limited
            and self._ended
            and self.ledger.first_total is not None
            and (self.start == 1 or self.until is not None)
        )

    def gaps(self) -> list[Gap]:
        """The bands the walk cannot yet show it read whole (empty for walks that cannot tell)."""
        return self.ledger.gaps() if self.checkable else []

    @property
    def found(self) -> int:
        """Entries yielded so far."""
        return self.yielded

    def recover(self, page: AuditLogPage, requested: int) -> list[AuditLog]:
        """Entries of a re-read page to yield: in the window and not yielded before."""
        self.last_total = max(self.last_total or 0, page.total_entries)
        since = self.since
        out = [
            item
            for item in self.ledger.record(page.items, _place(page, requested), page.per_page, page.total_entries)
            if self._wanted(item) and (since is None or item.created_at >= since)
        ]
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
