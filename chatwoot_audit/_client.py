"""ChatwootAudit and AsyncChatwootAudit: thin twins around the pure walk, retry and parsing modules."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from types import TracebackType
from typing import Self

import anyio
import httpx
from chatwoot_audit_generated import AuthenticatedClient

from ._config import Settings, resolve_settings
from ._errors import APIStatusError, ChatwootError
from ._http import USER_AGENT, TransientBody, build_request, connection_error, page_from_response
from ._models import AuditLog, AuditLogPage
from ._pagination import LogWalk, PageWalk, check_page
from ._retry import RetryPolicy, RetryState

__all__ = ["AsyncChatwootAudit", "ChatwootAudit"]

logger = logging.getLogger("chatwoot_audit")


class _Base:
    """What the twins share: settings, the generated client, and deciding about a failed attempt."""

    _settings: Settings
    _generated: AuthenticatedClient

    def __init__(
        self,
        *,
        base_url: str | httpx.URL | None,
        api_access_token: str | None,
        account_id: int | str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        token_header: str,
        allow_insecure_http: bool,
        http_client: httpx.Client | httpx.AsyncClient | None,
    ) -> None:
        if timeout is None and http_client is not None:
            # The caller configured their client; keep its timeout unless told otherwise.
            timeout = http_client.timeout
        self._settings = resolve_settings(
            base_url=base_url,
            api_access_token=api_access_token,
            account_id=account_id,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            token_header=token_header,
            allow_insecure_http=allow_insecure_http,
        )
        self._owns_http = http_client is None
        self._warned_empty = False
        settings = self._settings
        self._generated = AuthenticatedClient(
            base_url=str(settings.base_url),
            token=settings.token,
            prefix="",
            auth_header_name=settings.token_header,
            timeout=settings.timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={str(self._settings.base_url)!r}, account_id={self._settings.account_id})"
        )

    @property
    def base_url(self) -> httpx.URL:
        """The server's base URL."""
        return self._settings.base_url

    @property
    def account_id(self) -> int:
        """The account whose audit logs this client reads."""
        return self._settings.account_id

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each request."""
        return self._settings.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        """How failed requests are retried."""
        return self._settings.retry

    @property
    def generated(self) -> AuthenticatedClient:
        """The configured low-level generated client, for anything the facade does not cover.

        It shares this client's connection pool. With a caller's own ``http_client`` that has no
        ``base_url``, the generated functions (which use relative URLs) need one set on it.
        """
        return self._generated

    def _retry_delay(self, state: RetryState, page: int, error: ChatwootError) -> float:
        """How long to wait before trying ``page`` again; re-raises ``error`` when it is final."""
        status = error.status_code if isinstance(error, APIStatusError) else None
        headers = error.response.headers if isinstance(error, APIStatusError) else None
        what = (
            None
            if status is not None
            else ("non-JSON body" if isinstance(error, TransientBody) else type(error).__name__)
        )
        decision = self._settings.retry.delay_for(state, status_code=status, headers=headers, error=what)
        if decision.delay is None:
            logger.debug("page %d: giving up: %s", page, decision.reason)
            raise error
        state.record(decision, status_code=status)
        logger.debug(
            "page %d: %s; retry %d in %.2fs",
            page,
            decision.reason,
            state.attempts - 1,
            decision.delay,
        )
        return decision.delay

    def _seen_page(self, page: AuditLogPage, number: int) -> None:
        if number == 1 and page.total_entries == 0 and not self._warned_empty:
            self._warned_empty = True
            logger.warning(
                "account %d reports no audit-log entries: the audit_logs feature may be disabled on this "
                "account (Chatwoot answers an empty page then, with no other sign); it needs the Enterprise plan",
                self._settings.account_id,
            )


class ChatwootAudit(_Base):
    """A client for one account's audit logs.

    Arguments fall back to ``CHATWOOT_BASE_URL``, ``CHATWOOT_API_ACCESS_TOKEN`` and ``CHATWOOT_ACCOUNT_ID``.
    Use it as a context manager, or call :meth:`close`. A caller's own ``http_client`` is used as it is
    and not closed.
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        api_access_token: str | None = None,
        account_id: int | str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        token_header: str = "api_access_token",
        allow_insecure_http: bool = False,
        http_client: httpx.Client | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError(f"http_client must be an httpx.Client, not {type(http_client).__name__}")
        super().__init__(
            base_url=base_url,
            api_access_token=api_access_token,
            account_id=account_id,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            token_header=token_header,
            allow_insecure_http=allow_insecure_http,
            http_client=http_client,
        )
        if http_client is not None:
            self._generated.set_httpx_client(http_client)
        self._http = self._generated.get_httpx_client()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, unless it belongs to a caller-supplied ``http_client``."""
        if self._owns_http:
            self._http.close()

    def _fetch(self, number: int) -> AuditLogPage:
        settings, state = self._settings, RetryState()
        while True:
            request = build_request(self._http, settings, number)
            try:
                response = self._http.send(request, follow_redirects=False)
            except httpx.HTTPError as exc:
                error: ChatwootError = connection_error(exc, request, settings)
            else:
                try:
                    page = page_from_response(response, settings, attempts=state.attempts)
                except (APIStatusError, TransientBody) as exc:
                    error = exc
                else:
                    self._seen_page(page, number)
                    return page
            time.sleep(self._retry_delay(state, number, error))

    def page(self, number: int = 1) -> AuditLogPage:
        """One page, as the server numbers them (newest entries on page 1)."""
        return self._fetch(check_page(number))

    def pages(self, *, start: int = 1) -> Iterator[AuditLogPage]:
        """Page after page from ``start`` until the last (or an empty) one. Lazy: a break sends nothing more."""
        return self._iter_pages(PageWalk(start))

    def _iter_pages(self, walk: PageWalk) -> Iterator[AuditLogPage]:
        while (number := walk.next_page) is not None:
            page = self._fetch(number)
            walk.feed(page, number)
            yield page

    def logs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[AuditLog]:
        """Every entry, newest first, each id at most once, with ``since <= created_at <= until``.

        ``since`` and ``until`` are timezone-aware datetimes; the walk stops asking for pages once it has
        passed ``since``. ``limit`` stops after that many entries. Lazy: a break sends nothing more.
        """
        return self._iter_logs(LogWalk(since=since, until=until, limit=limit))

    def _iter_logs(self, walk: LogWalk) -> Iterator[AuditLog]:
        while (number := walk.next_page) is not None:
            yield from walk.feed(self._fetch(number), number)


class AsyncChatwootAudit(_Base):
    """The async twin of :class:`ChatwootAudit`: the same names, awaitable or async-iterable.

    Runs under asyncio and trio. Use it as an async context manager, or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        api_access_token: str | None = None,
        account_id: int | str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        token_header: str = "api_access_token",
        allow_insecure_http: bool = False,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}")
        super().__init__(
            base_url=base_url,
            api_access_token=api_access_token,
            account_id=account_id,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            token_header=token_header,
            allow_insecure_http=allow_insecure_http,
            http_client=http_client,
        )
        if http_client is not None:
            self._generated.set_async_httpx_client(http_client)
        self._http = self._generated.get_async_httpx_client()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, unless it belongs to a caller-supplied ``http_client``."""
        if self._owns_http:
            await self._http.aclose()

    async def close(self) -> None:
        """The same as :meth:`aclose`."""
        await self.aclose()

    async def _fetch(self, number: int) -> AuditLogPage:
        settings, state = self._settings, RetryState()
        while True:
            request = build_request(self._http, settings, number)
            try:
                response = await self._http.send(request, follow_redirects=False)
            except httpx.HTTPError as exc:
                error: ChatwootError = connection_error(exc, request, settings)
            else:
                try:
                    page = page_from_response(response, settings, attempts=state.attempts)
                except (APIStatusError, TransientBody) as exc:
                    error = exc
                else:
                    self._seen_page(page, number)
                    return page
            await anyio.sleep(self._retry_delay(state, number, error))

    async def page(self, number: int = 1) -> AuditLogPage:
        """One page, as the server numbers them (newest entries on page 1)."""
        return await self._fetch(check_page(number))

    def pages(self, *, start: int = 1) -> AsyncIterator[AuditLogPage]:
        """Page after page from ``start`` until the last (or an empty) one. Lazy: a break sends nothing more."""
        return self._iter_pages(PageWalk(start))

    async def _iter_pages(self, walk: PageWalk) -> AsyncIterator[AuditLogPage]:
        while (number := walk.next_page) is not None:
            page = await self._fetch(number)
            walk.feed(page, number)
            yield page

    def logs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[AuditLog]:
        """Every entry, newest first, each id at most once, with ``since <= created_at <= until``.

        ``since`` and ``until`` are timezone-aware datetimes; the walk stops asking for pages once it has
        passed ``since``. ``limit`` stops after that many entries. Lazy: a break sends nothing more.
        """
        return self._iter_logs(LogWalk(since=since, until=until, limit=limit))

    async def _iter_logs(self, walk: LogWalk) -> AsyncIterator[AuditLog]:
        while (number := walk.next_page) is not None:
            for log in walk.feed(await self._fetch(number), number):
                yield log
