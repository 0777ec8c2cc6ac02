"""Server JSON to the public models and back: real row shapes, bad shapes, and round trips."""

from __future__ import annotations

import copy
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from _rows import ACCOUNT_USER_UPDATE, DESTROY_STRING_ENUMS, SIGN_IN, SYSTEM_UPDATE, UNKNOWN_ACTION
from chatwoot_audit_generated.models import AuditLog as GeneratedAuditLog
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwoot_audit._convert import ValidationFailure, from_generated, parse_created_at, parse_entry, parse_page
from chatwoot_audit._models import FIELDS, AuditAction, AuditLog, AuditLogPage

# -- variants of the realistic rows ------------------------------------------------------------

EXTRA_KEY: dict[str, Any] = {**SIGN_IN, "id": 4124, "geo": {"country": "NL"}, "account_slug": "acme"}

MISSING_KEY: dict[str, Any] = {k: v for k, v in SIGN_IN.items() if k not in ("comment", "remote_address")}

CREATE_WITH_LISTS: dict[str, Any] = {
    **ACCOUNT_USER_UPDATE,
    "id": 4125,
    "auditable_type": "Macro",
    "auditable": None,
    "action": "create",
    "audited_changes": {"actions": [{"action_name": "add_label"}, {"action_name": "resolve"}], "tags": ["a", "b"]},
    "version": 1,
}

ROWS = [
    ACCOUNT_USER_UPDATE,
    SIGN_IN,
    SYSTEM_UPDATE,
    DESTROY_STRING_ENUMS,
    UNKNOWN_ACTION,
    EXTRA_KEY,
    MISSING_KEY,
    CREATE_WITH_LISTS,
]
ROW_IDS = ["account-user-update", "sign-in", "system", "destroy", "merge", "extra-key", "missing-key", "create"]


def with_created_at(row: dict[str, Any], value: object) -> dict[str, Any]:
    """``row`` with ``created_at`` replaced, keeping the key order."""
    return {k: (value if k == "created_at" else v) for k, v in row.items()}


def page_body(items: list[Any], **overrides: Any) -> dict[str, Any]:
    """A 200 body as the server sends it."""
    body: dict[str, Any] = {"per_page": 25, "total_entries": len(items), "current_page": 1, "audit_logs": items}
    body.update(overrides)
    return body


# -- parsing real rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_round_trip_exact(row: dict[str, Any]) -> None:
    """to_dict() gives back the row: same keys, same order, same values."""
    original = copy.deepcopy(row)
    out = parse_entry(row, 0).to_dict()
    assert out == original
    assert list(out) == list(original)
    assert json.dumps(out) == json.dumps(original)


def test_account_user_update_fields() -> None:
    """Every field of the realistic update row lands on its attribute."""
    log = parse_entry(ACCOUNT_USER_UPDATE, 0)
    assert log.id == 4119
    assert log.auditable_type == "AccountUser"
    assert log.auditable == {"id": 5, "availability": "online", "role": "administrator", "user_id": 4}
    assert (log.associated_id, log.associated_type) == (1, "Account")
    assert (log.user_id, log.user_type, log.username) == (1, "User", "admin@acme.example")
    assert log.action == AuditAction.UPDATE
    assert log.audited_changes == {"role": [0, 1]}
    assert log.version == 2
    assert log.comment is None
    assert log.request_uuid == "7d3a2e90-1b4c-4f7e-8c2d-6a9b0e1f2c34"
    assert log.created_at == datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)
    assert log.remote_address == "203.0.113.10"
    assert log.extra == {}


def test_sign_in_nulls() -> None:
    """A sign_in row has null auditable and audited_changes."""
    log = parse_entry(SIGN_IN, 0)
    assert log.action == "sign_in"
    assert log.auditable is None
    assert log.audited_changes is None
    assert log.changes() == {}


def test_system_row_null_user() -> None:
    """A background change has null user fields and remote address."""
    log = parse_entry(SYSTEM_UPDATE, 0)
    assert (log.user_id, log.user_type, log.username, log.remote_address) == (None, None, None, None)


def test_unknown_action_passes_through() -> None:
    """An action this version does not know is kept as the plain string."""
    log = parse_entry(UNKNOWN_ACTION, 0)
    assert log.action == "merge"
    assert type(log.action) is str
    assert log.action not in set(AuditAction)


def test_extra_keys_kept() -> None:
    """Unknown keys are kept in extra, in order, not dropped."""
    log = parse_entry(EXTRA_KEY, 0)
    assert log.extra == {"geo": {"country": "NL"}, "account_slug": "acme"}
    assert list(log.to_dict())[-2:] == ["geo", "account_slug"]


