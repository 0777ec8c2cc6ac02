"""Checkpoint on its own: what it accepts, what it refuses, and its edges. No network but the emulator's."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from _rows import ACCOUNT_USER_UPDATE as ROW
from _support import sync_client
from hypothesis import given
from hypothesis import strategies as st

from chatwoot_audit import Checkpoint, InvalidArgumentError
from chatwoot_audit._checkpoint import EARLIEST, LATEST, MAX_OVERLAP
from chatwoot_audit._convert import parse_entry
from chatwoot_audit.testing import Emulator


def document(**fields: Any) -> str:
    """A checkpoint's JSON: a valid one, with ``fields`` replaced."""
    data: dict[str, Any] = {"format": 1, "overlap": 300, "high_water": 1000, "not_before": None, "recent": [[1, 999]]}
    data.update(fields)
    return json.dumps(data)


# -- what from_json refuses --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 12, ["{}"], {"format": 1}, bytearray(b"{}")])
def test_from_json_refuses_what_is_not_str_or_bytes(value: object) -> None:
    """from_json reads str or bytes; anything else is an InvalidArgumentError, not a TypeError."""
    with pytest.raises(InvalidArgumentError, match="str or bytes"):
        Checkpoint.from_json(value)  # type: ignore[arg-type]


def test_from_json_reads_bytes() -> None:
    """The bytes of a stored checkpoint read back as its text does."""
    cp = Checkpoint(overlap=60, high_water=1000)
    assert Checkpoint.from_json(cp.to_json().encode()) == cp


MALFORMED = {
    "infinite time": '{"format":1,"overlap":1,"high_water":1,"recent":[[1,Infinity]]}',
    "nan time": '{"format":1,"overlap":1,"high_water":1,"recent":[[1,NaN]]}',
    "float and text pair": document(recent=[[1.7, "3"]]),
    "float id": document(recent=[[1.0, 3]]),
    "text id": document(recent=[["1", 3]]),
    "float time": document(recent=[[1, 3.0]]),
    "text time": document(recent=[[1, "3"]]),
    "bool id": document(recent=[[True, 3]]),
    "bool time": document(recent=[[1, False]]),
    "huge time": document(recent=[[1, 10**20]]),
    "short pair": document(recent=[[1]]),
    "long pair": document(recent=[[1, 2, 3]]),
    "text pair": document(recent=["12"]),
    "object pair": document(recent=[{"a": 1, "b": 2}]),
    "recent not a list": document(recent={"1": 2}),
    "float high_water": document(high_water=1000.0),
    "text high_water": document(high_water="1000"),
    "bool high_water": document(high_water=True),
    "huge high_water": document(high_water=10**20),
    "early high_water": document(high_water=EARLIEST - 1),
    "late high_water": document(high_water=LATEST + 1),
    "infinite high_water": '{"format":1,"overlap":1,"high_water":Infinity,"recent":[]}',
    "huge not_before": document(not_before=-(10**20)),
    "float not_before": document(not_before=5.5),
    "float overlap": document(overlap=300.0),
    "negative overlap": document(overlap=-1),
    "huge overlap": document(overlap=MAX_OVERLAP),
    "bool overlap": document(overlap=False),
    "bool format": document(format=True),
    "float format": document(format=1.0),
    "no format": json.dumps({"overlap": 1, "high_water": 1, "recent": []}),
    "no recent": json.dumps({"format": 1, "overlap": 1, "high_water": 1}),
    "no high_water": json.dumps({"format": 1, "overlap": 1, "recent": []}),
    "too many digits": '{"format":1,"overlap":1,"high_water":' + "9" * 5000 + ',"recent":[]}',
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "not utf-8": b'{"format":1,"overlap":1,"high_water":1,"recent":[[1,"\xff"]]}',
    "empty": "",
    "list": "[]",
}


