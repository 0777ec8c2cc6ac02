"""ChatwootAudit and AsyncChatwootAudit: thin twins around the pure walk, retry and parsing modules.

Everything but I/O is written once, in :class:`_Base` and the pure modules; each twin keeps its way of
sending a request, of waiting, and of running a walk's window (threads or tasks, ``_workers``).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import aclosing, contextmanager
from datetime import datetime
from types import TracebackType
from typing import ClassVar, Final, Generic, Self, TypeVar

import anyio
import httpx
from chatwoot_audit_generated import AuthenticatedClient

from ._checkpoint import Checkpoint, to_deliver
from ._config import Settings, check_proxy_route, direct_mounts, resolve_settings
from ._errors import (
    APIStatusError,
    APITimeoutError,
    ChatwootError,
    ResponseTooLargeError,
    passes,
)
from ._http import (
    AttemptLimits,
    TransientBody,
    aread_body,
    build_request,
    connection_error,
    gave_up,
    page_from_response,
    read_body,
    request_headers,
)
from ._models import AuditLog, AuditLogPage
from ._pagination import LogWalk
from ._planner import Emit, Outcome, Planner, actions
from ._retry import RetryPolicy, RetryState, Throttle
from ._stream import OldestFirst, Probe, seconds
from ._validate import check_checkpoint, check_concurrency, check_interval, check_page
from ._workers import TaskOwner, ThreadWindow

__all__ = ["AsyncChatwootAudit", "ChatwootAudit"]

logger = logging.getLogger("chatwoot_audit")

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
F = TypeVar("F", bound=Callable[..., object])


# The attribute that marks a retry's log record, so that a handler can show retries and nothing else at INFO.
RETRY_RECORD: Final = "chatwoot_audit_retry"


def _failure(error: ChatwootError) -> str:
    """What went wrong, in a few words: the status line, else the error's own message (the request it names)."""
    if isinstance(error, APIStatusError):
        return f"{error.status_code} {error.response.reason_phrase}".strip()
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."


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


def _newer(one: datetime | None, other: datetime | None) -> datetime | None:
    return other if one is None or (other is not None and other > one) else one


def _twin(of: Callable[..., object]) -> Callable[[F], F]:
    """Give a method of the async client the docstring of its sync twin: one text for both."""

    def give(method: F) -> F:
        method.__doc__ = of.__doc__
        return method

    return give