def test_unknown_key_in_the_middle_keeps_its_place() -> None:
    """An unknown key the server renders between known ones comes back in the same place."""
    row: dict[str, Any] = {}
    for key, value in ACCOUNT_USER_UPDATE.items():
        row[key] = value
        if key == "associated_type":
            row["account_name"] = "Acme"
    assert list(parse_entry(row, 0).to_dict()) == list(row)


def test_missing_key_is_none_and_stays_missing() -> None:
    """A known key the server left out reads as None and is not invented by to_dict."""
    log = parse_entry(MISSING_KEY, 0)
    assert log.comment is None
    assert log.remote_address is None
    assert "comment" not in log.to_dict()
    assert "remote_address" not in log.to_dict()


def test_audit_action_values() -> None:
    """AuditAction holds the five known values and compares equal to plain strings."""
    assert [a.value for a in AuditAction] == ["create", "update", "destroy", "sign_in", "sign_out"]
    assert AuditAction("sign_out") is AuditAction.SIGN_OUT
    assert isinstance(AuditAction.DESTROY, str)
    assert f"{AuditAction.DESTROY}" == "destroy"
    assert parse_entry(DESTROY_STRING_ENUMS, 0).action == AuditAction.DESTROY


def test_page_round_trip() -> None:
    """A whole page converts back to the body it came from."""
    body = page_body(copy.deepcopy(ROWS), total_entries=53, current_page=3)
    page = parse_page(body)
    assert page.to_dict() == body
    assert list(page.to_dict()) == ["per_page", "total_entries", "current_page", "audit_logs"]
    assert [log.id for log in page] == [row["id"] for row in ROWS]


