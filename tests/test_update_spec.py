"""scripts/update_spec.py: the audit-log subset of Chatwoot's full spec, the change report, and regenerating from it."""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import importlib.util
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import _spec
import pytest
import regenerate
import update_spec
from _generation import imported, regenerated
from _rows import SIGN_IN
from update_spec import Change, diff_specs, extract

from chatwoot_audit._convert import entry_parser
from chatwoot_audit._models import FIELDS

ROOT = _spec.ROOT
UPSTREAM = ROOT.parent / "shared" / "upstream" / "application_swagger.json"
AUDIT_LOGS = _spec.AUDIT_LOGS_PATH
# The seed the project started from (openapi/audit_logs.yaml before any update): tests that compare with
# what Chatwoot publishes read this copy, so that updating openapi/ does not break them.
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_audit_logs.yaml"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*argv: str, baseline: Path = SEED) -> Run:
    """update_spec's command line, comparing with ``baseline`` (the seed) instead of openapi/audit_logs.yaml."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        patch.setattr(update_spec, "SPEC_PATH", baseline)
        code = update_spec.main(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def upstream_text() -> str:
    if not UPSTREAM.is_file():
        pytest.skip(f"Chatwoot's full spec is read in place from {UPSTREAM}, and ../shared is absent")
    return UPSTREAM.read_text(encoding="utf-8")


@pytest.fixture
def upstream(upstream_text: str) -> dict[str, Any]:
    """A fresh copy of the full upstream spec, free to modify."""
    result: dict[str, Any] = json.loads(upstream_text)
    return result


@pytest.fixture(scope="module")
def vendored() -> Any:
    """The seed spec: what Chatwoot published when the project started."""
    return _spec.load_spec(SEED)


@pytest.fixture(scope="module")
def overrides() -> Any:
    return _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module", autouse=True)
def openapi_is_left_alone() -> Iterator[None]:
    """No test here may write into openapi/ or generated/."""
    before = {p: p.read_bytes() for p in [*_spec.OPENAPI.iterdir(), regenerate.GENERATED / "stamp.json"]}
    yield
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(_spec.OPENAPI.iterdir()) == sorted(p for p in before if p.parent == _spec.OPENAPI)


def modified_upstream(upstream: dict[str, Any]) -> dict[str, Any]:
    """Upstream with a new field on audit_log and without the 422 response."""
    upstream["components"]["schemas"]["audit_log"]["properties"]["new_field"] = {
        "type": "string",
        "description": "Added upstream.",
    }
    del upstream["paths"][AUDIT_LOGS]["get"]["responses"]["422"]
    return upstream


@pytest.fixture(scope="module")
def updated(upstream_text: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """update_spec run once on the modified upstream, writing into a temporary folder."""
    folder = tmp_path_factory.mktemp("updated")
    source = folder / "application_swagger.json"
    source.write_text(json.dumps(modified_upstream(json.loads(upstream_text))), encoding="utf-8")
    output = folder / "audit_logs.yaml"
    return run(str(source), "--output", str(output)), output


# ------------------------------------------------------------------------------------------- extraction


def test_extraction_from_upstream_matches_the_vendored_spec(upstream: dict[str, Any], vendored: Any) -> None:
    """Upstream's audit-log path, schemas and header equal the vendored ones, but for the per_page example."""
    extracted = extract(upstream)
    assert list(extracted) == ["openapi", "info", "servers", "security", "tags", "paths", "components"]
    assert extracted["components"] == vendored["components"]
    per_page = extracted["paths"][AUDIT_LOGS]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    per_page["properties"]["per_page"]["example"] = 15  # the seed predates the change to 25 (chatwoot#14582)
    assert extracted == vendored


def test_extraction_takes_only_what_the_path_references(upstream: dict[str, Any]) -> None:
    """Only referenced components come along, request_error through bad_request_error, one security scheme."""
    components = extract(upstream)["components"]
    assert set(components["schemas"]) == {"audit_log", "bad_request_error", "request_error"}
    assert set(components["parameters"]) == {"account_id"}
    assert set(components["securitySchemes"]) == {"userApiKey"}
    assert len(upstream["components"]["securitySchemes"]) > 1


