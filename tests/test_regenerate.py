"""scripts/regenerate.py: generated/ is exactly what the pinned generator makes of openapi/, and drift is caught."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

import _contract
import _spec
import pytest
import regenerate
from _generation import regenerated
from _spec import AUDIT_LOGS_PATH, CONFIG_PATH, OVERRIDES_PATH, ROOT, SPEC_PATH

GENERATED = regenerate.GENERATED
PACKAGE = regenerate.PACKAGE


@pytest.fixture
def fresh() -> Path:
    """One real regeneration from openapi/, shared by the whole session: read it, never change it."""
    target, notes = regenerated()
    assert notes == ()
    return target


@pytest.fixture
def cached_generation(monkeypatch: pytest.MonkeyPatch, fresh: Path) -> None:
    """main() regenerates by copying the shared regeneration, so its CLI logic is tested at no cost."""

    def copy(target: Path) -> list[str]:
        shutil.copytree(fresh, target, dirs_exist_ok=True)
        return []

    monkeypatch.setattr(regenerate, "generate_into", copy)


@pytest.fixture
def committed_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_check_passes_on_the_committed_tree(capsys: pytest.CaptureFixture[str]) -> None:
    """--check regenerates for real and finds generated/ up to date."""
    assert regenerate.main(["--check"]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_regeneration_gives_the_committed_tree(fresh: Path) -> None:
    """A regeneration is byte for byte what is committed (with the --check above, two agree)."""
    assert tree(fresh) == tree(GENERATED)


@pytest.mark.usefixtures("cached_generation")
def test_check_reports_a_hand_edit(committed_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A hand edit makes --check fail with a diff that names the file and shows the line."""
    model = committed_copy / PACKAGE / "models" / "audit_log.py"
    model.write_text(model.read_text(encoding="utf-8").replace("    action: str\n", "    action: int\n"))

    assert regenerate.main(["--check", "--output", str(committed_copy)]) == 1
    out, err = capsys.readouterr()
    assert f"generated/{PACKAGE}/models/audit_log.py" in out
    assert "-    action: str\n+    action: int\n" in out
    assert "differs from what scripts/regenerate.py produces" in err


