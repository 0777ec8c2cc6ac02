"""scripts/regenerate.py: generated/ is exactly what the pinned generator makes of openapi/, and drift is caught."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tomllib
from pathlib import Path

import pytest
import regenerate
from _spec import CONFIG_PATH, OVERRIDES_PATH, ROOT, SPEC_PATH

GENERATED = regenerate.GENERATED
PACKAGE = regenerate.PACKAGE


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real regeneration, shared by the tests that only need its output."""
    target = tmp_path_factory.mktemp("fresh")
    regenerate.generate_into(target)
    return target


@pytest.fixture
def cached_generation(monkeypatch: pytest.MonkeyPatch, fresh: Path) -> None:
    """main() regenerates by copying the shared regeneration, so its CLI logic is tested at no cost."""
    monkeypatch.setattr(regenerate, "generate_into", lambda target: shutil.copytree(fresh, target, dirs_exist_ok=True))


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


def test_regenerating_twice_gives_identical_trees(fresh: Path, tmp_path: Path) -> None:
    """Two regenerations are byte for byte the same, and the same as what is committed."""
    regenerate.generate_into(tmp_path)
    assert tree(tmp_path) == tree(fresh)
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
def test_write_mode_replaces_the_output_folder(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --check the output folder is replaced by the regeneration, stale files included."""
    output = tmp_path / "out"
    output.mkdir()
    (output / "stale.py").write_text("", encoding="utf-8")

    assert regenerate.main(["--output", str(output)]) == 0
    assert tree(output) == tree(fresh)
    assert "wrote" in capsys.readouterr().out


def test_stamp_records_the_tools_and_input_hashes(fresh: Path) -> None:
    """The stamp names the pinned generator and formatter and hashes the spec, overrides and config."""
    stamp = json.loads((GENERATED / "stamp.json").read_text(encoding="utf-8"))
    assert stamp == {
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
