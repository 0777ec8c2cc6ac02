"""An audited record of the account: its current attributes, its audit counter and whether it exists.

A record's ``auditable`` is rendered when the page is read, not when the entry was written: every entry of a
record shows the record as it is now, and ``null`` once it is gone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ._catalog import MUTATORS, STRING_ENUMS_ON_DESTROY, different, public_view
from ._json import JSON, dumps


@dataclass(eq=False)
class Record:
    """One audited row: its current attributes, its audit counter and whether it still exists."""

    type: str
    id: int
    attrs: JSON
    version: int = 0
    alive: bool = True
    _json: bytes | None = field(default=None, repr=False)

    def auditable_json(self) -> bytes:
        """The ``auditable`` value every entry of this record shows right now."""
        if self._json is None:
            view = public_view(self.type, self.id, self.attrs) if self.alive else None
            self._json = dumps(view)
        return self._json

    def changed(self) -> None:
        """Forget the cached rendering after ``attrs`` or ``alive`` changed."""
        self._json = None

    def created_changes(self) -> JSON:
        """``audited_changes`` of a create row: every audited column (the id is not audited)."""
        return {key: value for key, value in self.attrs.items() if key != "id"}

    def destroyed_changes(self) -> JSON:
        """``audited_changes`` of a destroy row: the last attributes, with some enums as names."""
        changes = self.created_changes()
        for name, names in STRING_ENUMS_ON_DESTROY.get(self.type, {}).items():
            if isinstance(changes.get(name), int):
                changes[name] = names.get(changes[name], str(changes[name]))
        return changes

    def update(self, rng: random.Random) -> JSON:
        """Change one or two attributes and return them as ``{name: [old, new]}``."""
        mutators = MUTATORS[self.type]
        names = rng.sample(sorted(mutators), k=min(len(mutators), rng.choice((1, 1, 1, 2))))
        changes: JSON = {}
        for name in names:
            old = self.attrs.get(name)
            new = mutators[name](rng, old)
            if new == old:
                continue
            changes[name] = [old, new]
            self.attrs[name] = new
        if not changes:
            # Every mutator can produce its old value; a no-op update is never audited, so force one.
            name = names[0]
            old = self.attrs.get(name)
            new = different(rng, old)
            changes[name] = [old, new]
            self.attrs[name] = new
        self.changed()
        return changes
