# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.audit_log import AuditLog


T = TypeVar("T", bound="AuditLogList")


@_attrs_define
class AuditLogList:
    """
    Attributes:
        per_page (int): Entries per page, chosen by the server (25 on v4.14.1 and later, 15 before). Read it from each
            response; there is no per_page query parameter. Example: 15.
        total_entries (int): Total number of audit log entries Example: 150.
        current_page (int): Current page number Example: 1.
        audit_logs (list[AuditLog]): Array of audit log entries
    """

    per_page: int
    total_entries: int
    current_page: int
    audit_logs: list[AuditLog]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        per_page = self.per_page

        total_entries = self.total_entries

        current_page = self.current_page

        audit_logs = []
        for audit_logs_item_data in self.audit_logs:
            audit_logs_item = audit_logs_item_data.to_dict()
            audit_logs.append(audit_logs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "per_page": per_page,
                "total_entries": total_entries,
                "current_page": current_page,
                "audit_logs": audit_logs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_log import AuditLog

        d = dict(src_dict)
        per_page = d.pop("per_page")

        total_entries = d.pop("total_entries")

        current_page = d.pop("current_page")

        audit_logs = []
        _audit_logs = d.pop("audit_logs")
        for audit_logs_item_data in _audit_logs:
            audit_logs_item = AuditLog.from_dict(audit_logs_item_data)

            audit_logs.append(audit_logs_item)

        audit_log_list = cls(
            per_page=per_page,
            total_entries=total_entries,
            current_page=current_page,
            audit_logs=audit_logs,
        )

        audit_log_list.additional_properties = d
        return audit_log_list

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
