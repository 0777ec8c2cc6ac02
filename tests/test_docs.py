"""docs/ holds each fact once, and runs as written.

- The Python examples of every page run against the emulator, as the README's do (``tests/test_readme.py``);
  docs/archive.md is run in order by ``tests/test_archive_docs.py`` and not here.
- The ```py examples are test files that pass with the pytest plugin.
- Every ``chatwoot-audit`` command shown in the README or docs/ parses with the real parser; the README's
  archive commands and the export examples of docs/cli.md run against the emulator.
- The exit codes have one table, ``EXIT_CODES`` in ``chatwoot_audit/_cli/_exits.py``: the help is built
  from it and docs/cli.md holds its rendering. Follow's delivery promise is said once, in the help, and
  docs/cli.md quotes it.
- Every relative link leads to a file, and every anchor to a heading.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli_helpers import Served, run_cli, serving
from test_readme import run_example, serve_examples

from chatwoot_audit._cli._exits import EXIT_CODES, EXIT_CODES_HELP, ExitCode
from chatwoot_audit._cli._parser import FOLLOW_DELIVERY, build_parser
from chatwoot_audit.cli import main
from chatwoot_audit.testing import Emulator
from chatwoot_audit.testing._cli import build_parser as build_emulator_parser

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
PAGES = sorted(DOCS.glob("*.md"))
RUN_IN_ORDER_ELSEWHERE = {"archive.md"}  # tests/test_archive_docs.py
OPERATORS = {"&&", "||", "|", ";", "&", "(", ")"}
REDIRECTS = {">", ">>", "<"}


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def examples(language: str) -> list[tuple[str, str]]:
    return [
        (f"{page.name}:block{index}", code)
        for page in PAGES
        if page.name not in RUN_IN_ORDER_ELSEWHERE
        for index, code in enumerate(blocks(page, language))
    ]


PYTHON = examples("python")
PYTEST = examples("py")


def test_the_docs_have_examples() -> None:
    """The pages with Python and pytest examples are found, so that a renamed fence does not skip them."""
    assert {name.split(":")[0] for name, _ in PYTHON} >= {"client.md", "completeness.md", "emulator.md"}
    assert PYTEST


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on loopback, named by the CHATWOOT_* variables the examples read."""
    yield from serve_examples(monkeypatch, tmp_path)