class _Delivery:
    """An incremental sync: a walk's pages gathered, then its new entries handed out oldest first."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        self.checkpoint = checkpoint
        self._found: list[AuditLog] = []
        self._read_at: datetime | None = None

    def add(self, emit: Emit) -> None:
        self._found += emit.logs
        self._read_at = _newer(self._read_at, emit.page.server_time)

    def entries(self) -> list[AuditLog]:
        """The new entries, oldest first. The caller advances the checkpoint past each only once the loop
        asks for the next entry (or ends): one whose handling failed, or that a break left unacknowledged,
        comes again next time."""
        found, self._found = self._found, []
        return to_deliver(self.checkpoint, found, self._read_at)


class _Base(Generic[HttpT]):
    """What the twins share: arguments, settings, the generated client, and every decision that is not I/O."""

    _http_type: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    _settings: Settings
    _generated: AuthenticatedClient
    _http: HttpT

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
        http_client: HttpT | None = None,
    ) -> None:
        """Check the settings and prepare the connection pool; the arguments are in the class docstring."""
        if http_client is not None and not isinstance(http_client, self._http_type):
            raise TypeError(
                f"http_client must be an httpx.{self._http_type.__name__}, not {type(http_client).__name__}"
            )
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
        self._attempt_timeout = attempt_timeout
        self._owns_http = http_client is None
        # Whether the pool already carries this client's headers and timeout on every request.
        self._pool_defaults = http_client is None
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
        self._http = self._setup(http_client)

    def _setup(self, http_client: HttpT | None) -> HttpT:
        """What the twin keeps besides settings; returns the pool: the caller's, or the generated client's."""
        raise NotImplementedError

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
        """How long a failed request waits before each retry."""
        return self._settings.retry.policy

    @property
    def max_retries(self) -> int:
        """How many times a failed request is retried (429s apart: see :class:`RetryPolicy`)."""
        return self._settings.retry.max_retries

    @property
    def generated(self) -> AuthenticatedClient:
        """The configured low-level generated client, for anything the facade does not cover.

        It shares this client's connection pool. With a caller's own ``http_client``, the generated
        functions use that client as it is: they need its ``base_url`` set and the token header among its
        default headers, which the SDK leaves alone.
        """
        return self._generated

    def with_options(self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None) -> Self:
        """A client like this one with another ``timeout`` or ``max_retries``, sharing its connection pool.

        ``None`` keeps this client's value. An ``attempt_timeout`` left to its default follows the new
        ``timeout``. The copy is cheap (no new connections) and closing it leaves the pool open: the pool
        stays this client's (or the caller's ``http_client``). Raises :class:`ConfigurationError` for a bad
        value, like the constructor.
        """
        settings = self._settings
        clone = copy.copy(self)
        clone._settings = resolve_settings(
            base_url=settings.base_url,
            api_access_token=settings.token,
            account_id=settings.account_id,
            timeout=settings.timeout if timeout is None else timeout,
            max_retries=settings.retry.max_retries if max_retries is None else max_retries,
            retry_policy=settings.retry.policy,
            token_header=settings.token_header,
            # The URL was vetted when this client was made; the environment is not read again.
            allow_insecure_http=True,
            attempt_timeout=self._attempt_timeout,
            max_body_size=settings.max_body_size,
            env={},
        )
        clone._owns_http = False
        clone._pool_defaults = self._pool_defaults and clone._settings.timeout == settings.timeout
        return clone

    # -- one attempt and the decisions around it -----------------------------------------------------

    def _request(self, number: int) -> httpx.Request:
        return build_request(self._http, self._settings, number, own_client=self._pool_defaults)

    def _answered(
        self, response: httpx.Response, number: int, state: RetryState, throttle: _SharedThrottle | None
    ) -> AuditLogPage | ChatwootError:
        """The page a read answer holds, or the error it is."""
        try:
            page = page_from_response(response, self._settings, attempts=state.attempts)
        except (APIStatusError, TransientBody) as exc:
            return exc
        if throttle is not None:
            throttle.succeeded()
        self._seen_page(page, number)
        return page

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
            raise gave_up(error, state.attempts)
        failed = state.attempts
        state.record(decision, status_code=status)
        if status == 429 and throttle is not None:
            throttle.rate_limited(decision.delay)
        # INFO, not DEBUG: a job stalled on 429s or a flapping proxy must show why it is slow. The messages
        # of our errors never hold the token; the record's extra marks it for the CLI's filter.
        logger.info(
            "page %d, attempt %d: %s; retrying in %.1f s",
            page,
            failed,
            _failure(error),
            decision.delay,
            extra={RETRY_RECORD: True},
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

    # -- walks: what to fetch, and what a walk owes ----------------------------------------------------

    def _planner(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        start: int = 1,
        concurrency: int = 1,
        check_completeness: bool = True,
    ) -> tuple[Planner, _SharedThrottle]:
        walk = LogWalk(since=since, until=until, limit=limit, start=start)
        throttle = _SharedThrottle(check_concurrency(concurrency))
        planner = Planner(
            walk,
            concurrency=concurrency,
            check_completeness=check_completeness,
            batch_limit=lambda: throttle.limit,
        )
        return planner, throttle

    def _after(self, checkpoint: object, concurrency: int) -> tuple[Checkpoint, OldestFirst, _SharedThrottle]:
        """What :meth:`logs_after` walks: the seconds from the checkpoint's floor up, in windows, oldest first."""
        checked = check_checkpoint(checkpoint)
        throttle = _SharedThrottle(check_concurrency(concurrency))
        plan = OldestFirst(seconds(checked.floor), concurrency=concurrency, batch_limit=lambda: throttle.limit)
        return checked, plan, throttle

    @staticmethod
    def _following(checkpoint: object, interval: object, concurrency: object) -> tuple[Checkpoint, float, int]:
        """:meth:`follow`'s arguments, checked when it is called rather than at its first poll."""
        return check_checkpoint(checkpoint), check_interval(interval), check_concurrency(concurrency)

    @staticmethod
    @contextmanager
    def _riding_out(interval: float) -> Iterator[None]:
        """One poll of :meth:`follow`: an outage is logged and waited out; what needs a person is raised."""
        try:
            yield
        except ChatwootError as exc:
            if not passes(exc):
                raise
            logger.warning("polling audit logs failed, trying again in %gs: %s", interval, exc)


