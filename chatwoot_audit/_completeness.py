"""What a walk owes, and the proof that it found it. No I/O.

The argument
============
Chatwoot lists entries newest first by ``created_at`` (whole seconds, no tie-breaker), never deletes
one, and numbers pages over that list; ``total_entries`` only grows. Two answers with the same total
were cut from the same set of entries, whatever order they gave equal timestamps in: call that set the
*snapshot* ``T``. A walk owes every entry of its window that was in the snapshot ``T0`` of its first
page: the entries that existed when it began.

Entries become visible anywhere while a walk runs: at the top (new activity), below it (a slow
transaction commits late, with an older ``created_at`` and perhaps a lower id), or above every honest
entry (an app server whose clock runs fast). Neither ids nor timestamps say when an entry became
visible, so the proof uses neither: it uses positions and totals.

*Cuts.* An entry whose predecessor in the same answer is newer (or the first entry of page 1) is a
cut. At index ``j`` of snapshot ``T``, a cut of stamp ``c`` says that exactly ``j`` entries are newer
than ``c``, so ``below = T - j`` entries have ``created_at <= c``. That is a fact about the snapshot,
whatever order ties came in.

*Bands.* Two cuts ``hi > lo`` bound the band of entries with ``lo < created_at <= hi``. Read at
snapshots ``T_hi`` and ``T_lo``, with ``T* = max(T_hi, T_lo)``, the band held at ``T*`` at most::

    below_hi + late - below_lo

entries, where ``late`` bounds the entries with ``created_at <= hi`` that became visible between
``T_hi`` and ``T*`` (0 when ``T_hi = T*``; ``below_lo`` can only have grown since ``T_lo``, so the
older value only raises the bound). If the walk has seen at least that many distinct entries in the
band, each in an answer of snapshot ``T*`` or older (so each existed at ``T*``), then it has seen every
entry of the band at ``T*``, and so every one that existed at ``T0 <= T*``. An entry that appeared
during the walk is part of the band's count and must be seen like the others: it never stands in for
one that existed at the start.

*Late.* ``late`` is at most ``T* - T_hi``: everything that appeared in between. It is known better when
a cut ``theta >= hi`` was read at two snapshots around ``[T_hi, T*]``: the growth of its ``below`` is
the number of entries at or below ``theta`` that appeared. Page 1 at ``T0`` gives such cuts; when
entries appeared during a walk, one request more (the *audit*) reads one of them again, so that
arrivals at the top, the common case, cost nothing further.

*Proof.* A walk is complete when certified bands chain from a cut at or above the top of its window
down to one below its bottom, or to the end of the list (``below = 0`` there, in every snapshot). A band
inside one answer always certifies. A band across two answers certifies unless an entry was missed in
it (ties reordered across the page boundary, an entry committed late above the walk's position) or
entries appeared below ``hi`` in between. Only those bands are read again, at the positions where
their cuts stand now (``T_now - below``: arrivals at the top do not move it), until every band
certifies, or the rounds run out and the walk raises :class:`IncompleteWalkError` with the number of
entries it could not account for. Nothing here trusts ids, clocks, or an answer that is not newest
first (such an answer gives no cuts, so its bands cannot certify).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

import attrs

from ._models import AuditLog

__all__ = ["Cut", "Gap", "Ledger"]

# How many cuts on each side of a frontier are tried as the two ends of a band: a band is certified
# by nearby cuts, and a bound keeps each check cheap whatever the walk's length.
_NEAR = 8


@attrs.frozen(slots=True)
class Cut:
    """Where an answer moves to an older second: ``below`` of its ``total`` entries are stamped ``stamp`` or older."""

    stamp: int
    below: int
    total: int
    read: int


@attrs.frozen(slots=True)
class Gap:
    """A band no answer certifies yet: between ``upper`` and ``lower`` (None: the end of the list)."""

    upper: Cut
    lower: Cut | None
    missing: int


class Ledger:
    """Every answer a walk read, as the proof needs it: who was seen in which snapshot, and the cuts.

    ``top`` and ``bottom`` are the window in whole seconds (inclusive; None: unbounded). Recording an
    answer returns the entries seen in it for the first time.
    """

    def __init__(self, *, since: datetime | None = None, until: datetime | None = None) -> None:
        # Whole seconds, as the server orders: a stamp s is in the window when since <= s <= until.
        self.bottom: int | None = None if since is None else math.ceil(since.timestamp())
        self.top: int | None = None if until is None else math.floor(until.timestamp())
        self.first_total: int | None = None
        self.horizon: int | None = None
        self.last_total = 0
        self._seen: dict[int, int] = {}  # id -> the smallest total it was seen in
        self._by_stamp: dict[int, list[int]] = {}
        # The distinct stamps seen, negated: ascending for bisect once sorted. A walk meets them newest first,
        # so appending keeps them sorted but for the few a re-read or a late commit adds out of turn.
        self._stamps: list[int] = []
        self._unsorted = False
        # The highest and lowest cut of each answer, one of each (stamp, below, total), ordered top down, and
        # how low each answer's cuts reach.
        self._cuts: list[Cut] = []
        self._order: list[tuple[int, int]] = []  # (-stamp, -total) of each cut: the key _cuts is sorted by
        self._known: dict[tuple[int, int, int], Cut] = {}
        self._floor: dict[int, int] = {}
        self._reads = 0
        # The proof so far: every band from the top down to the frontier is proven. Entries newer than the
        # seal (all proven seen) are forgotten, and one that shows up again is neither new nor yielded.
        self._frontier: int | None = None
        self._sealed: int | None = None
        # Reference cuts (those of page 1 at T0) and every snapshot they were read in: (total, below).
        self._theta: dict[int, list[tuple[int, int]]] = {}
        # The newest answer for each page: (total, per_page, first stamp, last stamp, read or -1, and its
        # highest and lowest cut as (stamp, index) when it was full). Its first entry is a cut too when the
        # page above was read in the same snapshot, at the same page size, and ends newer; an empty page
        # after a full one shows where the list ended.
        self._edges: dict[int, _Edge] = {}
        self._tries: dict[tuple[int, int | None], int] = {}  # how often each gap's band was read again

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def start(self, items: Sequence[AuditLog], total: int, page: int = 1, per_page: int | None = None) -> None:
        """Take the walk's first answer (page 1, or where a window starts) as read when it began: its total is
        ``T0``, its cuts the references. A ``page`` of 0 is an answer that said it was another page."""
        if self.first_total is not None:
            return
        self.first_total = total
        self.horizon = max((item.timestamp for item in items), default=None)
        if page < 1:
            return
        cuts = _cuts([item.timestamp for item in items], page, per_page or len(items) or 1, total)
        for stamp, _ in cuts or ():
            self._theta[stamp] = []

    def record(self, items: Sequence[AuditLog], page: int, per_page: int, total: int) -> list[AuditLog]:
        """Note an answer (page ``page`` of ``per_page``, ``total`` entries); return its entries new to the walk."""
        fresh: list[AuditLog] = []
        seen, by_stamp, sealed, order = self._seen, self._by_stamp, self._sealed, self._stamps
        stamps = [item.timestamp for item in items]
        for item, stamp in zip(items, stamps, strict=True):
            entry_id = item.id
            known = seen.get(entry_id)
            if known is None:
                if sealed is not None and stamp > sealed:
                    continue
                seen[entry_id] = total
                ids = by_stamp.get(stamp)
                if ids is None:
                    by_stamp[stamp] = [entry_id]
                    if order and -stamp < order[-1]:
                        self._unsorted = True
                    order.append(-stamp)
                else:
                    ids.append(entry_id)
                fresh.append(item)
            elif total < known:
                seen[entry_id] = total
        if total > self.last_total:
            self.last_total = total
        first = self.first_total
        if first is not None and total >= first and page >= 1:
            if stamps:
                self._note_cuts(stamps, page, per_page, total)
            else:
                self._note_end(page, per_page, total)
        return fresh

    def _note_cuts(self, stamps: Sequence[int], page: int, per_page: int, total: int) -> None:
        cuts = _cuts(stamps, page, per_page, total)
        if cuts is None:
            return
        head, tail = stamps[0], stamps[-1]
        full = len(stamps) >= per_page
        # Where this page's first entry stands: from the total, or from the page itself when it is short
        # (the list ends on it: what it holds is exact, whatever the total says).
        below_head = total - (page - 1) * per_page if full else len(stamps)
        above = self._edges.get(page - 1)
        if page > 1 and above is not None and above.total == total and above.per_page == per_page and above.tail > head:
            cuts.insert(0, (head, below_head))
        read = -1
        if cuts:
            read = self._add_read(cuts[0], cuts[-1], total)
            theta = self._theta
            for stamp, below in cuts:
                if stamp in theta:
                    theta[stamp].append((total, below))
        ends = None
        if full and cuts:
            base = (page - 1) * per_page
            ends = ((cuts[0][0], total - base - cuts[0][1]), (cuts[-1][0], total - base - cuts[-1][1]))
        self._edges[page] = _Edge(total, per_page, head, tail, read, ends)
        under = self._edges.get(page + 1)
        if under is not None and under.total == total and under.per_page == per_page and tail > under.head:
            # The page below, read in this snapshot, starts with a cut this answer reveals.
            cut = (under.head, total - page * per_page)
            if under.read >= 0:
                self._add_cut(Cut(*cut, total, under.read))
            else:
                self._edges[page + 1] = under._replace(read=self._add_read(cut, cut, total))
            if cut[0] in self._theta:
                self._theta[cut[0]].append((total, cut[1]))

    def _note_end(self, page: int, per_page: int, total: int) -> None:
        """An empty page after a full one: the list ended with that page, whatever the totals said.

        Read no earlier than the full page, it bounds what stood at or below each of that page's cuts by
        the entries after the cut on the page itself: the end of the list, proven by content alone (a total
        counted a moment before its page was cut may lag the page by the entries committed in between).
        """
        above = self._edges.get(page - 1)
        if above is None or above.ends is None or above.per_page != per_page or total < above.total:
            return
        (high, high_index), (low, low_index) = above.ends
        self._add_read((high, per_page - high_index), (low, per_page - low_index), total)

    def _add_read(self, high: tuple[int, int], low: tuple[int, int], total: int) -> int:
        read = self._reads
        self._reads += 1
        self._floor[read] = low[0]
        self._add_cut(Cut(*low, total, read))
        self._add_cut(Cut(*high, total, read))
        return read

    def _add_cut(self, cut: Cut) -> None:
        if self._sealed is not None and cut.stamp > self._sealed:
            return
        floor = self._floor[cut.read]
        known = self._known.get((cut.stamp, cut.below, cut.total))
        if known is not None:
            # Read again in the same snapshot: one is enough, reaching as low as either answer does.
            self._floor[known.read] = min(self._floor[known.read], floor)
            return
        self._known[(cut.stamp, cut.below, cut.total)] = cut
        key = (-cut.stamp, -cut.total)
        index = bisect.bisect_right(self._order, key)
        self._order.insert(index, key)
        self._cuts.insert(index, cut)

    def _sorted_stamps(self) -> list[int]:
        if self._unsorted:
            self._stamps.sort()
            self._unsorted = False
        return self._stamps

    # -- the proof -----------------------------------------------------------------------------------

    def _count(self, low: int | None, high: int, snapshot: int, enough: int) -> int:
        """Distinct entries seen with ``low < stamp <= high`` in answers of ``snapshot`` or older (up to ``enough``)."""
        stamps, by_stamp, seen = self._sorted_stamps(), self._by_stamp, self._seen
        count = 0
        for index in range(bisect.bisect_left(stamps, -high), len(stamps)):
            stamp = -stamps[index]
            if low is not None and stamp <= low:
                break
            for entry_id in by_stamp[stamp]:
                if seen[entry_id] <= snapshot:
                    count += 1
            if count >= enough:
                break
        return count

    def _late(self, stamp: int, since: int, until: int) -> int:
        """At most how many entries at or below ``stamp`` appeared between snapshots ``since`` and ``until``."""
        best = until - since
        for theta, seen_at in self._theta.items():
            if stamp > theta:
                continue
            before = [below for total, below in seen_at if total <= since]
            after = [below for total, below in seen_at if total >= until]
            if before and after:
                best = min(best, min(after) - max(before))
        return max(0, best)

    def _short(self, upper: Cut, lower: Cut | None) -> int:
        """How many entries of the band the walk cannot show it has seen (0: the band certifies).

        The band is counted in the newest snapshot of its two cuts, and again in the newest snapshot of
        all (where more entries may have been seen, and ``late`` says how many more it may hold).
        """
        oldest = upper.total if lower is None else max(upper.total, lower.total)
        short = None
        for snapshot in dict.fromkeys((oldest, max(oldest, self.last_total))):
            late = 0 if upper.total == snapshot else self._late(upper.stamp, upper.total, snapshot)
            bound = upper.below + late - (0 if lower is None else lower.below)
            if bound <= 0:
                return 0
            count = self._count(None if lower is None else lower.stamp, upper.stamp, snapshot, bound)
            short = bound - count if short is None else min(short, bound - count)
            if short <= 0:
                return 0
        return short or 0

    def gaps(self) -> list[Gap]:
        """The bands no answer certifies, top to bottom: empty when every owed entry was seen."""
        return self._sweep(every=True)

    def advance(self) -> None:
        """Carry the proof as far down as it goes now, and forget what lies above it (a walk calls this
        after each page, so that it holds only the unproven part of what it read)."""
        self._sweep(every=False)
        frontier = self._frontier
        if frontier is None:
            return
        # Keep the cuts a next band may start from (the nearest above the frontier), and what lies below
        # the highest of them; everything newer is proven, and its entries were seen.
        split = bisect.bisect_right(self._order, (-frontier, 1))
        keep = max(0, split - _NEAR)
        if keep < 256:
            return  # forgetting costs a shift of the lists: only worth it in bulk
        seal = self._cuts[keep].stamp
        for cut in self._cuts[:keep]:
            del self._known[(cut.stamp, cut.below, cut.total)]
        del self._cuts[:keep], self._order[:keep]
        drop = bisect.bisect_left(self._sorted_stamps(), -seal)
        for negated in self._stamps[:drop]:
            for entry_id in self._by_stamp.pop(-negated):
                self._seen.pop(entry_id, None)
        del self._stamps[:drop]
        self._sealed = seal
        # Pages wholly above the seal, and reads that no kept cut or page refers to, are proven too: without
        # this a walk would keep a few hundred bytes a page of history.
        self._edges = {number: edge for number, edge in self._edges.items() if edge.tail <= seal}
        live = {cut.read for cut in self._cuts} | {edge.read for edge in self._edges.values()}
        self._floor = {read: low for read, low in self._floor.items() if read in live}

    def _sweep(self, *, every: bool) -> list[Gap]:
        first = self.first_total
        if first is None or first == 0:
            return []  # not begun, or nothing existed when the walk began
        cuts, lowest = self._cuts, self._floor
        frontier = self._frontier
        if frontier is None:
            top = self.horizon if self.top is None else min(self.top, self.horizon or self.top)
            starts = [cut for cut in cuts if top is not None and cut.stamp >= top]
            if not starts:
                return [Gap(upper=cuts[0], lower=None, missing=1)] if cuts else [_NOTHING]
            frontier = min(lowest[cut.read] for cut in starts)
        gaps: list[Gap] = []
        order = self._order
        while self.bottom is None or frontier >= self.bottom:
            if not gaps:
                self._frontier = frontier
            split = bisect.bisect_right(order, (-frontier, 1))  # cuts[:split] are at or above the frontier
            sources = cuts[max(0, split - _NEAR) : split][::-1]
            targets = cuts[split : split + _NEAR]
            reached = self._reach(sources, targets)
            if reached is not None:
                frontier = min(reached.stamp, lowest[reached.read])
                continue
            if not targets:
                if not every:
                    return gaps  # the walk goes on: the end of the list is checked once it is read
                # Past the last cut read: the end of the list certifies what lies below a cut.
                if any(self._short(source, None) == 0 for source in sources):
                    return gaps
                gaps.append(Gap(upper=sources[0], lower=None, missing=max(1, self._short(sources[0], None))))
                return gaps
            gaps.append(Gap(upper=sources[0], lower=targets[0], missing=max(1, self._short(sources[0], targets[0]))))
            if not every:
                return gaps
            frontier = min(targets[0].stamp, lowest[targets[0].read])
        if not gaps:
            self._frontier = frontier
        return gaps

    def _reach(self, sources: Sequence[Cut], targets: Iterable[Cut]) -> Cut | None:
        for target in targets:
            for source in sources:
                if source.read == target.read or self._short(source, target) <= 0:
                    return target
        return None

    # -- where to look -------------------------------------------------------------------------------

    def rereads(self, gaps: Sequence[Gap], per_page: int, most: int) -> list[int]:
        """The pages where the gaps' cuts stand now (at most ``most``), each with the entry above its cut."""
        now = self.last_total
        pages: set[int] = set()
        for gap in gaps:
            # The cut stands lower by what appeared above it, higher by what appeared at or below it (late).
            late = self._late(gap.upper.stamp, gap.upper.total, now)
            first = max(0, now - gap.upper.below - late - 1)
            if gap.lower is not None:
                last = now - gap.lower.below
            else:
                # Past the last cut: to the end of the list, or a little further down a window.
                last = now - 1 if self.bottom is None else first + 2 * per_page
            last = max(first, min(last, max(0, now - 1)))
            key = (gap.upper.stamp, None if gap.lower is None else gap.lower.stamp)
            tries = self._tries[key] = self._tries.get(key, 0) + 1
            span = range(first // per_page + 1, last // per_page + 2)
            if tries == 1 and late == 0 and gap.lower is not None:
                start, stop = now - gap.upper.below, now - gap.lower.below
                upper, lower = start // per_page + 1, (stop - 1) // per_page + 1
                if lower == upper + 1:
                    # A band across one page boundary whose place is known: what it misses stands somewhere
                    # in it, so the page holding more of it finds that at least half the time, for one
                    # request. Later tries read both.
                    pages.add(upper if 2 * (upper * per_page - start) >= stop - start else lower)
                    continue
            # The whole band: a tie group longer than a page hides its missing entries anywhere inside.
            # The walk's budget bounds what a server with absurd counts can make it read.
            pages.update(span[:most])
        return sorted(pages)[:most]

    def audit(self, per_page: int) -> list[int]:
        """The page(s) on which a reference cut stands now, if entries appeared since one was last read.

        The lowest reference whose predicted place is not the top of a page (a cut needs the entry above
        it in the same answer), where it stands if everything new went to the top; failing that, the two
        pages around the lowest reference, which show it when they come back in one snapshot.
        """
        now = self.last_total
        if any(total >= now for seen_at in self._theta.values() for total, _ in seen_at):
            return []
        places = [now - max(seen_at)[1] for _, seen_at in sorted(self._theta.items()) if seen_at]
        for index in places:
            if index % per_page:
                return [index // per_page + 1]
        if places and places[0] > 0:
            return [places[0] // per_page, places[0] // per_page + 1]
        return []

    def missing(self, gaps: Sequence[Gap]) -> int:
        """How many entries the gaps may hide, at least one each."""
        return sum(gap.missing for gap in gaps)


_NOTHING = Gap(upper=Cut(stamp=0, below=0, total=0, read=-1), lower=None, missing=1)


def _cuts(stamps: Sequence[int], page: int, per_page: int, total: int) -> list[tuple[int, int]] | None:
    """``(stamp, below)`` of each cut of an answer; None when the answer is not newest first.

    On a short page the list ends: ``below`` comes from the page itself, exact whatever the total says.
    """
    short = len(stamps) < per_page
    end = len(stamps) if short else total - (page - 1) * per_page
    out: list[tuple[int, int]] = []
    previous: int | None = None
    for index, stamp in enumerate(stamps):
        if previous is None:
            if page == 1:
                out.append((stamp, end - index))
        elif stamp < previous:
            out.append((stamp, end - index))
        elif stamp > previous:
            return None
        previous = stamp
    if any(not 0 < below <= max(total, end) for _, below in out):
        return None  # positions beyond the reported total: the answer's counts are not to be trusted
    return out


class _Edge(NamedTuple):
    total: int
    per_page: int
    head: int
    tail: int
    read: int
    ends: tuple[tuple[int, int], tuple[int, int]] | None  # (stamp, index) of the highest and lowest cut
