"""The old part of a long history, kept as a few compact arrays and rendered entry by entry when read.

Simulating a million changes one by one takes the better part of a minute and holds a million objects. The
bulk of a long history is read rarely and never changes, so it needs no simulation: per entry it keeps only
a time offset, an id and which of a few thousand event templates it repeats. The templates are real changes
the account's ``World`` made (its own members, records and addresses), so every entry looks like one the
world would write, and an entry about a record that still exists shows that record as it is now.

The timing keeps the world's tie structure (two entries in five share the second of the one before),
with shorter quiet spells, so that a million entries span a few years rather than a lifetime. Ids grow
as a database sequence shared with other accounts does, with gaps, and within a second their order is
shuffled: the stored order of a run of equal timestamps is not the id order.
"""

from __future__ import annotations

import bisect
import random
import sys
from array import array
from dataclasses import dataclass
from itertools import accumulate, islice

from ._json import dumps
from ._records import Record
from ._world import Draft

_SLOTS = 1 << 16
# Share of entries stamped in the same second as the one before: the world's quiet-time steps tie about
# a third, and its events of several rows (an inbox with its members) bring the share to about two in five.
_TIED = 0.4
_ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _table(bands: tuple[tuple[float, int, int], ...]) -> list[int]:
    """A lookup from 16 random bits to a step: each band takes its share of slots, spread over lo..hi."""
    table: list[int] = []
    start = 0
    for index, (share, lo, hi) in enumerate(bands):
        end = _SLOTS if index == len(bands) - 1 else start + round(share * _SLOTS)
        width = end - start
        table += [lo + (slot * (hi - lo + 1)) // width for slot in range(width)]
        start = end
    return table


# Seconds from one entry to the next: a third tied, then bursts, busy minutes and quiet spells.
_GAPS = _table(((_TIED, 0, 0), (0.2, 1, 5), (0.25, 6, 120), (0.15, 121, 1200)))
_TIED_BELOW = round(_TIED * _SLOTS)
# Id steps: consecutive three times in five, else other accounts took some of the sequence in between.
_ID_STEPS = _table(((0.6, 1, 1), (0.4, 2, 40)))


def _u16(rng: random.Random, count: int) -> array[int]:
    values = array("H", rng.randbytes(2 * count))
    if sys.byteorder == "big":
        # The same seed gives the same history on every machine.
        values.byteswap()
    return values


def archive_offsets(seed: int, count: int) -> array[int]:
    """Seconds from the oldest archived entry to each, oldest first: a function of the seed alone."""
    rng = random.Random(f"chatwoot-audit:{seed}:archive:time")
    steps = _u16(rng, max(0, count - 1))
    return array("q", islice(accumulate(map(_GAPS.__getitem__, steps), initial=0), count))


@dataclass(frozen=True)
class _Template:
    """One change the world made, encoded around what differs from entry to entry."""

    head: bytes
    record: Record | None
    middle: bytes
    tail: bytes

    @classmethod
    def of(cls, draft: Draft) -> _Template:
        fields = draft.fields
        head = dumps({key: fields[key] for key in ("auditable_id", "auditable_type")})[1:-1]
        keys = ("associated_id", "associated_type", "user_id", "user_type", "username", "action")
        middle = dumps({key: fields[key] for key in (*keys, "audited_changes", "version", "comment")})[1:-1]
        return cls(
            head=b"," + head + b',"auditable":',
            record=draft.record,
            middle=b"," + middle + b',"request_uuid":"',
            tail=b"," + dumps({"remote_address": fields["remote_address"]})[1:],
        )


class Archive:
    """``len(offsets)`` entries, oldest first, each rendered from its template, id, stamp and index."""

    def __init__(self, seed: int, base: int, offsets: array[int], first_id: int, drafts: list[Draft]) -> None:
        count = len(offsets)
        rng = random.Random(f"chatwoot-audit:{seed}:archive:ids")
        # Sixteen random bytes an entry: what a request id is made of, drawn in one go (cheaper than a draw
        # per read, and an entry says the same on every read).
        self._uuids = random.Random(f"chatwoot-audit:{seed}:archive:uuid").randbytes(16 * count)
        self._base = base
        self._offsets = offsets
        steps = map(_ID_STEPS.__getitem__, _u16(rng, count))
        self._sorted_ids = array("q", islice(accumulate(steps, initial=first_id), 1, None))
        self._ids = array("q", self._sorted_ids)
        # Swapping neighbours that share a second, left to right, lets an id wander anywhere in its run.
        flips = rng.randbytes(count)
        ids = self._ids
        for index in [i for i in range(1, count) if offsets[i] == offsets[i - 1] and flips[i] & 1]:
            ids[index - 1], ids[index] = ids[index], ids[index - 1]
        self._templates = [_Template.of(draft) for draft in drafts]
        picks = _u16(rng, count)
        self._picks = array("H", map(len(drafts).__rmod__, picks)) if drafts else array("H")

    def __len__(self) -> int:
        return len(self._offsets)

    @property
    def max_id(self) -> int:
        """The largest archived id (0 when empty)."""
        return self._sorted_ids[-1] if self._sorted_ids else 0

    @property
    def newest(self) -> int | None:
        """The newest archived ``created_at``."""
        return self._base + self._offsets[-1] if self._offsets else None

    def has_id(self, entry_id: int) -> bool:
        """Whether an archived entry has this id."""
        index = bisect.bisect_left(self._sorted_ids, entry_id)
        return index < len(self._sorted_ids) and self._sorted_ids[index] == entry_id

    def id(self, index: int) -> int:
        """The id of entry ``index`` (oldest first)."""
        return self._ids[index]

    def created_at(self, index: int) -> int:
        """The ``created_at`` of entry ``index`` (oldest first)."""
        return self._base + self._offsets[index]

    def count_before(self, created_at: int) -> int:
        """How many archived entries are older than ``created_at``."""
        return bisect.bisect_left(self._offsets, created_at - self._base)

    def render(self, index: int) -> bytes:
        """Entry ``index`` as the API sends it now."""
        template = self._templates[self._picks[index]]
        auditable = template.record.auditable_json() if template.record is not None else b"null"
        return b'{"id":%d%s%s%s%s","created_at":%d%s' % (
            self._ids[index],
            template.head,
            auditable,
            template.middle,
            self._request_uuid(index),
            self._base + self._offsets[index],
            template.tail,
        )

    def _request_uuid(self, index: int) -> bytes:
        raw = self._uuids[16 * index : 16 * index + 16]
        roll = raw[0] * 100 >> 8
        if roll < 85:
            text = raw.hex()
            variant = "89ab"[raw[8] >> 6]
            return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}".encode()
        if roll < 90:
            return b"req-" + raw[1:7].hex().encode()
        if roll < 95:
            return ("01J" + "".join(_ULID[byte & 31] for byte in raw[:7] + raw)).encode()
        return raw[8:].hex().encode()
