"""ChatwootAudit and AsyncChatwootAudit: thin twins around the pure walk, retry and parsing modules."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from concurrent.futures import Future
from contextlib import aclosing
from datetime import datetime
from types import TracebackType
from typing import Self

import anyio
import httpx
from chatwoot_audit_generated import AuthenticatedClient

from ._checkpoint import Checkpoint, to_deliver
from ._config import Settings, check_proxy_route, direct_mounts, resolve_settings
from ._errors import (
    PASSING_ERRORS,
    APIStatusError,
    APITimeoutError,
    ChatwootError,
    InvalidArgumentError,
    ResponseTooLargeError,
)
from ._http import (
    AttemptLimits,
    TransientBody,
    aread_body,
    build_request,
    connection_error,
    page_from_response,
    read_body,
    request_headers,
)
from ._models import AuditLog, AuditLogPage
from ._pagination import LogWalk, check_concurrency, check_page
from ._retry import RetryPolicy, RetryState, Throttle
from ._walker import Emit, Outcome, Wait, Walker
from ._workers import Workers

__all__ = ["AsyncChatwootAudit", "ChatwootAudit"]

logger = logging.getLogger("chatwoot_audit")


class _Cancelled(Exception):
    """A walk was closed while one of its worker threads waited to retry."""


class _SharedThrottle:
    """A walk's :class:`Throttle`, safe to share between its worker threads or tasks."""

    def __init__(self, concurrency: int) -> None:
        self._throttle = Throttle(ceiling=concurrency)
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._throttle.limit

    def wait(self) -> float:
        with self._lock:
            return self._throttle.wait(time.monotonic())

    def rate_limited(self, delay: float) -> None:
        with self._lock:
            self._throttle.rate_limited(time.monotonic(), delay)

    def succeeded(self) -> None:
        with self._lock:
            self._throttle.succeeded()


def _check_interval(interval: object) -> float:
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0 < interval < math.inf:
        raise InvalidArgumentError(f"interval must be a number of seconds > 0, not {interval!r}")
    return float(interval)


def _newer(one: datetime | None, other: datetime | None) -> datetime | None:
    return other if one is None or (other is not None and other > one) else one


