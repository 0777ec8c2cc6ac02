# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_log_list import AuditLogList
from ...models.auth_error import AuthError
from ...models.bad_request_error import BadRequestError
from ...types import UNSET, Response, Unset


def _get_kwargs(
    account_id: int,
    *,
    page: int | Unset = 1,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page"] = page

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/accounts/{account_id}/audit_logs".format(
            account_id=quote(str(account_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuditLogList | AuthError | BadRequestError | None:
    if response.status_code == 200:
        response_200 = AuditLogList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = AuthError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = BadRequestError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = AuthError.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = BadRequestError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AuditLogList | AuthError | BadRequestError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    account_id: int,
    *,
    client: AuthenticatedClient,
    page: int | Unset = 1,
) -> Response[AuditLogList | AuthError | BadRequestError]:
    """List Audit Logs in Account

     Get Details of Audit Log entries for an Account. This endpoint is only available in Enterprise
    editions and requires the audit_logs feature to be enabled.

    Args:
        account_id (int):
        page (int | Unset):  Default: 1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditLogList | AuthError | BadRequestError]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        page=page,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    account_id: int,
    *,
    client: AuthenticatedClient,
    page: int | Unset = 1,
) -> AuditLogList | AuthError | BadRequestError | None:
    """List Audit Logs in Account

     Get Details of Audit Log entries for an Account. This endpoint is only available in Enterprise
    editions and requires the audit_logs feature to be enabled.

    Args:
        account_id (int):
        page (int | Unset):  Default: 1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditLogList | AuthError | BadRequestError
    """

    return sync_detailed(
        account_id=account_id,
        client=client,
        page=page,
    ).parsed


async def asyncio_detailed(
    account_id: int,
    *,
    client: AuthenticatedClient,
    page: int | Unset = 1,
) -> Response[AuditLogList | AuthError | BadRequestError]:
    """List Audit Logs in Account

     Get Details of Audit Log entries for an Account. This endpoint is only available in Enterprise
    editions and requires the audit_logs feature to be enabled.

    Args:
        account_id (int):
        page (int | Unset):  Default: 1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditLogList | AuthError | BadRequestError]
    """

    kwargs = _get_kwargs(
        account_id=account_id,
        page=page,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    account_id: int,
    *,
    client: AuthenticatedClient,
    page: int | Unset = 1,
) -> AuditLogList | AuthError | BadRequestError | None:
    """List Audit Logs in Account

     Get Details of Audit Log entries for an Account. This endpoint is only available in Enterprise
    editions and requires the audit_logs feature to be enabled.

    Args:
        account_id (int):
        page (int | Unset):  Default: 1.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditLogList | AuthError | BadRequestError
    """

    return (
        await asyncio_detailed(
            account_id=account_id,
            client=client,
            page=page,
        )
    ).parsed