class ChatwootAudit(_Base[httpx.Client]):
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

    _http_type = httpx.Client

    def _setup(self, http_client: httpx.Client | None) -> httpx.Client:
        if http_client is not None:
            self._generated.set_httpx_client(http_client)
        return self._generated.get_httpx_client()

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
        state = RetryState()
        while True:
            if throttle is not None:
                self._pause(throttle.wait(), cancel)
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            answer = self._attempt(number, state, throttle)
            if isinstance(answer, AuditLogPage):
                return answer
            self._pause(self._retry_delay(state, number, answer, throttle), cancel)

    def _attempt(
        self, number: int, state: RetryState, throttle: _SharedThrottle | None
    ) -> AuditLogPage | ChatwootError:
        request = self._request(number)
        limits = AttemptLimits(self._settings)
        try:
            response = self._http.send(request, stream=True, follow_redirects=False)
            try:
                read_body(response, limits)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return connection_error(exc, request, self._settings)
        except (APITimeoutError, ResponseTooLargeError) as exc:
            return exc
        return self._answered(response, number, state, throttle)

    def _outcome(self, number: int, throttle: _SharedThrottle, cancel: threading.Event) -> Outcome:
        try:
            return self._fetch(number, throttle, cancel)
        except ChatwootError as exc:
            return exc

    def _drive(self, planner: Planner, throttle: _SharedThrottle) -> Iterator[Emit]:
        # A sliding window: pages keep arriving on the threads while the loop hands out earlier ones.
        window = ThreadWindow(planner.concurrency, lambda n, cancel: self._outcome(n, throttle, cancel))
        try:
            for action in actions(planner, window.start):
                if isinstance(action, Emit):
                    yield action
                else:
                    planner.deliver({action.page: window.take(action.page)})
        finally:
            # Leaving the walk returns at once, whatever is still on the way.
            window.close()

    # -- the public walks ----------------------------------------------------------------------------

    def page(self, number: int = 1) -> AuditLogPage:
        """One page, as the server numbers them (newest entries on page 1)."""
        return self._fetch(check_page(number))

    def pages(self, *, start: int = 1, concurrency: int = 1) -> Generator[AuditLogPage]:
        """Page after page from ``start`` until the last (or an empty) one.

        With ``concurrency`` > 1, up to that many pages are fetched at once; they come out in order.
        Lazy: leaving the loop sends nothing more.
        """
        planner, throttle = self._planner(start=start, concurrency=concurrency, check_completeness=False)
        return (emit.page for emit in self._drive(planner, throttle))

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
        planner, throttle = self._planner(since=since, until=until, limit=limit, concurrency=concurrency)
        return (log for emit in self._drive(planner, throttle) for log in emit.logs)

    def logs_after(self, checkpoint: Checkpoint, *, concurrency: int = 1) -> Generator[AuditLog]:
        """The entries ``checkpoint`` has not delivered yet, oldest first.

        An entry counts as delivered once the loop asks for the next one (or ends): one whose handling
        raised, or that a ``break`` left behind, comes again next time. To store progress after each
        entry, call ``checkpoint.advance(log)`` once it is shipped, then ``checkpoint.save(path)``:
        a restart then neither repeats nor drops an entry. The entries are read oldest first in windows of
        at most ``max(32, 4 * concurrency)`` pages, each checked for completeness like a full walk and
        handed out before the next is read: memory stays flat whatever the history's length, and a first
        sync yields its first entry after a few requests (:meth:`Checkpoint.starting_at` skips old history).

        Args:
            checkpoint: where delivery stands; advanced as entries are delivered.
            concurrency: pages fetched at once (1 to 64); the entries and their order are the same.
        """
        return self._stream(*self._after(checkpoint, concurrency))

    def _stream(self, checkpoint: Checkpoint, plan: OldestFirst, throttle: _SharedThrottle) -> Generator[AuditLog]:
        while (step := plan.step()) is not None:
            if isinstance(step, Probe):
                plan.probed(step.page, self._fetch(step.page, throttle))
                continue
            delivery = _Delivery(checkpoint)
            for emit in self._drive(step.planner, throttle):
                delivery.add(emit)
            if plan.walked(step):
                for log in delivery.entries():
                    yield log
                    # Delivered once the loop asks for the next entry (see _Delivery.entries).
                    checkpoint.advance(log)

    def follow(self, checkpoint: Checkpoint, *, interval: float = 30.0, concurrency: int = 1) -> Generator[AuditLog]:
        """:meth:`logs_after` again and again, every ``interval`` seconds, forever.

        Outages (connection errors, 5xx, throttling past the retry budget) are logged and waited out
        until the next poll; errors that need a person (a bad token, a missing account) are raised.

        Args:
            checkpoint: where delivery stands; advanced as entries are delivered (save it as you go).
            interval: seconds between the end of one poll and the start of the next.
            concurrency: pages fetched at once within a poll (1 to 64).
        """
        return self._follow(*self._following(checkpoint, interval, concurrency))

    def _follow(self, checkpoint: Checkpoint, interval: float, concurrency: int) -> Generator[AuditLog]:
        while True:
            with self._riding_out(interval):
                yield from self.logs_after(checkpoint, concurrency=concurrency)
            time.sleep(interval)