def test_only_the_per_page_example_differs_on_real_upstream(upstream: dict[str, Any], vendored: Any) -> None:
    """The report on the real upstream file is one cosmetic line: the per_page example."""
    assert diff_specs(vendored, extract(upstream)) == [Change("response 200.per_page example 15 -> 25", cosmetic=True)]


def test_rendering_keeps_the_published_layout(upstream: dict[str, Any], vendored: Any) -> None:
    """Rewriting the vendored spec reproduces its text; upstream's rendering differs by the example line only."""
    # The seed keeps the blank line that closed its code block; a rewrite drops it.
    published = SEED.read_text(encoding="utf-8").rstrip("\n") + "\n"
    assert update_spec.render(vendored, vendored) == published
    rendered = update_spec.render(extract(upstream), vendored)
    assert rendered.replace("example: 25", "example: 15") == published


def test_yaml_source_is_accepted(vendored: Any) -> None:
    """A YAML document works as well as JSON: the seed extracts to itself."""
    document = update_spec.parse_document(SEED.read_text(encoding="utf-8"))
    assert extract(document) == vendored


def test_dangling_reference_is_bad_input(vendored: Any) -> None:
    """A $ref to a component the document lacks is refused by name."""
    broken = copy.deepcopy(vendored)
    del broken["components"]["schemas"]["request_error"]
    with pytest.raises(_spec.SpecError, match="'#/components/schemas/request_error' points to nothing"):
        extract(broken)


# ------------------------------------------------------------------------------------------------ diff


def at(*keys: str | int) -> Callable[[Callable[[Any], object]], Callable[[Any], None]]:
    """A mutation of a spec: ``change`` applied to the node found at ``keys``."""

    def with_change(change: Callable[[Any], object]) -> Callable[[Any], None]:
        def apply(spec: Any) -> None:
            node = spec
            for key in keys:
                node = node[key]
            change(node)

        return apply

    return with_change


GET = ("paths", AUDIT_LOGS, "get")
AUDIT_LOG = ("components", "schemas", "audit_log", "properties")
PER_PAGE_PARAM = {"name": "per_page", "in": "query", "schema": {"type": "integer"}}


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (at(*AUDIT_LOG)(lambda p: p.update(new_field={"type": "string"})), "audit_log.new_field added (string)"),
        (at(*AUDIT_LOG)(lambda p: p.pop("comment")), "audit_log.comment removed"),
        (
            at(*AUDIT_LOG, "created_at")(lambda s: s.update(type="string", format="date-time")),
            "audit_log.created_at type integer -> string (date-time)",
        ),
        (
            at(*AUDIT_LOG, "user_id")(lambda s: s.update(type=["integer", "null"])),
            "audit_log.user_id type integer -> integer | null",
        ),
        (
            at(*AUDIT_LOG, "action")(lambda s: s.update(enum=["create", "update", "sign_in"])),
            "audit_log.action enum values added sign_in; removed destroy",
        ),
        (
            at(*AUDIT_LOG, "action")(lambda s: s.pop("enum")),
            "audit_log.action enum removed (now open; was create, update, destroy)",
        ),
        (at("components", "schemas", "audit_log")(lambda s: s.update(required=["id"])), "audit_log.id now required"),
        (
            at("components", "schemas", "request_error", "properties")(lambda p: p.update(hint={"type": "string"})),
            "request_error.hint added (string)",
        ),
        (at("components", "schemas")(lambda s: s.update(extra={"type": "object"})), "schema extra added"),
        (
            at(*GET, "responses")(lambda r: r.pop("422")),
            "response 422 removed (was application/json: bad_request_error)",
        ),
        (
            at(*GET, "responses")(lambda r: r.update({"429": {"description": "Throttled"}})),
            "response 429 added (no content)",
        ),
        (
            at(*GET, "responses", "200", "content", "application/json", "schema", "properties")(
                lambda p: p.pop("per_page")
            ),
            "response 200.per_page removed",
        ),
        (
            at(*GET, "parameters")(lambda p: p.append(PER_PAGE_PARAM)),
            "parameter per_page (query) added (integer, optional)",
        ),
        (
            at(*GET, "parameters")(
                lambda p: p.append({**PER_PAGE_PARAM, "schema": {"type": "integer", "default": 25}})
            ),
            "parameter per_page (query) added (integer, optional, default 25: sent on every request)",
        ),
        (
            at(*GET, "parameters")(lambda p: p.clear()),
            "parameter page (query) removed (integer, optional, default 1: sent on every request)",
        ),
        (at(*GET, "parameters", 0)(lambda p: p.update(required=True)), "parameter page (query) required false -> true"),
        (
            at(*GET, "responses", "403", "content")(lambda c: c.update({"text/html": {"schema": {"type": "string"}}})),
            "response 403 content text/html added (string)",
        ),
        (
            at(*GET, "responses")(
                lambda r: r.update(
                    {
                        "401": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/request_error"}}}
                        }
                    }
                )
            ),
            "response 401 added (application/json: request_error)",
        ),
        (
            at(*AUDIT_LOG, "comment")(lambda s: s.update(type="string", nullable=True)),
            "audit_log.comment null spelled as nullable: true (OpenAPI 3.0), was a type array (OpenAPI 3.1)",
        ),
        (at(*GET, "parameters", 0, "schema")(lambda s: s.update(default=2)), "parameter page (query) default 1 -> 2"),
        (
            at(*GET)(lambda op: op.update(operationId="list-audit-logs")),
            "operation operationId get-account-audit-logs -> list-audit-logs",
        ),
        (
            at("components", "securitySchemes", "userApiKey")(lambda s: s.update(name="api-access-token")),
            "security scheme userApiKey name api_access_token -> api-access-token",
        ),
    ],
)
def test_diff_names_each_kind_of_change(vendored: Any, mutation: Callable[[Any], None], expected: str) -> None:
    """Each kind of change is reported in one readable line, and nothing else is."""
    new = copy.deepcopy(vendored)
    mutation(new)
    assert [change.text for change in diff_specs(vendored, new)] == [expected]


