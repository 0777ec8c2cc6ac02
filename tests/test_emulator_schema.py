"""Every 200 body the emulator sends validates against the overridden spec, whatever the seed and knobs."""

from __future__ import annotations

import importlib
import json
from typing import Any

import _spec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatwoot_audit.testing import Emulator, RandomFaults
from chatwoot_audit.testing._store import KEYS

# jsonschema ships no type stubs; reaching it through importlib keeps mypy --strict quiet either way.
Draft202012Validator: Any = importlib.import_module("jsonschema").Draft202012Validator
VALIDATOR = Draft202012Validator(_spec.response_schema(_spec.merged_spec(), "200"))

page_texts = st.one_of(
    st.integers(min_value=-3, max_value=12).map(str),
    st.sampled_from(["", "abc", "2.9", "2abc", " 3", "+1"]),
)


def check_page(data: Any, per_page: int) -> None:
    """A page is valid against the spec and has exactly the real server's keys."""
    VALIDATOR.validate(data)
    assert list(data) == ["per_page", "total_entries", "current_page", "audit_logs"]
    assert data["per_page"] == per_page
    assert len(data["audit_logs"]) <= per_page
    for entry in data["audit_logs"]:
        assert tuple(entry)[: len(KEYS)] == KEYS
        assert isinstance(entry["created_at"], int)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    entries=st.integers(min_value=0, max_value=120),
    per_page=st.sampled_from([25, 15, 1, 7]),
    feature_enabled=st.booleans(),
    unstable_ties=st.booleans(),
    arrivals=st.integers(min_value=0, max_value=3),
    pages=st.lists(page_texts, min_size=1, max_size=4),
)
def test_every_200_validates(
    seed: int,
    entries: int,
    per_page: int,
    feature_enabled: bool,
    unstable_ties: bool,
    arrivals: int,
    pages: list[str],
) -> None:
    """Bodies validate and pages hold what offset arithmetic says, over seeds and knob settings."""
    emu = Emulator(
        seed=seed,
        entries=entries,
        per_page=per_page,
        feature_enabled=feature_enabled,
        unstable_ties=unstable_ties,
        arrivals_per_request=arrivals,
    )
    for page in pages:
        total = emu.total_entries if feature_enabled else 0
        status, _, body = emu.handle(
            "GET",
            f"/api/v1/accounts/{emu.account_id}/audit_logs",
            f"page={page}",
            {"api_access_token": emu.admin_token},
        )
        assert status == 200
        data = json.loads(body)
        check_page(data, per_page)
        assert data["total_entries"] == total
        number = data["current_page"]
        assert number >= 1
        assert len(data["audit_logs"]) == max(0, min(per_page, total - per_page * (number - 1)))


@pytest.mark.parametrize("seed", range(5))
def test_every_page_of_a_long_walk_validates(seed: int) -> None:
    """A walk through many pages, with arrivals and faults mixed in, only ever sends valid 200 pages."""
    emu = Emulator(
        seed=seed,
        entries=400,
        arrivals_per_request=2,
        unstable_ties=True,
        faults=RandomFaults(0.2, kinds=["500", "502"]),
    )
    for page in range(1, 25):
        status, _, body = emu.handle(
            "GET",
            f"/api/v1/accounts/{emu.account_id}/audit_logs",
            f"page={page}",
            {"api_access_token": emu.admin_token},
        )
        if status == 200:
            check_page(json.loads(body), 25)
