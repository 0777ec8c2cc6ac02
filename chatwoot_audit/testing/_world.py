"""A seeded simulation of one Chatwoot account whose changes produce audit entries.

Everything comes from one ``random.Random`` seeded by the emulator's seed, so the same seed and the same
sequence of calls produce the same entries. The first events walk a shuffled list that writes every
auditable type and action the real server is known to write (``COVERAGE``), then events are drawn by
weight, as in a busy account: sign-ins, agents changing availability, inboxes and teams being set up.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections import deque
from dataclasses import dataclass

from ._catalog import UPDATABLE, Context, iso, new_attrs
from ._json import JSON
from ._records import Record

ACCOUNT_TYPES = (
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

# Every (action, type) pair the real server is known to write, plus one change made by the system.
COVERAGE: tuple[tuple[str, str], ...] = (
    ("update", "Account"),
    *(
        (action, kind)
        for kind in ("AccountUser", "AgentBot", "AutomationRule", "Inbox")
        for action in ("create", "update", "destroy")
    ),
    *(
        (action, kind)
        for kind in ("Macro", "SlaPolicy", "Team", "Webhook")
        for action in ("create", "update", "destroy")
    ),
    ("destroy", "Conversation"),
    ("create", "InboxMember"),
    ("destroy", "InboxMember"),
    ("create", "TeamMember"),
    ("destroy", "TeamMember"),
    ("sign_in", "User"),
    ("sign_out", "User"),
    ("update", "User"),
    ("create", "Label"),
    ("destroy", "Label"),
    ("system", "AccountUser"),
)

# Relative frequencies once coverage is done. Label is absent: only old databases hold Label rows.
_WEIGHTS: tuple[tuple[tuple[str, str], int], ...] = (
    (("sign_in", "User"), 14),
    (("sign_out", "User"), 8),
    (("update", "User"), 3),
    (("update", "AccountUser"), 6),
    (("create", "AccountUser"), 2),
    (("destroy", "AccountUser"), 1),
    (("update", "Account"), 2),
    (("create", "Inbox"), 2),
    (("update", "Inbox"), 5),
    (("destroy", "Inbox"), 1),
    (("create", "InboxMember"), 3),
    (("destroy", "InboxMember"), 2),
    (("create", "Team"), 2),
    (("update", "Team"), 3),
    (("destroy", "Team"), 1),
    (("create", "TeamMember"), 3),
    (("destroy", "TeamMember"), 2),
    (("create", "AgentBot"), 1),
    (("update", "AgentBot"), 2),
    (("destroy", "AgentBot"), 1),
    (("create", "AutomationRule"), 2),
    (("update", "AutomationRule"), 4),
    (("destroy", "AutomationRule"), 1),
    (("create", "Macro"), 2),
    (("update", "Macro"), 3),
    (("destroy", "Macro"), 1),
    (("create", "SlaPolicy"), 1),
    (("update", "SlaPolicy"), 2),
    (("destroy", "SlaPolicy"), 1),
    (("create", "Webhook"), 1),
    (("update", "Webhook"), 2),
    (("destroy", "Webhook"), 1),
    (("destroy", "Conversation"), 3),
    (("system", "AccountUser"), 2),
)
_EVENTS = [event for event, _ in _WEIGHTS]
_EVENT_WEIGHTS = [weight for _, weight in _WEIGHTS]

# How many of each record an account holds at most; memberships are bounded by members and groups.
_CAPS = {"AccountUser": 30, "Inbox": 10, "Team": 8, "InboxMember": 60, "TeamMember": 40, "Label": 12}

# Changes background jobs make: no user, no IP.
_SYSTEM_CAN = frozenset(
    {("update", "Inbox"), ("destroy", "Conversation"), ("update", "Account"), ("update", "AutomationRule")}
)

_FIRST = ("Ana", "Bruno", "Chloé", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kwame", "Lena")
_LAST = ("Silva", "Okafor", "Müller", "Tanaka", "Haddad", "Novak", "Larsen", "Moreau", "Kowalski", "Reyes")
_DOMAINS = ("acme.example", "globex.example", "initech.example", "hooli.example")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass(eq=False)
class Member:
    """A user of the account: who acts in the entries."""

    user: Record
    account_user: Record
    ip: str
    protected: bool = False

    @property
    def email(self) -> str:
        """The user's email: the ``username`` of the entries they cause."""
        return str(self.user.attrs["email"])

    @property
    def is_admin(self) -> bool:
        """Whether the user administers the account."""
        return bool(self.account_user.attrs["role"] == 1)


@dataclass
class Draft:
    """An entry before it is stored: every field but ``auditable``, and where ``auditable`` comes from."""

    fields: JSON
    record: Record | None


