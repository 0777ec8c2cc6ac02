"""The walk as a state machine with no I/O: it says which pages to fetch, and what to hand out.

The sync and async clients drive the same :class:`Walker`::

    while (action := walker.step()) is not None:
        if isinstance(action, Fetch):
            walker.deliver(fetch_all(action.pages))   # the one part that differs: threads or tasks
        else:
            yield action                             # an Emit: a page and its new entries

Pages are fetched in batches of up to ``concurrency`` (fewer while the server throttles), and handed out
strictly in page order, so a concurrent walk yields what the sequential one yields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from ._errors import ChatwootError, IncompleteWalkError
from ._models import AuditLog, AuditLogPage
from ._pagination import LogWalk, StartSearch, check_concurrency, plan_fetches

__all__ = ["Emit", "Fetch", "Walker"]

Outcome = AuditLogPage | ChatwootError


@attrs.frozen
class Fetch:
    """Fetch these pages (at once, if more than one) and deliver what came back."""

    pages: tuple[int, ...]


@attrs.frozen
class Emit:
    """Hand out a page and the entries of it the walk has not handed out before."""

    number: int
    page: AuditLogPage
    logs: list[AuditLog]


class Walker:
    """Drives a :class:`LogWalk`: the ``until`` search, batched fetches, re-reads, the completeness pass."""

    def __init__(
        self,
        walk: LogWalk,
        *,
        concurrency: int = 1,
        check_completeness: bool = False,
        recovery_rounds: int = 8,
        batch_limit: Callable[[], int] | None = None,
    ) -> None:
        self.walk = walk
        self.concurrency = check_concurrency(concurrency)
        self._batch_limit = batch_limit or (lambda: self.concurrency)
        self._check_completeness = check_completeness
        self._rounds_left = recovery_rounds
        self._buffer: dict[int, Outcome] = {}
        self._refetched: set[int] = set()
        self._search: StartSearch | None = None
        self._searching = walk.until is not None and walk.next_page == 1
        self._recovery: list[int] | None = None
        self.requests = 0

    def deliver(self, outcomes: Mapping[int, Outcome]) -> None:
        """Take what came back for the pages of the last :class:`Fetch`."""
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
            first = search.pages[1]
            start = search.result
            if start > max(first.total_pages, 1):
                self.walk.next_page = None
            else:
                self.walk.next_page = start
                if start in search.pages:
                    self._buffer[start] = search.pages[start]

    def step(self) -> Fetch | Emit | None:
        """The next thing to do; None when the walk is over. Raises the error a page ended in."""
        if self._searching:
            if self._search is None:
                return Fetch((1,))
            return Fetch(tuple(self._search.probes(self.concurrency)))
        walk = self.walk
        number = walk.next_page
        if number is not None:
            return self._main_step(number)
        if self._recovery is not None or (self._check_completeness and walk.shortfall() > 0):
            return self._recovery_step()
        return None

    def _main_step(self, number: int) -> Fetch | Emit:
        walk = self.walk
        outcome = self._buffer.pop(number, None)
        if outcome is None:
            pending = self._buffer.keys()
            limit = max(1, min(self.concurrency, self._batch_limit()))
            return Fetch(tuple(plan_fetches(number, pending, walk.last_page, limit)))
        if isinstance(outcome, ChatwootError):
            self._buffer.clear()
            raise outcome
        if walk.is_stale(outcome) and number not in self._refetched:
            # Read before the page above it had grown: entries pushed onto it since would be missed.
            self._refetched.add(number)
            return Fetch((number,))
        self._refetched.discard(number)
        logs = walk.feed(outcome, number)
        if walk.next_page is None:
            self._buffer.clear()
        return Emit(number, outcome, logs)

    def _recovery_step(self) -> Fetch | Emit | None:
        walk = self.walk
        if self._recovery is None:
            if self._rounds_left <= 0 or not (pages := walk.recovery_pages()):
                raise IncompleteWalkError(
                    f"the walk found {walk.expected - walk.shortfall() if walk.expected else 0} of the "
                    f"{walk.expected} entries the server reported, also after re-reading the pages where "
                    "entries with equal timestamps met; run it again, or use a Checkpoint, whose overlap "
                    "catches such entries on the next sync",
                    expected=walk.expected or 0,
                    found=(walk.expected or 0) - walk.shortfall(),
                )
            self._rounds_left -= 1
            self._recovery = pages
            return Fetch(tuple(pages))
        if not self._recovery:
            self._recovery = None
            return self.step()
        number = self._recovery.pop(0)
        outcome = self._buffer.pop(number, None)
        if isinstance(outcome, ChatwootError):
            raise outcome
        if outcome is None:  # pragma: no cover - every page of a recovery Fetch is delivered
            return self._recovery_step()
        logs = walk.recover(outcome)
        if walk.shortfall() == 0:
            self._recovery = []
        return Emit(number, outcome, logs)
