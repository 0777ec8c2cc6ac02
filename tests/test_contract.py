"""scripts/_contract.py: the facade and the merged spec agree, and each disagreement names the facade edit."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
import typing
from pathlib import Path
from typing import Any

import _contract
import _spec
import attrs
import httpx
import pytest
from _contract import Facade, Field, Problem, facade_problems
from _rows import SIGN_IN
from chatwoot_audit_generated import AuthenticatedClient, spec_table
from chatwoot_audit_generated.api.audit_logs import get_account_audit_logs

from chatwoot_audit import _models
from chatwoot_audit._config import resolve_settings
from chatwoot_audit._convert import ValidationFailure, entry_parser, parse_entry
from chatwoot_audit._http import build_request
from chatwoot_audit._models import FIELDS, AuditLog

AUDIT_LOG = ("components", "schemas", "audit_log", "properties")
GET = ("paths", _spec.AUDIT_LOGS_PATH, "get")


@pytest.fixture(scope="module")
def merged() -> Any:
    return _spec.merged_spec()


def changed(merged: Any, *keys: str, **update: Any) -> _contract.Table:
    """The table of ``merged`` with the node at ``keys`` updated."""
    spec = copy.deepcopy(merged)
    node = spec
    for key in keys:
        node = node[key]
    node.update(update)
    return _contract.table(spec)


def texts(problems: list[Problem]) -> list[str]:
    return [p.text for p in problems]


# -- the committed facade and spec --------------------------------------------------------------------


def test_the_facade_matches_the_merged_spec(merged: Any) -> None:
    """FIELDS, AuditLog, parse_entry, parse_page and the request agree with openapi/ as merged."""
    assert facade_problems(_contract.table(merged)) == []


def test_reading_the_source_sees_what_python_sees() -> None:
    """The report reads _models.py without importing it, and reads what the imported module holds."""
    source = Facade.from_source()
    hints = typing.get_type_hints(AuditLog)
    assert source.fields == FIELDS
    assert list(source.annotations) == [a.name for a in attrs.fields(AuditLog) if not a.name.startswith("_")]
    for name, text in source.annotations.items():
        assert eval(text, vars(_models)) == hints[name], name  # noqa: S307 (our own source's annotations)


def test_the_committed_table_is_the_merged_spec(merged: Any) -> None:
    """generated/'s spec_table holds the request and fields of the merged spec, in its order."""
    table = _contract.table(merged)
    assert [tuple(f) for f in spec_table.AUDIT_LOG_FIELDS] == [dataclasses.astuple(f) for f in table.entry_fields]
    assert [tuple(p) for p in spec_table.PARAMETERS] == [dataclasses.astuple(p) for p in table.parameters]
    assert spec_table.METHOD == "GET"
    assert (table.path, table.operation_id) == (spec_table.PATH, spec_table.OPERATION_ID)
    assert [f.name for f in spec_table.AUDIT_LOG_FIELDS] == list(FIELDS)


def test_the_facade_imports_only_public_names_of_the_generated_package() -> None:
    """No module or name the facade imports from chatwoot_audit_generated starts with an underscore."""
    imports = _contract.facade_imports()
    assert {(i.module, i.name) for i in imports} >= {("chatwoot_audit_generated", "spec_table")}
    for item in imports:
        assert not any(part.startswith("_") for part in [*item.module.split("."), item.name or ""]), item
    for path in _contract.FACADE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert not (node.value.id in {"spec_table", "get_account_audit_logs"} and node.attr.startswith("_"))


