"""Which requests fail, and how: a schedule by request number, a seeded probability, or a function.

The decision for request *n* depends only on *n* and the seed, never on timing or on other requests, so a
run with the same seed fails at the same requests in the same ways even when requests race.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, cast, get_args

FaultKind: TypeAlias = Literal[
    "500",
    "502",
    "503",
    "504",
    "drop",
    "truncate",
    "html200",
    "badjson200",
    "slow",
    "401",
    "401-signin",
    "404",
    "429",
]
"""The name of a fault: ``500``, ``502``, ``503``, ``504`` (error pages), ``drop`` (no answer), ``truncate``
(a body cut short), ``html200`` and ``badjson200`` (a 200 that is not a page), ``slow`` (held back), and
the refusals the real server gives, each with its real body: ``401`` (``{"error": "Invalid Access
Token"}``, what a wrong or revoked token gets), ``401-signin`` (Devise's ``{"errors": ["You need to sign in
or sign up before continuing."]}``, what a request without a token gets), ``404`` (``{"error": "Resource
could not be found"}``) and ``429`` (Rack::Attack's plain-text ``Retry later``, no ``Retry-After``)."""

FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
"""Every fault the emulator can inject."""

# Fixed rather than derived from FAULT_KINDS: a seed must keep drawing the same faults as kinds are added,
# and a refusal (401, 404) ends a walk instead of testing how it recovers.
RANDOM_FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "504", "drop", "truncate", "html200", "badjson200")
"""What ``RandomFaults`` draws from by default: the transient failures a client retries through, without
``slow`` (it only costs wall-clock time), the refusals (``401``, ``401-signin``, ``404``) or ``429``."""


def check_kind(kind: object) -> str:
    """Return ``kind`` if it names a fault, else raise ``ValueError``."""
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = str(kind)
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    return str(kind)


@dataclass(frozen=True)
class RandomFaults:
    """Fail each request with ``probability``, choosing the fault from ``kinds``.

    The draw for request *n* is seeded by ``seed`` (the emulator's seed when ``None``) and *n*.
    """

    probability: float
    kinds: Sequence[str] = RANDOM_FAULT_KINDS
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        kinds = tuple(check_kind(kind) for kind in self.kinds)
        if not kinds:
            raise ValueError("kinds must name at least one fault")
        object.__setattr__(self, "kinds", kinds)

    def pick(self, number: int, default_seed: int) -> str | None:
        """The fault for request ``number``, or ``None``."""
        seed = default_seed if self.seed is None else self.seed
        rng = random.Random(f"chatwoot-audit:{seed}:fault:{number}")
        if rng.random() < self.probability:
            return rng.choice(list(self.kinds))
        return None


Faults: TypeAlias = Mapping[int, str] | RandomFaults | Callable[[int], str | None] | None
"""A fault plan: ``{request_number: kind}``, a ``RandomFaults``, a function of the request number, or none."""


def check_faults(value: object, name: str = "faults") -> Faults:
    """``value`` as a fault plan (a schedule is copied), or ``ValueError``/``TypeError`` if it is not one."""
    if value is None or isinstance(value, RandomFaults):
        return value
    if isinstance(value, Mapping):
        schedule: dict[int, str] = {}
        for number, kind in value.items():
            if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                raise ValueError(f"{name}: schedule keys are request numbers from 1, got {number!r}")
            schedule[number] = check_kind(kind)
        return schedule
    if callable(value):
        return cast(Callable[[int], str | None], value)
    raise TypeError(f"{name} must be a mapping, a RandomFaults, a function or None")


class FaultPlan:
    """A fault plan, ready to answer which fault each request number gets."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.source = check_faults(faults)
        self._seed = seed

    def fault_for(self, number: int) -> str | None:
        """The fault request ``number`` suffers, if any."""
        source = self.source
        if source is None:
            return None
        if isinstance(source, RandomFaults):
            return source.pick(number, self._seed)
        if isinstance(source, Mapping):
            return source.get(number)
        kind = source(number)
        return None if kind is None else check_kind(kind)
