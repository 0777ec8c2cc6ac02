"""Type-checked only (mypy --strict), never run: it freezes the public signatures.

A change that breaks a caller's typed code breaks this file first.
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_type

import httpx

from chatwoot_audit import (
    ENUMS,
    ROLES,
    APIStatusError,
    AsyncChatwootAudit,
    AuditAction,
    AuditLog,
    AuditLogPage,
    ChatwootAudit,
    Checkpoint,
    Hint,
    HintCode,
    IncompleteWalkError,
    RetryPolicy,
)


def sync_usage() -> None:
    client = ChatwootAudit(
        base_url="https://chat.example.com",
        api_access_token="token",
        account_id=1,
        timeout=httpx.Timeout(10.0),
        attempt_timeout=30.0,
        max_body_size=16 * 1024 * 1024,
        max_retries=3,
        retry_policy=RetryPolicy(base_delay=1.0),
        token_header="Api-Access-Token",
        allow_insecure_http=False,
        http_client=httpx.Client(),
    )
    with client:
        strict = client.with_options(timeout=httpx.Timeout(5.0), max_retries=0)
        assert_type(strict.max_retries, int)
        assert_type(strict.retry_policy, RetryPolicy)
        assert_type(strict, ChatwootAudit)
        assert_type(client.with_options(timeout=2.5).page(1), AuditLogPage)
        page = client.page(2)
        assert_type(page, AuditLogPage)
        assert_type(page.items, tuple[AuditLog, ...])
        assert_type(page.total_pages, int)
        assert_type(page.has_next_page, bool)
        assert_type(page.server_time, datetime | None)
        for log in page:
            assert_type(log, AuditLog)
        for page in client.pages(start=1, concurrency=4):
            assert_type(page.current_page, int)
        for log in client.logs(since=datetime(2026, 1, 1, tzinfo=UTC), until=None, limit=10, concurrency=8):
            assert_type(log.id, int)
            assert_type(log.action, str)
            assert_type(log.created_at, datetime)
            assert_type(log.user_id, int | None)
            # What the server always sends is typed without None: no checks needed.
            assert_type(log.auditable_id, int)
            assert_type(log.auditable_type, str)
            assert_type(log.associated_id, int)
            assert_type(log.associated_type, str)
            assert_type(log.version, int)
            assert_type(log.request_uuid, str)
            assert_type(log.changes(), dict[str, tuple[Any, Any]])
            assert_type(log.changes(named=True), dict[str, tuple[Any, Any]])
            assert_type(ROLES.get(0), str | None)
            assert_type(ENUMS["AccountUser"]["availability"][2], str)
            assert_type(log.to_dict(), dict[str, Any])
            assert_type(AuditLog.from_dict(log.to_dict()), AuditLog)
            if log.action == AuditAction.SIGN_IN:
                pass
        cp = Checkpoint()
        for log in client.logs_after(cp, concurrency=2):
            assert_type(log, AuditLog)
            cp.advance(log)
            cp.advance(log, now=page.server_time or datetime.now(UTC))
            cp.advance(log, now=1_800_000_000)
        assert_type(cp.skew_margin, int)
        cp.save("state.json")
        cp.save(Path("state.json"))
        assert_type(Checkpoint.load("state.json"), Checkpoint)
        for log in client.follow(Checkpoint.from_json(cp.to_json()), interval=30.0):
            assert_type(log, AuditLog)
            break
    try:
        client.page(1)
    except APIStatusError as exc:
        assert_type(exc.status_code, int)
        assert_type(exc.request_id, str | None)
        assert_type(exc.hint, Hint | None)
        if exc.hint is not None and exc.hint.code == HintCode.TOKEN_HEADER:
            assert_type(exc.hint.fix, dict[str, Any])
            assert_type(exc.hint.advice, str)
    except IncompleteWalkError as exc:
        assert_type(exc.missing, int)


async def async_usage() -> None:
    async with AsyncChatwootAudit(
        "https://chat.example.com",
        "token",
        1,
        attempt_timeout=None,
        max_body_size=None,
        http_client=httpx.AsyncClient(),
    ) as client:
        page = await client.page(1)
        assert_type(page, AuditLogPage)
        assert_type(client.with_options(max_retries=1), AsyncChatwootAudit)
        assert_type(await client.with_options(timeout=1.0).page(2), AuditLogPage)
        async for page in client.pages(concurrency=8):
            assert_type(page, AuditLogPage)
        async with aclosing(client.logs(concurrency=8)) as logs:
            async for log in logs:
                assert_type(log, AuditLog)
        async for log in client.logs_after(Checkpoint()):
            assert_type(log, AuditLog)
        async with aclosing(client.follow(Checkpoint(), interval=5)) as followed:
            async for log in followed:
                assert_type(log, AuditLog)
    await client.aclose()