def test_description_changes_are_cosmetic(vendored: Any) -> None:
    """Description and example changes are reported apart, as cosmetic."""
    new = copy.deepcopy(vendored)
    new["components"]["schemas"]["audit_log"]["properties"]["id"]["description"] = "Something else entirely, and long."
    assert diff_specs(vendored, new) == [Change("audit_log.id description changed", cosmetic=True)]


def test_identical_specs_have_no_changes(vendored: Any) -> None:
    """A spec compared with itself reports nothing."""
    assert diff_specs(vendored, copy.deepcopy(vendored)) == []


# ------------------------------------------------------------------------------------------ overrides


def test_override_that_no_longer_applies_is_named(vendored: Any, overrides: Any) -> None:
    """Without the 422 response, the override describing it is reported by its number in the file."""
    number = 1 + next(i for i, item in enumerate(overrides) if item["path"].endswith("/responses/422/description"))
    new = copy.deepcopy(vendored)
    del new["paths"][AUDIT_LOGS]["get"]["responses"]["422"]
    (problem,) = update_spec.override_problems(new, overrides)
    assert problem.startswith(f"override #{number}")
    assert update_spec.override_problems(vendored, overrides) == []


OVERRIDE_USER_ID = 4  # replace .../user_id/type in openapi/overrides.yaml
OVERRIDE_ACTION = 1  # replace .../action
OVERRIDE_OPERATION_ID = 17  # pin of the operationId


def number_of(overrides: Any, path_end: str) -> int:
    return 1 + next(i for i, item in enumerate(overrides) if item["path"].endswith(path_end))


def test_override_numbers_used_here(overrides: Any) -> None:
    """The numbers these tests name are the overrides they mean."""
    assert number_of(overrides, "/user_id/type") == OVERRIDE_USER_ID
    assert number_of(overrides, "/properties/action") == OVERRIDE_ACTION
    assert number_of(overrides, "/get/operationId") == OVERRIDE_OPERATION_ID
    assert overrides[OVERRIDE_OPERATION_ID - 1]["pin"] is True


def audited(vendored: Any, overrides: Any, mutation: Callable[[Any], None]) -> list[Change]:
    new = copy.deepcopy(vendored)
    mutation(new)
    return update_spec.audit_overrides(vendored, new, overrides)


def test_an_override_that_hides_a_retype_says_so(vendored: Any, overrides: Any) -> None:
    """Upstream retypes user_id under override #4: the override is named with what it hides and keeps."""
    (finding,) = audited(vendored, overrides, at(*AUDIT_LOG, "user_id")(lambda s: s.update(type="string")))
    assert finding == Change(
        f"override #{OVERRIDE_USER_ID} hides an upstream change: audit_log.user_id type integer -> string "
        "(the merged spec keeps integer | null)"
    )
    assert not finding.cosmetic


