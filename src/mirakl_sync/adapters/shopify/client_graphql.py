"""The GraphQL transport of ``ShopifyClient``: cost pacing, retries and error translation.

``ShopifyGraphQL`` sends documents (``execute``, ``run``, ``paginate``); the operation
parts of the client (``client_*.py``) subclass it, and share its page sizes,
``search_value`` (search syntax) and ``_payload`` (a mutation's payload or its user
errors). What it does for every call:

* **Paces by cost.** A local mirror of Shopify's leaky bucket (``cost.CostBucket``) is
  refreshed from each response's ``extensions.cost``; before sending a document it waits
  until the bucket holds the cost that document was last charged.
* **Retries what can be retried.** ``THROTTLED`` (HTTP 200) or HTTP 429: wait for the
  bucket, then retry up to ``max_throttle_retries`` times, then ``RateLimitedError``.
  Timeouts, network errors and 5xx: exponential backoff up to ``max_retries`` times,
  then ``RetryableError``, but only for queries and ``@idempotent`` mutations; a plain
  mutation (``orderCreate``) that may have reached Shopify is never re-sent blindly, the
  caller looks it up (by ``sourceIdentifier``) before trying again.
* **Translates errors.** 401/403 -> ``AuthenticationError``; GraphQL ``errors`` ->
  ``PermanentError``; mutation ``userErrors`` -> ``ShopifyUserError``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx
from graphql import OperationDefinitionNode, OperationType, parse

from mirakl_sync.adapters.http import HttpApiClient, async_client, default_timeout
from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.adapters.shopify import documents
from mirakl_sync.adapters.shopify.cost import (
    CostBucket,
    ShopifyPacing,
    parse_cost,
    seconds_until_available,
)
from mirakl_sync.adapters.shopify.errors import SYSTEM, ShopifyUserError, UserErrorDetail
from mirakl_sync.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

#: Shopify's maximum page size for connections.
MAX_PAGE_SIZE = 250
#: Page size of lookups by exact SKU (2, so that a duplicated SKU is still seen).
SKU_LOOKUP_PAGE = 2

Sleep = Callable[[float], Awaitable[None]]


def search_value(value: str) -> str:
    """Quote ``value`` for Shopify search syntax (``sku:"FJ-JAC-0001-M"``)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@functools.lru_cache(maxsize=256)
def _retry_safe(document: str) -> bool:
    """Queries, and mutations carrying an ``@idempotent`` key, may be re-sent after a failure."""
    for definition in parse(document).definitions:
        if isinstance(definition, OperationDefinitionNode):
            if definition.operation is not OperationType.MUTATION:
                continue
            for selection in definition.selection_set.selections:
                directives = getattr(selection, "directives", None) or ()
                if not any(d.name.value == "idempotent" for d in directives):
                    return False
    return True