@pytest.mark.parametrize(("account_id", "page"), [(1, 1), (7, 3), (123456, 40)])
def test_the_facade_sends_what_the_generated_client_sends(account_id: int, page: int) -> None:
    """A page request built from the table is the generated client's request: method, path and query."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"per_page": 25, "total_entries": 0, "current_page": page, "audit_logs": []})

    base = "https://chat.example.com/prefix"
    with AuthenticatedClient(base_url=base, token="t", httpx_args={"transport": httpx.MockTransport(handler)}) as gen:
        get_account_audit_logs.sync_detailed(account_id, client=gen, page=page)
    settings = resolve_settings(
        base_url=base,
        api_access_token="t",
        account_id=account_id,
        timeout=None,
        max_retries=None,
        retry_policy=None,
        token_header="api_access_token",
        allow_insecure_http=False,
    )
    with httpx.Client() as http:
        ours = build_request(http, settings, page)
    assert (ours.method, ours.url) == (sent[0].method, sent[0].url)


# -- what each disagreement says ----------------------------------------------------------------------


def test_a_new_field_names_both_edits(merged: Any) -> None:
    """A field the spec gained is named with where it goes in FIELDS and the line AuditLog needs."""
    table = changed(merged, *AUDIT_LOG, tenant={"type": ["object", "null"]}, region={"type": "string"})
    assert texts(facade_problems(table)) == [
        "audit_log.tenant (object | null) is in the merged spec but not in the facade: in chatwoot_audit/_models.py "
        "add 'tenant' to FIELDS after 'remote_address' and `tenant: dict[str, Any] | None = attrs.field(default=None, "
        "hash=False)` to AuditLog (until then the parser keeps it in AuditLog.extra)",
        "audit_log.region (string) is in the merged spec but not in the facade: in chatwoot_audit/_models.py add "
        "'region' to FIELDS after 'tenant' and `region: str = \"\"` to AuditLog (until then the parser keeps it "
        "in AuditLog.extra)",
    ]


def test_a_field_named_like_the_bookkeeping_is_named(merged: Any) -> None:
    """A field called extra cannot become AuditLog.extra, which holds the unknown keys: the report says so."""
    (problem,) = facade_problems(changed(merged, *AUDIT_LOG, extra={"type": "string"}))
    assert problem.text.startswith("audit_log.extra is in the merged spec, but AuditLog.extra holds the keys")


def test_a_retyped_field_names_the_annotation(merged: Any) -> None:
    """A field whose type changed is named with the annotation it needs now."""
    table = changed(merged, *AUDIT_LOG, "user_id", type=["string", "null"])
    assert texts(facade_problems(table)) == [
        "AuditLog.user_id is `int | None` but the merged spec says audit_log.user_id is string | null, optional: "
        "change it to `user_id: str | None = None` in chatwoot_audit/_models.py (the parser already reads the "
        "regenerated types)"
    ]


def test_a_removed_field_names_fields_and_auditlog(merged: Any) -> None:
    """A field the spec lost is to leave FIELDS and AuditLog, or to come back by an override."""
    spec = copy.deepcopy(merged)
    del spec["components"]["schemas"]["audit_log"]["properties"]["comment"]
    (problem,) = facade_problems(_contract.table(spec))
    assert problem.text == (
        "'comment' is in FIELDS but no longer in the merged spec's audit_log: remove it from FIELDS and AuditLog in "
        "chatwoot_audit/_models.py, or keep it with an override in openapi/overrides.yaml"
    )
    assert not problem.fatal


def test_fields_out_of_order_are_named(merged: Any) -> None:
    """FIELDS follows the spec's order, which is the server's."""
    facade = Facade.from_source()
    swapped = Facade((facade.fields[1], facade.fields[0], *facade.fields[2:]), facade.annotations)
    (problem,) = facade_problems(_contract.table(merged), swapped)
    assert problem.text.startswith("FIELDS in chatwoot_audit/_models.py is not in the merged spec's order: id, ")


def test_a_field_parse_entry_reads_by_hand_names_convert(merged: Any) -> None:
    """id, action and created_at are read by hand: a change to them names _convert.py as well."""
    table = changed(merged, *AUDIT_LOG, "id", type="string")
    assert texts(facade_problems(table))[0] == (
        "audit_log.id is string, required in the merged spec; chatwoot_audit/_convert.py (parse_entry) reads it by "
        "hand as a required integer, and chatwoot_audit/_models.py types AuditLog.id: change both, or keep it with "
        "an override in openapi/overrides.yaml"
    )


def test_an_attribute_missing_from_fields_is_named() -> None:
    """An AuditLog attribute that FIELDS lacks is named; extra is bookkeeping, not a field."""
    facade = Facade.from_source()
    grown = Facade(facade.fields, {**facade.annotations, "tenant": "str | None"})
    problems = facade_problems(_contract.table(_spec.merged_spec()), grown)
    assert texts(problems) == [
        "AuditLog.tenant is not in FIELDS: add it there in chatwoot_audit/_models.py, or remove the attribute"
    ]


def test_page_keys_parse_page_reads(merged: Any) -> None:
    """A page key parse_page reads that is gone or retyped names parse_page and AuditLogPage."""
    spec = copy.deepcopy(merged)
    page = spec["paths"][_spec.AUDIT_LOGS_PATH]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    del page["properties"]["total_entries"]
    page["properties"]["per_page"]["type"] = "string"
    assert texts(facade_problems(_contract.table(spec))) == [
        "the 200 answer's per_page is now string; chatwoot_audit/_convert.py (parse_page) and "
        "chatwoot_audit/_models.py (AuditLogPage) read it as integer",
        "the 200 answer no longer has total_entries, which chatwoot_audit/_convert.py (parse_page) and "
        "chatwoot_audit/_models.py (AuditLogPage) read",
    ]


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ([], "the operation has no page query parameter any more: chatwoot_audit/_http.py (PageRequest) sends one"),
        (
            [
                {"name": "page", "in": "query", "schema": {"type": "integer"}},
                {"name": "since", "in": "query", "required": True, "schema": {"type": "integer"}},
            ],
            "the query parameter since is now required, with no default: chatwoot_audit/_http.py (PageRequest) does "
            "not send it",
        ),
    ],
    ids=["no-page", "required-query"],
)
def test_a_request_the_facade_cannot_build_is_fatal(merged: Any, parameters: list[Any], message: str) -> None:
    """A spec the facade could not send a request for is fatal: regeneration refuses it."""
    (problem,) = facade_problems(changed(merged, *GET, parameters=parameters))
    assert problem == Problem(message, fatal=True)


def test_a_new_path_parameter_is_fatal(merged: Any) -> None:
    """A path with a placeholder the facade does not fill is fatal."""
    table = dataclasses.replace(_contract.table(merged), path="/api/v1/accounts/{account_id}/audit_logs/{kind}")
    assert facade_problems(table)[0] == Problem(
        "the path is now /api/v1/accounts/{account_id}/audit_logs/{kind}: chatwoot_audit/_http.py (PageRequest) "
        "fills in account_id only",
        fatal=True,
    )


@pytest.mark.parametrize(
    ("types", "required", "line"),
    [
        (("integer",), False, "n: int = 0"),
        (("string",), False, 'n: str = ""'),
        (("integer", "null"), False, "n: int | None = None"),
        (("integer",), True, "n: int"),
        (("string", "null"), True, "n: str | None = None"),
        (("array",), False, "n: list[Any] = attrs.field(factory=list, hash=False)"),
        (("object", "null"), False, "n: dict[str, Any] | None = attrs.field(default=None, hash=False)"),
        (("object",), True, "n: dict[str, Any] = attrs.field(hash=False)"),
        ((), False, "n: Any = attrs.field(default=None, hash=False)"),
    ],
)
def test_declaration(types: tuple[str, ...], required: bool, line: str) -> None:
    """The suggested attribute: None only where the spec allows null, else the empty value a missing key reads
    as (0, "", a new list); mutable JSON out of the hash."""
    assert _contract.declaration(Field("n", types, required)) == line


def test_the_spec_without_an_entry_list_is_refused() -> None:
    """A 200 answer without an audit_logs array of described entries cannot serve the facade."""
    spec = copy.deepcopy(_spec.merged_spec())
    del spec["paths"][_spec.AUDIT_LOGS_PATH]["get"]["responses"]["200"]["content"]
    with pytest.raises(_spec.SpecError, match=re.escape("the 200 answer has no audit_logs array")):
        _contract.table(spec)


# -- the parser follows the table -----------------------------------------------------------------------


def table_with(**changes: tuple[str, ...]) -> list[spec_table.Field]:
    """The committed table with some fields' types replaced."""
    return [f._replace(types=changes[f.name]) if f.name in changes else f for f in spec_table.AUDIT_LOG_FIELDS]


