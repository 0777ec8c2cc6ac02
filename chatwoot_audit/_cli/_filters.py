"""``--action``, ``--type`` and ``--user``: which entries to keep. Pure.

Each flag may be repeated and takes comma-separated values: ``--action create,update --action sign_in``.
Values of one flag are alternatives (any may match); different flags must all match. Matching ignores
case. Chatwoot's API has no filters, so every entry is still read; only the output is filtered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._models import AuditAction, AuditLog
from ._exits import UsageError

__all__ = ["KNOWN_TYPES", "EntryFilter", "build_filter", "split_values"]

# What Chatwoot is known to write (Label only on old databases): for warnings about likely typos, not a limit.
KNOWN_TYPES = (
    "Account",
    "AccountUser",
    "AgentBot",
    "AutomationRule",
    "Conversation",
    "Inbox",
    "InboxMember",
    "Label",
    "Macro",
    "SlaPolicy",
    "Team",
    "TeamMember",
    "User",
    "Webhook",
)


def split_values(values: Iterable[str] | None, flag: str) -> list[str]:
    """The values of a repeatable, comma-separated flag, stripped, in order, without repeats."""
    if values is None:
        return []
    out: list[str] = []
    for raw in values:
        parts = [part.strip() for part in raw.split(",")]
        if not any(parts):
            raise UsageError(f"{flag} needs a value (several: {flag} a,b or {flag} a {flag} b)")
        out += [part for part in parts if part and part not in out]
    return out


@dataclass(frozen=True)
class EntryFilter:
    """Keeps the entries whose action, auditable type and user are among those asked for (all, if none)."""

    actions: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()
    user_ids: frozenset[int] = frozenset()
    usernames: frozenset[str] = frozenset()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def active(self) -> bool:
        """Whether any entry can be left out."""
        return bool(self.actions or self.types or self.user_ids or self.usernames)

    def matches(self, log: AuditLog) -> bool:
        """Whether ``log`` passes every flag that was given."""
        if self.actions and log.action.lower() not in self.actions:
            return False
        if self.types and (log.auditable_type or "").lower() not in self.types:
            return False
        if self.user_ids or self.usernames:
            by_id = log.user_id is not None and log.user_id in self.user_ids
            by_name = log.username is not None and log.username.lower() in self.usernames
            if not (by_id or by_name):
                return False
        return True

    def describe(self) -> dict[str, Any]:
        """The filter as JSON-ready sorted lists, to compare two runs' parameters."""
        return {
            "actions": sorted(self.actions),
            "types": sorted(self.types),
            "user_ids": sorted(self.user_ids),
            "usernames": sorted(self.usernames),
        }


def build_filter(
    actions: Sequence[str] | None, types: Sequence[str] | None, users: Sequence[str] | None
) -> EntryFilter:
    """The filter for the raw flag values; a user given as digits is a user id, anything else a username."""
    action_values = [value.lower() for value in split_values(actions, "--action")]
    type_values = [value.lower() for value in split_values(types, "--type")]
    user_values = split_values(users, "--user")
    user_ids = frozenset(int(value) for value in user_values if value.isascii() and value.isdigit())
    usernames = frozenset(value.lower() for value in user_values if not (value.isascii() and value.isdigit()))
    warnings: list[str] = []
    known_actions = {action.value for action in AuditAction}
    unknown = [value for value in action_values if value not in known_actions]
    if unknown:
        warnings.append(
            f"--action {', '.join(unknown)}: not an action Chatwoot is known to write "
            f"({', '.join(sorted(known_actions))}); kept in case a newer server does"
        )
    known_types = {kind.lower() for kind in KNOWN_TYPES}
    unknown = [value for value in type_values if value not in known_types]
    if unknown:
        warnings.append(
            f"--type {', '.join(unknown)}: not an auditable type Chatwoot is known to write "
            f"({', '.join(KNOWN_TYPES)}); kept in case a newer server does"
        )
    return EntryFilter(
        actions=frozenset(action_values),
        types=frozenset(type_values),
        user_ids=user_ids,
        usernames=usernames,
        warnings=tuple(warnings),
    )