def test_an_override_that_hides_a_new_enum_value_says_so(vendored: Any, overrides: Any) -> None:
    """A new action upstream, under the override that opens the enum, is named."""
    (finding,) = audited(vendored, overrides, at(*AUDIT_LOG, "action", "enum")(lambda e: e.append("sign_in")))
    assert (
        finding.text
        == f"override #{OVERRIDE_ACTION} hides an upstream change: audit_log.action enum values added sign_in"
    )


def test_an_override_hiding_only_a_description_is_cosmetic(vendored: Any, overrides: Any) -> None:
    """A description changed under a replaced schema is reported, as cosmetic."""
    (finding,) = audited(vendored, overrides, at(*AUDIT_LOG, "created_at")(lambda s: s.update(description="When.")))
    assert finding.text.startswith("override #")
    assert "audit_log.created_at description" in finding.text
    assert finding.cosmetic


@pytest.mark.parametrize("spelling", [{"type": ["integer", "null"]}, {"nullable": True}], ids=["3.1", "3.0"])
def test_a_redundant_override_is_named(vendored: Any, overrides: Any, spelling: dict[str, Any]) -> None:
    """Upstream makes user_id nullable itself, in either spelling: the override is redundant."""
    (finding,) = audited(vendored, overrides, at(*AUDIT_LOG, "user_id")(lambda s: s.update(spelling)))
    assert finding.text == (
        f"override #{OVERRIDE_USER_ID} (replace audit_log.user_id type) is redundant: the new spec says the same "
        "without it; drop it"
    )


def test_a_change_an_override_now_agrees_with_is_not_hidden(vendored: Any, overrides: Any) -> None:
    """Where upstream now says what an override says, the change is not reported as hidden by it."""
    new = copy.deepcopy(vendored)
    new["components"]["schemas"]["audit_log"]["properties"]["user_id"]["type"] = ["integer", "null"]
    assert update_spec.report(vendored, new, overrides).lines()[0] == "audit_log.user_id type integer -> integer | null"


def test_a_pinned_name_changed_upstream_is_named(vendored: Any, overrides: Any) -> None:
    """A renamed operationId is held by its pin, and the report says which name upstream moved to."""
    (finding,) = audited(vendored, overrides, at(*GET)(lambda op: op.update(operationId="list-audit-logs")))
    assert finding.text == (
        f"override #{OVERRIDE_OPERATION_ID} pins operationId to get-account-audit-logs, which upstream changed: "
        "operationId get-account-audit-logs -> list-audit-logs"
    )


def test_override_now_covered_upstream_is_named(vendored: Any, overrides: Any) -> None:
    """An override that adds what upstream now has itself (a 401 response) is pointed out."""
    (finding,) = audited(vendored, overrides, at(*GET, "responses")(lambda r: r.update({"401": {"description": "No"}})))
    assert finding.text == (
        'override #12 adds response 401, which the new spec now has itself ({"description": "No"}): check it is still '
        "needed"
    )
    assert update_spec.audit_overrides(vendored, vendored, overrides) == []


@pytest.mark.parametrize(
    ("pointer", "name"),
    [
        ("/components/schemas/audit_log/properties/user_id/type", "audit_log.user_id type"),
        ("/components/schemas/audit_log/required", "audit_log required"),
        (f"/paths/{_spec.escape(AUDIT_LOGS)}/get/operationId", "operationId"),
        (f"/paths/{_spec.escape(AUDIT_LOGS)}/get/responses/401", "response 401"),
        (
            f"/paths/{_spec.escape(AUDIT_LOGS)}/get/responses/200/content/application~1json/schema/properties/per_page",
            "response 200.per_page",
        ),
        ("/info/title", "/info/title"),
    ],
)
def test_label(pointer: str, name: str) -> None:
    """Overrides are named in the report the way the diff names the same place."""
    assert update_spec.label(pointer) == name