class ShopifyGraphQL(HttpApiClient):
    """The connection to one shop's Admin GraphQL API and the policy of every call."""

    def __init__(
        self,
        graphql_url: str,
        access_token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        max_throttle_retries: int = 5,
        backoff_seconds: float = 0.5,
        # Wall time, as the stock flow keeps: clients of one hub share a cost bucket per
        # clock (see Hub.shopify), so their clocks must agree.
        clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        pacing: ShopifyPacing | None = None,
        background: bool = False,
    ) -> None:
        self._url = graphql_url
        #: Background work (stock and price reads) yields the bucket to urgent work.
        self._background = background
        self._http = async_client(
            transport=transport,
            timeout=timeout if timeout is not None else default_timeout(),
            headers={
                "X-Shopify-Access-Token": access_token,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "mirakl-sync",
            },
        )
        self._max_retries = max_retries
        self._max_throttle_retries = max_throttle_retries
        self._backoff = backoff_seconds
        self._clock = clock
        self._sleep = sleep
        #: Shared with the shop's other clients in this process when given (see ShopifyPacing).
        self._pacing = pacing if pacing is not None else ShopifyPacing()

    async def execute(
        self, document: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send ``document`` with ``variables``; return ``data`` or raise a hub error."""
        payload = {"query": document, "variables": dict(variables or {})}
        retry_safe = _retry_safe(document)
        failures = 0
        throttles = 0
        while True:
            await self._pace(document)
            try:
                response = await self._http.post(self._url, json=payload)
            except httpx.TransportError as exc:
                # A connect error never reached Shopify, so even a plain mutation may be re-sent.
                safe = retry_safe or isinstance(exc, httpx.ConnectError)
                failures += 1
                if not safe or failures > self._max_retries:
                    raise RetryableError(
                        f"could not reach Shopify ({type(exc).__name__}: {exc}); "
                        "check the network and the shop domain, the call can be retried",
                        system=SYSTEM,
                    ) from exc
                await self._sleep(self._backoff * 2 ** (failures - 1))
                continue

            status = response.status_code
            if status == 429:
                throttles += 1
                wait = self._throttle_wait(response)
                if throttles > self._max_throttle_retries:
                    raise RateLimitedError(
                        "Shopify kept answering 429 Too Many Requests",
                        retry_after=wait,
                        system=SYSTEM,
                    )
                await self._sleep(wait)
                continue
            if status >= 500:
                failures += 1
                if not retry_safe or failures > self._max_retries:
                    raise RetryableError(
                        f"Shopify answered {status}; the call can be retried later",
                        system=SYSTEM,
                        status=status,
                    )
                await self._sleep(self._backoff * 2 ** (failures - 1))
                continue
            body = self._json(response)
            if status in (401, 403):
                raise AuthenticationError(
                    f"{_error_text(body)}; check [shopify] access_token and the app's scopes",
                    system=SYSTEM,
                    status=status,
                )
            if status == 404:
                raise NotFoundError(
                    f"{self._url} was not found; check [shopify] shop and api_version",
                    system=SYSTEM,
                    status=status,
                )
            if status >= 400:
                raise PermanentError(_error_text(body), system=SYSTEM, status=status)

            cost = parse_cost(body.get("extensions"))
            if cost is not None:
                self._pacing.observe(document, cost, self._clock())

            errors = body.get("errors")
            if errors:
                code = _error_code(errors)
                if code == "THROTTLED":
                    throttles += 1
                    wait = self._backoff
                    if cost is not None and cost.throttle is not None:
                        wait = max(seconds_until_available(cost.throttle, cost.requested), 0.01)
                    if throttles > self._max_throttle_retries:
                        raise RateLimitedError(
                            "Shopify kept answering THROTTLED: the query cost bucket is empty",
                            retry_after=wait,
                            system=SYSTEM,
                            status=status,
                            code=code,
                        )
                    await self._sleep(wait)
                    continue
                if code == "INTERNAL_SERVER_ERROR" and retry_safe:
                    failures += 1
                    if failures <= self._max_retries:
                        await self._sleep(self._backoff * 2 ** (failures - 1))
                        continue
                    raise RetryableError(_error_text(body), system=SYSTEM, code=code)
                if code == "ACCESS_DENIED":
                    raise AuthenticationError(
                        f"{_error_text(body)}; grant the app the scope this call needs",
                        system=SYSTEM,
                        code=code,
                    )
                raise PermanentError(_error_text(body), system=SYSTEM, code=code)
            data = body.get("data")
            if not isinstance(data, dict):
                raise PermanentError("Shopify answered without data", system=SYSTEM)
            return data

    async def run(self, name: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send the document named ``name`` in ``documents.py``."""
        return await self.execute(documents.document(name), variables)

    async def paginate(
        self,
        name: str,
        variables: Mapping[str, Any],
        path: Sequence[str],
        *,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every node of the connection at ``path`` in ``data``, page by page."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        after: str | None = None
        while True:
            data = await self.run(name, {**variables, "first": page_size, "after": after})
            connection: Any = data
            for key in path:
                connection = connection[key]
            for node in connection["nodes"]:
                yield node
            page = connection["pageInfo"]
            if not page["hasNextPage"]:
                return
            after = page["endCursor"]

    @property
    def bucket(self) -> CostBucket:
        """The local mirror of the shop's cost bucket."""
        return self._pacing.bucket

    async def _pace(self, document: str) -> None:
        wait = self._pacing.reserve(document, self._clock(), background=self._background)
        while wait > 0:
            await self._sleep(wait)
            # Urgent work spent its cost already; background work spent nothing and asks
            # again, since urgent work may have taken the points meanwhile.
            wait = (
                self._pacing.reserve(document, self._clock(), background=True)
                if self._background
                else 0.0
            )

    def _throttle_wait(self, response: httpx.Response) -> float:
        asked = retry_after_seconds(response, time.time())
        return asked if asked is not None else max(self._backoff, 1.0)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise PermanentError(
                f"Shopify answered HTTP {response.status_code} with a body that is not JSON",
                system=SYSTEM,
                status=response.status_code,
            ) from exc
        return body if isinstance(body, dict) else {"data": None, "errors": str(body)}


def _payload(
    data: dict[str, Any], mutation: str, *, errors_key: str = "userErrors"
) -> dict[str, Any]:
    """The mutation's payload, or ``ShopifyUserError`` if it answered user errors."""
    payload = data.get(mutation)
    if not isinstance(payload, dict):
        raise PermanentError(f"{mutation} answered no payload", system=SYSTEM)
    user_errors = payload.get(errors_key) or []
    if user_errors:
        raise ShopifyUserError(
            mutation,
            [
                UserErrorDetail(
                    field=tuple(error.get("field") or ()),
                    message=str(error.get("message", "")),
                    code=error.get("code"),
                )
                for error in user_errors
            ],
        )
    return payload


def _error_code(errors: Any) -> str | None:
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict):
                code = (error.get("extensions") or {}).get("code")
                if code:
                    return str(code)
    return None


def _error_text(body: dict[str, Any]) -> str:
    errors = body.get("errors")
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        return "; ".join(messages) or "Shopify answered an error"
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())
    return "Shopify answered an error"