def _check_checkpoint(checkpoint: object) -> Checkpoint:
    if not isinstance(checkpoint, Checkpoint):
        raise InvalidArgumentError(f"checkpoint must be a Checkpoint, not {type(checkpoint).__name__}")
    return checkpoint


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
        attempt_timeout: float | None,
        max_body_size: int | None,
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
            attempt_timeout=attempt_timeout,
            max_body_size=max_body_size,
        )
        settings = self._settings
        if http_client is not None:
            check_proxy_route(http_client, settings.base_url, allow_insecure_http=allow_insecure_http)
        self._owns_http = http_client is None
        self._warned_empty = False
        self._generated = AuthenticatedClient(
            base_url=str(settings.base_url),
            token=settings.token,
            prefix="",
            auth_header_name=settings.token_header,
            timeout=settings.timeout,
            follow_redirects=False,
            headers=request_headers(settings),
            # Loopback is reached directly, whatever proxy the environment names.
            httpx_args={"mounts": direct_mounts(settings.base_url)},
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

        It shares this client's connection pool. With a caller's own ``http_client``, the generated
        functions use that client as it is: they need its ``base_url`` set and the token header among its
        default headers, which the SDK leaves alone.
        """
        return self._generated

    def _retry_delay(
        self, state: RetryState, page: int, error: ChatwootError, throttle: _SharedThrottle | None
    ) -> float:
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
        if status == 429 and throttle is not None:
            throttle.rate_limited(decision.delay)
        logger.debug(
            "page %d: %s; retry %d in %.2fs",
            page,
            decision.reason,
            state.attempts - 1,
            decision.delay,
        )
        return decision.delay

    def _walker(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        start: int = 1,
        concurrency: int = 1,
        check_completeness: bool = True,
    ) -> tuple[Walker, _SharedThrottle]:
        walk = LogWalk(since=since, until=until, limit=limit, start=start)
        throttle = _SharedThrottle(check_concurrency(concurrency))
        walker = Walker(
            walk,
            concurrency=concurrency,
            check_completeness=check_completeness,
            batch_limit=lambda: throttle.limit,
        )
        return walker, throttle

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
    and not closed. Walks with ``concurrency`` > 1 fetch pages on a small pool of threads.

    ``timeout`` bounds each wait for the network (httpx's phases). ``attempt_timeout`` bounds one attempt,
    from sending the request to the answer's last byte: by default three times the longest phase of
    ``timeout`` (90 s with the default 30 s), no limit when ``timeout`` has no read limit; ``math.inf``
    for none. This client checks it as the body arrives, so an attempt may end up to one read timeout late
    (and a server that trickles its status line and headers is held only by the read timeout until they
    end; :class:`AsyncChatwootAudit` keeps the deadline exactly). ``max_body_size`` caps an answer's body
    in bytes (default 16 MiB). Either failure is retried like other transient ones, then raised as
    :class:`APITimeoutError` or :class:`ResponseTooLargeError`.

    Plain ``http://`` is allowed to ``localhost``, 127.0.0.0/8 and ``::1`` (not to ``*.localhost``). The
    SDK's own connection pool reaches a loopback host directly, past ``HTTP_PROXY`` and ``ALL_PROXY``; a
    caller's ``http_client`` that would send a plain-http loopback request to a proxy is refused with
    :class:`ConfigurationError`, unless ``allow_insecure_http=True``.
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        api_access_token: str | None = None,
        account_id: int | str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_body_size: int | None = None,
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
            attempt_timeout=attempt_timeout,
            max_body_size=max_body_size,
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

    # -- the only I/O: one page, with retries --------------------------------------------------------

    @staticmethod
    def _pause(seconds: float, cancel: threading.Event | None) -> None:
        if seconds <= 0:
            return
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            raise _Cancelled

    def _fetch(
        self, number: int, throttle: _SharedThrottle | None = None, cancel: threading.Event | None = None
    ) -> AuditLogPage:
        settings, state = self._settings, RetryState()
        while True:
            if throttle is not None:
                self._pause(throttle.wait(), cancel)
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            request = build_request(self._http, settings, number, own_client=self._owns_http)
            limits = AttemptLimits(settings)
            try:
                response = self._http.send(request, stream=True, follow_redirects=False)
                try:
                    read_body(response, limits)
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                error: ChatwootError = connection_error(exc, request, settings)
            except (APITimeoutError, ResponseTooLargeError) as exc:
                error = exc
            else:
                try:
                    page = page_from_response(response, settings, attempts=state.attempts)
                except (APIStatusError, TransientBody) as exc:
                    error = exc
                else:
                    if throttle is not None:
                        throttle.succeeded()
                    self._seen_page(page, number)
                    return page
            self._pause(self._retry_delay(state, number, error, throttle), cancel)

    def _outcome(self, number: int, throttle: _SharedThrottle, cancel: threading.Event) -> Outcome:
        try:
            return self._fetch(number, throttle, cancel)
        except ChatwootError as exc:
            return exc

    def _drive(self, walker: Walker, throttle: _SharedThrottle) -> Iterator[Emit]:
        cancel = threading.Event()
        pool: Workers | None = None
        futures: dict[int, Future[Outcome]] = {}
        try:
            while (action := walker.step()) is not None:
                if isinstance(action, Emit):
                    yield action
                elif isinstance(action, Wait):
                    walker.deliver({action.page: futures.pop(action.page).result()})
                elif walker.concurrency == 1:
                    walker.deliver({n: self._outcome(n, throttle, cancel) for n in action.pages})
                else:
                    # A sliding window: pages keep arriving on the pool while the loop hands out earlier ones.
                    if pool is None:
                        pool = Workers(walker.concurrency)
                    for n in action.pages:
                        futures[n] = pool.submit(self._outcome, n, throttle, cancel)
        finally:
            # Leaving the walk returns at once: queued pages and waits to retry end on the cancel event,
            # and a request already on the wire finishes on its daemon thread within the timeout.
            cancel.set()
            if pool is not None:
                pool.close()

    # -- the public walks ----------------------------------------------------------------------------

    def page(self, number: int = 1) -> AuditLogPage:
        """One page, as the server numbers them (newest entries on page 1)."""
        return self._fetch(check_page(number))

    def pages(self, *, start: int = 1, concurrency: int = 1) -> Generator[AuditLogPage]:
        """Page after page from ``start`` until the last (or an empty) one.

        With ``concurrency`` > 1, up to that many pages are fetched at once; they come out in order.
        Lazy: leaving the loop sends nothing more.
        """
        walker, throttle = self._walker(start=start, concurrency=concurrency, check_completeness=False)
        return (emit.page for emit in self._drive(walker, throttle))

    def logs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> Generator[AuditLog]:
        """Every entry, newest first, each id at most once, with ``since <= created_at <= until``.

        ``since`` and ``until`` are timezone-aware datetimes: the walk finds the first page that can
        hold ``until`` by bisection and stops once it has passed ``since``. ``limit`` stops after that
        many entries. With ``concurrency`` > 1, up to that many pages are fetched at once, the output
        unchanged. A full walk checks that it found every entry the server reported, re-reading where
        entries may have slipped between pages, and raises :class:`IncompleteWalkError` if it cannot.
        Lazy: leaving the loop sends nothing more.
        """
        walker, throttle = self._walker(since=since, until=until, limit=limit, concurrency=concurrency)
        return (log for emit in self._drive(walker, throttle) for log in emit.logs)

    def logs_after(self, checkpoint: Checkpoint, *, concurrency: int = 1) -> Generator[AuditLog]:
        """The entries ``checkpoint`` has not delivered yet, oldest first.

        An entry counts as delivered once the loop asks for the next one (or ends): one whose handling
        raised, or that a ``break`` left behind, comes again next time. To store progress after each
        entry, call ``checkpoint.advance(log)`` once it is shipped, then store ``checkpoint.to_json()``:
        a restart then neither repeats nor drops an entry. The new entries are gathered before the first
        is yielded (a first sync holds the whole history in memory; :meth:`Checkpoint.starting_at` skips
        old history). The walk is checked for completeness like a full walk, over its window.
        """
        checkpoint = _check_checkpoint(checkpoint)
        floor = checkpoint.floor
        walker, throttle = self._walker(since=floor, concurrency=concurrency)
        return self._deliver(checkpoint, self._drive(walker, throttle))

    @staticmethod
    def _deliver(checkpoint: Checkpoint, emits: Iterator[Emit]) -> Generator[AuditLog]:
        found: list[AuditLog] = []
        read_at: datetime | None = None
        for emit in emits:
            found += emit.logs
            read_at = _newer(read_at, emit.page.server_time)
        for log in to_deliver(checkpoint, found, read_at):
            yield log
            # Only once the loop asks for the next entry (or ends) is this one taken as delivered: an entry
            # whose handling failed, or that a break left unacknowledged, comes again next time.
            checkpoint.advance(log)

    def follow(self, checkpoint: Checkpoint, *, interval: float = 30.0, concurrency: int = 1) -> Generator[AuditLog]:
        """:meth:`logs_after` again and again, every ``interval`` seconds, forever.

        Outages (connection errors, 5xx, throttling past the retry budget) are logged and waited out
        until the next poll; errors that need a person (a bad token, a missing account) are raised.
        """
        checkpoint = _check_checkpoint(checkpoint)
        wait = _check_interval(interval)
        check_concurrency(concurrency)
        return self._follow(checkpoint, wait, concurrency)

    def _follow(self, checkpoint: Checkpoint, interval: float, concurrency: int) -> Generator[AuditLog]:
        while True:
            try:
                yield from self.logs_after(checkpoint, concurrency=concurrency)
            except PASSING_ERRORS as exc:
                logger.warning("polling audit logs failed, trying again in %gs: %s", interval, exc)
            time.sleep(interval)


class AsyncChatwootAudit(_Base):
    """The async twin of :class:`ChatwootAudit`: the same names, awaitable or async-iterable.

    Runs under asyncio and trio. Use it as an async context manager, or call :meth:`aclose`. The
    arguments are those of :class:`ChatwootAudit`; here ``attempt_timeout`` is kept exactly (a cancel
    scope around each attempt).
    """

    def __init__(
        self,
        base_url: str | httpx.URL | None = None,
        api_access_token: str | None = None,
        account_id: int | str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        attempt_timeout: float | None = None,
        max_body_size: int | None = None,
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
            attempt_timeout=attempt_timeout,
            max_body_size=max_body_size,
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

    # -- the only I/O: one page, with retries --------------------------------------------------------

    async def _fetch(self, number: int, throttle: _SharedThrottle | None = None) -> AuditLogPage:
        settings, state = self._settings, RetryState()
        while True:
            if throttle is not None and (hold := throttle.wait()) > 0:
                await anyio.sleep(hold)
            request = build_request(self._http, settings, number, own_client=self._owns_http)
            limits = AttemptLimits(settings)
            try:
                with anyio.fail_after(limits.seconds):
                    response = await self._http.send(request, stream=True, follow_redirects=False)
                    try:
                        await aread_body(response, limits)
                    finally:
                        # Shielded: after the deadline the scope is cancelled, and the connection must
                        # still go back to the pool or be closed.
                        with anyio.CancelScope(shield=True):
                            await response.aclose()
            except TimeoutError:
                error: ChatwootError = limits.timed_out(request)
            except httpx.HTTPError as exc:
                error = connection_error(exc, request, settings)
            except ResponseTooLargeError as exc:
                error = exc
            else:
                try:
                    page = page_from_response(response, settings, attempts=state.attempts)
                except (APIStatusError, TransientBody) as exc:
                    error = exc
                else:
                    if throttle is not None:
                        throttle.succeeded()
                    self._seen_page(page, number)
                    return page
            await anyio.sleep(self._retry_delay(state, number, error, throttle))

    async def _outcome(self, number: int, throttle: _SharedThrottle, into: dict[int, Outcome]) -> None:
        try:
            into[number] = await self._fetch(number, throttle)
        except ChatwootError as exc:
            into[number] = exc

    async def _drive(self, walker: Walker, throttle: _SharedThrottle) -> AsyncGenerator[Emit]:
        while (action := walker.step()) is not None:
            if isinstance(action, Emit):
                yield action
                continue
            if isinstance(action, Wait):  # pragma: no cover - every Fetch below is delivered whole
                raise RuntimeError(f"page {action.page} was never fetched")
            outcomes: dict[int, Outcome] = {}
            if len(action.pages) == 1:
                await self._outcome(action.pages[0], throttle, outcomes)
            else:
                # The task group closes before anything is yielded: a consumer that leaves the loop or is
                # cancelled never strands a request.
                async with anyio.create_task_group() as group:
                    for number in action.pages:
                        group.start_soon(self._outcome, number, throttle, outcomes)
            walker.deliver(outcomes)

    # -- the public walks ----------------------------------------------------------------------------

    async def page(self, number: int = 1) -> AuditLogPage:
        """One page, as the server numbers them (newest entries on page 1)."""
        return await self._fetch(check_page(number))

    def pages(self, *, start: int = 1, concurrency: int = 1) -> AsyncGenerator[AuditLogPage]:
        """Page after page from ``start`` until the last (or an empty) one.

        With ``concurrency`` > 1, up to that many pages are fetched at once; they come out in order.
        Lazy: leaving the loop sends nothing more.
        """
        walker, throttle = self._walker(start=start, concurrency=concurrency, check_completeness=False)
        return self._pages(walker, throttle)

    async def _pages(self, walker: Walker, throttle: _SharedThrottle) -> AsyncGenerator[AuditLogPage]:
        # aclosing: an inner generator left to the garbage collector would finish its walk too late (and
        # trio warns about it).
        async with aclosing(self._drive(walker, throttle)) as emits:
            async for emit in emits:
                yield emit.page

    def logs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> AsyncGenerator[AuditLog]:
        """Every entry, newest first, each id at most once, with ``since <= created_at <= until``.

        ``since`` and ``until`` are timezone-aware datetimes: the walk finds the first page that can
        hold ``until`` by bisection and stops once it has passed ``since``. ``limit`` stops after that
        many entries. With ``concurrency`` > 1, up to that many pages are fetched at once, the output
        unchanged. A full walk checks that it found every entry the server reported, re-reading where
        entries may have slipped between pages, and raises :class:`IncompleteWalkError` if it cannot.
        Lazy: leaving the loop sends nothing more.
        """
        walker, throttle = self._walker(since=since, until=until, limit=limit, concurrency=concurrency)
        return self._logs(walker, throttle)

    async def _logs(self, walker: Walker, throttle: _SharedThrottle) -> AsyncGenerator[AuditLog]:
        async with aclosing(self._drive(walker, throttle)) as emits:
            async for emit in emits:
                for log in emit.logs:
                    yield log

    def logs_after(self, checkpoint: Checkpoint, *, concurrency: int = 1) -> AsyncGenerator[AuditLog]:
        """The entries ``checkpoint`` has not delivered yet, oldest first.

        An entry counts as delivered once the loop asks for the next one (or ends): one whose handling
        raised, or that a ``break`` left behind, comes again next time. To store progress after each
        entry, call ``checkpoint.advance(log)`` once it is shipped, then store ``checkpoint.to_json()``:
        a restart then neither repeats nor drops an entry. The new entries are gathered before the first
        is yielded (a first sync holds the whole history in memory; :meth:`Checkpoint.starting_at` skips
        old history). The walk is checked for completeness like a full walk, over its window.
        """
        checkpoint = _check_checkpoint(checkpoint)
        check_concurrency(concurrency)
        return self._deliver_after(checkpoint, concurrency)

    def _deliver_after(self, checkpoint: Checkpoint, concurrency: int) -> AsyncGenerator[AuditLog]:
        floor = checkpoint.floor
        walker, throttle = self._walker(since=floor, concurrency=concurrency)
        return self._deliver(checkpoint, self._drive(walker, throttle))

    @staticmethod
    async def _deliver(checkpoint: Checkpoint, emits: AsyncGenerator[Emit]) -> AsyncGenerator[AuditLog]:
        found: list[AuditLog] = []
        read_at: datetime | None = None
        async with aclosing(emits):
            async for emit in emits:
                found += emit.logs
                read_at = _newer(read_at, emit.page.server_time)
        for log in to_deliver(checkpoint, found, read_at):
            yield log
            checkpoint.advance(log)

    def follow(
        self, checkpoint: Checkpoint, *, interval: float = 30.0, concurrency: int = 1
    ) -> AsyncGenerator[AuditLog]:
        """:meth:`logs_after` again and again, every ``interval`` seconds, forever.

        Outages (connection errors, 5xx, throttling past the retry budget) are logged and waited out
        until the next poll; errors that need a person (a bad token, a missing account) are raised.
        """
        checkpoint = _check_checkpoint(checkpoint)
        wait = _check_interval(interval)
        check_concurrency(concurrency)
        return self._follow(checkpoint, wait, concurrency)

    async def _follow(self, checkpoint: Checkpoint, interval: float, concurrency: int) -> AsyncGenerator[AuditLog]:
        while True:
            try:
                async with aclosing(self._deliver_after(checkpoint, concurrency)) as logs:
                    async for log in logs:
                        yield log
            except PASSING_ERRORS as exc:
                logger.warning("polling audit logs failed, trying again in %gs: %s", interval, exc)
            await anyio.sleep(interval)
