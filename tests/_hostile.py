"""A small server of its own (not the emulator), for attacking the proof of completeness.

It keeps entries newest first with no tie-breaker and, between requests, reorders every run of equal
timestamps, writes entries at the top, in the newest second, late (seconds below the top, with old ids)
and from a fast clock, and fails now and then.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

from chatwoot_audit import AuditLog, AuditLogPage
from chatwoot_audit._errors import ChatwootError
from chatwoot_audit._planner import Emit, Fetch, Planner, Wait

T0 = 1_781_600_000


def entry(entry_id: int, stamp: int) -> AuditLog:
    return AuditLog(id=entry_id, action="update", created_at=datetime.fromtimestamp(stamp, UTC))


class Hostile:
    """Entries newest first; every request may reorder ties and make new entries visible anywhere."""

    def __init__(
        self,
        rng: random.Random,
        *,
        entries: int,
        per_page: int,
        tie_density: float,
        arrivals: float,
        late: float,
        late_window: int,
        same_second: float,
        skew: float,
        faults: float = 0.0,
        reorder: bool = True,
        burst: tuple[int, int] | None = None,
    ) -> None:
        self.rng = rng
        self.per_page = per_page
        self.arrivals, self.late, self.late_window = arrivals, late, late_window
        self.same_second, self.skew, self.faults = same_second, skew, faults
        self.reorder, self.burst = reorder, burst
        stamp = T0
        self.rows: list[tuple[int, int]] = []  # (stamp, id), oldest first
        for entry_id in range(1, entries + 1):
            if rng.random() > tie_density:
                stamp += rng.randint(1, 3)
            self.rows.append((stamp, entry_id))
        self.next_id = entries + 1000  # ids handed out late may be lower than this
        self.spare_ids = list(range(entries + 1, entries + 1000))
        self.requests = 0

    @property
    def honest_newest(self) -> int:
        return max((stamp for stamp, _ in self.rows if stamp < T0 + 10**6), default=T0)

    def snapshot(self) -> set[int]:
        return {entry_id for _, entry_id in self.rows}

    def _insert(self, stamp: int, entry_id: int) -> None:
        index = len(self.rows)
        while index > 0 and self.rows[index - 1][0] > stamp:
            index -= 1
        # Among equal stamps, anywhere: there is no tie-breaker.
        low = index
        while low > 0 and self.rows[low - 1][0] == stamp:
            low -= 1
        self.rows.insert(self.rng.randint(low, index), (stamp, entry_id))

    def _happen(self) -> None:
        # At most one new entry a request: a server whose list grows faster than a walk reads never ends.
        rng = self.rng
        newest = self.honest_newest
        if self.burst is not None and self.requests == self.burst[0]:
            for _ in range(self.burst[1]):  # a bulk change: many entries in one second, at the top
                self.next_id += 1
                self._insert(newest + 1, self.next_id)
        roll = rng.random()
        if roll < self.arrivals:
            self.next_id += 1
            self._insert(newest + rng.randint(1, 2), self.next_id)
        elif (roll := rng.random()) < self.same_second:
            self.next_id += 1
            self._insert(newest, self.next_id)
        elif (roll := rng.random()) < self.late and self.spare_ids:
            # A slow transaction: stamped seconds below the top, with an id taken long ago.
            entry_id = self.spare_ids.pop(rng.randrange(len(self.spare_ids)))
            self._insert(newest - rng.randint(1, self.late_window), entry_id)
        elif rng.random() < self.skew:
            self.next_id += 1
            self._insert(T0 + 10**6 + rng.randint(0, 3600), self.next_id)

    def page(self, number: int) -> AuditLogPage | ChatwootError:
        self.requests += 1
        try:
            if self.rng.random() < self.faults:
                return ChatwootError("a transient fault")
            newest_first = self.rows[::-1]
            # Reorder every run of equal timestamps for this answer.
            shuffled: list[tuple[int, int]] = []
            start = 0
            for index in range(1, len(newest_first) + 1):
                if index == len(newest_first) or newest_first[index][0] != newest_first[start][0]:
                    run = newest_first[start:index]
                    if self.reorder:
                        self.rng.shuffle(run)
                    shuffled += run
                    start = index
            begin = (number - 1) * self.per_page
            items = tuple(entry(entry_id, stamp) for stamp, entry_id in shuffled[begin : begin + self.per_page])
            return AuditLogPage(items=items, current_page=number, per_page=self.per_page, total_entries=len(self.rows))
        finally:
            self._happen()


def drive(planner: Planner, serve: Callable[[int], AuditLogPage | ChatwootError], *, window: int) -> list[AuditLog]:
    """Drive a planner like the clients do, up to ``window`` pages on their way at once, delivered in any order;
    the entries it hands out."""
    out: list[AuditLog] = []
    on_the_way: list[int] = []
    rng = random.Random(window)
    for _ in range(20_000):
        action = planner.step()
        if action is None:
            return out
        if isinstance(action, Emit):
            out.extend(action.logs)
        elif isinstance(action, Fetch):
            on_the_way.extend(action.pages)
            if window == 1:
                planner.deliver({n: serve(n) for n in on_the_way})
                on_the_way.clear()
        elif isinstance(action, Wait):
            # Answers come back in any order: serve some others first.
            rng.shuffle(on_the_way)
            if action.page in on_the_way:
                on_the_way.remove(action.page)
            ready = {n: serve(n) for n in on_the_way[: rng.randint(0, len(on_the_way))]}
            ready[action.page] = serve(action.page)
            on_the_way = [n for n in on_the_way if n not in ready]
            planner.deliver(ready)
    raise AssertionError("the walk did not end")
