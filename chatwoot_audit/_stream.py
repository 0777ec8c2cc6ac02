"""An incremental sync, oldest first, in windows: memory bounded by a window, whatever the history. No I/O.

The argument
============
A sync owes every entry stamped at or after its floor ``F`` (the checkpoint's; the start of time for a
first sync) that existed when it began, oldest first, each once. Chatwoot numbers its pages newest
first, so the oldest entries are on the last page, and new entries push every older one down while a
client reads.

*Windows.* The sync walks the seconds from ``F`` up in windows ``[lo_i, hi_i]``: ``lo_0 = F``,
``lo_{i+1} = hi_i + 1``, and a last window ``[lo_n, now]`` walked from page 1 like any sync. The windows
partition the seconds from ``F`` on, so each owed entry belongs to exactly one of them; every stamp of a
window is older than every stamp of the next, so handing out each window whole, sorted, before the
next keeps the whole sync oldest first. Each window is a window walk that proves itself complete (the
argument is in ``_completeness``): it has seen every entry of its window that existed when its own
first page was read, which is no earlier than when the sync began, so every entry the sync owes there.
A window that cannot be proven raises :class:`IncompleteWalkError` after the windows below it were
handed out; the checkpoint stands after the last entry delivered, so a rerun resumes there.

*Where a window ends.* ``hi_i`` is the stamp of a *cut* on a page ``P``: an entry that follows a newer
one in the same answer. In that answer every entry above the cut is newer than ``hi_i``, and entries
only ever move down (others appear above them; none is deleted), so no entry at or below ``hi_i`` ever
stands above that place. The window's walk therefore starts at page ``P``, the answer it already
holds, with no search, and the cut opens its proof (a cut at the top of the window). It ends on the
page the window below it started at; when the totals are equal, nothing was added since, and the answer
already read is that page in the same snapshot: it is used again instead of asked for twice. Knowing
about where it ends, a concurrent window does not ask for pages far past it.

*Where to look for it.* ``below = total - index`` counts the entries at or below a cut's stamp and
does not move when entries appear above it. The next window should hold about ``k`` pages: its cut
stands at ``below_prev + k * per_page``, which in an answer of total ``T`` is at index ``T - below``.
The totals say how far everything moved. When the guess is off (entries appeared below the top) the
window is larger or smaller than planned; what the sync delivers never depends on it.

*Where it ends.* The windows climb to where the top stood when the sync began (the total of its first
answer, counted from the bottom). What appeared above it meanwhile is climbed through the same way
when it is more than a window and the sync reads faster than entries appear: each climb at most half
as long as the one before, and at most eight. The rest is left to the last window, a walk down from
page 1 to the last cut. A sync that chased the top for ever would not end on a list that grows about
as fast as it reads.

*Memory.* One window at a time is held: its pages, its entries until they are handed out, and its
proof. ``k`` doubles from one page (the first entry comes after a few requests) to
``max(32, 4 * concurrency)`` pages; the last window holds about as much, plus what appeared during
its last climb. A sync whose new entries fit in one window (a poll of ``follow``) is one walk from
page 1, as it would be without windows, at no extra cost. A sync with a floor that finds more than
that stops that walk (what it gathered is dropped, not delivered) and finds the floor's page by a
galloping search: about ``2 * log2(pages above F)`` requests, once a sync.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import attrs

from ._models import AuditLogPage
from ._pagination import LogWalk
from ._planner import Planner

__all__ = ["OldestFirst", "Probe", "Window", "seconds", "window_pages"]


# How many times a sync climbs through what appeared above it while it read before it leaves the rest to its
# last window. Each climb must be at most half as long as the one before: a list that grows about as fast as
# the sync reads goes straight to the last window instead.
_CLIMBS = 8


def window_pages(concurrency: int) -> int:
    """The most pages a window holds: enough to keep ``concurrency`` requests busy for a while."""
    return max(32, 4 * concurrency)


@attrs.frozen
class Probe:
    """Read this page alone and hand it to :meth:`OldestFirst.probed`."""

    page: int


@attrs.define
class Window:
    """Drive ``planner`` to its end, then hand this to :meth:`OldestFirst.walked`: deliver what it found if that
    returns True."""

    planner: Planner
    last: bool  # the window reaching the top: the sync ends with it
    below: int = 0  # entries at or below the window's top cut, in the answer the cut came from
    top: int | None = None  # the window's top second (None: up to now)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def seconds(when: datetime | None) -> int | None:
    """``when`` as whole Unix seconds, rounded up to the first second at or after it; None stays None."""
    return None if when is None else math.ceil(when.timestamp())


class OldestFirst:
    """The steps of one sync: :class:`Probe` pages, then :class:`Window` walks, oldest first, until the top.

    ``floor`` is the checkpoint's (Unix seconds; None for everything); ``most`` overrides the pages a
    window holds at most. Every answer a driver reads goes back through :meth:`probed` or the window's
    planner.
    """

    def __init__(
        self,
        floor: int | None,
        *,
        concurrency: int = 1,
        batch_limit: Callable[[], int] | None = None,
        most: int | None = None,
    ) -> None:
        self.floor = floor
        self.concurrency = concurrency
        self._batch_limit = batch_limit
        self.most = window_pages(concurrency) if most is None else max(1, most)
        self.total = 0  # the newest total seen
        # The total the windows climb to: at first the sync's first answer's, what stood when it began. What
        # appeared above it meanwhile is climbed through again in windows when it is more than a window (at
        # most _CLIMBS times), then left to the last window, read from page 1 down: a sync that chased the
        # top for ever would never end on a list that grows faster than it reads.
        self._start_total: int | None = None
        self._climbs = 0
        self._climbed = 0  # how far the current climb rose: the next must be shorter by half, or there is none
        self.per_page = 0
        self._lo = floor  # the bottom of the next window (None: the start of time)
        self._below = 0  # entries older than _lo, in some answer: where the next window begins
        self._pages = 1  # the size the next window aims at
        self._first: AuditLogPage | None = None
        # The page the last window started at: the next window ends on it, and when nothing has changed since
        # (the same total) the answer already read is that page in the same snapshot, saving a request.
        self._start: tuple[int, AuditLogPage] | None = None
        self._search: _FloorSearch | None = None
        self._next: Probe | Window | None = None
        self._done = False

    def step(self) -> Probe | Window | None:
        """What to do next; None when the sync is over."""
        if self._done:
            return None
        if self._next is None:
            if self.floor is None:
                self._next = Probe(1)  # a first sync: page 1's total says whether one window holds it all
            else:
                # A poll: one walk down to the floor, unless that turns out longer than a window.
                self._next = self._last_window(capped=True)
        return self._next

    # -- what came back --------------------------------------------------------------------------

    def probed(self, number: int, page: AuditLogPage) -> None:
        """Take the answer for a :class:`Probe`."""
        self._seen(page)
        search = self._search
        if search is not None:
            search.feed(number, page)
            if search.done:
                self._search = None
                self._below = search.below()
                self._next = self._plan()
            else:
                self._next = Probe(search.probe())
            return
        if self._first is None and self.floor is None:
            self._first = page
            self._start_total = page.total_entries
            if page.total_entries <= self.most * max(page.per_page, 1) or len(page.items) < page.per_page:
                self._next = self._last_window(seed=(number, page))
            else:
                self._next = self._plan()
            return
        self._next = self._window_at(number, page)

    def walked(self, window: Window) -> bool:
        """Take a :class:`Window` driven to its end; whether to deliver what it found."""
        planner = window.planner
        self._seen_total(planner.walk.last_total)
        if planner.capped:
            # More above the floor than a window holds: the pages read so far all lie above it.
            self._start_total = planner.walk.expected
            # Past the last page by the newest total the search goes no further: a server that answers every
            # page alike (a cache that drops the query) cannot keep it galloping.
            per_page = max(self.per_page or planner.walk.per_page or 1, 1)
            end = -(-(planner.walk.last_total or 0) // per_page) + 1
            self._search = _FloorSearch(self.floor, planner.walk.pages_read + 1, max(end, planner.walk.pages_read + 1))
            self._next = Probe(self._search.probe())
            return False
        if window.last:
            self._done = True
            return True
        self._below = window.below
        assert window.top is not None
        self._lo = window.top + 1
        self._pages = min(2 * self._pages, self.most)
        self._next = self._plan()
        return True

    # -- planning --------------------------------------------------------------------------------

    def _seen(self, page: AuditLogPage) -> None:
        self._seen_total(page.total_entries)
        if page.per_page > 0:
            self.per_page = page.per_page

    def _seen_total(self, total: int | None) -> None:
        self.total = max(self.total, total or 0)

    def _plan(self) -> Probe | Window:
        """The probe for the next window's top cut, or the last window when what is left fits in one."""
        per_page = max(self.per_page, 1)
        room = self.most * per_page
        ceiling = self.total if self._start_total is None else self._start_total
        if self._start_total is not None and not self._climbed:
            self._climbed = ceiling - self._below
        left = self.total - self._below
        if ceiling - self._below <= room < left and self._climbs < _CLIMBS and 2 * left <= self._climbed:
            self._climbs += 1
            self._climbed = left
            ceiling = self._start_total = self.total
        if ceiling - self._below <= room:
            return self._last_window()
        index = self.total - (self._below + self._pages * per_page)
        return Probe(index // per_page + 1)

    def _window_at(self, number: int, page: AuditLogPage) -> Probe | Window:
        """A window whose top is the first cut on ``page`` inside it, or the next probe up when there is none."""
        lo = self._lo
        items = page.items
        if page.current_page == number and page.per_page > 0:
            for index in range(1, len(items)):
                stamp, above = items[index].timestamp, items[index - 1].timestamp
                if stamp > above:
                    break  # not newest first: this answer places nothing
                if stamp < above and (lo is None or stamp >= lo):
                    full = len(items) >= page.per_page
                    below = page.total_entries - (number - 1) * page.per_page - index if full else len(items) - index
                    return self._window(stamp, number, page, below)
        if number > 1 and page.current_page == number:
            return Probe(number - 1)  # one tie group across the page, or all of it below lo: look higher
        # Page 1, or an answer that says it is another page (a server or cache that ignores the page asked
        # for): the rest in one walk from page 1, which proves what it read or says it cannot.
        return self._last_window()

    def _walk(self, since: int | None, until: int | None, start: int) -> LogWalk:
        return LogWalk(
            since=None if since is None else _at(since), until=None if until is None else _at(until), start=start
        )

    def _planner(self, walk: LogWalk, seed: tuple[int, AuditLogPage] | None, cap: int | None = None) -> Planner:
        planner = Planner(
            walk,
            concurrency=self.concurrency,
            check_completeness=True,
            batch_limit=self._batch_limit,
            max_pages=cap,
        )
        if seed is not None:
            number, page = seed
            walk.note_first_page(page, number)
            planner.deliver({number: page})
        return planner

    def _window(self, top: int, number: int, page: AuditLogPage, below: int) -> Window:
        walk = self._walk(self._lo, top, number)
        planner = self._planner(walk, (number, page))
        start = self._start
        if start is not None and start[0] > number:
            # The window ends on the page the one below started at, moved down by what appeared since.
            planner.expected_last = (
                start[0] + max(0, page.total_entries - start[1].total_entries) // max(page.per_page, 1) + 1
            )
            if start[1].total_entries == page.total_entries:
                planner.deliver({start[0]: start[1]})
        self._start = (number, page)
        return Window(planner, last=False, below=below, top=top)

    def _last_window(self, *, seed: tuple[int, AuditLogPage] | None = None, capped: bool = False) -> Window:
        walk = self._walk(self._lo, None, 1)
        return Window(self._planner(walk, seed, self.most if capped else None), last=True)


class _FloorSearch:
    """The first page holding an entry older than ``floor``: galloping from ``start``, then bisecting.

    Pages before ``lo`` hold nothing older (seen so); page ``hi`` holds something older, or is past the
    end. Entries appearing during the search only push the floor's page further down, never above a
    page already seen to hold nothing older, so the page found is never past the first one that does.
    """

    def __init__(self, floor: int | None, start: int, end: int) -> None:
        self.floor = floor
        self.lo = start
        self.end = end  # past the last page: taken as holding something older without asking
        self.hi: int | None = None
        self._found: AuditLogPage | None = None  # the answer for hi
        self._step = max(1, start - 1)

    @property
    def done(self) -> bool:
        return self.hi is not None and self.lo >= self.hi

    def probe(self) -> int:
        if self.hi is None:
            return min(self.lo + self._step - 1, self.end)
        return (self.lo + self.hi) // 2

    def _holds_older(self, number: int, page: AuditLogPage) -> bool:
        # An answer that says it is another page places nothing: the search stops there, and the windows
        # above it prove what they read or say they cannot.
        if number >= self.end or page.current_page != number:
            return True
        return not page.items or self.floor is None or page.items[-1].timestamp < self.floor

    def feed(self, number: int, page: AuditLogPage) -> None:
        if self._holds_older(number, page):
            if self.hi is None or number < self.hi:
                self.hi, self._found = number, page
        else:
            self.lo = max(self.lo, number + 1)
            self._step *= 2

    def below(self) -> int:
        """How many entries stood below the floor, in the answer of the page found (0: none, or no answer)."""
        assert self.hi is not None
        page = self._found
        if page is None or not page.items or page.current_page != self.hi or self.floor is None:
            return 0
        items = page.items
        index = next((i for i, item in enumerate(items) if item.timestamp < self.floor), len(items))
        if len(items) >= page.per_page > 0:
            return max(0, page.total_entries - (self.hi - 1) * page.per_page - index)
        return len(items) - index