@pytest.mark.usefixtures("cached_generation")
def test_check_reports_stray_and_removed_files(committed_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file added by hand and a file deleted by hand are both reported."""
    (committed_copy / PACKAGE / "models" / "handmade.py").write_text("X = 1\n", encoding="utf-8")
    (committed_copy / PACKAGE / "types.py").unlink()

    assert regenerate.main(["--check", "--output", str(committed_copy)]) == 1
    out = capsys.readouterr().out
    assert f"+++ generated/{PACKAGE}/models/handmade.py" in out
    assert "+X = 1" in out
    assert f"--- regenerated/{PACKAGE}/types.py\n+++ /dev/null" in out


@pytest.mark.usefixtures("cached_generation")
def test_write_mode_replaces_an_earlier_output(
    fresh: Path, committed_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --check, what an earlier regeneration wrote is replaced, stale files in the package included."""
    stale = committed_copy / PACKAGE / "models" / "stale.py"
    stale.write_text("", encoding="utf-8")

    assert regenerate.main(["--output", str(committed_copy)]) == 0
    assert tree(committed_copy) == tree(fresh)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.usefixtures("cached_generation")
def test_write_mode_leaves_what_it_did_not_write(committed_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Beside its own files, an earlier output may hold others: they are left alone, and named."""
    (committed_copy / "NOTES.txt").write_text("mine\n", encoding="utf-8")
    assert regenerate.main(["--output", str(committed_copy)]) == 0
    assert (committed_copy / "NOTES.txt").read_text(encoding="utf-8") == "mine\n"
    assert "left alone in" in capsys.readouterr().out


@pytest.mark.usefixtures("cached_generation")
def test_write_mode_fills_a_new_or_empty_folder(fresh: Path, tmp_path: Path) -> None:
    """A folder that does not exist yet, or is empty, receives the regeneration."""
    (tmp_path / "empty").mkdir()
    for output in (tmp_path / "new" / "generated", tmp_path / "empty"):
        assert regenerate.main(["--output", str(output)]) == 0
        assert tree(output) == tree(fresh)


@pytest.fixture
def no_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regeneration must not even start."""
    monkeypatch.setattr(regenerate, "generate_into", lambda target: pytest.fail("regeneration ran"))


@pytest.mark.usefixtures("no_generation")
def test_a_folder_regeneration_did_not_write_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-empty folder without stamp.json (a checkout, say) is refused before anything runs, and kept."""
    (tmp_path / "README.md").write_text("precious\n", encoding="utf-8")
    (tmp_path / PACKAGE).mkdir()
    before = tree(tmp_path)

    assert regenerate.main(["--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"regenerate: {tmp_path} is not empty and holds no stamp.json")
    assert err.count("\n") == 1
    assert tree(tmp_path) == before
    assert (tmp_path / PACKAGE).is_dir()


@pytest.mark.usefixtures("no_generation")
def test_a_file_as_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--output naming a file is refused, and the file kept."""
    target = tmp_path / "notes.txt"
    target.write_text("mine\n", encoding="utf-8")
    assert regenerate.main(["--output", str(target)]) == 2
    assert capsys.readouterr().err == f"regenerate: {target} is not a folder\n"
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_stamp_records_the_tools_and_input_hashes(fresh: Path) -> None:
    """The stamp names the pinned generator and formatter and hashes the spec, overrides and config."""
    stamp = json.loads((GENERATED / "stamp.json").read_text(encoding="utf-8"))
    assert stamp == {
        "written_by": "python scripts/regenerate.py (do not edit)",
        "generator": f"openapi-python-client=={regenerate.GENERATOR_VERSION}",
        "formatter": f"ruff=={regenerate.RUFF_VERSION}",
        "spec": "openapi/audit_logs.yaml",
        "spec_sha256": sha256(SPEC_PATH),
        "overrides_sha256": sha256(OVERRIDES_PATH),
        "config_sha256": sha256(CONFIG_PATH),
    }
    assert json.loads((fresh / "stamp.json").read_text(encoding="utf-8")) == stamp


def test_overrides_that_do_not_apply_stop_generation(tmp_path: Path) -> None:
    """Overrides that do not apply stop generate_into with a message naming the overrides file and the entry."""
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text('[{"op": "remove", "path": "/nope", "reason": "r"}]', encoding="utf-8")
    with pytest.raises(regenerate.RegenerateError, match=r"overrides\.yaml: override #1: remove of '/nope'"):
        regenerate.generate_into(tmp_path / "out", overrides_path=overrides)


@pytest.mark.parametrize(
    ("generator", "ruff", "message"),
    [
        ("0.28.0", regenerate.RUFF_VERSION, "openapi-python-client==0.29.1 is needed (found 0.28.0)"),
        (None, regenerate.RUFF_VERSION, "openapi-python-client==0.29.1 is needed (found none)"),
        (regenerate.GENERATOR_VERSION, "0.9.0", "ruff==0.17.6 is needed to format the generated code (found 0.9.0)"),
    ],
    ids=["old-generator", "no-generator", "other-ruff"],
)
def test_check_tools_refuses_other_versions(
    monkeypatch: pytest.MonkeyPatch, generator: str | None, ruff: str, message: str
) -> None:
    """A missing or different generator or formatter is refused with the version that is needed."""
    installed = {"openapi-python-client": generator, "ruff": ruff}
    monkeypatch.setattr(regenerate, "_installed", installed.get)
    with pytest.raises(regenerate.RegenerateError, match=re.escape(message)):
        regenerate.check_tools()


def test_main_reports_wrong_tools_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI turns a wrong tool version into exit status 2 and one line, not a traceback."""
    monkeypatch.setattr(regenerate, "_installed", lambda dist: "0.1.0")
    assert regenerate.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("regenerate: openapi-python-client==0.29.1 is needed (found 0.1.0)")
    assert err.count("\n") == 1


def test_dev_extra_pins_the_same_tools() -> None:
    """pyproject.toml's dev extra pins exactly the generator and ruff versions regenerate.py requires."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = project["optional-dependencies"]["dev"]
    assert f"openapi-python-client=={regenerate.GENERATOR_VERSION}" in dev
    assert f"ruff=={regenerate.RUFF_VERSION}" in dev


def test_every_generated_file_says_do_not_edit_and_how_it_is_written(fresh: Path) -> None:
    """Each file names the command that writes it: a first line in code, the text of the others."""
    files = tree(fresh)
    assert f"{PACKAGE}/{_contract.TABLE_MODULE}.py" in files
    for name, content in files.items():
        text = content.decode("utf-8")
        if name.endswith(".py"):
            assert text.startswith("# Do not edit: written by `python scripts/regenerate.py`"), name
        elif name.endswith(".json"):
            assert json.loads(text)["written_by"] == "python scripts/regenerate.py (do not edit)"
        else:
            assert "Do not edit" in text, name
            assert "python scripts/regenerate.py" in text, name


def renamed_operation(tmp_path: Path, *, pinned: bool) -> tuple[Path, Path]:
    """openapi/ with the operationId renamed upstream; the overrides with or without their pin of it."""
    spec = _spec.load_spec()
    spec["paths"][AUDIT_LOGS_PATH]["get"]["operationId"] = "list-audit-logs"
    overrides = _spec.load_yaml(OVERRIDES_PATH.read_text(encoding="utf-8"))
    if not pinned:
        overrides = [item for item in overrides if not item["path"].endswith("/operationId")]
    spec_path, overrides_path = tmp_path / "audit_logs.yaml", tmp_path / "overrides.yaml"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    overrides_path.write_text(json.dumps(overrides), encoding="utf-8")
    return spec_path, overrides_path


def test_a_rename_that_breaks_the_package_stops_regeneration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Unpinned, a renamed operationId leaves a class override matching nothing, and an import of the
    endpoint module dangling: regeneration names both and writes nothing."""
    spec_path, overrides_path = renamed_operation(tmp_path, pinned=False)
    endpoint = _contract.Import(_contract.FACADE / "_client.py", f"{PACKAGE}.api.audit_logs", "get_account_audit_logs")
    monkeypatch.setattr(_contract, "facade_imports", lambda: [endpoint])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(regenerate.RegenerateError) as info:
        regenerate.generate_into(target, spec_path=spec_path, overrides_path=overrides_path)
    message = str(info.value)
    assert (
        "openapi/generator.yaml: class_overrides GetAccountAuditLogsResponse200 -> AuditLogList matched no generated "
        "model" in message
    )
    assert "ListAuditLogsResponse200" in message
    assert (
        "chatwoot_audit/_client.py imports get_account_audit_logs from chatwoot_audit_generated.api.audit_logs, "
        "which no longer defines it" in message
    )
    assert list(target.iterdir()) == []


def test_a_spec_the_facade_cannot_request_stops_regeneration_at_once(tmp_path: Path) -> None:
    """A spec without the page parameter is refused before the generator runs, naming the facade file."""
    spec = _spec.load_spec()
    spec["paths"][AUDIT_LOGS_PATH]["get"]["parameters"] = []
    spec_path = tmp_path / "audit_logs.yaml"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(regenerate.RegenerateError, match=r"chatwoot_audit/_http\.py \(PageRequest\) sends one"):
        regenerate.generate_into(tmp_path, spec_path=spec_path)
    assert list(tmp_path.iterdir()) == [spec_path]


def test_facade_notes_are_printed_and_do_not_fail(
    monkeypatch: pytest.MonkeyPatch, fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the facade must change to match a new spec is printed; the package is still written."""

    def with_note(target: Path) -> list[str]:
        shutil.copytree(fresh, target, dirs_exist_ok=True)
        return ["audit_log.tenant (string) is in the merged spec but not in the facade: ..."]

    monkeypatch.setattr(regenerate, "generate_into", with_note)
    assert regenerate.main(["--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert err == (
        "regenerate: the facade (chatwoot_audit/) does not match the merged spec yet:\n"
        "  audit_log.tenant (string) is in the merged spec but not in the facade: ...\n"
    )
