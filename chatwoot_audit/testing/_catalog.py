"""What the emulator knows about each auditable type: its attributes, enums, changes and public view.

Chatwoot renders some enums as integers (in ``audited_changes``) and others as names (in ``auditable``
and in some destroy rows); dates inside ``audited_changes`` are ISO-8601 strings, SLA thresholds floats.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._json import JSON

ROLE = {0: "agent", 1: "administrator"}
AVAILABILITY = {0: "online", 1: "offline", 2: "busy"}
VISIBILITY = {0: "personal", 1: "global"}
SENDER_NAME = {0: "friendly", 1: "professional"}
CONVERSATION_STATUS = {0: "open", 1: "resolved", 2: "pending", 3: "snoozed"}

# The reference lists these as always rendering a null ``auditable``; Label has no public view either.
ALWAYS_NULL = frozenset(
    {
        "Account",
        "AutomationRule",
        "Conversation",
        "Inbox",
        "InboxMember",
        "Label",
        "Macro",
        "SlaPolicy",
        "TeamMember",
        "Webhook",
    }
)

# Destroy rows of these types carry enum names instead of their integers, as some real rows do.
STRING_ENUMS_ON_DESTROY: dict[str, dict[str, dict[int, str]]] = {
    "AccountUser": {"role": ROLE, "availability": AVAILABILITY},
    "Macro": {"visibility": VISIBILITY},
    "Inbox": {"sender_name_type": SENDER_NAME},
    "Conversation": {"status": CONVERSATION_STATUS},
}


def iso(seconds: int, millis: int = 0) -> str:
    """A timestamp as Rails writes it inside ``audited_changes``."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def public_view(kind: str, record_id: int, attrs: JSON) -> JSON | None:
    """The ``auditable`` of an existing record, or ``None`` for the types that always render null."""
    if kind in ALWAYS_NULL:
        return None
    if kind == "AccountUser":
        return {
            "id": record_id,
            "availability": AVAILABILITY.get(attrs["availability"], "online"),
            "role": ROLE.get(attrs["role"], "agent"),
            "user_id": attrs["user_id"],
        }
    if kind == "AgentBot":
        return {"id": record_id, "name": attrs["name"], "avatar_url": "", "type": "agent_bot"}
    if kind == "Team":
        return {"id": record_id, "name": attrs["name"]}
    if kind == "User":
        return {
            "id": record_id,
            "name": attrs["name"],
            "available_name": attrs["display_name"] or attrs["name"],
            "avatar_url": "",
            "type": "user",
            "availability_status": AVAILABILITY.get(attrs["availability"], "online"),
            "thumbnail": "",
        }
    return {"id": record_id, **{key: value for key, value in attrs.items() if key != "id"}}


def different(rng: random.Random, old: Any) -> Any:
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return old + rng.randint(1, 5)
    if isinstance(old, str):
        return old + " (2)"
    return f"value-{rng.randint(1, 999)}"


def _flip(_rng: random.Random, old: Any) -> Any:
    return not old


def _enum(size: int) -> Callable[[random.Random, Any], Any]:
    def pick(rng: random.Random, old: Any) -> Any:
        return rng.choice([value for value in range(size) if value != old])

    return pick


def _one_of(*choices: Any) -> Callable[[random.Random, Any], Any]:
    def pick(rng: random.Random, old: Any) -> Any:
        return rng.choice([value for value in choices if value != old] or list(choices))

    return pick


def _renamed(rng: random.Random, old: Any) -> Any:
    base = str(old).split(" (")[0]
    return f"{base} ({rng.choice(('new', 'EU', 'v2', 'night shift', 'beta'))})"


def _minutes(rng: random.Random, _old: Any) -> Any:
    # SLA thresholds are stored as floats (seconds), and the audit keeps them as floats.
    return float(rng.choice((300, 900, 1800, 3600, 7200, 14400, 86400)))


def _text(rng: random.Random, _old: Any) -> Any:
    return rng.choice(
        (
            None,
            "Escalations from the enterprise plan",
            "Handles <billing> & refunds",
            "Übergabe an das Nachtteam",
            "Tickets in 日本語",
        )
    )