@pytest.mark.parametrize("code", [code for _, code in PYTHON], ids=[name for name, _ in PYTHON])
def test_docs_python_example_runs(code: str, server: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Each ```python example of docs/ runs as written."""
    run_example(code, "docs", server, capsys)


@pytest.mark.parametrize("code", [code for _, code in PYTEST], ids=[name for name, _ in PYTEST])
def test_docs_pytest_example_passes(code: str, pytester: pytest.Pytester) -> None:
    """Each ```py example of docs/ is a test file that passes as written, in a project with no conftest."""
    pytester.makepyfile(test_user=code)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers", "-W", "error", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 0
    assert set(outcomes) <= {"passed"}, result.stdout.str()


# ---- shell commands -----------------------------------------------------------------------------------


def commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line, without redirections; ``"$(...)"`` is looked into."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[list[str]] = []
    current: list[str] = []
    skip = False
    for token in lexer:
        if skip:
            skip = False
        elif token in REDIRECTS:
            skip = True
        elif token in OPERATORS:
            found.append(current)
            current = []
        elif token.startswith("$(") and token.endswith(")"):
            found += commands(token[2:-1])
        else:
            current.append(token)
    found.append(current)
    return [argv for argv in found if argv]


SHELL_LINES = [
    (f"{path.name}: {line}", line)
    for path in [README, *PAGES]
    for block in blocks(path, "sh")
    for line in block.splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
EXTRAS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


@pytest.mark.parametrize("line", [line for _, line in SHELL_LINES], ids=[name for name, _ in SHELL_LINES])
def test_every_shell_line_names_what_exists(line: str) -> None:
    """A chatwoot-audit command parses with the real parser; a script exists; an extra is declared."""
    for argv in commands(line):
        program = Path(argv[0]).name
        if program == "chatwoot-audit" and argv[1:2] == ["emulator"]:
            build_emulator_parser().parse_args(argv[2:])
        elif program == "chatwoot-audit":
            build_parser().parse_args(argv[1:])
        elif program == "python" and argv[1].startswith("scripts/"):
            assert (ROOT / argv[1]).is_file(), argv[1]
        elif program == "pip":
            for spec in argv[2:]:
                for extra in re.findall(r"\[(.*?)\]", spec):
                    assert set(extra.split(",")) <= EXTRAS, spec


def test_every_shell_line_is_looked_at() -> None:
    """The README and docs show commands, and the chatwoot-audit ones are found among them."""
    programs = {Path(argv[0]).name for _, line in SHELL_LINES for argv in commands(line)}
    assert {"chatwoot-audit", "pip", "python", "sqlite3"} <= programs


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """An emulator on loopback, and the environment a command reaches it with."""
    with serving(tmp_path, seed=5, entries=400) as served:
        served.env["CHATWOOT_API_ACCESS_TOKEN"] = served.token
        yield served


def run_line(served: Served, line: str, folder: Path) -> str:
    """Run one chatwoot-audit or sqlite3 line in ``folder``; what it wrote to stdout."""
    argv = shlex.split(line, comments=True)
    if argv[0] == "sqlite3":
        if shutil.which("sqlite3"):
            done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=30, check=False)
            assert done.returncode == 0, done.stderr
            return done.stdout
        with sqlite3.connect(folder / argv[1]) as conn:
            rows = conn.execute(argv[2]).fetchall()
        conn.close()
        return "\n".join(map(str, rows))
    assert argv[0] == "chatwoot-audit", line
    target = None
    if ">" in argv:
        argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
    done = run_cli(argv[1:], served.env, cwd=folder)
    assert done.returncode == 0, (line, done.stderr)
    if target:
        (folder / target).write_text(done.stdout)
    return done.stdout


def test_the_readme_archive_commands_run(served: Served, tmp_path: Path) -> None:
    """The README's two archive commands: a sync, then a query that finds the newest entries."""
    (block,) = [code for code in blocks(README, "sh") if "sync --into" in code]
    out = ""
    for line in block.splitlines():
        out = run_line(served, line, tmp_path)
    assert len(out.strip().splitlines()) == 5


def test_the_export_examples_run(served: Served, tmp_path: Path) -> None:
    """docs/cli.md's export examples run against the emulator; the plain one writes every entry."""
    (block,) = [code for code in blocks(CLI_DOC, "sh") if "export > audit.jsonl" in code]
    for line in block.splitlines():
        if "--resume" not in line:
            run_line(served, line, tmp_path)
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == len(served.emulator.entries)
    assert (tmp_path / "june.csv").exists()
    assert (tmp_path / "people.json").exists()


# ---- one table of exit codes, one delivery promise ----------------------------------------------------


def exit_code_table() -> str:
    """``EXIT_CODES`` as the Markdown table docs/cli.md holds."""
    rows = ["| code | name | meaning |", "|---|---|---|"]
    rows += [f"| {code.value} | {code.name} | {meaning} |" for code, meaning in EXIT_CODES]
    return "\n".join(rows) + "\n"


def test_every_exit_code_has_one_meaning() -> None:
    """EXIT_CODES names each ExitCode once, in order."""
    assert [code for code, _ in EXIT_CODES] == list(ExitCode)


def test_docs_cli_holds_the_exit_code_table() -> None:
    """docs/cli.md shows EXIT_CODES as it is; no other page has an exit-code table."""
    assert exit_code_table() in CLI_DOC.read_text(encoding="utf-8")
    for path in [README, *PAGES]:
        if path != CLI_DOC:
            assert not re.search(r"^\| *130 *\|", path.read_text(encoding="utf-8"), flags=re.MULTILINE), path


@pytest.mark.parametrize("command", [[], ["export"], ["follow"], ["sync"]])
def test_the_help_shows_the_exit_code_table(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The help's exit codes are EXIT_CODES, as rendered for a terminal."""
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert EXIT_CODES_HELP in out
    for code, _ in EXIT_CODES:
        assert re.search(rf"^  {code.value} ", out, flags=re.MULTILINE)


def test_the_delivery_promise_is_quoted_from_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/cli.md quotes follow's delivery paragraph exactly as `chatwoot-audit follow --help` prints it."""
    assert f"```text\n{FOLLOW_DELIVERY}\n```" in CLI_DOC.read_text(encoding="utf-8")
    assert main(["follow", "--help"]) == 0
    assert FOLLOW_DELIVERY in capsys.readouterr().out


# ---- links --------------------------------------------------------------------------------------------


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of ``path``."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    headings = re.findall(r"^#+ +(.*)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


LINKS = [
    (path, target)
    for path in [README, *PAGES]
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))
    if not re.match(r"[a-z]+:", target)
]


@pytest.mark.parametrize(("path", "target"), LINKS, ids=[f"{path.name}->{target}" for path, target in LINKS])
def test_links_lead_somewhere(path: Path, target: str) -> None:
    """A relative link names a file that exists, and its anchor a heading of that file."""
    name, _, anchor = target.partition("#")
    linked = (path.parent / name).resolve() if name else path
    assert linked.is_file(), target
    if anchor:
        assert anchor in anchors(linked), target
