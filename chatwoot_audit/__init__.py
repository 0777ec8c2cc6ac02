"""chatwoot-audit: a Python SDK for Chatwoot's audit-log API."""

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
    IncompleteWalkError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
)
from ._models import AuditAction, AuditLog, AuditLogPage
from ._retry import RetryPolicy
from ._version import __version__

__all__ = [
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