@pytest.mark.parametrize(
    ("mutation", "part"),
    [
        (
            at(*AUDIT_LOG)(lambda p: p.update(tenant={"type": "string"})),
            "chatwoot_audit/_models.py (FIELDS and AuditLog",
        ),
        (at(*AUDIT_LOG, "id")(lambda s: s.update(type="string")), "chatwoot_audit/_convert.py (parse_entry reads id"),
        (at(*AUDIT_LOG, "action", "enum")(lambda e: e.append("merge")), "chatwoot_audit/_models.py (AuditAction"),
        (at(*GET, "parameters")(lambda p: p.append(PER_PAGE_PARAM)), "chatwoot_audit/_http.py (PageRequest"),
        (at(*GET, "responses")(lambda r: r.update({"429": {"description": "Slow"}})), "chatwoot_audit/_errors.py"),
        (
            at(*GET, "responses", "200", "content", "application/json", "schema", "properties")(
                lambda p: p.pop("per_page")
            ),
            "chatwoot_audit/_convert.py (parse_page)",
        ),
        (at(*GET)(lambda op: op.update(operationId="x")), "none in chatwoot_audit/"),
        (at("components", "securitySchemes", "userApiKey")(lambda s: s.update(name="x")), "chatwoot_audit/_config.py"),
    ],
)
def test_each_change_names_the_facade_part(vendored: Any, mutation: Callable[[Any], None], part: str) -> None:
    """Every kind of change that facade code reads names the file(s) to look at."""
    new = copy.deepcopy(vendored)
    mutation(new)
    (change,) = diff_specs(vendored, new)
    facade = update_spec.facade_part(change)
    assert facade is not None
    assert facade.startswith(part)


def test_cosmetic_changes_name_no_facade_part(vendored: Any) -> None:
    """A description concerns no facade code."""
    new = copy.deepcopy(vendored)
    new["components"]["schemas"]["audit_log"]["properties"]["id"]["description"] = "Another."
    (change,) = diff_specs(vendored, new)
    assert update_spec.facade_part(change) is None


# ------------------------------------------------------------------------------------------------- CLI


def test_report_names_the_new_field_and_the_removed_response(updated: tuple[Run, Path]) -> None:
    """The report on a modified upstream names both changes, the override they break, and what to run next."""
    result, output = updated
    assert result.code == 0, result.err
    assert "  audit_log.new_field added (string)\n" in result.out
    assert "  response 422 removed (was application/json: bad_request_error)\n" in result.out
    assert "  response 200.per_page example 15 -> 25\n" in result.out
    assert "no longer apply" in result.out
    assert "/responses/422/description" in result.out
    assert "scripts/regenerate.py" in result.out
    assert f"wrote {output}" in result.out
    assert _spec.load_spec(output)["components"]["schemas"]["audit_log"]["properties"]["new_field"]["type"] == "string"


def test_regenerating_from_the_updated_spec_gives_the_new_field(updated: tuple[Run, Path]) -> None:
    """Once the broken override is dropped, regeneration yields new_field in the model and in the table, and
    the facade keeps it (in extra) until FIELDS and AuditLog have it, as the regeneration's note says."""
    _, spec_path = updated
    overrides = [
        item
        for item in _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
        if "/responses/422" not in item["path"]
    ]
    target, notes = regenerated(spec_path.read_text(encoding="utf-8"), json.dumps(overrides))

    package = target / regenerate.PACKAGE
    assert "    new_field: str | Unset = UNSET\n" in (package / "models" / "audit_log.py").read_text(encoding="utf-8")
    assert "status_code == 422" not in (package / "api" / "audit_logs" / "get_account_audit_logs.py").read_text()
    stamp = json.loads((target / "stamp.json").read_text(encoding="utf-8"))
    assert stamp["spec_sha256"] == _spec.sha256_file(spec_path)
    assert notes == (
        "audit_log.new_field (string) is in the merged spec but not in the facade: in chatwoot_audit/_models.py add "
        "'new_field' to FIELDS after 'remote_address' and `new_field: str = \"\"` to AuditLog (until then the "
        "parser keeps it in AuditLog.extra)",
    )

    with imported(package, "candidate_generated") as candidate:
        audit_log = importlib.import_module(f"{candidate.__name__}.models.audit_log")
        log = audit_log.AuditLog.from_dict({"id": 1, "action": "sign_in", "created_at": 1, "new_field": "x"})
        assert log.new_field == "x"
        assert log.additional_properties == {}
        table = importlib.import_module(f"{candidate.__name__}.spec_table")
        row = {**SIGN_IN, "new_field": "x"}
        entry = entry_parser(FIELDS, table.AUDIT_LOG_FIELDS)(row, 0)
        assert entry.extra == {"new_field": "x"}
        assert entry.to_dict() == row


