"""The stored entries, newest first, and how a page of them is cut and rendered.

Entries are kept sorted by ``created_at`` descending. Among entries of the same second the order is a
hidden random key, not the id: the real server has no tie-breaker, and a client must not come to rely on
one. With unstable ties, each request reshuffles every run of equal timestamps it touches, seeded by the
request number, so a run is reproducible while consecutive requests disagree.

Ids are unique but not in ``created_at`` order: an entry that commits late takes an id its transaction
could have drawn from the sequence when it was inserted, usually below ids that became visible before it.

A long history keeps its old part in an ``Archive`` (compact, rendered when read) and everything else, the
recent part and whatever is written later, as ``Entry`` objects. The two are merged by position: each
stored entry remembers how many archived entries sort before it, which never changes, so the place of any
position in the merged list is a binary search away and a page costs its size plus a logarithm.
"""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._archive import Archive
from ._json import JSON, dumps
from ._records import Record

KEYS = (
    "id",
    "auditable_id",
    "auditable_type",
    "auditable",
    "associated_id",
    "associated_type",
    "user_id",
    "user_type",
    "username",
    "action",
    "audited_changes",
    "version",
    "comment",
    "request_uuid",
    "created_at",
    "remote_address",
)
_HEAD_KEYS = KEYS[:3]
_NEIGHBOURS = 8


@dataclass(eq=False)
class Entry:
    """A stored entry, pre-encoded around its ``auditable``, which is rendered when read."""

    id: int
    created_at: int
    head: bytes
    tail: bytes
    record: Record | None
    auditable: bytes

    @classmethod
    def build(cls, fields: JSON, record: Record | None, auditable: Any = None) -> Entry:
        """Encode ``fields`` (every key but ``auditable``, plus any extra keys, in order)."""
        head = {key: fields[key] for key in _HEAD_KEYS}
        tail = {key: value for key, value in fields.items() if key not in _HEAD_KEYS}
        return cls(
            id=fields["id"],
            created_at=fields["created_at"],
            head=dumps(head)[:-1] + b',"auditable":',
            tail=b"," + dumps(tail)[1:],
            record=record,
            auditable=b"null" if record is not None else dumps(auditable),
        )

    def render(self) -> bytes:
        """The entry's JSON as the API sends it now."""
        auditable = self.record.auditable_json() if self.record is not None else self.auditable
        return self.head + auditable + self.tail

    def as_dict(self) -> JSON:
        """The entry as the client would decode it."""
        result: JSON = json.loads(self.render())
        return result