@pytest.mark.parametrize("text", list(MALFORMED.values()), ids=list(MALFORMED))
def test_from_json_refuses_malformed_checkpoints(text: str | bytes) -> None:
    """Every malformed checkpoint is an InvalidArgumentError: no TypeError, OverflowError, RecursionError
    or silent truncation of a float or a string."""
    with pytest.raises(InvalidArgumentError):
        Checkpoint.from_json(text)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"high_water": 10**20},
        {"high_water": LATEST + 1},
        {"not_before": EARLIEST - 1},
        {"high_water": 1.5},
        {"not_before": "5"},
        {"high_water": True},
        {"overlap": MAX_OVERLAP},
        {"overlap": 2.0},
    ],
)
def test_constructor_refuses_what_no_datetime_holds(kwargs: dict[str, Any]) -> None:
    """Checkpoint() refuses times out of range and non-int values up front, not later in floor."""
    with pytest.raises(InvalidArgumentError):
        Checkpoint(**kwargs)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
# What a hand-edited or corrupted file most likely holds where an int belongs.
near_misses = st.sampled_from([math.inf, -math.inf, math.nan, 10**20, -(10**20), 1.5, 1.0, "3", True, None])


@given(
    overlap=st.integers(0, 1000) | near_misses | json_values,
    high_water=st.integers(0, 2**32) | near_misses | json_values,
    not_before=st.none() | near_misses | json_values,
    recent=st.lists(
        st.tuples(st.integers(1, 99) | near_misses, st.integers(0, 2**32) | near_misses | json_values).map(list),
        max_size=3,
    )
    | json_values,
)
def test_from_json_answers_a_checkpoint_or_invalid_argument(
    overlap: object, high_water: object, not_before: object, recent: object
) -> None:
    """Whatever the fields hold, from_json gives a usable checkpoint or raises InvalidArgumentError."""
    text = json.dumps(
        {"format": 1, "overlap": overlap, "high_water": high_water, "not_before": not_before, "recent": recent}
    )
    try:
        cp = Checkpoint.from_json(text)
    except InvalidArgumentError:
        return
    # Accepted only when every id and time was an int: nothing was truncated or converted on the way in.
    assert isinstance(recent, list)
    assert all(type(value) is int for pair in recent for value in pair)
    assert cp.to_dict()["recent"] == sorted([i, t] for i, t in dict(recent).items())
    assert cp.floor is None or cp.floor.tzinfo is not None
    assert Checkpoint.from_json(cp.to_json()) == cp


# -- the edges of time ----------------------------------------------------------------------------


def test_floor_and_high_water_time_at_the_edges() -> None:
    """The first and last second a datetime holds work; a floor before year 1 is year 1."""
    assert Checkpoint(high_water=LATEST).high_water_time == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert Checkpoint(high_water=LATEST, overlap=MAX_OVERLAP - 1).floor is not None
    assert Checkpoint(high_water=EARLIEST).high_water_time == datetime(1, 1, 1, tzinfo=UTC)
    assert Checkpoint(high_water=EARLIEST, overlap=300).floor == datetime(1, 1, 1, tzinfo=UTC)
    assert Checkpoint(not_before=LATEST).floor == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"])
def test_any_created_at_advanced_to_round_trips(created_at: str) -> None:
    """An entry from the first or the last second a datetime holds is recorded, stored and read back."""
    cp = Checkpoint()
    cp.advance(parse_entry({**ROW, "created_at": created_at}, 0))
    restored = Checkpoint.from_json(cp.to_json())
    assert restored == cp
    assert restored.floor is not None


def test_logs_after_from_the_edges_of_time() -> None:
    """logs_after works from a checkpoint at either end of what a datetime holds."""
    emu = Emulator(seed=50, entries=7)
    with sync_client(emu, "memory") as client:
        assert len(list(client.logs_after(Checkpoint(high_water=EARLIEST)))) == 7
        assert list(client.logs_after(Checkpoint(high_water=LATEST))) == []
        assert list(client.logs_after(Checkpoint(not_before=LATEST))) == []


# -- documentation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["to_dict", "from_dict", "to_json", "from_json", "starting_at", "advance", "skew_margin"]
)
def test_public_methods_have_docstrings(name: str) -> None:
    """Every public method of Checkpoint says what it does."""
    assert (getattr(Checkpoint, name).__doc__ or "").strip()