def changed_upstream(upstream: dict[str, Any], folder: Path, mutation: Callable[[Any], None]) -> str:
    """A full upstream spec changed by ``mutation``, written into ``folder``; its path."""
    mutation(upstream)
    source = folder / "application_swagger.json"
    source.write_text(json.dumps(upstream), encoding="utf-8")
    return str(source)


def test_check_passes_todays_upstream(tmp_path: Path, upstream: dict[str, Any]) -> None:
    """--check on today's upstream (a changed example) exits 0, says why, and writes nothing."""
    output = tmp_path / "audit_logs.yaml"
    result = run(changed_upstream(upstream, tmp_path, lambda spec: None), "--check", "--output", str(output))
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Changes from tests/fixtures/seed_audit_logs.yaml:\n"
        "  none to paths, fields, types, enums, parameters or responses\n"
        "Descriptions and examples only:\n"
        "  response 200.per_page example 15 -> 25\n"
        "check: only descriptions and examples changed; nothing written\n"
    )
    assert not output.exists()


@pytest.mark.usefixtures("upstream_text")
def test_todays_update_regenerates_with_nothing_for_the_facade_to_do(tmp_path: Path) -> None:
    """The documented update with today's upstream: update_spec writes, regeneration has no note for the
    facade, and the generated package differs from the seed's only in the docstring of the example."""
    output = tmp_path / "audit_logs.yaml"
    assert run(str(UPSTREAM), "--output", str(output)).code == 0
    updated_tree, notes = regenerated(output.read_text(encoding="utf-8"))
    seed_tree, seed_notes = regenerated(SEED.read_text(encoding="utf-8"))
    assert notes == seed_notes == ()
    package = Path(regenerate.PACKAGE)
    differing = [
        name
        for name in sorted(p.relative_to(seed_tree).as_posix() for p in seed_tree.rglob("*") if p.is_file())
        if (seed_tree / name).read_bytes() != (updated_tree / name).read_bytes()
    ]
    assert differing == [(package / "models" / "audit_log_list.py").as_posix(), "stamp.json"]


def test_check_names_a_new_field_and_the_facade_edit(tmp_path: Path, upstream: dict[str, Any]) -> None:
    """A new field: exit 1, the change with the facade file, and the exact edit the facade needs."""
    add = at(*AUDIT_LOG)(lambda p: p.update(tenant_region={"type": ["string", "null"]}))
    result = run(changed_upstream(upstream, tmp_path, add), "--check")
    assert result.code == 1
    assert result.out.startswith(
        "Changes from tests/fixtures/seed_audit_logs.yaml:\n"
        "  audit_log.tenant_region added (string | null)\n"
        "      facade: chatwoot_audit/_models.py (FIELDS and AuditLog; the parser takes its types from the "
        "regenerated table)\n"
    )
    assert (
        "The facade (chatwoot_audit/) against the new merged spec; edit it after regenerating:\n"
        "  audit_log.tenant_region (string | null) is in the merged spec but not in the facade: in "
        "chatwoot_audit/_models.py add 'tenant_region' to FIELDS after 'remote_address' and `tenant_region: str | None "
        "= None` to AuditLog (until then the parser keeps it in AuditLog.extra)\n"
    ) in result.out
    assert result.out.endswith("check: changes that matter (above); nothing written\n")


def test_check_names_a_retyped_field_and_the_override_hiding_it(tmp_path: Path, upstream: dict[str, Any]) -> None:
    """A retype under an override: the change says it is hidden, the override says what it keeps."""
    result = run(
        changed_upstream(upstream, tmp_path, at(*AUDIT_LOG, "user_id")(lambda s: s.update(type="string"))), "--check"
    )
    assert result.code == 1
    assert (
        f"  audit_log.user_id type integer -> string (hidden by override #{OVERRIDE_USER_ID})\n"
        "      facade: chatwoot_audit/_models.py (FIELDS and AuditLog; the parser takes its types from the regenerated "
        "table)\n"
    ) in result.out
    assert (
        "openapi/overrides.yaml: what the overrides now do to upstream:\n"
        f"  override #{OVERRIDE_USER_ID} hides an upstream change: audit_log.user_id type integer -> string "
        "(the merged spec keeps integer | null)\n"
    ) in result.out
    assert "The facade" not in result.out  # the merged spec still says integer | null