# -- created_at ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1781602887, datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (1781602887.5, datetime(2026, 6, 16, 9, 41, 27, 500000, tzinfo=UTC)),
        ("2023-03-01T10:00:00.000Z", datetime(2023, 3, 1, 10, 0, tzinfo=UTC)),
        ("2023-03-01T10:00:00+05:30", datetime(2023, 3, 1, 4, 30, tzinfo=UTC)),
        ("2023-03-01T10:00:00", datetime(2023, 3, 1, 10, 0, tzinfo=UTC)),
        ("2023-03-01T10:00:00.123456Z", datetime(2023, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        (" 2023-03-01T10:00:00Z ", datetime(2023, 3, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_parse_created_at(raw: object, expected: datetime) -> None:
    """Unix seconds and ISO-8601 strings become aware datetimes in UTC."""
    value = parse_created_at(raw)
    assert value == expected
    assert value.tzinfo is UTC
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "raw", ["2023-03-01T10:00:00.000Z", "2023-03-01T10:00:00+05:30", "2023-03-01T10:00:00", 1781602887.25]
)
def test_old_server_created_at_round_trip(raw: object) -> None:
    """A row from an old server (ISO created_at) or with float seconds gives back its created_at as sent."""
    row = with_created_at(SIGN_IN, raw)
    log = parse_entry(row, 0)
    assert log.created_at.tzinfo is UTC
    assert log.to_dict() == row
    assert list(log.to_dict()) == list(row)
    assert type(log.to_dict()["created_at"]) is type(raw)


def test_timestamp_whole_seconds() -> None:
    """timestamp is created_at in whole Unix seconds, floored."""
    assert parse_entry(with_created_at(SIGN_IN, 1781602887.9), 0).timestamp == 1781602887
    assert parse_entry(with_created_at(SIGN_IN, "2023-03-01T10:00:00+05:30"), 0).timestamp == 1677645000


def test_same_instant_equal_whatever_the_spelling() -> None:
    """Two rows for one instant compare equal however created_at was written."""
    a = parse_entry(with_created_at(SIGN_IN, 1677664800), 0)
    b = parse_entry(with_created_at(SIGN_IN, "2023-03-01T10:00:00Z"), 0)
    assert a == b
    assert a.to_dict()["created_at"] == 1677664800
    assert b.to_dict()["created_at"] == "2023-03-01T10:00:00Z"


def test_built_by_hand_renders_seconds() -> None:
    """An AuditLog made in code (no raw created_at) renders created_at as int seconds."""
    log = AuditLog(id=1, action="create", created_at=datetime(2026, 6, 16, 9, 41, 27, 900000, tzinfo=UTC))
    assert log.to_dict()["created_at"] == 1781602887
    assert list(log.to_dict()) == list(FIELDS)


# -- changes() -----------------------------------------------------------------------------------


def test_changes_update() -> None:
    """An update's changes read as {field: (old, new)}."""
    assert parse_entry(ACCOUNT_USER_UPDATE, 0).changes() == {"role": (0, 1)}
    assert parse_entry(SYSTEM_UPDATE, 0).changes() == {
        "status": (0, 1),
        "updated_at": ("2026-06-16T09:01:27.000Z", "2026-06-16T09:41:27.000Z"),
    }


@pytest.mark.parametrize(
    "row",
    [
        CREATE_WITH_LISTS,
        {**DESTROY_STRING_ENUMS, "audited_changes": {"role": [0, 1], "name": "x"}},
        SIGN_IN,
        {**SIGN_IN, "action": "sign_out", "audited_changes": {"x": [1, 2]}},
        UNKNOWN_ACTION,
    ],
    ids=["create", "destroy", "sign-in", "sign-out", "merge"],
)
def test_changes_by_action_not_shape(row: dict[str, Any]) -> None:
    """Non-update rows give no changes, even when their values are 2-lists."""
    assert parse_entry(row, 0).changes() == {}


def test_changes_update_with_null_changes() -> None:
    """An update with null audited_changes has no changes."""
    assert parse_entry({**ACCOUNT_USER_UPDATE, "audited_changes": None}, 0).changes() == {}


def test_changes_update_odd_value_kept() -> None:
    """A value that is not an [old, new] pair in an update is kept as the new value, not dropped."""
    log = parse_entry({**ACCOUNT_USER_UPDATE, "audited_changes": {"role": [0, 1], "note": "x"}}, 0)
    assert log.changes() == {"role": (0, 1), "note": (None, "x")}


# -- bad shapes ----------------------------------------------------------------------------------

BAD_ENTRIES: list[tuple[str, Any, list[str]]] = [
    ("bool id", {**SIGN_IN, "id": True}, ["audit_logs[2]", "True"]),
    ("string id", {**SIGN_IN, "id": "4120"}, ["audit_logs[2]", "'4120'"]),
    ("null id", {**SIGN_IN, "id": None}, ["audit_logs[2]", "None"]),
    ("missing id", {k: v for k, v in SIGN_IN.items() if k != "id"}, ["audit_logs[2]"]),
    ("missing created_at", {k: v for k, v in SIGN_IN.items() if k != "created_at"}, ["4120", "created_at"]),
    ("created_at x", with_created_at(SIGN_IN, "x"), ["4120", "created_at", "'x'"]),
    ("created_at True", with_created_at(SIGN_IN, True), ["4120", "created_at", "True"]),
    ("created_at huge", with_created_at(SIGN_IN, 10**20), ["4120", "created_at", "out of range"]),
    ("created_at nan", with_created_at(SIGN_IN, math.nan), ["4120", "created_at", "nan"]),
    ("created_at inf", with_created_at(SIGN_IN, -math.inf), ["4120", "created_at"]),
    ("created_at null", with_created_at(SIGN_IN, None), ["4120", "created_at"]),
    ("created_at list", with_created_at(SIGN_IN, [1781602890]), ["4120", "created_at"]),
    ("created_at bad date", with_created_at(SIGN_IN, "2023-02-30T10:00:00Z"), ["4120", "created_at"]),
    ("created_at year 0 offset", with_created_at(SIGN_IN, "0001-01-01T00:00:00+05:00"), ["4120", "created_at"]),
    ("user_id string", {**SIGN_IN, "user_id": "1"}, ["4120", "user_id", "'1'"]),
    ("user_id bool", {**SIGN_IN, "user_id": False}, ["4120", "user_id"]),
    ("user_id float", {**SIGN_IN, "user_id": 1.0}, ["4120", "user_id"]),
    ("auditable list", {**SIGN_IN, "auditable": [1, 2]}, ["4120", "auditable"]),
    ("audited_changes list", {**SIGN_IN, "audited_changes": [["role", 0, 1]]}, ["4120", "audited_changes"]),
    ("username int", {**SIGN_IN, "username": 5}, ["4120", "username"]),
    ("action missing", {k: v for k, v in SIGN_IN.items() if k != "action"}, ["4120", "action"]),
    ("action int", {**SIGN_IN, "action": 1}, ["4120", "action"]),
    ("not an object", [SIGN_IN], ["audit_logs[2]", "not an object"]),
    ("null entry", None, ["audit_logs[2]"]),
]


@pytest.mark.parametrize(("entry", "fragments"), [c[1:] for c in BAD_ENTRIES], ids=[c[0] for c in BAD_ENTRIES])
def test_bad_entry_named(entry: Any, fragments: list[str]) -> None:
    """A malformed entry raises ValidationFailure naming the entry (its id, or its position) and the field."""
    body = page_body([ACCOUNT_USER_UPDATE, DESTROY_STRING_ENUMS, entry])
    with pytest.raises(ValidationFailure) as info:
        parse_page(body)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_validation_failure_message_is_short() -> None:
    """A huge bad value is cut short in the message."""
    with pytest.raises(ValidationFailure) as info:
        parse_entry({**SIGN_IN, "user_id": "x" * 10_000}, 0)
    assert len(str(info.value)) < 200


def test_bare_list_rejected_clearly() -> None:
    """A bare list (servers before mid-2023) is refused with a message that says why."""
    with pytest.raises(ValidationFailure, match="bare list") as info:
        parse_page([ACCOUNT_USER_UPDATE])
    assert "2023" in str(info.value)


@pytest.mark.parametrize("key", ["per_page", "total_entries", "current_page", "audit_logs"])
def test_page_missing_key(key: str) -> None:
    """Each of the four top-level keys is required, and the message names it."""
    body = page_body([SIGN_IN])
    del body[key]
    with pytest.raises(ValidationFailure, match=key):
        parse_page(body)


@pytest.mark.parametrize("key", ["per_page", "total_entries", "current_page"])
@pytest.mark.parametrize("value", [-1, True, False, 1.0, "25", None, [25]])
def test_page_bad_count(key: str, value: object) -> None:
    """Counts must be ints >= 0: negatives, bools, floats and strings are refused."""
    with pytest.raises(ValidationFailure, match=key):
        parse_page(page_body([SIGN_IN], **{key: value}))


@pytest.mark.parametrize("value", [None, {}, "[]", 3])
def test_page_audit_logs_not_list(value: object) -> None:
    """audit_logs must be a list."""
    with pytest.raises(ValidationFailure, match="audit_logs"):
        parse_page(page_body([], audit_logs=value))


@pytest.mark.parametrize("body", [None, "page", 3, 1.5, True])
def test_page_not_object(body: object) -> None:
    """A body that is not a JSON object is refused."""
    with pytest.raises(ValidationFailure, match="not an object"):
        parse_page(body)


def test_page_extra_top_level_key_tolerated() -> None:
    """A new top-level key does not break parsing."""
    page = parse_page(page_body([SIGN_IN], total_pages=1))
    assert len(page) == 1


# -- AuditLogPage --------------------------------------------------------------------------------


def _page(total_entries: int, per_page: int, current_page: int, n_items: int = 0) -> AuditLogPage:
    items = tuple(parse_entry({**SIGN_IN, "id": i}, i) for i in range(n_items))
    return AuditLogPage(items=items, current_page=current_page, per_page=per_page, total_entries=total_entries)


@pytest.mark.parametrize(
    ("total_entries", "per_page", "current_page", "total_pages", "has_next"),
    [
        (0, 25, 1, 0, False),
        (1, 25, 1, 1, False),
        (25, 25, 1, 1, False),
        (26, 25, 1, 2, True),
        (50, 25, 1, 2, True),
        (50, 25, 2, 2, False),
        (53, 25, 3, 3, False),
        (53, 25, 2, 3, True),
        (45, 15, 2, 3, True),
        (53, 25, 9, 3, False),
        (10, 0, 1, 0, False),
    ],
)
def test_page_arithmetic(
    total_entries: int, per_page: int, current_page: int, total_pages: int, has_next: bool
) -> None:
    """total_pages is ceil(total_entries / per_page) (0 when per_page is 0) and has_next_page follows."""
    page = _page(total_entries, per_page, current_page)
    assert page.total_pages == total_pages
    assert page.has_next_page is has_next


def test_page_iteration_and_len() -> None:
    """Iterating a page yields its items in order; len counts them."""
    page = _page(53, 25, 1, n_items=3)
    assert len(page) == 3
    assert [log.id for log in page] == [0, 1, 2]
    assert list(page) == list(page.items)
    assert len(_page(0, 25, 1)) == 0


def test_empty_page_body() -> None:
    """The feature-off answer parses as an empty page."""
    page = parse_page({"per_page": 25, "total_entries": 0, "current_page": 1, "audit_logs": []})
    assert (len(page), page.total_pages, page.has_next_page) == (0, 0, False)


# -- the generated model -------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_from_generated_equals_parse_entry(row: dict[str, Any]) -> None:
    """A generated model converts to the same AuditLog as the raw row, and back to the same JSON."""
    model = GeneratedAuditLog.from_dict(copy.deepcopy(row))
    log = from_generated(model)
    assert log == parse_entry(row, 0)
    assert log.to_dict() == row
    assert log.extra == parse_entry(row, 0).extra


def test_from_generated_old_server() -> None:
    """A generated model holding an ISO created_at converts too."""
    row = with_created_at(SIGN_IN, "2023-03-01T10:00:00.000Z")
    log = from_generated(GeneratedAuditLog.from_dict(row))
    assert log.created_at == datetime(2023, 3, 1, 10, tzinfo=UTC)
    assert log.to_dict() == row


def test_from_generated_bad_value_is_validation_failure() -> None:
    """The generated client does not check types; the conversion does."""
    model = GeneratedAuditLog.from_dict({**SIGN_IN, "user_id": "1"})
    with pytest.raises(ValidationFailure, match="user_id"):
        from_generated(model)


# -- properties ----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

# Entry-like objects: the real keys with any values, to get past the first checks more often.
entryish = st.dictionaries(
    st.sampled_from([*FIELDS, "extra"]),
    st.one_of(
        json_values,
        st.integers(min_value=-(2**40), max_value=2**40),
        st.sampled_from(["update", "2023-03-01T10:00:00Z", "2023-13-01", "9999-12-31T23:59:59-05:00", "0001-01-01"]),
    ),
    max_size=len(FIELDS) + 1,
)
count = st.one_of(st.integers(min_value=-2, max_value=100), json_scalars)
pageish = st.fixed_dictionaries(
    {
        "per_page": count,
        "total_entries": count,
        "current_page": count,
        "audit_logs": st.one_of(st.lists(st.one_of(entryish, json_values), max_size=4), json_values),
    }
)


@given(st.one_of(json_values, pageish))
@settings(max_examples=400, deadline=None)
def test_parse_page_any_json(body: object) -> None:
    """For any JSON value, parse_page returns a page or raises ValidationFailure, nothing else."""
    try:
        result: AuditLogPage | ValidationFailure = parse_page(body)
    except ValidationFailure as exc:
        result = exc
    if isinstance(result, ValidationFailure):
        assert str(result)
    else:
        assert isinstance(result, AuditLogPage)
        for log in result:
            assert log.created_at.tzinfo is UTC


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_data = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=6), json_data, max_size=4)
created_at_values = st.one_of(
    st.integers(min_value=0, max_value=4_102_444_800),
    st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()).map(
        lambda d: d.isoformat()
    ),
)
ints = st.integers(min_value=-(2**63), max_value=2**63)
optional_strategies: dict[str, st.SearchStrategy[Any]] = {
    "auditable_id": st.none() | ints,
    "auditable_type": st.none() | st.sampled_from(["Account", "AccountUser", "Inbox", "User", "Label"]) | st.text(),
    "auditable": st.none() | json_objects,
    "associated_id": st.none() | ints,
    "associated_type": st.none() | st.just("Account"),
    "user_id": st.none() | ints,
    "user_type": st.none() | st.just("User"),
    "username": st.none() | st.emails(),
    "audited_changes": st.none() | json_objects,
    "version": st.none() | ints,
    "comment": st.none() | st.text(max_size=20),
    "request_uuid": st.none() | st.uuids().map(str) | st.text(max_size=20),
    "remote_address": st.none() | st.ip_addresses().map(str),
}


