"""``SupercycleClient``: the async client of Supercycle's Admin API v1.

Usage::

    async with SupercycleClient("https://app.supercycle.com/api/v1", key) as supercycle:
        async for item in supercycle.iter_items(visibility="available"):
            ...
        await supercycle.mark_item_sold(item.id)

Every call first takes a slot of the key's call budget (120 requests/min across all
endpoints, and also 10/min for ``GET /availability_timelines``, per the OpenAPI
description), so a well-behaved hub never sees a 429. If one comes anyway, ``Retry-After``
is honoured up to ``max_retries`` times; 5xx and network errors are retried with
exponential backoff. Failures surface as the hub's error tree (``mirakl_sync.errors``).

Not covered: a conditions endpoint (the reference's navigation lists "Conditions" but we
could not find its page; conditions arrive embedded in items and return lines), products
import and method options, timeline comments and custom field definitions.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.http import HttpApiClient, async_client, default_timeout
from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.adapters.supercycle.errors import SYSTEM, translate
from mirakl_sync.adapters.supercycle.models import (
    AvailabilityTimeline,
    BlockedDate,
    CreatedReturnOrders,
    Item,
    Page,
    Rental,
    ReturnLineUpdate,
    ReturnOrder,
    ReturnRequestLine,
    TimeFilter,
    Visibility,
)
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

_UNSET: Any = object()


class SupercycleClient(HttpApiClient):
    """Async client of one Supercycle shop (one API key).

    - ``base_url``: up to and including ``/api/v1``.
    - ``transport``: an ``httpx.AsyncBaseTransport`` (``ASGITransport`` in tests).
    - ``call_budget``: shared budget store (``SqlCallBudget`` across processes); an
      in-memory one by default. ``budget`` / ``timelines_budget`` override the limits.
    - ``max_retries``: extra attempts after a 429, a 5xx or a network error.
    - ``max_retry_after``: a 429 asking to wait longer than this is raised at once as
      ``RateLimitedError`` so the caller's scheduler, not this coroutine, does the waiting.
    - ``clock`` / ``sleep``: injectable for tests.
    """

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

    # --- transport ----------------------------------------------------------------------

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

    # --- items --------------------------------------------------------------------------

    def iter_items(
        self,
        *,
        sku: str | None = None,
        serial: str | None = None,
        query: str | None = None,
        visibility: str | None = None,
        with_active_rental: bool | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Item]:
        """Every item matching the filters, page by page.

        ``updated`` is NOT in the published ``GET /items`` reference (only rentals and
        blocked dates document it); the emulator honours it, but against the real API
        a full scan is the safe way to catch every change. ``query`` is the documented
        text search over titles, serials and SKU; its parameter name is not shown in the
        reference, ``query`` is our reading.
        """
        params: dict[str, str] = {}
        _param(params, "sku", sku)
        _param(params, "serial", serial)
        _param(params, "query", query)
        _param(params, "visibility", visibility)
        if with_active_rental is not None:
            params["withActiveRental"] = "true" if with_active_rental else "false"
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("items", params, Item, page_size)

    async def get_item(self, item_id: int) -> Item:
        return self._parse(Item, await self._request("GET", f"items/{item_id}"), "item")

    async def create_items(
        self,
        shopify_variant_id: int,
        *,
        visibility: str = Visibility.AVAILABLE,
        quantity: int | None = None,
        serials: Sequence[str] | None = None,
        condition_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
    ) -> list[Item]:
        """``POST /items``: the variant's product must already be imported into Supercycle."""
        body: dict[str, Any] = {"shopifyVariantId": shopify_variant_id, "visibility": visibility}
        _field(body, "quantity", quantity)
        if serials is not None:
            body["serials"] = list(serials)
        _field(body, "conditionId", condition_id)
        _field(body, "locationShopifyId", location_shopify_id)
        _field(body, "pickLocation", pick_location)
        payload = await self._request("POST", "items", json=body)
        if not isinstance(payload, list):
            raise PermanentError("POST /items did not return a list of items", system=SYSTEM)
        return [self._parse(Item, row, "item") for row in payload]

    async def update_item(
        self,
        item_id: int,
        *,
        visibility: str | None = None,
        status: str | None = None,
        condition_id: int | None = _UNSET,
        serial: str | None = None,
        shopify_variant_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
    ) -> Item:
        """``PUT /items/{id}`` with only the fields given (``condition_id=None`` clears it)."""
        body: dict[str, Any] = {}
        _field(body, "visibility", visibility)
        _field(body, "status", status)
        if condition_id is not _UNSET:
            body["conditionId"] = condition_id
        _field(body, "serial", serial)
        _field(body, "shopifyVariantId", shopify_variant_id)
        _field(body, "locationShopifyId", location_shopify_id)
        _field(body, "pickLocation", pick_location)
        if not body:
            raise ValueError("update_item needs at least one field to change")
        payload = await self._request("PUT", f"items/{item_id}", json=body)
        return self._parse(Item, payload, "item")

    async def mark_item_sold(self, item_id: int) -> Item:
        """Record a marketplace sale: Supercycle never sees orders without ``_cycle``."""
        return await self.update_item(item_id, visibility=Visibility.SOLD)

    # --- rentals (cycles) ---------------------------------------------------------------

    def iter_rentals(
        self,
        *,
        shopify_order_id: int | None = None,
        item_id: int | None = None,
        shopify_variant_id: int | None = None,
        unfulfilled: bool | None = None,
        status: str | None = None,
        created: TimeFilter | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Rental]:
        """Every rental (cycle) matching the filters; ``updated`` drives incremental sync.

        ``status`` is a best reading: the reference mentions "status and packing filters"
        without naming the parameter.
        """
        params: dict[str, str] = {}
        _param(params, "shopifyOrderId", shopify_order_id)
        _param(params, "itemId", item_id)
        _param(params, "shopifyVariantId", shopify_variant_id)
        if unfulfilled is not None:
            params["unfulfilled"] = "true" if unfulfilled else "false"
        _param(params, "status", status)
        if created is not None:
            params.update(created.to_params("created"))
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("rentals", params, Rental, page_size)

    async def get_rental(self, rental_id: int) -> Rental:
        return self._parse(Rental, await self._request("GET", f"rentals/{rental_id}"), "rental")

    async def update_rental(
        self,
        rental_id: int,
        *,
        item_id: int | None = None,
        packing_status: str | None = None,
        fulfill_at: datetime | None = None,
        fulfilled_at: datetime | None = None,
        receive_at: datetime | None = None,
        received_at: datetime | None = None,
        minimum_rental_end: datetime | None = None,
        tags_attributes: Sequence[Mapping[str, Any]] | None = None,
    ) -> Rental:
        """``PUT /rentals/{id}``; the Shopify order is NOT changed alongside."""
        body: dict[str, Any] = {}
        _field(body, "itemId", item_id)
        _field(body, "packingStatus", packing_status)
        for key, value in (
            ("fulfillAt", fulfill_at),
            ("fulfilledAt", fulfilled_at),
            ("receiveAt", receive_at),
            ("receivedAt", received_at),
            ("minimumRentalEnd", minimum_rental_end),
        ):
            if value is not None:
                body[key] = _iso(value)
        if tags_attributes is not None:
            body["tagsAttributes"] = [dict(tag) for tag in tags_attributes]
        if not body:
            raise ValueError("update_rental needs at least one field to change")
        payload = await self._request("PUT", f"rentals/{rental_id}", json=body)
        return self._parse(Rental, payload, "rental")

    # --- return orders ------------------------------------------------------------------

    def iter_return_orders(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[ReturnOrder]:
        """Every return order (the reference documents no filter besides paging)."""
        return self._paginate("return_orders", {}, ReturnOrder, page_size)

    async def get_return_order(self, return_order_id: int) -> ReturnOrder:
        payload = await self._request("GET", f"return_orders/{return_order_id}")
        return self._parse(ReturnOrder, payload, "return order")

    async def create_return_order(
        self,
        lines: Sequence[ReturnRequestLine] = (),
        *,
        serials: Sequence[str] | None = None,
        return_method: Mapping[str, Any] | None = None,
    ) -> CreatedReturnOrders:
        """``POST /return_orders`` by rental ids (``lines``) or item ``serials``.

        Supercycle may create some orders and refuse some lines in the same answer: read
        both ``return_orders`` and ``errors`` of the result.
        """
        body: dict[str, Any] = {
            "data": [line.model_dump(by_alias=True, exclude_none=True) for line in lines]
        }
        if serials is not None:
            body["serials"] = list(serials)
        if return_method is not None:
            body["returnMethodAttributes"] = dict(return_method)
        payload = await self._request("POST", "return_orders", json=body)
        return self._parse(CreatedReturnOrders, payload, "created return orders")

    async def update_return_order(
        self,
        return_order_id: int,
        *,
        status: str | None = None,
        lines: Sequence[ReturnLineUpdate] = (),
    ) -> ReturnOrder:
        """``PUT /return_orders/{id}``: the order's status and/or its lines' statuses.

        The published example names the lines ``return_lines`` (snake case, unlike the
        rest of the API); we send it as published.
        """
        body: dict[str, Any] = {}
        _field(body, "status", status)
        if lines:
            body["return_lines"] = [
                line.model_dump(by_alias=True, exclude_none=True) for line in lines
            ]
        if not body:
            raise ValueError("update_return_order needs a status or lines")
        payload = await self._request("PUT", f"return_orders/{return_order_id}", json=body)
        return self._parse(ReturnOrder, payload, "return order")

    # --- availability and blocked dates -------------------------------------------------

    async def get_availability_timeline(
        self,
        variant_shopify_id: int,
        *,
        location_id: int | None = None,
        delivery_method_type: str | None = None,
    ) -> AvailabilityTimeline:
        """Per-day available counts of a variant (10 calls/min: use sparingly)."""
        params: dict[str, str] = {"variant_shopify_id": str(variant_shopify_id)}
        _param(params, "location_id", location_id)
        _param(params, "delivery_method_type", delivery_method_type)
        payload = await self._request("GET", "availability_timelines", params=params)
        return self._parse(AvailabilityTimeline, payload, "availability timeline")

    def iter_blocked_dates(
        self,
        *,
        resource_types: Sequence[str] | None = None,
        item_id: int | None = None,
        shopify_variant_id: int | None = None,
        shopify_product_id: int | None = None,
        active_from: date | None = None,
        active_to: date | None = None,
        updated: TimeFilter | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[BlockedDate]:
        """Blocked date ranges; ``active_from=today, active_to=today`` gives today's blocks."""
        params: dict[str, str] = {}
        if resource_types:
            params["resourceType"] = ",".join(resource_types)
        _param(params, "itemId", item_id)
        _param(params, "shopifyVariantId", shopify_variant_id)
        _param(params, "shopifyProductId", shopify_product_id)
        _param(params, "activeFrom", active_from.isoformat() if active_from else None)
        _param(params, "activeTo", active_to.isoformat() if active_to else None)
        if updated is not None:
            params.update(updated.to_params("updated"))
        return self._paginate("blocked_dates", params, BlockedDate, page_size)

    async def get_blocked_date(self, blocked_date_id: int) -> BlockedDate:
        payload = await self._request("GET", f"blocked_dates/{blocked_date_id}")
        return self._parse(BlockedDate, payload, "blocked date")

    async def create_blocked_date(
        self,
        resource_type: str,
        resource_id: int,
        *,
        first: date | None = None,
        last: date | None = None,
        description: str | None = None,
    ) -> BlockedDate:
        """Block ``first``..``last`` (inclusive; None = open end) on an item/variant/product."""
        body: dict[str, Any] = {
            "resourceType": resource_type,
            "resourceId": resource_id,
            "from": first.isoformat() if first else None,
            "to": last.isoformat() if last else None,
        }
        _field(body, "description", description)
        payload = await self._request("POST", "blocked_dates", json=body)
        return self._parse(BlockedDate, payload, "blocked date")


def _param(params: dict[str, str], key: str, value: str | int | None) -> None:
    """Add a query parameter unless it is None (query values are strings)."""
    if value is not None:
        params[key] = str(value)


def _field(body: dict[str, Any], key: str, value: Any) -> None:
    """Add a JSON body field unless it is None (None means "leave unchanged")."""
    if value is not None:
        body[key] = value


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
