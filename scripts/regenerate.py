"""Regenerate generated/ from openapi/ with the pinned openapi-python-client.

    python scripts/regenerate.py            # rewrite generated/ (running it twice gives no diff)
    python scripts/regenerate.py --check    # regenerate into a temporary folder; exit 1 with a diff on drift

The spec (openapi/audit_logs.yaml) is merged with openapi/overrides.yaml, the generator runs on the result
with openapi/generator.yaml, and a stamp (generated/stamp.json) records the generator and formatter
versions and the sha256 of each input. Nothing is fetched from the network.

Besides the generator's modules, the package gets ``spec_table.py``: what the facade (chatwoot_audit/)
reads from the merged spec at run time (see scripts/_contract.py). Every file carries a do-not-edit line.
Regeneration fails, writing nothing, when a class override in openapi/generator.yaml matches no generated
model, when the facade imports something the new package lacks, or when the facade could not send a
request the new spec describes; it warns when the facade's hand-written fields disagree with the spec.

--output DIR must be empty, new, or an earlier output (it holds stamp.json); only what regeneration
writes there is replaced.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _contract
from _spec import (
    CONFIG_PATH,
    OVERRIDES_PATH,
    ROOT,
    SPEC_PATH,
    SpecError,
    load_yaml,
    merged_spec,
    sha256_file,
)

# The generator and the formatter its post-hooks run both shape the committed output: a new release of
# either changes generated/, so both are pinned here and in pyproject.toml's dev extra.
GENERATOR_VERSION = "0.29.1"
RUFF_VERSION = "0.17.6"
PACKAGE = "chatwoot_audit_generated"
GENERATED = ROOT / "generated"

COMMAND = "python scripts/regenerate.py"
# The first line of every Python file regeneration writes.
HEADER = f"# Do not edit: written by `{COMMAND}` from openapi/ (see generated/README.md).\n"
STAMP = "stamp.json"
README = f"""\
# generated/