@st.composite
def valid_rows(draw: st.DrawFn) -> dict[str, Any]:
    """Rows of the real shape: every key in the server's order (some left out), random values, extra keys."""
    row: dict[str, Any] = {}
    for name in FIELDS:
        if name == "id":
            row[name] = draw(ints)
        elif name == "action":
            row[name] = draw(st.sampled_from([a.value for a in AuditAction]) | st.text(max_size=10))
        elif name == "created_at":
            row[name] = draw(created_at_values)
        elif draw(st.integers(0, 9)) > 0:  # now and then a key is left out
            row[name] = draw(optional_strategies[name])
    extra = draw(st.dictionaries(st.text(max_size=10).filter(lambda k: k not in FIELDS), json_data, max_size=3))
    row.update(extra)
    return row


@given(valid_rows())
@settings(max_examples=300, deadline=None)
def test_valid_rows_round_trip(row: dict[str, Any]) -> None:
    """Any row of the real shape parses, and to_dict gives it back exactly, keys in the same order."""
    original = copy.deepcopy(row)
    log = parse_entry(row, 0)
    assert log.created_at.tzinfo is UTC
    out = log.to_dict()
    assert out == original
    assert list(out) == list(original)


@given(valid_rows())
@settings(max_examples=100, deadline=None)
def test_valid_rows_from_generated(row: dict[str, Any]) -> None:
    """The generated model of any valid row converts to the same AuditLog as the row itself."""
    model = GeneratedAuditLog.from_dict(copy.deepcopy(row))
    assert from_generated(model) == parse_entry(row, 0)
