"""scripts/update_spec.py: the audit-log subset of Chatwoot's full spec, the change report, and regenerating from it."""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import importlib.util
import io
import json
import sys
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
from update_spec import Change, diff_specs, extract

ROOT = _spec.ROOT
UPSTREAM = ROOT.parent / "shared" / "upstream" / "application_swagger.json"
AUDIT_LOGS = _spec.AUDIT_LOGS_PATH


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
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
    return _spec.load_spec()


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
    # The vendored file keeps the blank line that closed the seed's code block; a rewrite drops it.
    published = _spec.SPEC_PATH.read_text(encoding="utf-8").rstrip("\n") + "\n"
    assert update_spec.render(vendored, vendored) == published
    rendered = update_spec.render(extract(upstream), vendored)
    assert rendered.replace("example: 25", "example: 15") == published


def test_yaml_source_is_accepted(vendored: Any) -> None:
    """A YAML document works as well as JSON: the vendored spec extracts to itself."""
    document = update_spec.parse_document(_spec.SPEC_PATH.read_text(encoding="utf-8"))
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
        (at(*GET, "responses")(lambda r: r.pop("422")), "response 422 removed"),
        (
            at(*GET, "responses")(lambda r: r.update({"429": {"description": "Throttled"}})),
            "response 429 added",
        ),
        (
            at(*GET, "responses", "200", "content", "application/json", "schema", "properties")(
                lambda p: p.pop("per_page")
            ),
            "response 200.per_page removed",
        ),
        (at(*GET, "parameters")(lambda p: p.append(PER_PAGE_PARAM)), "parameter per_page (query) added (integer)"),
        (at(*GET, "parameters")(lambda p: p.clear()), "parameter page (query) removed"),
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


def test_override_that_no_longer_applies_is_named(vendored: Any) -> None:
    """Without the 422 response, the override describing it is reported by its number in the file."""
    overrides = _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
    number = 1 + next(i for i, item in enumerate(overrides) if item["path"].endswith("/responses/422/description"))
    new = copy.deepcopy(vendored)
    del new["paths"][AUDIT_LOGS]["get"]["responses"]["422"]
    (problem,) = update_spec.override_problems(new, overrides)
    assert problem.startswith(f"override #{number}")
    assert update_spec.override_problems(vendored, overrides) == []


def test_override_now_covered_upstream_is_named(vendored: Any) -> None:
    """An override that adds what upstream now has itself (a 401 response) is pointed out."""
    overrides = _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
    new = copy.deepcopy(vendored)
    new["paths"][AUDIT_LOGS]["get"]["responses"]["401"] = {"description": "Unauthorized"}
    (note,) = update_spec.overrides_now_upstream(vendored, new, overrides)
    assert note.endswith("/get/responses/401, which the new spec now has itself")
    assert update_spec.overrides_now_upstream(vendored, vendored, overrides) == []


# ------------------------------------------------------------------------------------------------- CLI


def test_report_names_the_new_field_and_the_removed_response(updated: tuple[Run, Path]) -> None:
    """The report on a modified upstream names both changes, the override they break, and what to run next."""
    result, output = updated
    assert result.code == 0, result.err
    assert "  audit_log.new_field added (string)\n" in result.out
    assert "  response 422 removed\n" in result.out
    assert "  response 200.per_page example 15 -> 25\n" in result.out
    assert "no longer apply" in result.out
    assert "/responses/422/description" in result.out
    assert "scripts/regenerate.py" in result.out
    assert f"wrote {output}" in result.out
    assert _spec.load_spec(output)["components"]["schemas"]["audit_log"]["properties"]["new_field"]["type"] == "string"


def _import_as(package: Path, name: str) -> None:
    """Import a generated package under another name, so that it cannot clash with the committed one."""
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def test_regenerating_from_the_updated_spec_gives_the_new_field(updated: tuple[Run, Path], tmp_path: Path) -> None:
    """Once the broken override is dropped, regeneration from the new spec yields a model with new_field."""
    _, spec_path = updated
    overrides = [
        item
        for item in _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))
        if "/responses/422" not in item["path"]
    ]
    overrides_path = tmp_path / "overrides.yaml"
    overrides_path.write_text(json.dumps(overrides), encoding="utf-8")
    target = tmp_path / "generated"
    target.mkdir()

    regenerate.generate_into(target, spec_path=spec_path, overrides_path=overrides_path)

    package = target / regenerate.PACKAGE
    assert "    new_field: str | Unset = UNSET\n" in (package / "models" / "audit_log.py").read_text(encoding="utf-8")
    assert "status_code == 422" not in (package / "api" / "audit_logs" / "get_account_audit_logs.py").read_text()
    stamp = json.loads((target / "stamp.json").read_text(encoding="utf-8"))
    assert stamp["spec_sha256"] == _spec.sha256_file(spec_path)
    assert stamp["overrides_sha256"] == _spec.sha256_file(overrides_path)

    try:
        _import_as(package, "candidate_generated")
        audit_log = importlib.import_module("candidate_generated.models.audit_log")
        log = audit_log.AuditLog.from_dict({"id": 1, "action": "sign_in", "created_at": 1, "new_field": "x"})
        assert log.new_field == "x"
        assert log.additional_properties == {}
    finally:
        for name in [m for m in sys.modules if m.partition(".")[0] == "candidate_generated"]:
            del sys.modules[name]


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