class EntryStore:
    """Entries newest first, with the page arithmetic Kaminari does (offset and limit).

    Kept oldest first internally, so that new entries, the common case, are appended rather than inserted.
    Positions below are oldest first too, over the archive and the stored entries merged.
    """

    def __init__(self, seed: int, archive: Archive | None = None) -> None:
        self._seed = seed
        self._archive = archive
        self._keys: list[tuple[int, float, int]] = []
        self._entries: list[Entry] = []
        # For each stored entry, how many archived entries sort before it.
        self._ranks: list[int] = []
        self._ids: set[int] = set()
        self._max_id = archive.max_id if archive is not None else 0
        self._ties = random.Random(f"chatwoot-audit:{seed}:ties")

    def __len__(self) -> int:
        return len(self._entries) + (len(self._archive) if self._archive is not None else 0)

    def __iter__(self) -> Iterator[bytes]:
        """Every entry rendered now, newest first."""
        high = len(self)
        while high > 0:
            low = max(0, high - 1024)
            items = self._items(low, high)
            items.reverse()
            yield from map(self._render, items)
            high = low

    def __contains__(self, entry_id: object) -> bool:
        if entry_id in self._ids:
            return True
        return self._archive is not None and isinstance(entry_id, int) and self._archive.has_id(entry_id)

    @property
    def newest(self) -> int | None:
        """The largest ``created_at`` stored, if any."""
        newest = self._entries[-1].created_at if self._entries else None
        archived = self._archive.newest if self._archive is not None else None
        if newest is None or archived is None:
            return archived if newest is None else newest
        return max(newest, archived)

    @property
    def max_id(self) -> int:
        """The largest id stored (0 when empty)."""
        return self._max_id

    def add(self, entry: Entry) -> None:
        """Store ``entry`` in its place by ``created_at``; its place among equal timestamps is random."""
        if entry.id in self:
            raise ValueError(f"an entry with id {entry.id} already exists")
        key = (entry.created_at, self._ties.random(), entry.id)
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._entries.insert(index, entry)
        self._ranks.insert(index, self._rank(key))
        self._ids.add(entry.id)
        self._max_id = max(self._max_id, entry.id)

    def free_id_near(self, created_at: int, rng: random.Random) -> int:
        """An unused id such as the database sequence handed out when an entry of ``created_at`` was inserted.

        Drawn below the id of the next newer entry and above the ids of a few just older ones, when they
        leave room; else anywhere above those older ids; a new largest id only when a few draws find nothing.
        """
        older = self._count_before(created_at)
        newer = self._count_before(created_at + 1)
        # Ids are consecutive about three times in five: past a few older neighbours there is almost always
        # a free one, and it still belongs to the same stretch of time.
        low = min((self._id(item) for item in self._items(max(0, older - _NEIGHBOURS), older)), default=0)
        high = self._id(self._items(newer, newer + 1)[0]) if newer < len(self) else self._max_id + 1
        for first, last in ((low + 1, high - 1), (low + 1, self._max_id)):
            if first > last:
                continue
            for _ in range(8):
                candidate = rng.randint(first, last)
                if candidate not in self:
                    return candidate
        return self._max_id + 1

    def page(self, offset: int, limit: int, shuffle: int | None = None) -> list[bytes]:
        """``limit`` entries after ``offset``, newest first, rendered; with ``shuffle`` (a request number)
        ties reorder."""
        size = len(self)
        if offset >= size:
            return []
        high = size - offset
        low = max(0, high - limit)
        if shuffle is None:
            items = self._items(low, high)
            items.reverse()
            return [self._render(item) for item in items]
        # Only the runs of equal timestamps that overlap the page matter: widen the slice to whole runs.
        start = self._count_before(self._stamp(self._items(low, low + 1)[0]))
        stop = self._count_before(self._stamp(self._items(high - 1, high)[0]) + 1)
        window = self._items(start, stop)
        window.reverse()
        stamps = [self._stamp(item) for item in window]
        shuffled: list[Entry | int] = []
        run_start = 0
        for index in range(1, len(window) + 1):
            if index == len(window) or stamps[index] != stamps[run_start]:
                run = window[run_start:index]
                if len(run) > 1:
                    # Seeded by the request and the second, so each run's order is one permutation per request.
                    random.Random(f"{self._seed}:{shuffle}:{stamps[run_start]}").shuffle(run)
                shuffled += run
                run_start = index
        first = stop - high
        return [self._render(item) for item in shuffled[first : first + high - low]]

    # ---- positions over the archive and the stored entries merged ---------------------------------
    # An item is a stored ``Entry`` or the index of an archived entry.

    def _rank(self, key: tuple[int, float, int]) -> int:
        archive = self._archive
        if archive is None:
            return 0
        created_at, tie, _ = key
        before = archive.count_before(created_at)
        run = archive.count_before(created_at + 1) - before
        # Among archived entries of the same second, the hidden tie key picks one of the gaps uniformly.
        return before + int(tie * (run + 1))

    def _count_before(self, created_at: int) -> int:
        stored = bisect.bisect_left(self._keys, (created_at,))
        return stored + (self._archive.count_before(created_at) if self._archive is not None else 0)

    def _items(self, low: int, high: int) -> list[Entry | int]:
        """The items at positions ``low`` to ``high`` (excluded), oldest first."""
        items: list[Entry | int] = []
        if self._archive is None:
            items += self._entries[low:high]
            return items
        ranks = self._ranks
        # A stored entry's position is its index plus its rank, which grows strictly with the index.
        stored = bisect.bisect_left(range(len(ranks)), low, key=lambda index: index + ranks[index])
        archived = low - stored
        for position in range(low, high):
            if stored < len(ranks) and stored + ranks[stored] == position:
                items.append(self._entries[stored])
                stored += 1
            else:
                items.append(archived)
                archived += 1
        return items

    def _render(self, item: Entry | int) -> bytes:
        if isinstance(item, Entry):
            return item.render()
        assert self._archive is not None
        return self._archive.render(item)

    def _stamp(self, item: Entry | int) -> int:
        if isinstance(item, Entry):
            return item.created_at
        assert self._archive is not None
        return self._archive.created_at(item)

    def _id(self, item: Entry | int) -> int:
        if isinstance(item, Entry):
            return item.id
        assert self._archive is not None
        return self._archive.id(item)