def test_check_names_a_renamed_operation_id(tmp_path: Path, upstream: dict[str, Any]) -> None:
    """A renamed operationId: held by its pin, reported with who depends on the name."""
    rename = at(*GET)(lambda op: op.update(operationId="list-audit-logs"))
    result = run(changed_upstream(upstream, tmp_path, rename), "--check")
    assert result.code == 1
    assert (
        f"  operation operationId get-account-audit-logs -> list-audit-logs (hidden by override "
        f"#{OVERRIDE_OPERATION_ID})\n"
        "      facade: none in chatwoot_audit/ (it reads chatwoot_audit_generated.spec_table), but the generated "
        "endpoint module and page class are named after it: code using client.generated, tests/test_generated.py, "
        "tests/test_client.py and class_overrides in openapi/generator.yaml\n"
    ) in result.out
    assert (
        f"  override #{OVERRIDE_OPERATION_ID} pins operationId to get-account-audit-logs, which upstream changed: "
        "operationId get-account-audit-logs -> list-audit-logs\n"
    ) in result.out


def test_check_on_unusable_input_exits_2(tmp_path: Path) -> None:
    """--check keeps exit status 2 for a source that cannot be used."""
    result = run(str(tmp_path / "missing.json"), "--check")
    assert (result.code, result.out) == (2, "")
    assert "no such file" in result.err


def test_check_and_dry_run_exclude_each_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check gates, --dry-run previews: asking for both is a usage error."""
    with pytest.raises(SystemExit) as info:
        update_spec.main([str(tmp_path / "x.json"), "--check", "--dry-run"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.usefixtures("upstream_text")
def test_no_change_and_dry_run_write_nothing_new(tmp_path: Path) -> None:
    """A second run finds its output up to date; --dry-run reports without writing."""
    source = UPSTREAM
    output = tmp_path / "audit_logs.yaml"

    dry = run(str(source), "--output", str(output), "--dry-run")
    assert dry.code == 0
    assert "none to paths, fields, types, enums, parameters or responses" in dry.out
    assert "dry run" in dry.out
    assert not output.exists()

    assert run(str(source), "--output", str(output)).code == 0
    written = output.read_bytes()
    again = run(str(source), "--output", str(output))
    assert again.code == 0
    assert "is up to date" in again.out
    assert output.read_bytes() == written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\xff\xfe\x00\x01", "not JSON or YAML (not UTF-8 text)"),
        (b"key: [unclosed\n", "not JSON or YAML"),
        (b'{"openapi": "3.1.0", "paths": {', "not valid JSON"),
        (b"just a sentence", "not an OpenAPI document"),
        (b'{"openapi": "3.1.0", "paths": {"/api/v1/profile": {}}}', f"no {AUDIT_LOGS} path in the document"),
    ],
    ids=["missing", "binary", "bad-yaml", "truncated-json", "scalar", "no-audit-path"],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, content: bytes | None, message: str) -> None:
    """Unusable input gives exit status 2 and a single line naming the source and the problem."""
    source = tmp_path / "spec.json"
    if content is not None:
        source.write_bytes(content)
    result = run(str(source), "--output", str(tmp_path / "out.yaml"))
    assert result.code == 2
    assert result.err.startswith(f"update_spec: {source}: {message}")
    assert result.err.count("\n") == 1
    assert result.out == ""
    assert not (tmp_path / "out.yaml").exists()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server for the files in tmp_path; yields its base URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_source_can_be_a_url(served: str, tmp_path: Path) -> None:
    """An http URL is fetched; a URL that answers 404 is bad input, in one line."""
    (tmp_path / "spec.yaml").write_bytes(_spec.SPEC_PATH.read_bytes())
    result = run(f"{served}/spec.yaml", "--output", str(tmp_path / "out.yaml"), "--dry-run")
    assert result.code == 0, result.err
    assert "none to paths, fields, types, enums, parameters or responses" in result.out

    missing = run(f"{served}/nope.json", "--output", str(tmp_path / "out.yaml"))
    assert missing.code == 2
    assert missing.err.startswith(f"update_spec: {served}/nope.json: cannot fetch it:")
