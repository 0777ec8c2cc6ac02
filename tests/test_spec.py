"""scripts/_spec.py: the override mechanism, and what the merged spec promises about the real server."""

from __future__ import annotations

import re
from typing import Any

import _spec
import pytest
import update_spec
from _spec import SpecError, apply_overrides, pointer_exists
from hypothesis import given
from hypothesis import strategies as st

AUDIT_LOG_PATH = _spec.AUDIT_LOGS_PATH


def op(op: str, path: str, value: Any = None, reason: str | None = "a reason") -> dict[str, Any]:
    item: dict[str, Any] = {"op": op, "path": path}
    if value is not None:
        item["value"] = value
    if reason is not None:
        item["reason"] = reason
    return item


@pytest.fixture(scope="module")
def merged() -> Any:
    return _spec.merged_spec()


def test_every_override_in_the_project_has_a_reason_and_a_known_op() -> None:
    """Each override in openapi/overrides.yaml says why it exists and uses add, replace or remove."""
    overrides = _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
    assert isinstance(overrides, list)
    assert overrides
    for item in overrides:
        assert isinstance(item.get("reason"), str)
        assert item["reason"].strip(), item["path"]
        assert item["op"] in {"add", "replace", "remove"}, item["path"]


@pytest.mark.parametrize("reason", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_override_without_reason_is_refused(reason: str | None) -> None:
    """An override with no reason, or a blank one, is refused and named by number and path."""
    with pytest.raises(SpecError, match=re.escape("override #2 (/b) has no reason")):
        apply_overrides({"a": 1, "b": 2}, [op("replace", "/a", 3), op("replace", "/b", 4, reason=reason)])


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (op("replace", "/missing", 1), "override #1: replace of '/missing', which does not exist in the spec"),
        (op("remove", "/missing"), "override #1: remove of '/missing', which does not exist in the spec"),
        (op("remove", "/list/5"), "override #1: remove of '/list/5', which does not exist in the spec"),
        (op("add", "/nowhere/key", 1), "override path '/nowhere/key': 'nowhere' does not exist in the spec"),
        (op("move", "/a", 1), "override #1 (/a): unknown op 'move'"),
        (op("add", "/a"), "override #1 (/a) has no value"),
        (op("add", "a", 1), "override path 'a' is not a JSON pointer"),
        ({"op": "add", "value": 1, "reason": "r"}, "override #1 has no path"),
        ("not a mapping", "override #1 is not a mapping"),
    ],
    ids=[
        "replace-missing",
        "remove-missing",
        "remove-index",
        "missing-parent",
        "unknown-op",
        "no-value",
        "pointer",
        "no-path",
        "not-mapping",
    ],
)
def test_unusable_override_raises_a_message_naming_it(item: Any, message: str) -> None:
    """An override that cannot apply raises SpecError saying which one and why."""
    with pytest.raises(SpecError, match=re.escape(message)):
        apply_overrides({"a": 1, "list": [0, 1]}, [item])


def test_overrides_must_be_a_list() -> None:
    """A mapping where a list of operations belongs is refused."""
    with pytest.raises(SpecError, match="must be a list"):
        apply_overrides({}, {"op": "add"})


def test_numbering_can_start_elsewhere() -> None:
    """An override applied alone keeps the number it has in the file."""
    with pytest.raises(SpecError, match=re.escape("override #7: remove of '/x'")):
        apply_overrides({}, [op("remove", "/x")], start=7)


def test_add_replace_remove_on_mappings() -> None:
    """add creates or overwrites a key, replace overwrites one, remove deletes one; the input is left alone."""
    spec = {"a": {"b": 1, "c": 2}}
    result = apply_overrides(
        spec,
        [op("add", "/a/new", {"x": [1]}), op("add", "/a/b", 10), op("replace", "/a/c", 20), op("remove", "/a/b")],
    )
    assert result == {"a": {"c": 20, "new": {"x": [1]}}}
    assert spec == {"a": {"b": 1, "c": 2}}


def test_list_indexes() -> None:
    """Indexes into lists: add inserts, '-' appends, replace and remove act in place."""
    result = apply_overrides(
        {"l": ["a", "b", "c"]},
        [op("add", "/l/1", "x"), op("add", "/l/-", "z"), op("replace", "/l/0", "A"), op("remove", "/l/2")],
    )
    assert result == {"l": ["A", "x", "c", "z"]}


def test_escapes_in_pointers() -> None:
    """~1 stands for '/' and ~0 for '~', as in the spec's own path keys."""
    spec = {"paths": {"/api/v1/x": {"get": {}}, "m~n": 1}}
    result = apply_overrides(spec, [op("add", "/paths/~1api~1v1~1x/get/summary", "S"), op("replace", "/paths/m~0n", 2)])
    assert result == {"paths": {"/api/v1/x": {"get": {"summary": "S"}}, "m~n": 2}}


@given(key=st.text(), value=st.integers())
def test_any_key_round_trips_through_pointer_escaping(key: str, value: int) -> None:
    """Whatever a key holds ('/', '~', '~1', '~01'...), its escaped pointer reaches exactly that key."""
    spec = {"root": {key: None, f"{key}~": None, f"~{key}": None}}
    pointer = f"/root/{_spec.escape(key)}"
    assert pointer_exists(spec, pointer)
    result = apply_overrides(spec, [op("replace", pointer, value)])
    assert result["root"][key] == value
    assert sum(v == value for v in result["root"].values()) == 1


