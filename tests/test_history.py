"""Chatwoot's own spec history through update_spec and regeneration: OpenAPI 3.0 (nullable) and 3.1 alike."""

from __future__ import annotations

import importlib
import itertools
import json
from pathlib import Path
from typing import Any

import _contract
import _spec
import pytest
import update_spec
from _generation import regenerated
from update_spec import Change

from chatwoot_audit.testing import Emulator

ROOT = _spec.ROOT
HISTORY = ROOT.parent / "shared" / "upstream" / "history"
TODAY = ROOT.parent / "shared" / "upstream" / "application_swagger.json"
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_audit_logs.yaml"
BEFORE_AUDIT_LOGS = "f6510e0d4"  # OpenAPI 3.0.4, before the audit-log path existed
FIRST = "94b715492"  # the first with the path: OpenAPI 3.0.4, null spelled `nullable: true`
TYPE_ARRAYS = "9a9398b38"  # OpenAPI 3.1: null spelled as a type array

Draft202012Validator: Any = importlib.import_module("jsonschema").Draft202012Validator


def history(commit: str) -> Path:
    path = HISTORY / f"application_swagger.{commit}.json"
    if not path.is_file():
        pytest.skip(f"Chatwoot's spec history is read in place from {HISTORY}, and it is absent")
    return path


@pytest.fixture(scope="module")
def extracted() -> dict[str, Any]:
    """The audit-log subset of each version, by commit ("today" for the current upstream file)."""
    if not TODAY.is_file():
        pytest.skip(f"Chatwoot's full spec is read in place from {TODAY}, and it is absent")
    found = {c: update_spec.extract(json.loads(history(c).read_text("utf-8"))) for c in (FIRST, TYPE_ARRAYS)}
    found["today"] = update_spec.extract(json.loads(TODAY.read_text("utf-8")))
    return found


@pytest.fixture(scope="module")
def overrides() -> Any:
    return _spec.load_yaml(_spec.OVERRIDES_PATH.read_text(encoding="utf-8"))


def test_a_version_before_audit_logs_is_unusable_input(capsys: pytest.CaptureFixture[str]) -> None:
    """The spec from before the endpoint existed: exit 2, one line that says so."""
    source = history(BEFORE_AUDIT_LOGS)
    assert update_spec.main([str(source), "--check"]) == 2
    assert capsys.readouterr().err == f"update_spec: {source}: no {_spec.AUDIT_LOGS_PATH} path in the document\n"


def test_each_step_of_history_reads_as_what_changed(extracted: dict[str, Any], overrides: Any) -> None:
    """Seed -> 3.0.4 -> 3.1 -> today: the version and the spelling of null, then an example; the overrides
    fit every version, and the facade needs nothing."""
    seed = _spec.load_spec(SEED)
    versions = [seed, extracted[FIRST], extracted[TYPE_ARRAYS], extracted["today"]]
    steps = list(itertools.pairwise(versions))
    spelled_30 = "null spelled as nullable: true (OpenAPI 3.0), was a type array (OpenAPI 3.1)"
    spelled_31 = "null spelled as a type array (OpenAPI 3.1), was nullable: true (OpenAPI 3.0)"
    expected = [
        [
            Change("top-level openapi 3.1.0 -> 3.0.4"),
            Change("top-level tags changed", cosmetic=True),
            Change(f"audit_log.comment {spelled_30}", cosmetic=True),
            Change(f"audit_log.remote_address {spelled_30}", cosmetic=True),
        ],
        [
            Change("top-level openapi 3.0.4 -> 3.1.0"),
            Change(f"audit_log.comment {spelled_31}", cosmetic=True),
            Change(f"audit_log.remote_address {spelled_31}", cosmetic=True),
        ],
        [
            Change("top-level tags changed", cosmetic=True),
            Change("response 200.per_page example 15 -> 25", cosmetic=True),
        ],
    ]
    for (old, new), changes in zip(steps, expected, strict=True):
        found = update_spec.report(old, new, overrides)
        assert found.changes == changes
        assert (found.overrides, found.broken_overrides, found.facade) == ([], [], [])
    assert update_spec.report(extracted[TYPE_ARRAYS], extracted["today"], overrides).matters is False


def test_both_spellings_of_null_give_one_table(extracted: dict[str, Any], overrides: Any) -> None:
    """The facade's table reads the same from the 3.0.4 and the 3.1 versions of the spec."""
    tables = [_contract.table(_spec.apply_overrides(extracted[c], overrides)) for c in (FIRST, TYPE_ARRAYS, "today")]
    assert tables[0] == tables[1] == tables[2]
    comment = next(f for f in tables[0].entry_fields if f.name == "comment")
    assert comment.types == ("string", "null")


def test_both_spellings_of_null_generate_the_same_client(extracted: dict[str, Any]) -> None:
    """The first published version (3.0.4, nullable) and the 3.1 one generate the same package, byte for byte."""
    seed = _spec.load_spec(SEED)
    packages = []
    for commit in (FIRST, TYPE_ARRAYS):
        target, notes = regenerated(update_spec.render(extracted[commit], seed))
        assert notes == ()
        packages.append(files(target / "chatwoot_audit_generated"))
    assert packages[0] == packages[1]
    assert "spec_table.py" in packages[0]


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def emulator_pages() -> list[Any]:
    emu = Emulator(seed=3, entries=200)
    pages = []
    for page in range(1, 9):
        status, _, body = emu.handle(
            "GET",
            f"/api/v1/accounts/{emu.account_id}/audit_logs",
            f"page={page}",
            {"api_access_token": emu.admin_token},
        )
        assert status == 200
        pages.append(json.loads(body))
    return pages


@pytest.mark.parametrize("commit", [FIRST, TYPE_ARRAYS])
def test_the_emulator_validates_against_either_spelling(extracted: dict[str, Any], overrides: Any, commit: str) -> None:
    """Emulator pages, nulls included, validate against the merged spec of either version."""
    merged = _spec.apply_overrides(extracted[commit], overrides)
    validator = Draft202012Validator(_spec.response_schema(merged, "200"))
    pages = emulator_pages()
    nulls = {k for page in pages for entry in page["audit_logs"] for k, v in entry.items() if v is None}
    assert {"comment", "remote_address"} <= nulls
    for page in pages:
        validator.validate(page)


def test_nullable_alone_means_nothing_to_json_schema(extracted: dict[str, Any], overrides: Any) -> None:
    """Why response_schema rewrites nullable: read as JSON Schema, the 3.0.4 spec refuses a null comment."""
    merged = _spec.apply_overrides(extracted[FIRST], overrides)
    ok = merged["paths"][_spec.AUDIT_LOGS_PATH]["get"]["responses"]["200"]
    raw = Draft202012Validator({**ok["content"]["application/json"]["schema"], "components": merged["components"]})
    page = next(p for p in emulator_pages() if any(e["comment"] is None for e in p["audit_logs"]))
    assert not raw.is_valid(page)
    assert Draft202012Validator(_spec.response_schema(merged, "200")).is_valid(page)
