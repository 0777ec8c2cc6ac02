# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
"""Contains all the data models used in inputs/outputs"""

from .audit_log import AuditLog
from .audit_log_auditable_type_0 import AuditLogAuditableType0
from .audit_log_audited_changes_type_0 import AuditLogAuditedChangesType0
from .audit_log_list import AuditLogList
from .auth_error import AuthError
from .bad_request_error import BadRequestError
from .request_error import RequestError

__all__ = (
    "AuditLog",
    "AuditLogAuditableType0",
    "AuditLogAuditedChangesType0",
    "AuditLogList",
    "AuthError",
    "BadRequestError",
    "RequestError",
)
