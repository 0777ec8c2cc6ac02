"""The walk as a state machine with no I/O: it says which pages to fetch, and what to hand out.

The sync and async clients drive the same :class:`Planner` through :func:`actions`, with a window
(``_workers``) that starts the pages of each :class:`Fetch` on threads or tasks::

    for action in actions(planner, window.start):
        if isinstance(action, Emit):
            yield action                   # a page and its new entries
        else:                              # a Wait: the one place a driver blocks
            planner.deliver({action.page: window.take(action.page)})

Up to ``concurrency`` pages (fewer while the server throttles) are asked for and not yet delivered
(:attr:`Planner.in_flight`) at any time, and they are handed out strictly in page order, so a concurrent
walk yields what the sequential one yields. A driver may deliver a Fetch's pages at once (a batch) or
one by one as they are waited for (a sliding window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from ._completeness import Gap
from ._errors import ChatwootError, IncompleteWalkError
from ._models import AuditLog, AuditLogPage
from ._pagination import LogWalk, StartSearch, plan_fetches
from ._validate import check_concurrency

__all__ = ["Emit", "Fetch", "Planner", "Wait", "actions"]

Outcome = AuditLogPage | ChatwootError


@attrs.frozen
class Fetch:
    """Fetch these pages (at once, if more than one) and deliver what came back."""

    pages: tuple[int, ...]


@attrs.frozen
class Wait:
    """A page already on its way is needed now: deliver it when it comes."""

    page: int


@attrs.frozen
class Emit:
    """Hand out a page and the entries of it the walk has not handed out before."""

    number: int
    page: AuditLogPage
    logs: list[AuditLog]


class Planner:
    """Drives a :class:`LogWalk`: the ``until`` search, batched fetches, re-reads, the completeness pass."""

    def __init__(
        self,
        walk: LogWalk,
        *,
        concurrency: int = 1,
        check_completeness: bool = False,
        recovery_rounds: int = 8,
        batch_limit: Callable[[], int] | None = None,
        max_pages: int | None = None,
    ) -> None:
        self.walk = walk
        walk.witness_end = check_completeness
        self.concurrency = check_concurrency(concurrency)
        self._batch_limit = batch_limit or (lambda: self.concurrency)
        self._check_completeness = check_completeness
        self._rounds_left = recovery_rounds
        self._buffer: dict[int, Outcome] = {}
        self._in_flight: set[int] = set()
        self._refetched: set[int] = set()
        self._search: StartSearch | None = None
        self._searching = walk.until is not None and walk.next_page == 1
        # Recovery: the pages of this round still to read (as planned when it began), the pages on their
        # way or waiting to be handed out, the total when the round began (to follow what arrives during
        # it), whether the reference cut was read since the last check, and how many re-reads are left.
        self._recovery: list[int] = []
        self._recovering: list[int] = []
        self._round_total = 0
        self._audited = False
        self._budget: int | None = None
        self.requests = 0
        # A walk that may stop after max_pages pages of its own, unfinished (capped), for a caller that
        # would rather walk otherwise when there is that much to read.
        self._max_pages = max_pages
        self.capped = False
        # Where a walk that stops at `since` is expected to end, when the caller knows: pages past it are not
        # asked for ahead of need (the walk still reads on, a page at a time, if it has not ended there).
        self.expected_last: int | None = None

    def _fetch(self, pages: list[int]) -> Fetch:
        self._in_flight.update(pages)
        return Fetch(tuple(pages))

    @property
    def in_flight(self) -> frozenset[int]:
        """Pages asked for and not delivered yet."""
        return frozenset(self._in_flight)

    def deliver(self, outcomes: Mapping[int, Outcome]) -> None:
        """Take what came back for pages of earlier :class:`Fetch` actions."""
        self._in_flight.difference_update(outcomes)
        self.requests += len(outcomes)
        if self._searching:
            self._deliver_search(outcomes)
        else:
            self._buffer.update(outcomes)

    def _deliver_search(self, outcomes: Mapping[int, Outcome]) -> None:
        for number in sorted(outcomes):
            outcome = outcomes[number]
            if isinstance(outcome, ChatwootError):
                raise outcome
            if self._search is None:
                self._search = StartSearch(self.walk.until, outcome)  # type: ignore[arg-type]
            else:
                self._search.feed(number, outcome)
        search = self._search
        if search is not None and search.done:
            self._searching = False
            self.walk.note_first_page(search.pages[1])
            # The walk must not use a page read before the newest probe: entries may have moved onto it
            # since (the start page can be older than the probe that ruled out the page above it). Taking
            # the newest total as the page above makes any older probe stale, to be read again.
            self.walk.last_total = max(page.total_entries for page in search.pages.values())
            # Past the last page by page 1's count is still worth a look: arrivals may have pushed the
            # window's entries there. An empty page ends the walk.
            start = search.result
            self.walk.next_page = start
            # The pages probed from the start on are the walk's own: read them once, not twice. Those above
            # it hold the cuts that open the proof of the window's top.
            for n, page in sorted(search.pages.items()):
                if n < start:
                    self.walk.note(page, n)
            self._buffer.update((n, page) for n, page in search.pages.items() if n >= start)

    def step(self) -> Fetch | Wait | Emit | None:
        """The next thing to do; None when the walk is over. Raises the error a page ended in."""
        if self._searching:
            if self._in_flight:
                return Wait(min(self._in_flight))
            if self._search is None:
                return self._fetch([1])
            return self._fetch(self._search.probes(self.concurrency))
        walk = self.walk
        number = walk.next_page
        if number is not None:
            if self._max_pages is not None and walk.pages_read >= self._max_pages:
                self.capped = True
                self._buffer.clear()
                return None
            return self._main_step(number)
        if self._check_completeness and walk.checkable:
            return self._recovery_step()
        return None

    def _main_step(self, number: int) -> Fetch | Wait | Emit:
        walk = self.walk
        outcome = self._buffer.pop(number, None)
        if outcome is None:
            pending = self._buffer.keys() | self._in_flight
            limit = max(1, min(self.concurrency, self._batch_limit()))
            last = walk.last_page
            if last is None and walk.since is None and walk.limit is None:
                # Before the first answer the page count is unknown. A walk to the end will read these pages
                # anyway, so ask for a whole batch at once rather than page 1 alone; a short history costs a
                # few empty pages. Walks that may stop early (since, limit) start with page 1 alone.
                last = number + limit - 1
            if last is not None and self.expected_last is not None:
                last = max(number, min(last, self.expected_last))
            ahead = sum(1 for n in pending if number <= n < number + limit)
            room = limit - ahead if number in pending else max(1, limit - ahead)
            more = plan_fetches(number, pending, last, limit)[: max(0, room)]
            if more:
                return self._fetch(more)
            return Wait(number)
        if isinstance(outcome, ChatwootError):
            self._buffer.clear()
            raise outcome
        if walk.is_stale(outcome) and number not in self._refetched:
            # Read before the page above it had grown: entries pushed onto it since would be missed.
            self._refetched.add(number)
            return self._fetch([number])
        self._refetched.discard(number)
        logs = walk.feed(outcome, number)
        if walk.next_page is None:
            self._buffer.clear()
        return Emit(number, outcome, logs)

    def _recovery_step(self) -> Fetch | Wait | Emit | None:
        walk = self.walk
        per_page = walk.per_page or 1
        if not self._recovering:
            if self._recovery:
                # Entries keep arriving while the round reads, pushing what it looks for further down: each
                # batch is shifted by the pages' worth that arrived since the round was planned.
                shift = max(0, (walk.last_total or 0) - self._round_total) // per_page
                batch = list(dict.fromkeys(n + shift for n in self._recovery[: self.concurrency]))
                del self._recovery[: self.concurrency]
                return self._fetch_recovery(batch)
            if not self._audited:
                # Entries appeared since the reference cut was last read: read it again, last, so that the
                # check knows how many of them went anywhere but the top.
                self._audited = True
                if audit := walk.ledger.audit(per_page):
                    return self._fetch_recovery(audit)
            self._audited = False
            gaps = walk.gaps()
            if not gaps:
                self._check_completeness = False
                return None
            self._plan(gaps, per_page)
            return self.step()
        number = self._recovering[0]
        outcome = self._buffer.pop(number, None)
        if outcome is None:
            return Wait(number)
        self._recovering.pop(0)
        if isinstance(outcome, ChatwootError):
            raise outcome
        return Emit(number, outcome, walk.recover(outcome, number))

    def _fetch_recovery(self, pages: list[int]) -> Fetch | Wait | Emit | None:
        self._recovering = pages
        wanted = [n for n in pages if n not in self._in_flight and n not in self._buffer]
        if wanted:
            return self._fetch(wanted)
        return self.step()

    def _plan(self, gaps: list[Gap], per_page: int) -> None:
        """Plan a round of re-reads for ``gaps``, or raise when the rounds or the budget are spent."""
        walk = self.walk
        if self._budget is None:
            # Re-reads are bounded by the walk's own length, whatever the server reports or keeps doing.
            self._budget = 2 * walk.pages_read + 8
        pages = walk.ledger.rereads(gaps, per_page, self._budget)
        if self._rounds_left <= 0 or not pages:
            missing = walk.ledger.missing(gaps)
            windowed = walk.since is not None or walk.until is not None
            expected = walk.yielded + missing if windowed else max(walk.expected or 0, walk.yielded + missing)
            found = max(0, expected - missing)
            raise IncompleteWalkError(
                f"the walk found {found} of the {expected} entries the server holds "
                f"{'in the window' if windowed else 'in all'}: {missing} could not be accounted for, also after "
                "re-reading where they can hide (entries with equal timestamps come back in a different order on "
                "each request, and entries committed late appear below the top); running the walk again "
                "usually finds them",
                expected=expected,
                found=found,
            )
        self._rounds_left -= 1
        self._budget -= len(pages)
        self._recovery = pages
        self._round_total = walk.last_total or 0


def actions(planner: Planner, start: Callable[[Sequence[int]], None]) -> Iterator[Emit | Wait]:
    """Drive ``planner``: the pages of each :class:`Fetch` go to ``start``; what is left is the driver's.

    Raises the error a page ended in, when the walk reaches that page.
    """
    while (action := planner.step()) is not None:
        if isinstance(action, Fetch):
            start(action.pages)
        else:
            yield action
