"""--action, --type and --user: repeatable comma lists, alternatives within a flag, all flags together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chatwoot_audit import AuditLog
from chatwoot_audit._cli._exits import UsageError
from chatwoot_audit._cli._filters import EntryFilter, build_filter, split_values


def entry(**fields: Any) -> AuditLog:
    """An entry with the given fields over a plain sign-in."""
    base: dict[str, Any] = {
        "id": 1,
        "action": "sign_in",
        "created_at": datetime(2026, 6, 1, tzinfo=UTC),
        "auditable_type": "User",
        "user_id": 5,
        "username": "admin@acme.example",
    }
    base.update(fields)
    return AuditLog(**base)


def test_split_values_reads_repeats_and_comma_lists() -> None:
    """Repeated flags and comma lists give one ordered list without repeats or blanks."""
    assert split_values(["create,update", " sign_in ", "create", "a,,b"], "--action") == [
        "create",
        "update",
        "sign_in",
        "a",
        "b",
    ]
    assert split_values(None, "--action") == []


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_split_values_refuses_an_empty_flag(value: str) -> None:
    """A flag given with nothing in it is a usage error."""
    with pytest.raises(UsageError, match="--type needs a value"):
        split_values([value], "--type")


def test_no_flags_keep_everything() -> None:
    """Without filters every entry passes and the filter is inactive."""
    keep = build_filter(None, None, None)
    assert not keep.active
    assert keep.matches(entry(action="something_new", auditable_type=None, user_id=None, username=None))


def test_values_of_one_flag_are_alternatives() -> None:
    """--action create,update keeps creates and updates, nothing else."""
    keep = build_filter(["create,update"], None, None)
    assert keep.matches(entry(action="create"))
    assert keep.matches(entry(action="update"))
    assert not keep.matches(entry(action="destroy"))


def test_different_flags_must_all_match() -> None:
    """--action and --type together keep only entries matching both."""
    keep = build_filter(["update"], ["Team"], None)
    assert keep.matches(entry(action="update", auditable_type="Team"))
    assert not keep.matches(entry(action="update", auditable_type="Inbox"))
    assert not keep.matches(entry(action="create", auditable_type="Team"))


def test_matching_ignores_case() -> None:
    """Actions, types and usernames match whatever their case."""
    keep = build_filter(["SIGN_IN"], ["accountuser"], ["Admin@ACME.example"])
    assert keep.matches(entry(auditable_type="AccountUser"))


def test_user_is_an_id_when_numeric_and_a_username_otherwise() -> None:
    """--user 5 matches user_id 5; --user an email matches the username; system rows match neither."""
    by_id = build_filter(None, None, ["5"])
    assert by_id.matches(entry(user_id=5, username="someone@else.example"))
    assert not by_id.matches(entry(user_id=6))
    by_name = build_filter(None, None, ["admin@acme.example,7"])
    assert by_name.matches(entry(user_id=99))
    assert by_name.matches(entry(user_id=7, username="x@y.example"))
    assert not by_name.matches(entry(user_id=None, username=None))


def test_unknown_values_warn_but_still_filter() -> None:
    """A value Chatwoot is not known to write warns (a likely typo) but is kept: the set is open."""
    keep = build_filter(["creat", "archive"], ["Teem"], None)
    assert len(keep.warnings) == 2
    assert "creat, archive" in keep.warnings[0]
    assert keep.matches(entry(action="archive", auditable_type="teem"))
    assert not build_filter(["create"], ["Team"], None).warnings


def test_describe_is_order_free() -> None:
    """Two spellings of the same filter describe (and so resume) the same."""
    one = build_filter(["update,create"], None, ["b@x.example", "3"])
    two = build_filter(["create", "UPDATE"], None, ["3,B@x.example"])
    assert one.describe() == two.describe()
    assert one == two
    assert EntryFilter().describe() == {"actions": [], "types": [], "user_ids": [], "usernames": []}
