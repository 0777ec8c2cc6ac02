"""chatwoot-audit: a Python SDK for Chatwoot's audit-log API.

The names below are imported when first used: ``import chatwoot_audit`` alone costs a few milliseconds, so
the command line is ready for a Ctrl-C (and answers ``--help``) before httpx and the rest are loaded.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._checkpoint import Checkpoint
    from ._client import AsyncChatwootAudit, ChatwootAudit
    from ._errors import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        ChatwootError,
        ConfigurationError,
        FeatureNotEnabledError,
        Hint,
        HintCode,
        IncompleteWalkError,
        InternalServerError,
        InvalidArgumentError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResponseTooLargeError,
    )
    from ._models import AVAILABILITY, ENUMS, ROLES, AuditAction, AuditLog, AuditLogPage
    from ._retry import RetryPolicy

__all__ = [
    "AVAILABILITY",
    "ENUMS",
    "ROLES",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatwootAudit",
    "AuditAction",
    "AuditLog",
    "AuditLogPage",
    "AuthenticationError",
    "ChatwootAudit",
    "ChatwootError",
    "Checkpoint",
    "ConfigurationError",
    "FeatureNotEnabledError",
    "Hint",
    "HintCode",
    "IncompleteWalkError",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "__version__",
]

_WHERE: dict[str, str] = {
    "APIConnectionError": "._errors",
    "APIResponseValidationError": "._errors",
    "APIStatusError": "._errors",
    "APITimeoutError": "._errors",
    "AVAILABILITY": "._models",
    "AsyncChatwootAudit": "._client",
    "AuditAction": "._models",
    "AuditLog": "._models",
    "AuditLogPage": "._models",
    "AuthenticationError": "._errors",
    "ChatwootAudit": "._client",
    "ChatwootError": "._errors",
    "Checkpoint": "._checkpoint",
    "ConfigurationError": "._errors",
    "ENUMS": "._models",
    "FeatureNotEnabledError": "._errors",
    "Hint": "._errors",
    "HintCode": "._errors",
    "IncompleteWalkError": "._errors",
    "InternalServerError": "._errors",
    "InvalidArgumentError": "._errors",
    "NotFoundError": "._errors",
    "PermissionDeniedError": "._errors",
    "ROLES": "._models",
    "RateLimitError": "._errors",
    "ResponseTooLargeError": "._errors",
    "RetryPolicy": "._retry",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # the next access is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