Do not edit: everything here is written by `{COMMAND}` from `openapi/`, and
`{COMMAND} --check` (run in CI) fails on any difference. To change the generated
client, add an override with a reason to `openapi/overrides.yaml` and regenerate.
`{STAMP}` records the generator and formatter versions and the sha256 of each input;
`{PACKAGE}/spec_table.py` is what the facade (`chatwoot_audit/`) reads from the merged spec.
"""
# py.typed marks the package as typed (PEP 561) by existing; a comment in it changes nothing.
PY_TYPED = f"# Do not edit: written by `{COMMAND}`. Marks {PACKAGE} as typed (PEP 561).\n"


class RegenerateError(Exception):
    """Regeneration cannot run or failed; the message says what to do."""


def _installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_tools() -> Path:
    """Refuse to run with other tool versions than the pinned ones; return the bin dir holding ruff."""
    found = _installed("openapi-python-client")
    if found != GENERATOR_VERSION:
        raise RegenerateError(
            f"openapi-python-client=={GENERATOR_VERSION} is needed (found {found or 'none'}); "
            f"install it with: pip install -e '.[dev]'"
        )
    found_ruff = _installed("ruff")
    if found_ruff != RUFF_VERSION:
        raise RegenerateError(
            f"ruff=={RUFF_VERSION} is needed to format the generated code (found {found_ruff or 'none'}); "
            f"install it with: pip install -e '.[dev]'"
        )
    bindir = Path(sys.executable).parent
    if not (bindir / "ruff").exists() and shutil.which("ruff") is None:
        raise RegenerateError(f"the ruff executable was not found next to {sys.executable} or on PATH")
    return bindir


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def stamp(spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> dict[str, str]:
    return {
        "written_by": f"{COMMAND} (do not edit)",
        "generator": f"openapi-python-client=={GENERATOR_VERSION}",
        "formatter": f"ruff=={RUFF_VERSION}",
        "spec": _shown(spec_path),
        "spec_sha256": sha256_file(spec_path),
        "overrides_sha256": sha256_file(overrides_path),
        "config_sha256": sha256_file(CONFIG_PATH),
    }


def _class_override_problems(package: Path) -> list[str]:
    """Class overrides in generator.yaml that named no model: the class they promise was not generated."""
    overrides = (load_yaml(CONFIG_PATH.read_text(encoding="utf-8")) or {}).get("class_overrides") or {}
    models = package / "models"
    generated = sorted(re.findall(r"^class (\w+)", "\n".join(p.read_text("utf-8") for p in models.glob("*.py")), re.M))
    problems = []
    for key, wanted in overrides.items():
        module = str((wanted or {}).get("module_name", ""))
        class_name = str((wanted or {}).get("class_name", key))
        source = models / f"{module}.py"
        defined = source.is_file() and re.search(rf"^class {re.escape(class_name)}\b", source.read_text("utf-8"), re.M)
        if not defined:
            problems.append(
                f"{_shown(CONFIG_PATH)}: class_overrides {key} -> {class_name} matched no generated model (the "
                f"schema or operationId it is named after changed upstream?); the models are now: "
                f"{', '.join(generated)}. Rename the key, or pin the upstream name with an override in "
                f"{_shown(OVERRIDES_PATH)}"
            )
    return problems


def _mark(package: Path) -> None:
    """The do-not-edit line on top of every Python file of the package."""
    for path in sorted(package.rglob("*.py")):
        path.write_text(HEADER + path.read_text(encoding="utf-8"), encoding="utf-8")
    (package / "py.typed").write_text(PY_TYPED, encoding="utf-8")


def generate_into(target: Path, spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> list[str]:
    """Write the whole of generated/ (package, stamp, README) into the empty folder ``target``.

    The inputs default to openapi/; pointing them elsewhere tries a candidate spec without touching it.
    Returns what the facade's hand-written side must change to match the spec (see _contract.py); what
    the facade cannot run with raises RegenerateError instead, with nothing written.
    """
    bindir = check_tools()
    try:
        spec = merged_spec(spec_path, overrides_path)
    except SpecError as exc:
        raise RegenerateError(f"{_shown(overrides_path)}: {exc}") from exc
    try:
        table = _contract.table(spec)
    except SpecError as exc:
        raise RegenerateError(f"the merged spec cannot serve the facade: {exc}") from exc
    problems = _contract.facade_problems(table)
    fatal = [p.text for p in problems if p.fatal]
    if fatal:
        raise RegenerateError("the facade cannot work with this spec:\n  " + "\n  ".join(fatal))
    with tempfile.TemporaryDirectory(prefix="chatwoot-audit-regen-") as tmp:
        merged = Path(tmp) / "spec.json"
        merged.write_text(json.dumps(spec, indent=2), encoding="utf-8")
        out = Path(tmp) / PACKAGE
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        cmd = [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(merged),
            "--config",
            str(CONFIG_PATH),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--fail-on-warning",
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.is_dir():
            raise RegenerateError(f"openapi-python-client failed:\n{proc.stdout}{proc.stderr}")
        table_path = out / f"{_contract.TABLE_MODULE}.py"
        table_path.write_text(_contract.render_table(table), encoding="utf-8")
        fmt = [str(bindir / "ruff"), "format", "--isolated", "--no-cache", "--quiet", str(table_path)]
        formatted = subprocess.run(fmt, env=env, capture_output=True, text=True, check=False)
        if formatted.returncode != 0:
            raise RegenerateError(f"ruff could not format {table_path.name}:\n{formatted.stdout}{formatted.stderr}")
        broken = _class_override_problems(out) + _contract.missing_imports(out, _contract.facade_imports())
        if broken:
            raise RegenerateError(
                "the generated package does not fit:\n  "
                + "\n  ".join(broken)
                + f"\n({_shown(OVERRIDES_PATH)} pins the operationId and tag these names come from: see its header)"
            )
        _mark(out)
        shutil.copytree(out, target / PACKAGE, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__"))
    (target / STAMP).write_text(json.dumps(stamp(spec_path, overrides_path), indent=2) + "\n", encoding="utf-8")
    (target / "README.md").write_text(README, encoding="utf-8")
    return [p.text for p in problems]


def _files(folder: Path) -> dict[str, Path]:
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", errors="replace").splitlines(keepends=True)


def diff_trees(expected: Path, actual: Path) -> str:
    """A unified diff from what regeneration produces (``expected``) to what is committed (``actual``)."""
    want, have = _files(expected), _files(actual)
    chunks: list[str] = []
    for name in sorted(want.keys() | have.keys()):
        a = _lines(want[name]) if name in want else []
        b = _lines(have[name]) if name in have else []
        if a != b:
            chunks.extend(
                difflib.unified_diff(a, b, f"regenerated/{name}", f"generated/{name}" if name in have else "/dev/null")
            )
            if chunks and not chunks[-1].endswith("\n"):
                chunks.append("\n")
    return "".join(chunks)


# What regeneration writes into its output folder, and so all it ever deletes there.
WRITTEN = (PACKAGE, STAMP, "README.md")


def check_output(output: Path) -> None:
    """Refuse an output that is not a folder, or a folder with content that regeneration did not write."""
    if output.exists() and not output.is_dir():
        raise RegenerateError(f"{output} is not a folder")
    if output.is_dir() and any(output.iterdir()) and not (output / STAMP).is_file():
        raise RegenerateError(
            f"{output} is not empty and holds no {STAMP}, so scripts/regenerate.py did not write it: refusing "
            "to replace what is there. Pass an empty or new folder to --output"
        )


def write(fresh: Path, output: Path) -> list[str]:
    """Replace what an earlier regeneration wrote in ``output`` by ``fresh``; return the entries left alone."""
    check_output(output)
    output.mkdir(parents=True, exist_ok=True)
    for name in WRITTEN:
        path = output / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for entry in sorted(fresh.iterdir()):
        if entry.is_dir():
            shutil.copytree(entry, output / entry.name)
        else:
            shutil.copy2(entry, output / entry.name)
    return sorted(p.name for p in output.iterdir() if p.name not in WRITTEN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare generated/ with a fresh regeneration")
    parser.add_argument("--output", type=Path, default=GENERATED, help="folder to write or check (generated/)")
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        if not args.check:
            check_output(output)  # before the slow part
        with tempfile.TemporaryDirectory(prefix="chatwoot-audit-generated-") as tmp:
            fresh = Path(tmp)
            notes = generate_into(fresh)
            if notes:
                print(
                    "regenerate: the facade (chatwoot_audit/) does not match the merged spec yet:\n  "
                    + "\n  ".join(notes),
                    file=sys.stderr,
                )
            if args.check:
                diff = diff_trees(fresh, output)
                if diff:
                    sys.stdout.write(diff)
                    print(
                        f"\n{output} differs from what scripts/regenerate.py produces (diff above: "
                        "- regenerated, + committed). Fix openapi/ instead of editing generated code, then "
                        f"run: {COMMAND}",
                        file=sys.stderr,
                    )
                    return 1
                print(f"{output} is up to date ({stamp()['generator']})")
                return 0
            others = write(fresh, output)
            print(f"wrote {output} ({stamp()['generator']}, spec sha256 {stamp()['spec_sha256'][:12]})")
            if others:
                print(f"left alone in {output} (not written by regeneration): {', '.join(others)}")
            return 0
    except RegenerateError as exc:
        print(f"regenerate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