def _conditions(rng: random.Random, _old: Any) -> Any:
    value = rng.choice((["open"], ["pending", "snoozed"], ["vip"]))
    attribute = rng.choice(("status", "status", "labels"))
    return [{"attribute_key": attribute, "filter_operator": "equal_to", "values": value, "query_operator": None}]


def _actions(rng: random.Random, _old: Any) -> Any:
    # Two actions make a two-element list: a create row whose value looks like an [old, new] pair.
    pool = [
        {"action_name": "assign_team", "action_params": [rng.randint(1, 9)]},
        {"action_name": "add_label", "action_params": [rng.choice(("billing", "vip", "bug"))]},
        {"action_name": "resolve_conversation", "action_params": None},
        {"action_name": "send_message", "action_params": ["We are on it & will reply soon."]},
    ]
    return rng.sample(pool, k=rng.choice((1, 2, 2)))


def _subscriptions(rng: random.Random, _old: Any) -> Any:
    events = ["conversation_created", "conversation_status_changed", "message_created", "contact_updated"]
    return sorted(rng.sample(events, k=rng.randint(1, len(events))))


def _url(rng: random.Random, _old: Any) -> Any:
    return f"https://hooks.{rng.choice(('example.com', 'example.net', 'example.org'))}/chatwoot/{rng.randint(1, 999)}"


def _active_at(rng: random.Random, _old: Any) -> Any:
    return iso(1_780_000_000 + rng.randint(0, 3_000_000), rng.randint(0, 999))


MUTATORS: dict[str, dict[str, Callable[[random.Random, Any], Any]]] = {
    "Account": {
        "name": _renamed,
        "locale": _enum(40),
        "auto_resolve_duration": _one_of(None, 7, 14, 30),
        "support_email": _one_of("help@example.com", "support@example.com", None),
    },
    "AccountUser": {
        "role": _enum(2),
        "availability": _enum(3),
        "auto_offline": _flip,
        "active_at": _active_at,
    },
    "AgentBot": {"name": _renamed, "description": _text, "outgoing_url": _url},
    "AutomationRule": {"name": _renamed, "active": _flip, "conditions": _conditions, "actions": _actions},
    "Inbox": {
        "name": _renamed,
        "enable_auto_assignment": _flip,
        "greeting_enabled": _flip,
        "sender_name_type": _enum(2),
        "working_hours_enabled": _flip,
    },
    "Label": {"description": _text, "color": _one_of("#1f93ff", "#ff6b6b", "#2ecc71", "#f1c40f")},
    "Macro": {"name": _renamed, "visibility": _enum(2), "actions": _actions},
    "SlaPolicy": {
        "first_response_time_threshold": _minutes,
        "resolution_time_threshold": _minutes,
        "only_during_business_hours": _flip,
        "description": _text,
    },
    "Team": {"name": _renamed, "description": _text, "allow_auto_assign": _flip},
    "User": {"display_name": _renamed, "availability": _enum(3)},
    "Webhook": {"url": _url, "subscriptions": _subscriptions, "name": _renamed},
}

UPDATABLE = frozenset(MUTATORS)


_TEAMS = ("Billing & Payments", "Tier 2", "Équipe Facturation", "サポート", "Onboarding", "VIP desk")
_INBOXES = (
    ("Website chat", "Channel::WebWidget"),
    ("Support email", "Channel::Email"),
    ("API intake", "Channel::Api"),
    ("WhatsApp", "Channel::Whatsapp"),
    ("Telegram", "Channel::Telegram"),
)


@dataclass(frozen=True)
class Context:
    """What a new record's attributes depend on besides randomness."""

    account_id: int
    domain: str
    now: int
    admin_id: int
    user_ids: list[int] = field(default_factory=list)