class World:
    """The account, its members and records, and a stream of audit entries they produce."""

    def __init__(self, seed: int, account_id: int, start_time: int) -> None:
        self.rng = random.Random(f"chatwoot-audit:{seed}:world")
        self.account_id = account_id
        self.now = start_time
        self.domain = self.rng.choice(_DOMAINS)
        self.next_id = self.rng.randint(100, 5000)
        self._ids: dict[str, int] = {kind: self.rng.randint(1, 40) for kind in ACCOUNT_TYPES}
        self._pending: deque[Draft] = deque()
        self._late: deque[Draft] = deque()
        self._coverage = list(COVERAGE)
        self.rng.shuffle(self._coverage)
        # Only records that still exist; entries keep references to the destroyed ones.
        self.records: dict[str, list[Record]] = {kind: [] for kind in ACCOUNT_TYPES}
        self.members: list[Member] = []
        self._next_user_id = self.rng.randint(1, 3)
        company = self.domain.split(".")[0].capitalize()
        self.account = self._record(
            "Account",
            {
                "id": account_id,
                "name": f"{company} Support",
                "locale": 0,
                "domain": f"support.{self.domain}",
                "support_email": f"support@{self.domain}",
                "auto_resolve_duration": None,
                "status": 0,
            },
            version=self.rng.randint(3, 8),
            record_id=account_id,
        )
        # The first two members hold the administrator and agent tokens and are never removed.
        for role in (1, 0, 1, 0, 0, 0):
            member = self._add_member(role, version=self.rng.randint(1, 9))
            member.protected = len(self.members) <= 2
        for kind in ("AgentBot", "AutomationRule", "Inbox", "Macro", "SlaPolicy", "Team", "Webhook", "Label"):
            for _ in range(2):
                self._new(kind, version=self.rng.randint(1, 5))
        for inbox in self.records["Inbox"]:
            for member in self.rng.sample(self.members, 2):
                self._record("InboxMember", {"user_id": member.user.id, "inbox_id": inbox.id}, version=1)
        for team in self.records["Team"]:
            for member in self.rng.sample(self.members, 2):
                self._record("TeamMember", {"team_id": team.id, "user_id": member.user.id}, version=1)

    # ---- the stream -------------------------------------------------------------------------------

    def take(self, count: int, *, arriving: bool) -> list[Draft]:
        """The next ``count`` entries, oldest first. ``arriving`` keeps the clock close to the newest entry."""
        while len(self._pending) < count:
            self._pending.extend(self._event(arriving=arriving))
        return [self._pending.popleft() for _ in range(count)]

    def take_late(self, count: int) -> list[Draft]:
        """The next ``count`` entries of transactions that commit late, oldest first; the clock stays put.

        Their ``created_at`` and ``id`` are the caller's to choose: both belong to the moment of the insert,
        which lies in the past. Entries of one event that are not needed yet wait for the next call.
        """
        while len(self._late) < count:
            self._late.extend(self._event(arriving=True, advance=False))
        return [self._late.popleft() for _ in range(count)]

    def history(self, count: int) -> list[Draft]:
        """At least ``count`` entries of whole events, oldest first, as models of a long past; the clock stays.

        Nothing is left pending: the next ``take`` starts with a new event.
        """
        drafts: list[Draft] = []
        while len(drafts) < count:
            drafts += self._event(arriving=False, advance=False)
        return drafts

    def request_uuid(self) -> str:
        """A request id: usually a UUID, sometimes the caller's own ``X-Request-Id``."""
        roll = self.rng.random()
        if roll < 0.85:
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if roll < 0.90:
            return f"req-{self.rng.getrandbits(48):012x}"
        if roll < 0.95:
            alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
            return "01J" + "".join(self.rng.choice(alphabet) for _ in range(23))
        return f"{self.rng.getrandbits(64):016x}"

    def user_ids(self) -> list[int]:
        """Ids of every user that has been a member of the account."""
        return [member.user.id for member in self.members]

    def admin(self) -> Member:
        """The member whose token is the administrator's."""
        return self.members[0]

    def agent(self) -> Member:
        """The member whose token is the agent's."""
        return self.members[1]

    def new_user_id(self) -> int:
        """An id for a user outside the account (the other accounts' users)."""
        self._next_user_id += self.rng.randint(1, 3)
        return self._next_user_id

    # ---- events -----------------------------------------------------------------------------------

    def _event(self, *, arriving: bool, advance: bool = True) -> list[Draft]:
        event = self._coverage.pop() if self._coverage else self.rng.choices(_EVENTS, weights=_EVENT_WEIGHTS)[0]
        if advance:
            self._advance(arriving)
        action, kind = event
        drafts = self._dispatch(action, kind)
        if not drafts:
            drafts = self._dispatch("sign_in", "User")
        return drafts

    def _advance(self, arriving: bool) -> None:
        if arriving:
            self.now += self.rng.choice((0, 0, 0, 1, 1, 2))
            return
        roll = self.rng.random()
        if roll < 0.35:
            return
        if roll < 0.6:
            self.now += self.rng.randint(1, 5)
        elif roll < 0.85:
            self.now += self.rng.randint(6, 600)
        else:
            self.now += self.rng.randint(601, 36_000)

    def _dispatch(self, action: str, kind: str) -> list[Draft]:
        actor = self._actor(system=(action, kind) in _SYSTEM_CAN and self.rng.random() < 0.25)
        request_uuid = self.request_uuid()
        if action == "system":
            return self._auto_offline(request_uuid)
        if action in ("sign_in", "sign_out"):
            member = self.rng.choice(self.members)
            return [self._draft(member.user, action, None, self._as(member), request_uuid, blank=True)]
        if action == "create":
            return self._create(kind, actor, request_uuid)
        if action == "update":
            return self._update(kind, actor, request_uuid)
        return self._destroy(kind, actor, request_uuid)

    def _create(self, kind: str, actor: JSON, request_uuid: str) -> list[Draft]:
        if len(self.records[kind]) >= _CAPS.get(kind, 12):
            # An account does not grow without bound: past a size, creating becomes rearranging.
            return self._update(kind, actor, request_uuid) if kind in UPDATABLE else []
        if kind == "AccountUser":
            member = self._add_member(0, version=0, inviter=actor["user_id"])
            return [
                self._draft(member.account_user, "create", member.account_user.created_changes(), actor, request_uuid)
            ]
        if kind in ("InboxMember", "TeamMember"):
            return self._join(kind, actor, request_uuid)
        record = self._new(kind, version=0)
        drafts = [self._draft(record, "create", record.created_changes(), actor, request_uuid)]
        if kind in ("Inbox", "Team") and not self._coverage:
            # Setting up an inbox or team adds its first members in the same request and second.
            for _ in range(self.rng.randint(0, 2)):
                drafts += self._join("InboxMember" if kind == "Inbox" else "TeamMember", actor, request_uuid, record)
        return drafts

    def _join(self, kind: str, actor: JSON, request_uuid: str, parent: Record | None = None) -> list[Draft]:
        parent_kind, key = ("Inbox", "inbox_id") if kind == "InboxMember" else ("Team", "team_id")
        parents = [parent] if parent else self._alive(parent_kind)
        if not parents:
            return []
        group = self.rng.choice(parents)
        taken = {rec.attrs["user_id"] for rec in self._alive(kind) if rec.attrs[key] == group.id}
        free = [member for member in self.members if member.user.id not in taken]
        if not free:
            return []
        user_id = self.rng.choice(free).user.id
        attrs = {"user_id": user_id, key: group.id} if kind == "InboxMember" else {key: group.id, "user_id": user_id}
        record = self._record(kind, attrs, version=0)
        return [self._draft(record, "create", record.created_changes(), actor, request_uuid)]

    def _update(self, kind: str, actor: JSON, request_uuid: str) -> list[Draft]:
        if kind == "User":
            member = self.rng.choice(self.members)
            changes = member.user.update(self.rng)
            return [self._draft(member.user, "update", changes, self._as(member), request_uuid)]
        candidates = self._alive(kind)
        if kind == "AccountUser":
            # The token holders keep their roles, so the data agrees with what their tokens may do.
            candidates = [rec for rec in candidates if id(rec) not in self._protected_account_users()]
        if not candidates:
            return []
        record = self.rng.choice(candidates)
        return [self._draft(record, "update", record.update(self.rng), actor, request_uuid)]

    def _destroy(self, kind: str, actor: JSON, request_uuid: str) -> list[Draft]:
        if kind == "Conversation":
            # Conversations are audited only when deleted, so each one appears once.
            record = self._new("Conversation", version=0)
            return [self._gone(record, actor, request_uuid)]
        candidates = self._alive(kind)
        if kind == "AccountUser":
            candidates = [rec for rec in candidates if id(rec) not in self._protected_account_users()]
        if not candidates:
            return []
        record = self.rng.choice(candidates)
        drafts: list[Draft] = []
        # Deleting an inbox or team deletes its memberships in the same request and second.
        if kind == "Inbox":
            drafts += [
                self._gone(rec, actor, request_uuid)
                for rec in self._alive("InboxMember")
                if rec.attrs["inbox_id"] == record.id
            ]
        if kind == "Team":
            drafts += [
                self._gone(rec, actor, request_uuid)
                for rec in self._alive("TeamMember")
                if rec.attrs["team_id"] == record.id
            ]
        if kind == "AccountUser":
            self.members = [member for member in self.members if member.account_user is not record]
        drafts.append(self._gone(record, actor, request_uuid))
        return drafts

    def _auto_offline(self, request_uuid: str) -> list[Draft]:
        # A background job marks idle agents offline, several rows in one second with no user and no IP.
        drafts = []
        for member in self.rng.sample(self.members, k=min(len(self.members), self.rng.randint(1, 3))):
            old = member.account_user.attrs["availability"]
            new = 1 if old != 1 else 0
            member.account_user.attrs["availability"] = new
            member.account_user.changed()
            changes = {"availability": [old, new]}
            drafts.append(self._draft(member.account_user, "update", changes, self._system(), request_uuid))
        return drafts

    def _gone(self, record: Record, actor: JSON, request_uuid: str) -> Draft:
        record.alive = False
        record.changed()
        self.records[record.type].remove(record)
        return self._draft(record, "destroy", record.destroyed_changes(), actor, request_uuid)

    # ---- actors -----------------------------------------------------------------------------------

    def _actor(self, *, system: bool) -> JSON:
        if system:
            return self._system()
        admins = [member for member in self.members if member.is_admin]
        return self._as(self.rng.choice(admins or self.members))

    def _as(self, member: Member) -> JSON:
        ip = member.ip if self.rng.random() < 0.9 else self._ip()
        return {"user_id": member.user.id, "user_type": "User", "username": member.email, "remote_address": ip}

    @staticmethod
    def _system() -> JSON:
        return {"user_id": None, "user_type": None, "username": None, "remote_address": None}

    def _ip(self) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            return f"2001:db8::{self.rng.getrandbits(16):x}:{self.rng.getrandbits(16):x}"
        prefix = self.rng.choice(("203.0.113", "198.51.100", "192.0.2"))
        return f"{prefix}.{self.rng.randint(1, 254)}"

    # ---- records ----------------------------------------------------------------------------------

    def _draft(
        self, record: Record, action: str, changes: JSON | None, actor: JSON, request_uuid: str, *, blank: bool = False
    ) -> Draft:
        record.version += 1
        self.next_id += 1 if self.rng.random() < 0.6 else self.rng.randint(2, 40)
        fields: JSON = {
            "id": self.next_id,
            "auditable_id": record.id,
            "auditable_type": record.type,
            "associated_id": self.account_id,
            "associated_type": "Account",
            "user_id": actor["user_id"],
            "user_type": actor["user_type"],
            "username": actor["username"],
            "action": action,
            "audited_changes": changes,
            "version": record.version,
            "comment": None,
            "request_uuid": request_uuid,
            "created_at": self.now,
            "remote_address": actor["remote_address"],
        }
        # sign_in and sign_out rows render no auditable even though the user exists.
        return Draft(fields=fields, record=None if blank else record)

    def _protected_account_users(self) -> set[int]:
        return {id(member.account_user) for member in self.members if member.protected}

    def _alive(self, kind: str) -> list[Record]:
        return list(self.records[kind])

    def _record(self, kind: str, attrs: JSON, *, version: int, record_id: int | None = None) -> Record:
        if record_id is None:
            self._ids[kind] += self.rng.randint(1, 3)
            record_id = self._ids[kind]
        record = Record(kind, record_id, {"id": record_id, **attrs}, version=version)
        self.records[kind].append(record)
        return record

    def _add_member(self, role: int, *, version: int, inviter: int | None = None) -> Member:
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        user_id = self.new_user_id()
        email = f"admin@{self.domain}" if not self.members else f"{_ascii(first)}.{_ascii(last)}{user_id}@{self.domain}"
        name = f"{first} {last}"
        user = self._record(
            "User",
            {"name": name, "display_name": None, "email": email, "availability": 0},
            version=max(version, 1),
            record_id=user_id,
        )
        account_user = self._record(
            "AccountUser",
            {
                "account_id": self.account_id,
                "user_id": user_id,
                "role": role,
                "inviter_id": inviter if inviter is not None else (self.members[0].user.id if self.members else None),
                "availability": self.rng.choice((0, 0, 1, 2)),
                "auto_offline": True,
                "active_at": iso(self.now - self.rng.randint(0, 86_400), self.rng.randint(0, 999)),
                "custom_role_id": None,
            },
            version=version,
        )
        member = Member(user=user, account_user=account_user, ip=self._ip())
        self.members.append(member)
        return member

    def _new(self, kind: str, *, version: int) -> Record:
        context = Context(self.account_id, self.domain, self.now, self.members[0].user.id, self.user_ids())
        return self._record(kind, new_attrs(kind, self.rng, context), version=version)
