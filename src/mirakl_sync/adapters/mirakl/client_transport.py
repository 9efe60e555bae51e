"""The HTTP policy of ``MiraklClient``: call budgets, retries and error translation.

``MiraklTransport`` holds the connection and the one way every operation calls Mirakl
(``_call`` and the page walkers built on it); the operation parts of the client
(``client_*.py``) subclass it. Errors are translated here into ``mirakl_sync.errors``
(see ``errors.py`` for the tree AND the retry policy: reads are retried on
5xx/timeouts, writes never are, 429 always is after ``Retry-After``).

Every request:

- goes to ``{base_url}/api/...`` with ``Authorization: <api key>`` (no ``Bearer``),
  ``Accept: application/json`` and ``shop_id`` in the query when one is configured;
- first reserves a slot of each of the operation's call budgets (``budgets.py``) in the
  injected ``CallBudget`` and sleeps the returned seconds. With the store's
  ``SqlCallBudget`` this holds the budget across every process of the hub. Each HTTP
  attempt is a call to Mirakl, so retries and pages reserve slots too (except the pages
  after the first of IV01/SBC11, which Mirakl exempts). ``budget_scale`` multiplies every
  period (0 lifts the budgets: the sandbox). Budgets are reserved synchronously: the
  reservation is one short SQL statement.
- never waits for budgets longer than ``max_budget_wait`` seconds in all (the config's
  ``max_budget_wait_seconds``; issue 9: a cold SH21 look-up slept a day). A short budget's
  slot within the bound is reserved and slept on; a once-a-day slot is taken only when
  free now, and one opening within the bound is waited for without holding it (see
  ``domain/call_budget.py``). Past the bound the call is not made:
  ``CallBudgetExhaustedError`` names the operation, the marketplace and when the next
  slot opens. Reference lists (SH21, RE01) then fall back to their last known value
  (``services/reference_cache.py``); other flows record it as an exception.

The API key is never logged.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import BaseModel

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.http import HttpApiClient, async_client, default_timeout
from mirakl_sync.adapters.mirakl.budgets import PAGES_EXEMPT, budget_key, budgets_for
from mirakl_sync.adapters.mirakl.client_params import _query
from mirakl_sync.adapters.mirakl.errors import (
    MiraklRateLimitedError,
    MiraklUnavailableError,
    error_for_status,
)
from mirakl_sync.adapters.mirakl.paging import walk_offset, walk_seek
from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.errors import CallBudgetExhaustedError
from mirakl_sync.services.ports import CallBudget

# The logger keeps the name the client logged under before it was split in parts.
log = structlog.get_logger("mirakl_sync.adapters.mirakl.client")

ModelT = TypeVar("ModelT", bound=BaseModel)

RETRY_BASE_DELAY = 1.0  # seconds; doubled each attempt
RETRY_MAX_DELAY = 60.0
RATE_LIMIT_FALLBACK_MIN = 2.0  # 429 without Retry-After: 2, 4, 8 ... 60 s
#: Seconds a call may wait for its budget slots, in all (``max_budget_wait_seconds``).
DEFAULT_MAX_BUDGET_WAIT = 300.0


class MiraklTransport(HttpApiClient):
    """The connection to one Mirakl marketplace for one shop and the policy of every call."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        shop_id: int | None = None,
        marketplace: str = "",
        transport: httpx.AsyncBaseTransport | None = None,
        call_budget: CallBudget | None = None,
        budget_scale: float = 1.0,
        max_budget_wait: float = DEFAULT_MAX_BUDGET_WAIT,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a Mirakl shop API key is required (seller back office: API key)")
        if budget_scale < 0:
            raise ValueError("budget_scale must be >= 0 (0 lifts the call budgets)")
        if max_budget_wait < 0:
            raise ValueError("max_budget_wait must be >= 0 seconds")
        self.base_url = base_url.rstrip("/")
        self.shop_id = shop_id
        self.marketplace = marketplace
        self._budget: CallBudget = call_budget if call_budget is not None else InMemoryCallBudget()
        self._budget_scale = budget_scale
        self._max_budget_wait = max_budget_wait
        self._max_retries = max_retries
        self._sleep = sleep
        self._random = random.Random()
        self._host = urlsplit(self.base_url).netloc
        self._http = async_client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout if timeout is not None else default_timeout(),
            headers={"Authorization": api_key, "Accept": "application/json"},
        )
        self._log = log.bind(marketplace=marketplace, shop_id=shop_id)

    async def _reserve(self, operations: Sequence[str]) -> None:
        """Take a slot of every budget of ``operations``, waiting ``max_budget_wait`` at most.

        Short budgets come first in ``operations`` (``OF52`` before ``OF52:full``), so a
        slot wasted because a later budget is spent is a cheap one.
        """
        remaining = self._max_budget_wait
        keys: list[str] = []
        for operation in operations:
            for budget in budgets_for(operation):
                key = budget_key(self.marketplace, self.shop_id, operation)
                keys.append(key)
                scaled = budget.scaled(self._budget_scale)
                while True:
                    try:
                        wait = self._budget.reserve(key, scaled, max_wait=max(0.0, remaining))
                        break
                    except CallBudgetExhaustedError as exc:
                        # The store keeps time with its own clock: use its distance.
                        opens_in = exc.wait_seconds
                        if opens_in > remaining:
                            raise self._exhausted(operation, budget, exc) from exc
                        # A long budget's slot opens within the bound: wait for it without
                        # holding it (a process killed meanwhile holds nothing), then ask.
                        self._log.debug("mirakl.budget_wait", operation=operation, seconds=opens_in)
                        await self._sleep(opens_in)
                        remaining -= opens_in
                if wait > 0:
                    self._log.debug("mirakl.budget_wait", operation=operation, seconds=wait)
                    await self._sleep(wait)
                    remaining -= wait
        # Before the request leaves: a process killed from here on may have called, so
        # its slots are no longer anyone else's to take (``SqlCallBudget``).
        for key in dict.fromkeys(keys):
            self._budget.calling(key)

    def _exhausted(
        self, operation: str, budget: Budget, exc: CallBudgetExhaustedError
    ) -> CallBudgetExhaustedError:
        opens = exc.next_slot
        return CallBudgetExhaustedError(
            f"{self.marketplace}: Mirakl allows {operation} {_budget_text(budget)} and its "
            f"next slot opens at {opens:%Y-%m-%d %H:%M} UTC, later than this hub waits for a "
            f"call budget ({self._max_budget_wait:g} s, max_budget_wait_seconds); {operation} "
            "was not called and is tried again after that time",
            key=exc.key,
            operation=operation,
            marketplace=self.marketplace,
            next_slot_at=exc.next_slot_at,
            wait_seconds=exc.wait_seconds,
            system="mirakl",
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(RETRY_MAX_DELAY, RETRY_BASE_DELAY * 2.0**attempt)
        # "Equal jitter": never zero, spreads concurrent retries.
        return ceiling / 2 + self._random.uniform(0, ceiling / 2)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        asked = retry_after_seconds(response, time.time())
        if asked is not None:
            return asked
        return min(RETRY_MAX_DELAY, RATE_LIMIT_FALLBACK_MIN * 2.0**attempt)

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        data: Mapping[str, str] | None = None,
        extra_budgets: Sequence[str] = (),
        reserve: bool = True,
        absolute_url: str | None = None,
    ) -> httpx.Response:
        """One Mirakl operation: budgets, retries and error translation."""
        idempotent = method == "GET"
        query = _query(params or {})
        if self.shop_id is not None and absolute_url is None:
            query.append(("shop_id", str(self.shop_id)))
        headers: dict[str, str] = {}
        content: bytes | None = None
        if method in ("PUT", "POST") and json is None and files is None:
            # OR24/OR29 have no body; Mirakl requires Content-Length: 0 on them.
            content = b""
            headers["Content-Length"] = "0"
        attempt = 0
        while True:
            if reserve or attempt > 0:
                await self._reserve((operation, *extra_budgets))
            try:
                if absolute_url is not None:
                    response = await self._send_absolute(absolute_url)
                else:
                    response = await self._http.request(
                        method,
                        path,
                        params=query,
                        json=json,
                        files=files,
                        data=data,
                        content=content,
                        headers=headers,
                    )
            except httpx.TransportError as exc:
                self._log.warning(
                    "mirakl.transport_error",
                    operation=operation,
                    error=type(exc).__name__,
                    attempt=attempt,
                )
                if idempotent and attempt < self._max_retries:
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                ambiguous = not idempotent and not isinstance(exc, httpx.ConnectError)
                unavailable = MiraklUnavailableError(
                    f"{operation} {method} {path}: {type(exc).__name__}"
                    + (
                        " (the write may have been applied: re-read Mirakl before repeating it)"
                        if ambiguous
                        else ""
                    ),
                    ambiguous=ambiguous,
                )
                unavailable.operation = operation
                raise unavailable from exc
            status = response.status_code
            self._log.debug(
                "mirakl.call", operation=operation, method=method, status=status, attempt=attempt
            )
            if status == 429:
                retry_after = self._retry_after(response, attempt)
                if attempt < self._max_retries:
                    self._log.info(
                        "mirakl.rate_limited", operation=operation, retry_after=retry_after
                    )
                    await self._sleep(retry_after)
                    attempt += 1
                    continue
                limited = MiraklRateLimitedError(
                    f"{operation}: Mirakl still answers 429 after {attempt} retries",
                    retry_after=retry_after,
                )
                limited.operation = operation
                raise limited
            if status >= 500 and idempotent and attempt < self._max_retries:
                await self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if status >= 400:
                error = error_for_status(status, response.content)
                if isinstance(error, MiraklUnavailableError) and not idempotent:
                    error.ambiguous = True
                # The passes name the failed call in the exception they record.
                error.operation = operation
                raise error
            return response

    async def _send_absolute(self, url: str) -> httpx.Response:
        # OF54 URLs come from OF53. Send the key only to the marketplace's own host: a
        # pre-signed storage URL must not receive it.
        request = self._http.build_request("GET", url)
        if urlsplit(url).netloc != self._host:
            del request.headers["Authorization"]
        return await self._http.send(request)

    async def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(operation, method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise MiraklUnavailableError(
                f"{operation}: Mirakl answered HTTP {response.status_code} with a body that "
                "is not JSON; try again later",
                status=response.status_code,
            ) from exc

    async def _model(
        self, model: type[ModelT], operation: str, method: str, path: str, **kwargs: Any
    ) -> ModelT:
        return model.model_validate(await self._json(operation, method, path, **kwargs))

    def _page_fetcher(
        self, operation: str, path: str
    ) -> Callable[[dict[str, Any], bool], Awaitable[Mapping[str, Any]]]:
        async def get_page(params: dict[str, Any], first: bool) -> Mapping[str, Any]:
            reserve = first or operation not in PAGES_EXEMPT
            page: Mapping[str, Any] = await self._json(
                operation, "GET", path, params=params, reserve=reserve
            )
            return page

        return get_page

    async def _offset(
        self,
        model: type[ModelT],
        operation: str,
        path: str,
        params: Mapping[str, Any],
        items_key: str,
        page_size: int,
    ) -> AsyncIterator[ModelT]:
        fetch = self._page_fetcher(operation, path)
        async for item in walk_offset(fetch, params, items_key, page_size=page_size):
            yield model.model_validate(item)

    async def _seek(
        self,
        model: type[ModelT],
        operation: str,
        path: str,
        params: Mapping[str, Any],
        page_size: int,
        max_page_size: int = 100,
    ) -> AsyncIterator[ModelT]:
        fetch = self._page_fetcher(operation, path)
        async for item in walk_seek(
            fetch, params, "data", page_size=page_size, max_page_size=max_page_size
        ):
            yield model.model_validate(item)


def _budget_text(budget: Budget) -> str:
    """The budget as its Call Frequency reads: "once per day", "20 times per minute"."""
    period = {86_400.0: "day", 3_600.0: "hour", 60.0: "minute"}.get(budget.period)
    count = "once" if budget.limit == 1 else f"{budget.limit} times"
    return f"{count} per {period}" if period else f"{count} per {budget.period:g} s"
