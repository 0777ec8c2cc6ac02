"""Enum values by name: an AccountUser's role 0 -> 1 reads agent -> administrator."""

from __future__ import annotations

from typing import Any

import pytest
from _rows import ACCOUNT_USER_UPDATE, DESTROY_STRING_ENUMS

import chatwoot_audit
from chatwoot_audit import AVAILABILITY, ENUMS, ROLES, AuditAction, AuditLog
from chatwoot_audit.testing import Emulator
from chatwoot_audit.testing._catalog import STRING_ENUMS_ON_DESTROY


def update(kind: str, changes: dict[str, Any]) -> AuditLog:
    return AuditLog.from_dict({**ACCOUNT_USER_UPDATE, "auditable_type": kind, "audited_changes": changes})


def test_account_user_roles_and_availability() -> None:
    """0 agent, 1 administrator; 0 online, 1 offline, 2 busy: Chatwoot's AccountUser enums."""
    assert dict(ROLES) == {0: "agent", 1: "administrator"}
    assert dict(AVAILABILITY) == {0: "online", 1: "offline", 2: "busy"}
    assert ENUMS["AccountUser"]["role"] is ROLES
    assert ENUMS["AccountUser"]["availability"] is AVAILABILITY


def test_a_role_change_reads_by_name() -> None:
    """changes(named=True) gives the names; changes() still gives what the server sent."""
    log = AuditLog.from_dict(ACCOUNT_USER_UPDATE)
    assert log.changes() == {"role": (0, 1)}
    assert log.changes(named=True) == {"role": ("agent", "administrator")}
    field, (old, new) = next(iter(log.changes(named=True).items()))
    assert f"{field} {old} -> {new}" == "role agent -> administrator"


def test_availability_and_other_fields() -> None:
    """Every enum field of the type is named; other fields pass through as they are."""
    log = update("AccountUser", {"availability": [0, 2], "auto_offline": [True, False], "role": [1, 0]})
    assert log.changes(named=True) == {
        "availability": ("online", "busy"),
        "auto_offline": (True, False),
        "role": ("administrator", "agent"),
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ([0, 7], ("agent", 7)),  # a value a newer Chatwoot added keeps its integer
        (["agent", "administrator"], ("agent", "administrator")),  # already names
        ([None, 1], (None, "administrator")),
        ([False, True], (False, True)),  # a bool is never an enum value
        (1, (None, "administrator")),  # not an [old, new] pair: the value is kept as the new one
    ],
)
def test_values_without_a_name_are_kept(change: object, named: tuple[object, object]) -> None:
    """Only integers with a known name change; nothing is dropped or guessed."""
    assert update("AccountUser", {"role": change}).changes(named=True) == {"role": named}


def test_other_types_and_actions_are_untouched() -> None:
    """A type without enums keeps its integers; a destroy row has no changes to name (its values are names)."""
    assert update("Team", {"role": [0, 1]}).changes(named=True) == {"role": (0, 1)}
    destroy = AuditLog.from_dict(DESTROY_STRING_ENUMS)
    assert destroy.changes(named=True) == {}
    assert destroy.audited_changes is not None
    assert destroy.audited_changes["role"] in ROLES.values()
    assert destroy.audited_changes["availability"] in AVAILABILITY.values()


def test_the_tables_are_read_only() -> None:
    """The public tables cannot be changed by accident."""
    with pytest.raises(TypeError):
        ROLES[2] = "owner"  # type: ignore[index]
    with pytest.raises(TypeError):
        ENUMS["Team"] = {}  # type: ignore[index]


def test_the_emulator_uses_the_same_names() -> None:
    """The emulator's destroy rows spell enums with these names: one table of Chatwoot's values."""
    for kind, fields in STRING_ENUMS_ON_DESTROY.items():
        for field, values in fields.items():
            assert dict(ENUMS[kind][field]) == values, (kind, field)


def test_the_compliance_report_names_roles() -> None:
    """Over an emulated history, every AccountUser role change reads as two role names."""
    emu = Emulator(seed=7, entries=600)
    seen = 0
    with emu.client() as client:
        for log in client.logs():
            if log.action == AuditAction.UPDATE and log.auditable_type == "AccountUser":
                for field, (old, new) in log.changes(named=True).items():
                    if field == "role":
                        assert {old, new} <= set(ROLES.values())
                        seen += 1
    assert seen


def test_the_names_are_public() -> None:
    """ROLES, AVAILABILITY and ENUMS are imported from the package itself."""
    for name in ("ROLES", "AVAILABILITY", "ENUMS"):
        assert name in chatwoot_audit.__all__
