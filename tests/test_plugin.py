"""The pytest plugin: installed with the package, a fresh emulator per test, configured by a marker."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

import pytest

from chatwoot_audit import AsyncChatwootAudit, AuthenticationError, ChatwootAudit
from chatwoot_audit.testing import Emulator

pytest_plugins = ["pytester"]

# Examples that take fixtures are fenced as ```py: test_readme runs ```python blocks by calling their tests
# with no arguments, which a fixture cannot be.

# A user's test file, as it would sit in their own project: no conftest, strict markers, both loops.
USER_TESTS = """
import pytest
from chatwoot_audit import AuthenticationError


def ids(client):
    return [log.id for log in client.logs()]


@pytest.mark.chatwoot_emulator(entries=120, faults={1: "429", 2: "429", 3: "502"})
def test_rides_out_throttling(chatwoot_emulator):
    with chatwoot_emulator.client() as client:
        assert sorted(ids(client)) == sorted(entry["id"] for entry in chatwoot_emulator.entries)


def test_defaults(chatwoot_emulator):
    assert chatwoot_emulator.total_entries == 60


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
@pytest.mark.chatwoot_emulator(faults={1: "401"})
async def test_bad_token(chatwoot_emulator):
    async with chatwoot_emulator.async_client() as client:
        with pytest.raises(AuthenticationError):
            await client.page(1)
"""


def test_installing_the_package_registers_the_plugin() -> None:
    """The pytest11 entry point names the plugin module, so pytest loads it with no conftest."""
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("chatwoot_audit") == "chatwoot_audit.testing._plugin"


def test_the_fixture_is_an_emulator_with_its_defaults(chatwoot_emulator: Emulator) -> None:
    """Without a marker the fixture is Emulator(): 60 entries ending now, nothing asked of it yet."""
    assert isinstance(chatwoot_emulator, Emulator)
    assert chatwoot_emulator.total_entries == 60
    assert chatwoot_emulator.request_count == 0


@pytest.mark.chatwoot_emulator(entries=7, per_page=15, faults={1: "429"}, arrivals_per_request=1, now=1_800_000_000)
def test_the_marker_configures_it(chatwoot_emulator: Emulator) -> None:
    """Every option of the marker reaches Emulator(...)."""
    assert chatwoot_emulator.total_entries == 7
    assert chatwoot_emulator.per_page == 15
    assert chatwoot_emulator.arrivals_per_request == 1
    assert chatwoot_emulator.entries[0]["created_at"] == 1_800_000_000
    with chatwoot_emulator.client() as client:
        assert client.page(1).per_page == 15
    assert [record.status for record in chatwoot_emulator.requests] == [429, 200]


@pytest.mark.chatwoot_emulator(entries=5, per_page=15)
class TestMarkersNest:
    """A marker on a class applies to its tests; one on the test wins, key by key."""

    def test_from_the_class(self, chatwoot_emulator: Emulator) -> None:
        """The class's options apply as they are."""
        assert (chatwoot_emulator.total_entries, chatwoot_emulator.per_page) == (5, 15)

    @pytest.mark.chatwoot_emulator(entries=9)
    def test_the_closest_wins(self, chatwoot_emulator: Emulator) -> None:
        """The test's own entries=, the class's per_page=."""
        assert (chatwoot_emulator.total_entries, chatwoot_emulator.per_page) == (9, 15)


def test_the_factory_builds_independent_emulators(chatwoot_emulator_factory: Callable[..., Emulator]) -> None:
    """Each call is a new emulator with its own options and its own state."""
    old, new = chatwoot_emulator_factory(per_page=15), chatwoot_emulator_factory(per_page=25, entries=3)
    old.add_entries(2)
    assert (old.per_page, old.total_entries) == (15, 62)
    assert (new.per_page, new.total_entries) == (25, 3)


@pytest.mark.chatwoot_emulator(entries=30, faults={1: "429", 2: "502"})
def test_the_sync_client_in_a_test(chatwoot_emulator: Emulator) -> None:
    """The fixture's client walks through the faults to every entry."""
    with chatwoot_emulator.client() as client:
        assert isinstance(client, ChatwootAudit)
        assert len(list(client.logs())) == 30


@pytest.mark.anyio
@pytest.mark.chatwoot_emulator(faults={1: "401-signin"})
async def test_async_tests_use_it_under_asyncio_and_trio(chatwoot_emulator: Emulator) -> None:
    """The fixture is plain, and its async client runs on either loop."""
    async with chatwoot_emulator.async_client() as client:
        assert isinstance(client, AsyncChatwootAudit)
        with pytest.raises(AuthenticationError) as caught:
            await client.page(1)
    assert caught.value.body == {"errors": ["You need to sign in or sign up before continuing."]}


def _run_user_file(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers", "-W", "error", "-q")


def test_a_users_project_gets_the_fixture_and_the_marker(pytester: pytest.Pytester) -> None:
    """In a project with no conftest, the fixture, the marker (under --strict-markers) and both loops work."""
    result = _run_user_file(pytester, USER_TESTS)
    result.assert_outcomes(passed=4)


def test_the_marker_takes_options_by_name_only(pytester: pytest.Pytester) -> None:
    """A positional argument to the marker is a usage error that says what to write."""
    source = "import pytest\n\n@pytest.mark.chatwoot_emulator(100)\ndef test_it(chatwoot_emulator):\n    pass\n"
    result = _run_user_file(pytester, source)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*keyword options only*"])
