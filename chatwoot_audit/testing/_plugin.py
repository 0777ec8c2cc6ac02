"""The pytest plugin installed with chatwoot-audit: a fresh emulator for every test that asks for one.

pytest loads it through the package's ``pytest11`` entry point, so nothing needs to be added to a
``conftest.py``. Two fixtures::

    def test_export(chatwoot_emulator):                 # an Emulator with its defaults
        with chatwoot_emulator.client() as client: ...

    @pytest.mark.chatwoot_emulator(entries=200, faults={1: "429"})
    def test_throttled(chatwoot_emulator): ...           # the marker's arguments go to Emulator(...)

    def test_two(chatwoot_emulator_factory):
        old, new = chatwoot_emulator_factory(per_page=15), chatwoot_emulator_factory(per_page=25)

A marker on a class or module applies to each of its tests; the closest one wins, key by key. The
fixtures are plain (not async), so sync tests and async ones under asyncio or trio use them alike;
``emulator.async_client()`` sleeps through anyio.

The module imports nothing of the package until a fixture is used: an import error in the code under
test then fails the tests that use it, not pytest's start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._core import Emulator

__all__ = ["chatwoot_emulator", "chatwoot_emulator_factory", "pytest_configure"]

MARKER = "chatwoot_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for this test's {MARKER} fixture, passed to "
        "chatwoot_audit.testing.Emulator (entries=, faults=, per_page=, arrivals_per_request=, now=, ...)",
    )


@pytest.fixture
def chatwoot_emulator_factory() -> Callable[..., Emulator]:
    """A function that builds a new ``Emulator`` from keyword options, as many as a test needs."""
    from ._core import Emulator

    def build(**options: Any) -> Emulator:
        return Emulator(**options)

    return build


@pytest.fixture
def chatwoot_emulator(request: pytest.FixtureRequest, chatwoot_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A new ``Emulator`` for this test, built from the ``chatwoot_emulator`` markers' options."""
    options: dict[str, Any] = {}
    # iter_markers gives the closest first; applying them from the farthest lets the closest win.
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword options only, e.g. entries=100")
        options.update(marker.kwargs)
    return chatwoot_emulator_factory(**options)
