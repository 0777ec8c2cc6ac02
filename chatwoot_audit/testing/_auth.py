"""Who may read an account's audit log, decided in the order the real server's filters run.

1. no token: Devise's ``{"errors": [...]}``; 2. unknown token; 3. a bot or platform-app token (the
endpoint is not open to bots); 4. the account is looked up (404 if missing); 5. suspended account;
6. the user is not a member; 7. the member is not an administrator. Every refusal but the 404 is a 401.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from ._params import ruby_to_i

ROLES: tuple[str, ...] = ("administrator", "agent", "bot", "platform_app", "other_account", "suspended")
"""The kinds of token an emulator hands out (keys of ``Emulator.tokens``)."""

NO_TOKEN = {"errors": ["You need to sign in or sign up before continuing."]}
INVALID_TOKEN = {"error": "Invalid Access Token"}
BOT_TOKEN = {"error": "Access to this endpoint is not authorized for bots"}
NOT_MEMBER = {"error": "You are not authorized to access this account"}
NOT_ADMIN = {"error": "You are not authorized to do this action"}
SUSPENDED = {"error": "Account is suspended"}
NOT_FOUND = {"error": "Resource could not be found"}

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def make_token(seed: int, role: str) -> str:
    """A token shaped like Rails' ``has_secure_token`` (24 base58 characters), fixed by seed and role."""
    rng = random.Random(f"chatwoot-audit:{seed}:token:{role}")
    return "".join(rng.choice(_BASE58) for _ in range(24))


@dataclass(frozen=True)
class Principal:
    """The owner of a token: a role name and, for users, their id."""

    role: str
    user_id: int | None = None


@dataclass(frozen=True)
class Decision:
    """The outcome of the checks: a refusal (``status`` and ``payload``) or the account to read."""

    role: str | None
    status: int | None = None
    payload: Mapping[str, object] | None = None
    account_id: int | None = None


class Directory:
    """Accounts, memberships and tokens."""

    def __init__(self) -> None:
        self.tokens: dict[str, Principal] = {}
        self.accounts: dict[int, bool] = {}  # account id -> suspended
        self.roles: dict[tuple[int, int], str] = {}  # (account id, user id) -> "administrator" | "agent"

    def decide(self, account_segment: str, token: str | None) -> Decision:
        """Run the checks for a request to ``/api/v1/accounts/{account_segment}/audit_logs``."""
        if not token:
            return Decision(None, 401, NO_TOKEN)
        principal = self.tokens.get(token)
        if principal is None:
            return Decision("unknown", 401, INVALID_TOKEN)
        if principal.user_id is None:
            return Decision(principal.role, 401, BOT_TOKEN)
        # Rails casts the id segment like to_i, so "1-acme" finds account 1.
        account_id = ruby_to_i(account_segment)
        suspended = self.accounts.get(account_id)
        if suspended is None:
            return Decision(principal.role, 404, NOT_FOUND)
        if suspended:
            return Decision(principal.role, 401, SUSPENDED)
        role = self.roles.get((account_id, principal.user_id))
        if role is None:
            return Decision(principal.role, 401, NOT_MEMBER)
        if role != "administrator":
            return Decision(principal.role, 401, NOT_ADMIN)
        return Decision(principal.role, account_id=account_id)