class AsyncChatwootAudit(_Base[httpx.AsyncClient]):
    """The async twin of :class:`ChatwootAudit`: the same names, awaitable or async-iterable.

    Runs under asyncio and trio. The arguments are those of :class:`ChatwootAudit`; here
    ``attempt_timeout`` is kept exactly (a cancel scope around each attempt).

    Use it as an async context manager (or call :meth:`aclose`). Entered with ``async with``, the client
    holds a task group for the block, and a walk with ``concurrency`` > 1 keeps that many requests in
    flight while the loop handles earlier entries (a sliding window, like the sync client's threads).
    Leaving a walk (its end, ``break`` inside ``aclosing(...)``, an exception, a cancellation) cancels its
    requests at once and leaves no task behind. A walk should end inside the block; one still running when
    the block ends raises :class:`ChatwootError`. Enter and leave the block in one task, as with any task
    group. A client that is not entered still walks concurrently, in batches: the pages asked for are
    fetched together and all of them arrive before the walk yields again, so each batch waits for its
    slowest request.

    """

    _http_type = httpx.AsyncClient
    _owner: TaskOwner

    def _setup(self, http_client: httpx.AsyncClient | None) -> httpx.AsyncClient:
        if http_client is not None:
            self._generated.set_async_httpx_client(http_client)
        self._owner = TaskOwner()
        return self._generated.get_async_httpx_client()

    async def __aenter__(self) -> Self:
        await self._owner.enter(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._owner.exit(self)
        finally:
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
        state = RetryState()
        while True:
            if throttle is not None and (hold := throttle.wait()) > 0:
                await anyio.sleep(hold)
            answer = await self._attempt(number, state, throttle)
            if isinstance(answer, AuditLogPage):
                return answer
            await anyio.sleep(self._retry_delay(state, number, answer, throttle))

    async def _attempt(
        self, number: int, state: RetryState, throttle: _SharedThrottle | None
    ) -> AuditLogPage | ChatwootError:
        request = self._request(number)
        limits = AttemptLimits(self._settings)
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
            return limits.timed_out(request)
        except httpx.HTTPError as exc:
            return connection_error(exc, request, self._settings)
        except ResponseTooLargeError as exc:
            return exc
        return self._answered(response, number, state, throttle)

    async def _outcome(self, number: int, throttle: _SharedThrottle) -> Outcome:
        try:
            return await self._fetch(number, throttle)
        except ChatwootError as exc:
            return exc

    async def _drive(self, planner: Planner, throttle: _SharedThrottle) -> AsyncGenerator[Emit]:
        # The window's tasks live in the client's task group, not in this generator: nothing here holds a
        # cancel scope across a yield.
        window = await self._owner.window(planner.concurrency, lambda n: self._outcome(n, throttle))
        try:
            for action in actions(planner, window.start):
                if isinstance(action, Emit):
                    yield action
                else:
                    planner.deliver({action.page: await window.take(action.page)})
        finally:
            await window.aclose()

    # -- the public walks ----------------------------------------------------------------------------

    @_twin(ChatwootAudit.page)
    async def page(self, number: int = 1) -> AuditLogPage:
        return await self._fetch(check_page(number))

    @_twin(ChatwootAudit.pages)
    def pages(self, *, start: int = 1, concurrency: int = 1) -> AsyncGenerator[AuditLogPage]:
        planner, throttle = self._planner(start=start, concurrency=concurrency, check_completeness=False)
        return self._pages(planner, throttle)

    async def _pages(self, planner: Planner, throttle: _SharedThrottle) -> AsyncGenerator[AuditLogPage]:
        # aclosing: an inner generator left to the garbage collector would finish its walk too late (and
        # trio warns about it).
        async with aclosing(self._drive(planner, throttle)) as emits:
            async for emit in emits:
                yield emit.page

    @_twin(ChatwootAudit.logs)
    def logs(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        concurrency: int = 1,
    ) -> AsyncGenerator[AuditLog]:
        planner, throttle = self._planner(since=since, until=until, limit=limit, concurrency=concurrency)
        return self._logs(planner, throttle)

    async def _logs(self, planner: Planner, throttle: _SharedThrottle) -> AsyncGenerator[AuditLog]:
        async with aclosing(self._drive(planner, throttle)) as emits:
            async for emit in emits:
                for log in emit.logs:
                    yield log

    @_twin(ChatwootAudit.logs_after)
    def logs_after(self, checkpoint: Checkpoint, *, concurrency: int = 1) -> AsyncGenerator[AuditLog]:
        return self._stream(*self._after(checkpoint, concurrency))

    async def _stream(
        self, checkpoint: Checkpoint, plan: OldestFirst, throttle: _SharedThrottle
    ) -> AsyncGenerator[AuditLog]:
        while (step := plan.step()) is not None:
            if isinstance(step, Probe):
                plan.probed(step.page, await self._fetch(step.page, throttle))
                continue
            delivery = _Delivery(checkpoint)
            async with aclosing(self._drive(step.planner, throttle)) as emits:
                async for emit in emits:
                    delivery.add(emit)
            if plan.walked(step):
                for log in delivery.entries():
                    yield log
                    checkpoint.advance(log)

    @_twin(ChatwootAudit.follow)
    def follow(
        self, checkpoint: Checkpoint, *, interval: float = 30.0, concurrency: int = 1
    ) -> AsyncGenerator[AuditLog]:
        return self._follow(*self._following(checkpoint, interval, concurrency))

    async def _follow(self, checkpoint: Checkpoint, interval: float, concurrency: int) -> AsyncGenerator[AuditLog]:
        while True:
            with self._riding_out(interval):
                async with aclosing(self.logs_after(checkpoint, concurrency=concurrency)) as logs:
                    async for log in logs:
                        yield log
            await anyio.sleep(interval)


# Reprs, tracebacks and pickles name the public path, not the module that defines the classes.
ChatwootAudit.__module__ = AsyncChatwootAudit.__module__ = "chatwoot_audit"


# The twins take the same arguments: one text for both, completed with each one's httpx client type.
_ARGUMENTS = """
    Args:
        base_url: the server's root, the address its dashboard opens at (``https://chat.example.com``, or
            with the path prefix Chatwoot is served under); not ``.../api/v1``. Default: ``CHATWOOT_BASE_URL``.
        api_access_token: an administrator's access token (Profile settings in the dashboard). Default:
            ``CHATWOOT_API_ACCESS_TOKEN``. It never appears in a repr, log line or error.
        account_id: the account whose audit logs to read (the ``N`` of ``/app/accounts/N``). Default:
            ``CHATWOOT_ACCOUNT_ID``.
        timeout: seconds for each network phase, or an ``httpx.Timeout``. Default: 30 s, or the timeout of
            ``http_client`` when one is given.
        attempt_timeout: seconds one attempt may take, request to the answer's last byte (see above).
        max_body_size: the largest answer body read, in bytes. Default: 16 MiB.
        max_retries: retries of a failed request (connection errors, 5xx, a body that is not JSON) before
            its error is raised: the one place retries are counted. Default: 4. A 429 is retried until the
            policy's ``rate_limit_budget`` of waiting is spent, whatever this says.
        retry_policy: how long each retry waits (:class:`RetryPolicy`); default ``RetryPolicy()``.
        token_header: ``"api_access_token"`` (default), or ``"Api-Access-Token"`` for a proxy that drops
            header names with underscores (nginx's default).
        allow_insecure_http: allow plain ``http://`` to a host that is not loopback, which sends the token
            in clear: only on a network you trust. Default: False.
        http_client: your own ``{http}`` (proxies, certificates, transports), used as it is and not closed;
            default: a pool of this client's own.

    Raises:
        ConfigurationError: a setting is missing or unsafe, or ``base_url`` holds a pasted path such as
            ``/api/v1`` (the message gives the value to use, and ``error.hint.fix`` holds it). Nothing is
            sent before the checks pass.
"""
ChatwootAudit.__doc__ = f"{(ChatwootAudit.__doc__ or '').rstrip()}\n{_ARGUMENTS.format(http='httpx.Client')}    "
AsyncChatwootAudit.__doc__ = (
    f"{(AsyncChatwootAudit.__doc__ or '').rstrip()}\n{_ARGUMENTS.format(http='httpx.AsyncClient')}    "
)
