# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_log_auditable_type_0 import AuditLogAuditableType0
    from ..models.audit_log_audited_changes_type_0 import AuditLogAuditedChangesType0


T = TypeVar("T", bound="AuditLog")


@_attrs_define
class AuditLog:
    """
    Attributes:
        id (int): Unique identifier for the audit log entry
        action (str): The action performed: create, update, destroy, sign_in or sign_out. Open: new values may appear.
        created_at (float | int | str): When the entry was written: Unix seconds (whole seconds) on current servers, an
            ISO-8601 string on servers from before mid-2023.
        auditable_id (int | Unset): The ID of the audited object
        auditable_type (str | Unset): The type of the audited object (e.g., Conversation, Contact, User)
        auditable (AuditLogAuditableType0 | None | Unset): The audited object data
        associated_id (int | Unset): The ID of the associated object (typically the account ID)
        associated_type (str | Unset): The type of the associated object
        user_id (int | None | Unset): The ID of the user who performed the action
        user_type (None | str | Unset): The type of user who performed the action
        username (None | str | Unset): The email/username of the user who performed the action
        audited_changes (AuditLogAuditedChangesType0 | None | Unset): JSON object containing the changes made to the
            audited object
        version (int | Unset): Version number of the audit log entry
        comment (None | str | Unset): Optional comment associated with the audit log entry
        request_uuid (str | Unset): UUID to identify the request that generated this audit log
        remote_address (None | str | Unset): IP address from which the action was performed
    """

    id: int
    action: str
    created_at: float | int | str
    auditable_id: int | Unset = UNSET
    auditable_type: str | Unset = UNSET
    auditable: AuditLogAuditableType0 | None | Unset = UNSET
    associated_id: int | Unset = UNSET
    associated_type: str | Unset = UNSET
    user_id: int | None | Unset = UNSET
    user_type: None | str | Unset = UNSET
    username: None | str | Unset = UNSET
    audited_changes: AuditLogAuditedChangesType0 | None | Unset = UNSET
    version: int | Unset = UNSET
    comment: None | str | Unset = UNSET
    request_uuid: str | Unset = UNSET
    remote_address: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.audit_log_auditable_type_0 import AuditLogAuditableType0
        from ..models.audit_log_audited_changes_type_0 import (
            AuditLogAuditedChangesType0,
        )

        id = self.id

        action = self.action

        created_at: float | int | str
        created_at = self.created_at

        auditable_id = self.auditable_id

        auditable_type = self.auditable_type

        auditable: dict[str, Any] | None | Unset
        if isinstance(self.auditable, Unset):
            auditable = UNSET
        elif isinstance(self.auditable, AuditLogAuditableType0):
            auditable = self.auditable.to_dict()
        else:
            auditable = self.auditable

        associated_id = self.associated_id

        associated_type = self.associated_type

        user_id: int | None | Unset
        if isinstance(self.user_id, Unset):
            user_id = UNSET
        else:
            user_id = self.user_id

        user_type: None | str | Unset
        if isinstance(self.user_type, Unset):
            user_type = UNSET
        else:
            user_type = self.user_type

        username: None | str | Unset
        if isinstance(self.username, Unset):
            username = UNSET
        else:
            username = self.username

        audited_changes: dict[str, Any] | None | Unset
        if isinstance(self.audited_changes, Unset):
            audited_changes = UNSET
        elif isinstance(self.audited_changes, AuditLogAuditedChangesType0):
            audited_changes = self.audited_changes.to_dict()
        else:
            audited_changes = self.audited_changes

        version = self.version

        comment: None | str | Unset
        if isinstance(self.comment, Unset):
            comment = UNSET
        else:
            comment = self.comment

        request_uuid = self.request_uuid

        remote_address: None | str | Unset
        if isinstance(self.remote_address, Unset):
            remote_address = UNSET
        else:
            remote_address = self.remote_address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "action": action,
                "created_at": created_at,
            }
        )
        if auditable_id is not UNSET:
            field_dict["auditable_id"] = auditable_id
        if auditable_type is not UNSET:
            field_dict["auditable_type"] = auditable_type
        if auditable is not UNSET:
            field_dict["auditable"] = auditable
        if associated_id is not UNSET:
            field_dict["associated_id"] = associated_id
        if associated_type is not UNSET:
            field_dict["associated_type"] = associated_type
        if user_id is not UNSET:
            field_dict["user_id"] = user_id
        if user_type is not UNSET:
            field_dict["user_type"] = user_type
        if username is not UNSET:
            field_dict["username"] = username
        if audited_changes is not UNSET:
            field_dict["audited_changes"] = audited_changes
        if version is not UNSET:
            field_dict["version"] = version
        if comment is not UNSET:
            field_dict["comment"] = comment
        if request_uuid is not UNSET:
            field_dict["request_uuid"] = request_uuid
        if remote_address is not UNSET:
            field_dict["remote_address"] = remote_address

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_log_auditable_type_0 import AuditLogAuditableType0
        from ..models.audit_log_audited_changes_type_0 import (
            AuditLogAuditedChangesType0,
        )

        d = dict(src_dict)
        id = d.pop("id")

        action = d.pop("action")

        def _parse_created_at(data: object) -> float | int | str:
            return cast(float | int | str, data)

        created_at = _parse_created_at(d.pop("created_at"))

        auditable_id = d.pop("auditable_id", UNSET)

        auditable_type = d.pop("auditable_type", UNSET)

        def _parse_auditable(data: object) -> AuditLogAuditableType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                auditable_type_0 = AuditLogAuditableType0.from_dict(data)

                return auditable_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditLogAuditableType0 | None | Unset, data)

        auditable = _parse_auditable(d.pop("auditable", UNSET))

        associated_id = d.pop("associated_id", UNSET)

        associated_type = d.pop("associated_type", UNSET)

        def _parse_user_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        user_id = _parse_user_id(d.pop("user_id", UNSET))

        def _parse_user_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_type = _parse_user_type(d.pop("user_type", UNSET))

        def _parse_username(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        username = _parse_username(d.pop("username", UNSET))

        def _parse_audited_changes(
            data: object,
        ) -> AuditLogAuditedChangesType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                audited_changes_type_0 = AuditLogAuditedChangesType0.from_dict(data)

                return audited_changes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(AuditLogAuditedChangesType0 | None | Unset, data)

        audited_changes = _parse_audited_changes(d.pop("audited_changes", UNSET))

        version = d.pop("version", UNSET)

        def _parse_comment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        comment = _parse_comment(d.pop("comment", UNSET))

        request_uuid = d.pop("request_uuid", UNSET)

        def _parse_remote_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        remote_address = _parse_remote_address(d.pop("remote_address", UNSET))

        audit_log = cls(
            id=id,
            action=action,
            created_at=created_at,
            auditable_id=auditable_id,
            auditable_type=auditable_type,
            auditable=auditable,
            associated_id=associated_id,
            associated_type=associated_type,
            user_id=user_id,
            user_type=user_type,
            username=username,
            audited_changes=audited_changes,
            version=version,
            comment=comment,
            request_uuid=request_uuid,
            remote_address=remote_address,
        )

        audit_log.additional_properties = d
        return audit_log

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