def test_the_parser_takes_types_from_the_table() -> None:
    """Retyped in the table, a field accepts its new type and refuses its old one."""
    parse = entry_parser(FIELDS, table_with(user_id=("string", "null")))
    retyped: Any = parse({**SIGN_IN, "user_id": "u-1"}, 0)  # AuditLog's annotation is the facade edit to come
    assert retyped.user_id == "u-1"
    with pytest.raises(ValidationFailure, match=r"entry 4120: user_id is 1, not string or null"):
        parse({**SIGN_IN, "user_id": 1}, 0)
    assert parse_entry({**SIGN_IN, "user_id": None}, 0).user_id is None


def test_a_field_the_table_has_and_fields_lacks_is_kept_in_extra() -> None:
    """A regeneration ahead of the facade loses nothing: the new field rides in extra, in its place."""
    table = [*spec_table.AUDIT_LOG_FIELDS, spec_table.Field("tenant", ("string",), False)]
    row = {**SIGN_IN, "tenant": "eu"}
    log = entry_parser(FIELDS, table)(row, 0)
    assert log.extra == {"tenant": "eu"}
    assert log.to_dict() == row


def test_a_field_fields_has_and_the_table_lacks_takes_any_value() -> None:
    """A field the spec no longer lists still parses, whatever its value."""
    parse = entry_parser(FIELDS, [f for f in spec_table.AUDIT_LOG_FIELDS if f.name != "version"])
    for value in (None, 3, "3", [3], {"v": 3}):
        assert parse({**SIGN_IN, "version": value}, 0).version == value


