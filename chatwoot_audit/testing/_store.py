"""The stored entries, newest first, and how a page of them is cut and rendered.

Entries are kept sorted by ``created_at`` descending. Among entries of the same second the order is a
hidden random key, not the id: the real server has no tie-breaker, and a client must not come to rely on
one. With unstable ties, each request reshuffles every run of equal timestamps it touches, seeded by the
request number, so a run is reproducible while consecutive requests disagree.

Ids are unique but not in ``created_at`` order: an entry that commits late takes an id its transaction
could have drawn from the sequence when it was inserted, usually below ids that became visible before it.
"""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._keys: list[tuple[int, float, int]] = []
        self._entries: list[Entry] = []
        self._ids: set[int] = set()
        self._max_id = 0
        self._ties = random.Random(f"chatwoot-audit:{seed}:ties")

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        """Newest first."""
        return iter(self._entries[::-1])

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._ids

    @property
    def newest(self) -> int | None:
        """The largest ``created_at`` stored, if any."""
        return self._entries[-1].created_at if self._entries else None

    @property
    def max_id(self) -> int:
        """The largest id stored (0 when empty)."""
        return self._max_id

    def add(self, entry: Entry) -> None:
        """Store ``entry`` in its place by ``created_at``; its place among equal timestamps is random."""
        if entry.id in self._ids:
            raise ValueError(f"an entry with id {entry.id} already exists")
        key = (entry.created_at, self._ties.random(), entry.id)
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._entries.insert(index, entry)
        self._ids.add(entry.id)
        self._max_id = max(self._max_id, entry.id)

    def free_id_near(self, created_at: int, rng: random.Random) -> int:
        """An unused id such as the database sequence handed out when an entry of ``created_at`` was inserted.

        Drawn below the id of the next newer entry and above the ids of a few just older ones, when they
        leave room; else anywhere above those older ids; a new largest id only when a few draws find nothing.
        """
        older = bisect.bisect_left(self._keys, (created_at,))
        newer = bisect.bisect_left(self._keys, (created_at + 1,))
        # Ids are consecutive about three times in five: past a few older neighbours there is almost always
        # a free one, and it still belongs to the same stretch of time.
        low = min((key[2] for key in self._keys[max(0, older - _NEIGHBOURS) : older]), default=0)
        high = self._keys[newer][2] if newer < len(self._keys) else self._max_id + 1
        for first, last in ((low + 1, high - 1), (low + 1, self._max_id)):
            if first > last:
                continue
            for _ in range(8):
                candidate = rng.randint(first, last)
                if candidate not in self._ids:
                    return candidate
        return self._max_id + 1

    def page(self, offset: int, limit: int, shuffle: int | None = None) -> list[Entry]:
        """``limit`` entries after ``offset``, newest first; with ``shuffle`` (a request number) ties reorder."""
        if offset >= len(self._entries):
            return []
        high = len(self._entries) - offset
        low = max(0, high - limit)
        if shuffle is None:
            return self._entries[low:high][::-1]
        # Only the runs of equal timestamps that overlap the page matter: widen the slice to whole runs.
        start = bisect.bisect_left(self._keys, (self._entries[low].created_at,))
        stop = bisect.bisect_left(self._keys, (self._entries[high - 1].created_at + 1,))
        window = self._entries[start:stop][::-1]
        shuffled: list[Entry] = []
        run_start = 0
        for index in range(1, len(window) + 1):
            if index == len(window) or window[index].created_at != window[run_start].created_at:
                run = window[run_start:index]
                # Seeded by the request and the second, so each run's order is one permutation per request.
                random.Random(f"{self._seed}:{shuffle}:{run[0].created_at}").shuffle(run)
                shuffled += run
                run_start = index
        first = stop - high
        return shuffled[first : first + high - low]
