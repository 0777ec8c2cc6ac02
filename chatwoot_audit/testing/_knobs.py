"""Knobs: emulator settings that can be changed while requests are being served.

A ``Knob`` is a descriptor that validates a value, then stores it under the owner's lock and tells the
owner (``_knob_changed``) so that derived state, such as the rate limiter, follows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, overload

T = TypeVar("T")


class KnobOwner(Protocol):
    """What a class with knobs provides: a lock and a hook run under it."""

    def _knob_changed(self, name: str, value: Any) -> None: ...


class Knob(Generic[T]):
    """A validated, thread-safe setting; reading it returns the current value."""

    def __init__(self, check: Callable[[Any, str], T], doc: str) -> None:
        self._check = check
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Knob[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Knob[T] | T:
        if obj is None:
            return self
        value: T = obj.__dict__[f"_knob_{self.name}"]
        return value

    def __set__(self, obj: KnobOwner, value: T) -> None:
        obj._knob_changed(self.name, self._check(value, self.name))


def positive_int(value: Any, name: str) -> int:
    """An int of at least 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int")
    return value


def count(value: Any, name: str) -> int:
    """An int of at least 0."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an int of at least 0")
    return value


def seconds(value: Any, name: str) -> float:
    """A number of at least 0, as a float."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a number of at least 0")
    return float(value)


def positive_seconds(value: Any, name: str) -> float:
    """A number above 0, as a float."""
    if seconds(value, name) <= 0:
        raise ValueError(f"{name} must be positive")
    return float(value)


def rate(value: Any, name: str) -> float:
    """A finite number of at least 0, as a float: how many things happen per second."""
    number = seconds(value, name)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number of at least 0")
    return number


def second_range(value: Any, name: str) -> tuple[int, int]:
    """A pair ``(lo, hi)`` of whole seconds with ``0 <= lo <= hi``, as a tuple."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (lo, hi) of whole seconds")
    low, high = value
    for bound in (low, high):
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise ValueError(f"{name} must be a pair (lo, hi) of whole seconds")
    if not 0 <= low <= high:
        raise ValueError(f"{name} must have 0 <= lo <= hi, got ({low}, {high})")
    return (low, high)


def optional_count(value: Any, name: str) -> int | None:
    """``None`` or an int of at least 0."""
    return None if value is None else count(value, name)


def flag(value: Any, name: str) -> bool:
    """Anything, read as true or false."""
    return bool(value)