def test_a_required_field_must_be_there() -> None:
    """A field the spec requires may not be left out, and is not nullable unless the spec says so."""
    table = [f._replace(required=True) if f.name == "version" else f for f in spec_table.AUDIT_LOG_FIELDS]
    parse = entry_parser(FIELDS, table)
    with pytest.raises(ValidationFailure, match="entry 4120: version is missing"):
        parse({k: v for k, v in SIGN_IN.items() if k != "version"}, 0)
    with pytest.raises(ValidationFailure, match="entry 4120: version is None, not integer"):
        parse({**SIGN_IN, "version": None}, 0)


def test_fields_that_cannot_be_attributes_are_refused() -> None:
    """FIELDS names become keyword arguments: a name that cannot be one fails at once."""
    with pytest.raises(ValueError, match="cannot be an AuditLog attribute"):
        entry_parser((*FIELDS, "not-a-name"), spec_table.AUDIT_LOG_FIELDS)


def test_missing_imports_are_named(tmp_path: Path) -> None:
    """An import of the facade that a generated tree lacks is named with the file that imports it."""
    package = tmp_path / "chatwoot_audit_generated"
    (package / "api").mkdir(parents=True)
    (package / "__init__.py").write_text("from .client import AuthenticatedClient\n", encoding="utf-8")
    (package / "api" / "__init__.py").write_text("", encoding="utf-8")
    source = _contract.FACADE / "_http.py"
    imports = [
        _contract.Import(source, "chatwoot_audit_generated", "AuthenticatedClient"),
        _contract.Import(source, "chatwoot_audit_generated", "spec_table"),
        _contract.Import(source, "chatwoot_audit_generated.api.audit_logs", "get_account_audit_logs"),
    ]
    assert _contract.missing_imports(package, imports) == [
        "chatwoot_audit/_http.py imports spec_table from chatwoot_audit_generated, which no longer defines it",
        "chatwoot_audit/_http.py imports chatwoot_audit_generated.api.audit_logs, which regeneration no longer "
        "produces",
    ]