def new_attrs(kind: str, rng: random.Random, ctx: Context) -> JSON:
    """The attributes of a new record of ``kind`` (without its id)."""
    attrs: JSON
    if kind == "AgentBot":
        attrs = {
            "name": rng.choice(("Triage bot", "FAQ bot", "Order status bot")),
            "description": rng.choice((None, "Answers the easy questions first")),
            "outgoing_url": f"https://bots.{ctx.domain}/hook/{rng.randint(1, 99)}",
            "account_id": ctx.account_id,
            "bot_type": 0,
            "bot_config": {},
        }
    elif kind == "AutomationRule":
        attrs = {
            "account_id": ctx.account_id,
            "name": rng.choice(("Route VIPs", "Auto-resolve stale", "Tag billing")),
            "description": rng.choice((None, "Keeps the queue short")),
            "event_name": rng.choice(("conversation_created", "message_created", "conversation_updated")),
            "conditions": _pick_conditions(rng),
            "actions": _pick_actions(rng),
            "active": True,
        }
    elif kind == "Conversation":
        opened = ctx.now - rng.randint(86_400, 90 * 86_400)
        attrs = {
            "account_id": ctx.account_id,
            "inbox_id": rng.randint(1, 40),
            "status": rng.choice((0, 1, 1, 2)),
            "assignee_id": rng.choice([None, *ctx.user_ids]),
            "contact_id": rng.randint(1000, 90_000),
            "display_id": rng.randint(1, 20_000),
            "team_id": None,
            "priority": rng.choice((None, 0, 2)),
            "additional_attributes": {"browser": {"browser_name": "Firefox"}} if rng.random() < 0.5 else {},
            "custom_attributes": {},
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "created_at": iso(opened, rng.randint(0, 999)),
            "last_activity_at": iso(opened + rng.randint(60, 86_400), rng.randint(0, 999)),
        }
    elif kind == "Inbox":
        name, channel = rng.choice(_INBOXES)
        attrs = {
            "account_id": ctx.account_id,
            "name": name,
            "channel_type": channel,
            "channel_id": rng.randint(1, 300),
            "enable_auto_assignment": True,
            "greeting_enabled": False,
            "greeting_message": None,
            "working_hours_enabled": False,
            "timezone": rng.choice(("UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Tokyo")),
            "sender_name_type": 0,
            "allow_messages_after_resolved": True,
        }
    elif kind == "Label":
        attrs = {
            "title": rng.choice(("billing", "vip", "bug", "feature-request")),
            "description": None,
            "color": "#1f93ff",
            "show_on_sidebar": True,
            "account_id": ctx.account_id,
        }
    elif kind == "Macro":
        attrs = {
            "account_id": ctx.account_id,
            "name": rng.choice(("Close & tag", "Escalate to tier 2", "Send refund steps")),
            "visibility": rng.choice((0, 1)),
            "created_by_id": ctx.admin_id,
            "updated_by_id": ctx.admin_id,
            "actions": _pick_actions(rng),
        }
    elif kind == "SlaPolicy":
        attrs = {
            "account_id": ctx.account_id,
            "name": rng.choice(("Standard", "Enterprise", "Priority")),
            "description": None,
            "first_response_time_threshold": float(rng.choice((900, 1800, 3600))),
            "next_response_time_threshold": float(rng.choice((3600, 7200))),
            "resolution_time_threshold": float(rng.choice((86_400, 172_800))),
            "only_during_business_hours": rng.random() < 0.5,
        }
    elif kind == "Team":
        attrs = {
            "name": rng.choice(_TEAMS),
            "description": rng.choice((None, "Second line")),
            "allow_auto_assign": True,
            "account_id": ctx.account_id,
        }
    elif kind == "Webhook":
        attrs = {
            "account_id": ctx.account_id,
            "inbox_id": None,
            "url": f"https://hooks.example.com/chatwoot/{rng.randint(1, 999)}",
            "subscriptions": ["conversation_created", "message_created"],
            "webhook_type": 0,
            "name": rng.choice((None, "SIEM forwarder")),
        }
    else:
        raise ValueError(f"no factory for {kind}")
    return attrs


def _pick_conditions(rng: random.Random) -> list[JSON]:
    return [{"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": None}] + (
        [
            {
                "attribute_key": "labels",
                "filter_operator": "contains",
                "values": ["vip", "billing"],
                "query_operator": None,
            }
        ]
        if rng.random() < 0.5
        else []
    )


def _pick_actions(rng: random.Random) -> list[JSON]:
    # Usually two actions: a list of two looks like an [old, new] pair but is a plain create value.
    pool: list[JSON] = [
        {"action_name": "assign_team", "action_params": [rng.randint(1, 9)]},
        {"action_name": "add_label", "action_params": ["billing"]},
        {"action_name": "resolve_conversation", "action_params": None},
    ]
    return rng.sample(pool, k=rng.choice((1, 2, 2, 2)))
