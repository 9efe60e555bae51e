"""The HTTP policy of ``SupercycleClient``: call budgets, retries and error translation.

``SupercycleTransport`` holds the connection and the one way every operation calls
Supercycle (``_request``, ``_parse``, ``_paginate``); the operation parts of the client
(``client_*.py``) subclass it.

Every call first takes a slot of the key's call budget (120 requests/min across all
endpoints, and also 10/min for ``GET /availability_timelines``, per the OpenAPI
description), so a well-behaved hub never sees a 429. If one comes anyway, ``Retry-After``
is honoured up to ``max_retries`` times; 5xx and network errors are retried with
exponential backoff. Failures surface as the hub's error tree (``mirakl_sync.errors``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.http import HttpApiClient, async_client, default_timeout
from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.adapters.supercycle.errors import SYSTEM, translate
from mirakl_sync.adapters.supercycle.models import Page
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.errors import PermanentError, RetryableError
from mirakl_sync.services.ports import CallBudget, Clock

#: Documented limit for every endpoint together, per API key.
DEFAULT_BUDGET = Budget(120, 60.0)
#: Documented extra limit for ``GET /availability_timelines``.
DEFAULT_TIMELINES_BUDGET = Budget(10, 60.0)
#: ``limit`` bounds of list endpoints (1-100, default 50).
MAX_PAGE_SIZE = 100

Sleep = Callable[[float], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)


class SupercycleTransport(HttpApiClient):
    """The connection to Supercycle with one API key and the policy of every call (its
    parameters are described on ``SupercycleClient``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 120.0,
        call_budget: CallBudget | None = None,
        budget: Budget = DEFAULT_BUDGET,
        timelines_budget: Budget = DEFAULT_TIMELINES_BUDGET,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a Supercycle API key is required (Supercycle > Settings > API)")
        self._http = async_client(
            base_url=base_url.rstrip("/") + "/",
            transport=transport,
            timeout=timeout if timeout is not None else default_timeout(),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "mirakl-sync",
            },
        )
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._clock = clock
        self._sleep = sleep
        self._budgets = call_budget if call_budget is not None else InMemoryCallBudget(clock)
        self._budget = budget
        self._timelines_budget = timelines_budget
        # Limits are per key: key the budget by a digest, never by the secret itself.
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self._budget_key = f"supercycle:{digest}"

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def _take_slots(self, path: str) -> None:
        # The stricter timelines budget first, then the shared one: each slot is taken
        # when we are about to use it, so a slot is late by at most the shared budget's
        # queue (half a second per waiting call at 120/min). A 429 that still slips
        # through is retried after its Retry-After.
        reserved = [(self._budget_key, self._budget)]
        if path == "availability_timelines":
            reserved.insert(0, (f"{self._budget_key}:timelines", self._timelines_budget))
        for key, budget in reserved:
            wait = self._budgets.reserve(key, budget)
            if wait > 0:
                await self._sleep(wait)
        for key, _ in reserved:  # the slots are used from here (``CallBudget.calling``)
            self._budgets.calling(key)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Send one call with budget, retries and error translation; return parsed JSON.

        A POST creates something and Supercycle takes no idempotency key, so a POST is
        retried only when it surely did not run (connection refused or not made, 429);
        after a read timeout or a 5xx it fails with ``RetryableError`` and the caller
        must look before creating again.
        """
        replayable = method != "POST"
        attempt = 0
        while True:
            await self._take_slots(path)
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as exc:  # timeouts, connection errors
                not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < self._max_retries and (replayable or not_sent):
                    await self._sleep(self._backoff * 2**attempt)
                    attempt += 1
                    continue
                raise RetryableError(
                    f"{method} /{path}: {type(exc).__name__} after {attempt + 1} attempts; "
                    "check that Supercycle is reachable",
                    system=SYSTEM,
                ) from exc
            if response.status_code == 429 and attempt < self._max_retries:
                wait = retry_after_seconds(response, self._clock())
                if wait is None:
                    wait = self._backoff * 2**attempt
                if wait <= self._max_retry_after:
                    await self._sleep(wait)
                    attempt += 1
                    continue
            elif response.status_code >= 500 and replayable and attempt < self._max_retries:
                await self._sleep(self._backoff * 2**attempt)
                attempt += 1
                continue
            try:
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                raise translate(response, now=self._clock()) from exc
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise PermanentError(
                    f"{method} /{path}: Supercycle answered with non-JSON", system=SYSTEM
                ) from exc

    @staticmethod
    def _parse(model: type[M], payload: Any, what: str) -> M:
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise PermanentError(
                f"unexpected {what} shape from Supercycle: {exc.errors()[:3]}", system=SYSTEM
            ) from exc

    async def _paginate(
        self, path: str, params: Mapping[str, str], model: type[M], page_size: int
    ) -> AsyncIterator[M]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, not {page_size}")
        cursor: str | None = None
        while True:
            query = {**params, "limit": str(page_size)}
            if cursor:
                query["page"] = cursor
            payload = await self._request("GET", path, params=query)
            page = self._parse(Page[model], payload, f"{path} page")  # type: ignore[valid-type]
            for row in page.data:
                yield row
            if not page.next_page or page.next_page == cursor:
                return
            cursor = page.next_page
