"""Realistic audit-log rows, as chatwoot-server.md describes what a real server sends; shared by the tests."""

from __future__ import annotations

from typing import Any

# The server document's example: an administrator changes an account user's role.
ACCOUNT_USER_UPDATE: dict[str, Any] = {
    "id": 4119,
    "auditable_id": 5,
    "auditable_type": "AccountUser",
    "auditable": {"id": 5, "availability": "online", "role": "administrator", "user_id": 4},
    "associated_id": 1,
    "associated_type": "Account",
    "user_id": 1,
    "user_type": "User",
    "username": "admin@acme.example",
    "action": "update",
    "audited_changes": {"role": [0, 1]},
    "version": 2,
    "comment": None,
    "request_uuid": "7d3a2e90-1b4c-4f7e-8c2d-6a9b0e1f2c34",
    "created_at": 1781602887,
    "remote_address": "203.0.113.10",
}

# A sign-in: null auditable and audited_changes, and a request id set by a proxy that is not a UUID.
SIGN_IN: dict[str, Any] = {
    "id": 4120,
    "auditable_id": 1,
    "auditable_type": "User",
    "auditable": None,
    "associated_id": 1,
    "associated_type": "Account",
    "user_id": 1,
    "user_type": "User",
    "username": "admin@acme.example",
    "action": "sign_in",
    "audited_changes": None,
    "version": 1,
    "comment": None,
    "request_uuid": "my-proxy-request-17",
    "created_at": 1781602890,
    "remote_address": "2001:db8::1",
}

# A background change: no user and no remote address.
SYSTEM_UPDATE: dict[str, Any] = {
    "id": 4121,
    "auditable_id": 77,
    "auditable_type": "Conversation",
    "auditable": None,
    "associated_id": 1,
    "associated_type": "Account",
    "user_id": None,
    "user_type": None,
    "username": None,
    "action": "update",
    "audited_changes": {"status": [0, 1], "updated_at": ["2026-06-16T09:01:27.000Z", "2026-06-16T09:41:27.000Z"]},
    "version": 5,
    "comment": None,
    "request_uuid": "0f0c9b1e-58a4-4d0e-a8cf-1b2c3d4e5f60",
    "created_at": 1781602890,
    "remote_address": None,
}

# A destroy row whose enums come as strings, and whose changes are plain values, not [old, new] pairs.
DESTROY_STRING_ENUMS: dict[str, Any] = {
    "id": 4122,
    "auditable_id": 9,
    "auditable_type": "AccountUser",
    "auditable": None,
    "associated_id": 1,
    "associated_type": "Account",
    "user_id": 1,
    "user_type": "User",
    "username": "admin@acme.example",
    "action": "destroy",
    "audited_changes": {"role": "agent", "availability": "offline", "user_id": 8, "account_id": 1},
    "version": 3,
    "comment": None,
    "request_uuid": "e3b0c442-98fc-4c14-9afb-f4c8996fb924",
    "created_at": 1781602901,
    "remote_address": "203.0.113.10",
}

# An action that a later Chatwoot might add, on a type this version does not list.
UNKNOWN_ACTION: dict[str, Any] = {
    **ACCOUNT_USER_UPDATE,
    "id": 4123,
    "auditable_type": "Contact",
    "auditable": None,
    "action": "merge",
    "audited_changes": {"merged_into": [None, 12]},
}