def test_pointer_exists() -> None:
    """pointer_exists answers for keys and list indexes, and never raises."""
    doc = {"a": {"b": [10, 20]}}
    assert pointer_exists(doc, "/a/b/1")
    assert not pointer_exists(doc, "/a/b/2")
    assert not pointer_exists(doc, "/a/c")
    assert not pointer_exists(doc, "/x/y/z")
    assert not pointer_exists(doc, "no-slash")


def test_merged_action_is_an_open_string(merged: Any) -> None:
    """action is a plain string: sign_in, sign_out and future values must not be rejected."""
    action = merged["components"]["schemas"]["audit_log"]["properties"]["action"]
    assert action["type"] == "string"
    assert "enum" not in action


@pytest.mark.parametrize("field", ["auditable", "audited_changes", "user_id", "user_type", "username"])
def test_merged_fields_the_server_sends_null_are_nullable(merged: Any, field: str) -> None:
    """The fields the real server sends as null accept null."""
    assert "null" in merged["components"]["schemas"]["audit_log"]["properties"][field]["type"]


def test_merged_responses_match_the_server(merged: Any) -> None:
    """401 and 404 are described with the auth_error body; the spec's 403 and 422 are kept."""
    responses = merged["paths"][AUDIT_LOG_PATH]["get"]["responses"]
    for status in ("401", "404"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/auth_error"}
    assert "auth_error" in merged["components"]["schemas"]
    assert {"200", "403", "422"} <= responses.keys()


def test_vendored_spec_holds_no_override() -> None:
    """The overrides live apart: none of them is already in the vendored spec, so none is redundant there."""
    spec = _spec.load_spec()
    overrides = _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
    assert update_spec.audit_overrides(spec, spec, overrides) == []
    assert "401" not in spec["paths"][AUDIT_LOG_PATH]["get"]["responses"]


def test_value_at() -> None:
    """value_at reads what a pointer names, MISSING where it names nothing (None is a value)."""
    doc = {"a": {"b": [10, None]}, "m/n": 1}
    assert _spec.value_at(doc, "/a/b/0") == 10
    assert _spec.value_at(doc, "/a/b/1") is None
    assert _spec.value_at(doc, "/m~1n") == 1
    for pointer in ("/a/b/2", "/a/c", "/x/y", "nope"):
        assert _spec.value_at(doc, pointer) is _spec.MISSING


DOC = {
    "components": {
        "schemas": {
            "thing": {"type": "object"},
            "maybe": {"type": "string", "nullable": True},
        }
    }
}


@pytest.mark.parametrize(
    ("schema", "types"),
    [
        ({"type": "integer"}, ("integer",)),
        ({"type": ["string", "null"]}, ("string", "null")),
        ({"type": ["null", "string"]}, ("string", "null")),
        ({"type": "string", "nullable": True}, ("string", "null")),
        ({"type": "string", "nullable": False}, ("string",)),
        ({"type": "string", "enum": ["a", None]}, ("string", "null")),
        ({"$ref": "#/components/schemas/thing"}, ("object",)),
        ({"$ref": "#/components/schemas/maybe"}, ("string", "null")),
        ({"oneOf": [{"type": "integer"}, {"$ref": "#/components/schemas/maybe"}]}, ("integer", "string", "null")),
        ({"oneOf": [{"type": "integer"}, {}]}, ()),
        ({"description": "anything"}, ()),
        ({"$ref": "#/components/schemas/gone"}, ()),
        ("not a schema", ()),
    ],
)
def test_schema_types(schema: Any, types: tuple[str, ...]) -> None:
    """A schema's JSON types read the same in OpenAPI 3.0 (nullable) and 3.1 (type arrays)."""
    assert _spec.schema_types(DOC, schema) == types


def test_json_schema_reads_nullable_as_a_null_type() -> None:
    """nullable: true becomes a "null" type (and a None enum member); a property named nullable stays."""
    schema = {
        "type": "object",
        "properties": {
            "comment": {"type": "string", "nullable": True},
            "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
            "nullable": {"type": "boolean"},
            "plain": {"type": ["integer", "null"], "nullable": True},
        },
    }
    assert _spec.json_schema(schema) == {
        "type": "object",
        "properties": {
            "comment": {"type": ["string", "null"]},
            "kind": {"type": ["string", "null"], "enum": ["a", "b", None]},
            "nullable": {"type": "boolean"},
            "plain": {"type": ["integer", "null"]},
        },
    }


def test_component_and_deref() -> None:
    """References into #/components/ resolve; others are refused by name, or left as they are by deref."""
    assert _spec.component(DOC, "#/components/schemas/thing") == ("schemas", "thing", {"type": "object"})
    with pytest.raises(SpecError, match="does not point into #/components/"):
        _spec.component(DOC, "other.yaml#/x")
    with pytest.raises(SpecError, match="points to nothing"):
        _spec.component(DOC, "#/components/schemas/gone")
    assert _spec.deref(DOC, {"$ref": "#/components/schemas/thing"}) == {"type": "object"}
    assert _spec.deref(DOC, {"$ref": "#/components/schemas/gone"}) == {"$ref": "#/components/schemas/gone"}
