"""``MiraklClient``: the async client of Mirakl's seller (shop) REST API.

One method per Mirakl operation, named for what it does, with the Mirakl code in its
docstring; payloads are the pydantic models of ``models.py``; errors are translated at
this boundary into ``mirakl_sync.errors`` (see ``errors.py`` for the tree AND the retry
policy: reads are retried on 5xx/timeouts, writes never are, 429 always is after
``Retry-After``).

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

The API key is never logged. Usage::

    async with MiraklClient("https://debenhams-prod.mirakl.net", key, shop_id=2001,
                            marketplace="debenhams") as mirakl:
        async for order in mirakl.list_orders(order_state_codes=["WAITING_ACCEPTANCE"]):
            ...
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import structlog
from pydantic import BaseModel

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.http import HttpApiClient, async_client, default_timeout
from mirakl_sync.adapters.mirakl.budgets import PAGES_EXEMPT, budget_key, budgets_for
from mirakl_sync.adapters.mirakl.csv_files import (
    ErrorReportRow,
    PriceLine,
    StockLine,
    parse_error_report,
    price_csv,
    stock_csv,
)
from mirakl_sync.adapters.mirakl.errors import (
    MiraklRateLimitedError,
    MiraklUnavailableError,
    error_for_status,
)
from mirakl_sync.adapters.mirakl.models import (
    Account,
    BillingCycle,
    CancelationRequest,
    CancelationsCreated,
    Carrier,
    ExportStarted,
    ExportStatusInfo,
    ImportCreated,
    Invoice,
    NewShipment,
    Offer,
    OfferCondition,
    OfferImport,
    OfferUpsert,
    Order,
    PlatformConfiguration,
    PriceImport,
    PriceImportCreated,
    Reason,
    RefundRequest,
    RefundsCreated,
    Shipment,
    ShipmentsCreated,
    ShipmentsUpdated,
    ShipmentTracking,
    StockImport,
    StockImportCreated,
    TransactionLine,
)
from mirakl_sync.adapters.mirakl.paging import walk_offset, walk_seek
from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.errors import CallBudgetExhaustedError
from mirakl_sync.services.ports import CallBudget

log = structlog.get_logger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
QueryPairs = list[tuple[str, str | int | float | bool | None]]

SHIPMENTS_PER_CALL = 1000  # ST01/ST23/ST24 maxItems
OR11_IDS_PER_CALL = 100  # OR11 order_ids / references: at most 100 values
TL02_MAX_LIMIT = 2000
SBC11_MAX_LIMIT = 1000
RETRY_BASE_DELAY = 1.0  # seconds; doubled each attempt
RETRY_MAX_DELAY = 60.0
RATE_LIMIT_FALLBACK_MIN = 2.0  # 429 without Retry-After: 2, 4, 8 ... 60 s
#: Seconds a call may wait for its budget slots, in all (``max_budget_wait_seconds``).
DEFAULT_MAX_BUDGET_WAIT = 300.0


class MiraklClient(HttpApiClient):
    """Async client of one Mirakl marketplace for one shop (see the module docstring)."""

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

    def __repr__(self) -> str:  # never show the key
        return f"MiraklClient({self.base_url!r}, shop_id={self.shop_id!r})"

    # ------------------------------------------------------------------ transport core

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

    # ------------------------------------------------------------------ platform

    async def version(self) -> None:
        """V01 health check: returns if Mirakl is up (the body is not a contract)."""
        await self._call("V01", "GET", "/api/version")

    async def account(self) -> Account:
        """A01: the shop's account (budget: once per day)."""
        return await self._model(Account, "A01", "GET", "/api/account")

    async def platform_configuration(self) -> PlatformConfiguration:
        """PC01: modules and features (multi-shipment, acceptance mode, tax mode)."""
        return await self._model(
            PlatformConfiguration, "PC01", "GET", "/api/platform/configuration"
        )

    async def carriers(self) -> list[Carrier]:
        """SH21: the carriers registered on the platform (budget: once per day)."""
        data = await self._json("SH21", "GET", "/api/shipping/carriers")
        return [Carrier.model_validate(item) for item in data.get("carriers") or []]

    async def reasons(self, *, locale: str | None = None) -> list[Reason]:
        """RE01: refund, cancelation, incident and messaging reasons (cache them)."""
        data = await self._json("RE01", "GET", "/api/reasons", params={"locale": locale})
        return [Reason.model_validate(item) for item in data.get("reasons") or []]

    async def offer_conditions(self, *, active: bool | None = None) -> list[OfferCondition]:
        """OF61: offer conditions (the ``state`` codes of offers; budget: once per day)."""
        data = await self._json("OF61", "GET", "/api/offers/states", params={"active": active})
        return [OfferCondition.model_validate(item) for item in data.get("offer_states") or []]

    # ------------------------------------------------------------------ orders

    async def list_orders(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        order_references_for_customer: Sequence[str] | None = None,
        order_references_for_seller: Sequence[str] | None = None,
        order_state_codes: Sequence[str] | None = None,
        channel_codes: Sequence[str] | None = None,
        only_null_channel: bool | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        start_update_date: datetime | None = None,
        end_update_date: datetime | None = None,
        customer_debited: bool | None = None,
        payment_workflow: str | None = None,
        has_incident: bool | None = None,
        fulfillment_center_codes: Sequence[str] | None = None,
        order_tax_mode: str | None = None,
        locale: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page_size: int = 100,
        synchronous: bool = False,
    ) -> AsyncIterator[Order]:
        """OR11: every order matching the filters, walking all offset pages.

        ``synchronous``: a read of the given ``order_ids`` made as the hub acts on those
        orders (Mirakl's "Synchronous: at each order page display", no numeric maximum;
        see ``budgets.py``); otherwise the asynchronous once-a-minute budget applies.

        Mirakl subtracts a safety delta from ``start_update_date``: expect overlaps between
        polls and deduplicate by ``order_id``. More than 100 ``order_ids`` are split into
        several listings (OR11 accepts at most 100). Each page is one OR11 call and takes
        one slot of its budget (1 per minute, unless ``synchronous``).
        """
        base: dict[str, Any] = {
            "order_references_for_customer": _comma(order_references_for_customer),
            "order_references_for_seller": _comma(order_references_for_seller),
            "order_state_codes": _comma(order_state_codes),
            "channel_codes": _comma(channel_codes),
            "only_null_channel": only_null_channel,
            "start_date": start_date,
            "end_date": end_date,
            "start_update_date": start_update_date,
            "end_update_date": end_update_date,
            "customer_debited": customer_debited,
            "payment_workflow": payment_workflow,
            "has_incident": has_incident,
            "fulfillment_center_code": list(fulfillment_center_codes or []) or None,
            "order_tax_mode": order_tax_mode,
            "locale": locale,
            "sort": sort,
            "order": order,
        }
        for name, values in (
            ("order_references_for_customer", order_references_for_customer),
            ("order_references_for_seller", order_references_for_seller),
            ("channel_codes", channel_codes),
        ):
            if values is not None and len(values) > OR11_IDS_PER_CALL:
                raise ValueError(f"OR11 accepts at most {OR11_IDS_PER_CALL} {name}")
        if synchronous and order_ids is None:
            raise ValueError("a synchronous OR11 reads given orders: pass order_ids")
        operation = "OR11:synchronous" if synchronous else "OR11"
        id_chunks: list[str | None] = [None]
        if order_ids is not None:
            ids = list(order_ids)
            if not ids:
                return
            id_chunks = [
                _comma(ids[i : i + OR11_IDS_PER_CALL])
                for i in range(0, len(ids), OR11_IDS_PER_CALL)
            ]
        for chunk in id_chunks:
            params = {**base, "order_ids": chunk}
            async for item in self._offset(
                Order, operation, "/api/orders", params, "orders", page_size
            ):
                yield item

    async def accept_order(self, order_id: str, decisions: Mapping[str, bool]) -> None:
        """OR21: accept (True) or refuse (False) each line; give a decision for EVERY line.

        Mixed decisions need partial acceptance enabled for the shop, else Mirakl answers
        ORDER_PARTIAL_ACCEPTANCE_DISABLED (a ``PermanentError`` with that ``code``).
        """
        if not decisions:
            raise ValueError("OR21 needs a decision for every line of the order")
        body = {
            "order_lines": [
                {"id": line_id, "accepted": bool(accepted)}
                for line_id, accepted in decisions.items()
            ]
        }
        await self._call("OR21", "PUT", f"/api/orders/{_seg(order_id)}/accept", json=body)

    async def update_tracking(
        self,
        order_id: str,
        *,
        carrier_code: str | None = None,
        carrier_name: str | None = None,
        carrier_standard_code: str | None = None,
        carrier_url: str | None = None,
        tracking_number: str | None = None,
    ) -> None:
        """OR23: the order's carrier and tracking number.

        ``carrier_code`` for a carrier registered on the platform (SH21; its URL is
        computed by Mirakl), else ``carrier_name`` (+ optional ``carrier_url``).
        """
        if not carrier_code and not carrier_name:
            raise ValueError("OR23 needs carrier_code (an SH21 carrier) or carrier_name")
        body = _drop_none(
            {
                "carrier_code": carrier_code,
                "carrier_name": carrier_name,
                "carrier_standard_code": carrier_standard_code,
                "carrier_url": carrier_url,
                "tracking_number": tracking_number,
            }
        )
        await self._call("OR23", "PUT", f"/api/orders/{_seg(order_id)}/tracking", json=body)

    async def ship_order(self, order_id: str) -> None:
        """OR24: confirm the shipment (order must be SHIPPING; call right after OR23)."""
        await self._call("OR24", "PUT", f"/api/orders/{_seg(order_id)}/ship")

    async def refund(
        self, refunds: Sequence[RefundRequest], *, order_tax_mode: str | None = None
    ) -> RefundsCreated:
        """OR28: refund order lines (lines of several orders may go in one call)."""
        if not refunds:
            raise ValueError("OR28 needs at least one refund")
        body = _drop_none(
            {
                "order_tax_mode": order_tax_mode,
                "refunds": [_dump(refund) for refund in refunds],
            }
        )
        return await self._model(RefundsCreated, "OR28", "PUT", "/api/orders/refund", json=body)

    async def cancel_order(self, order_id: str) -> None:
        """OR29: cancel the whole order (check the order's ``can_cancel`` first)."""
        await self._call("OR29", "PUT", f"/api/orders/{_seg(order_id)}/cancel")

    async def cancel_lines(
        self, cancelations: Sequence[CancelationRequest], *, order_tax_mode: str | None = None
    ) -> CancelationsCreated:
        """OR30: cancel quantities of order lines (needs shop partial cancelation enabled)."""
        if not cancelations:
            raise ValueError("OR30 needs at least one cancelation")
        body = _drop_none(
            {
                "order_tax_mode": order_tax_mode,
                "cancelations": [_dump(cancelation) for cancelation in cancelations],
            }
        )
        return await self._model(
            CancelationsCreated, "OR30", "PUT", "/api/orders/cancel", json=body
        )

    # ------------------------------------------------------------------ shipments

    async def create_shipments(self, shipments: Sequence[NewShipment]) -> ShipmentsCreated:
        """ST01: create shipments, 1000 per call (chunked). Read ``shipment_errors``.

        A 404 means multi-shipment is disabled on the platform: use OR23 + OR24 instead.
        If a later chunk fails, the earlier chunks were applied: the exception is raised
        and the caller re-reads the shipments (ST11).
        """
        result = ShipmentsCreated()
        for chunk in _chunks(shipments, SHIPMENTS_PER_CALL):
            body = {"shipments": [_dump(shipment) for shipment in chunk]}
            part = await self._model(ShipmentsCreated, "ST01", "POST", "/api/shipments", json=body)
            result.shipment_success.extend(part.shipment_success)
            result.shipment_errors.extend(part.shipment_errors)
        return result

    async def list_shipments(
        self,
        *,
        order_ids: Sequence[str] | None = None,
        shipment_state_codes: Sequence[str] | None = None,
        shipment_customer_debit_state_codes: Sequence[str] | None = None,
        last_updated_from: datetime | None = None,
        last_updated_to: datetime | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Shipment]:
        """ST11: every shipment matching the filters (seek pages)."""
        params = {
            "order_id": _list(order_ids),
            "shipment_state_code": _list(shipment_state_codes),
            "shipment_customer_debit_state_code": _list(shipment_customer_debit_state_codes),
            "last_updated_from": last_updated_from,
            "last_updated_to": last_updated_to,
        }
        async for item in self._seek(Shipment, "ST11", "/api/shipments", params, page_size):
            yield item

    async def update_shipment_tracking(
        self, tracking: Mapping[str, ShipmentTracking]
    ) -> ShipmentsUpdated:
        """ST23: set the tracking of shipments (shipment id -> tracking), 1000 per call."""
        items = [{"id": sid, "tracking": _dump(value)} for sid, value in tracking.items()]
        return await self._updated("ST23", "POST", "/api/shipments/tracking", items)

    async def ship_shipments(self, shipment_ids: Sequence[str]) -> ShipmentsUpdated:
        """ST24: mark shipments as shipped, 1000 per call."""
        items = [{"id": sid} for sid in shipment_ids]
        return await self._updated("ST24", "PUT", "/api/shipments/ship", items)

    async def _updated(
        self, operation: str, method: str, path: str, items: list[dict[str, Any]]
    ) -> ShipmentsUpdated:
        result = ShipmentsUpdated()
        for chunk in _chunks(items, SHIPMENTS_PER_CALL):
            part = await self._model(
                ShipmentsUpdated, operation, method, path, json={"shipments": chunk}
            )
            result.shipment_success.extend(part.shipment_success)
            result.shipment_errors.extend(part.shipment_errors)
        return result

    # ------------------------------------------------------------------ offers

    async def import_offers_file(
        self,
        content: bytes,
        *,
        import_mode: str = "NORMAL",
        with_products: bool = False,
        operator_format: bool | None = None,
        filename: str = "offers.csv",
    ) -> ImportCreated:
        """OF01: import an offers file. REPLACE deletes every offer missing from the file."""
        if import_mode not in ("NORMAL", "REPLACE"):
            raise ValueError("import_mode must be NORMAL or REPLACE (PARTIAL_UPDATE is deprecated)")
        data = {"import_mode": import_mode, "with_products": _bool(with_products)}
        if operator_format is not None:
            data["operator_format"] = _bool(operator_format)
        return await self._model(
            ImportCreated,
            "OF01",
            "POST",
            "/api/offers/imports",
            files={"file": (filename, content, _content_type(filename))},
            data=data,
            extra_budgets=("OF01:with_products",) if with_products else (),
        )

    async def offer_import_status(self, import_id: int) -> OfferImport:
        """OF02: the status of an offer import (OF01 or OF24)."""
        return await self._model(OfferImport, "OF02", "GET", f"/api/offers/imports/{import_id}")

    async def offer_import_error_report(self, import_id: int) -> bytes:
        """OF03: the error report, in the uploaded file's format (CSV for ours)."""
        response = await self._call("OF03", "GET", f"/api/offers/imports/{import_id}/error_report")
        return response.content

    async def list_offer_imports(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: str | None = None,
        mode: str | None = None,
        origins: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[OfferImport]:
        """OF04: offer imports (seek pages; each page is an OF04 call, 1 per minute)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
            "mode": mode,
            "origins": _list(origins),
        }
        async for item in self._seek(OfferImport, "OF04", "/api/offers/imports", params, page_size):
            yield item

    async def list_offers(
        self,
        *,
        offer_state_codes: Sequence[str] | None = None,
        sku: str | None = None,
        product_id: str | None = None,
        favorite: bool | None = None,
        pricing_channel_code: str | None = None,
        pricing_customer_organization_id: str | None = None,
        sort: str | None = None,
        order: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Offer]:
        """OF21: the shop's offers (offset pages). Mirakl means it for UI views; bulk sync
        should use the OF52 export."""
        params = {
            "offer_state_codes": _comma(offer_state_codes),
            "sku": sku,
            "product_id": product_id,
            "favorite": favorite,
            "pricing_channel_code": pricing_channel_code,
            "pricing_customer_organization_id": pricing_customer_organization_id,
            "sort": sort,
            "order": order,
        }
        async for item in self._offset(Offer, "OF21", "/api/offers", params, "offers", page_size):
            yield item

    async def upsert_offers(self, offers: Sequence[OfferUpsert]) -> ImportCreated:
        """OF24: create, update or delete offers. Each offer is REPLACED: send all fields."""
        if not offers:
            raise ValueError("OF24 needs at least one offer")
        body = {"offers": [_dump(offer) for offer in offers]}
        return await self._model(ImportCreated, "OF24", "POST", "/api/offers", json=body)

    async def start_offer_export(
        self,
        *,
        last_request_date: datetime | None = None,
        include_inactive_offers: bool | None = None,
        export_type: str = "application/json",
        include_fields: Sequence[str] | None = None,
        channel_codes: Sequence[str] | None = None,
        items_per_chunk: int | None = None,
        megabytes_per_chunk: int | None = None,
    ) -> ExportStarted:
        """OF52: start an offer export; without ``last_request_date`` it is a full export
        (also takes the once-per-day ``OF52:full`` budget)."""
        body = _drop_none(
            {
                "last_request_date": _format(last_request_date) if last_request_date else None,
                "include_inactive_offers": include_inactive_offers,
                "export_type": export_type,
                "include_fields": list(include_fields) if include_fields else None,
                "channel_codes": list(channel_codes) if channel_codes else None,
                "items_per_chunk": items_per_chunk,
                "megabytes_per_chunk": megabytes_per_chunk,
            }
        )
        return await self._model(
            ExportStarted,
            "OF52",
            "POST",
            "/api/offers/export/async",
            json=body,
            extra_budgets=() if last_request_date else ("OF52:full",),
        )

    async def offer_export_status(self, tracking_id: str) -> ExportStatusInfo:
        """OF53: the export's status; COMPLETED gives the ``urls`` to download (OF54)."""
        return await self._model(
            ExportStatusInfo,
            "OF53",
            "GET",
            f"/api/offers/export/async/status/{_seg(tracking_id)}",
        )

    async def download_export_chunk(self, url: str) -> bytes:
        """OF54: download one chunk URL returned by OF53 (once per URL)."""
        response = await self._call("OF54", "GET", url, absolute_url=url)
        return response.content

    # ------------------------------------------------------------------ stock and prices

    async def import_stock(
        self, lines: Sequence[StockLine] | bytes, *, filename: str = "stock.csv"
    ) -> StockImportCreated:
        """STO01: import offer quantities (a CSV built by ``csv_files.stock_csv``)."""
        content = lines if isinstance(lines, bytes) else stock_csv(lines)
        return await self._model(
            StockImportCreated,
            "STO01",
            "POST",
            "/api/offers/stock/imports",
            files={"file": (filename, content, "text/csv")},
        )

    async def stock_import_status(self, import_id: str) -> StockImport:
        """STO02: the status of a stock import."""
        return await self._model(
            StockImport, "STO02", "GET", f"/api/offers/stock/imports/{_seg(import_id)}/status"
        )

    async def stock_import_error_report(self, import_id: str) -> list[ErrorReportRow]:
        """STO03: the lines in error (line number, reason, original columns)."""
        response = await self._call(
            "STO03", "GET", f"/api/offers/stock/imports/{_seg(import_id)}/error_report"
        )
        return parse_error_report(response.content)

    async def import_prices(
        self, lines: Sequence[PriceLine] | bytes, *, filename: str = "prices.csv"
    ) -> PriceImportCreated:
        """PRI01: import prices; every price of a submitted offer missing from the file is
        deleted."""
        content = lines if isinstance(lines, bytes) else price_csv(lines)
        return await self._model(
            PriceImportCreated,
            "PRI01",
            "POST",
            "/api/offers/pricing/imports",
            files={"file": (filename, content, "text/csv")},
        )

    async def price_imports(
        self,
        *,
        import_ids: Sequence[str] | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        status: str | None = None,
        origins: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[PriceImport]:
        """PRI02: price imports and their status (seek pages)."""
        params = {
            "import_id": _list(import_ids),
            "start_date": start_date,
            "end_date": end_date,
            "status": status,
            "origins": _list(origins),
        }
        async for item in self._seek(
            PriceImport, "PRI02", "/api/offers/pricing/imports", params, page_size
        ):
            yield item

    async def price_import_error_report(self, import_id: str) -> list[ErrorReportRow]:
        """PRI03: the price lines in error."""
        response = await self._call(
            "PRI03", "GET", f"/api/offers/pricing/imports/{_seg(import_id)}/error_report"
        )
        return parse_error_report(response.content)

    # ------------------------------------------------------------------ accounting

    async def invoices(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        type: str | None = None,
        invoice_ids: Sequence[int] | None = None,
        seller_billing_cycle_ids: Sequence[str] | None = None,
        payment_status: str | None = None,
        currency: str | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Invoice]:
        """IV01: accounting documents (offset pages; one daily slot, pages exempt)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "type": type,
            "invoice_id": _list(invoice_ids),
            "seller_billing_cycle_id": _list(seller_billing_cycle_ids),
            "payment_status": payment_status,
            "currency": currency,
        }
        async for item in self._offset(
            Invoice, "IV01", "/api/invoices", params, "invoices", page_size
        ):
            yield item

    async def transaction_logs(
        self,
        *,
        seller_billing_cycle_ids: Sequence[str] | None = None,
        date_created_from: datetime | None = None,
        date_created_to: datetime | None = None,
        transaction_date_from: datetime | None = None,
        transaction_date_to: datetime | None = None,
        last_updated_from: datetime | None = None,
        payment_states: Sequence[str] | None = None,
        transaction_types: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        order_line_ids: Sequence[str] | None = None,
        accounting_document_number: str | None = None,
        sort: str | None = None,
        page_size: int = TL02_MAX_LIMIT,
    ) -> AsyncIterator[TransactionLine]:
        """TL02: transaction lines (seek pages of up to 2000; every page counts against
        20/min and 60/h). Mirakl recommends ``sort="lastUpdated,ASC"`` for syncing."""
        params = {
            "seller_billing_cycle_id": _list(seller_billing_cycle_ids),
            "date_created_from": date_created_from,
            "date_created_to": date_created_to,
            "transaction_date_from": transaction_date_from,
            "transaction_date_to": transaction_date_to,
            "last_updated_from": last_updated_from,
            "payment_state": _list(payment_states),
            "transaction_type": _list(transaction_types),
            "order_id": _list(order_ids),
            "order_line_id": _list(order_line_ids),
            "accounting_document_number": accounting_document_number,
            "sort": sort,
        }
        async for item in self._seek(
            TransactionLine,
            "TL02",
            "/api/sellerpayment/transactions_logs",
            params,
            page_size,
            TL02_MAX_LIMIT,
        ):
            yield item

    async def billing_cycles(
        self,
        *,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        ids: Sequence[str] | None = None,
        currencies: Sequence[str] | None = None,
        pay_out_states: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[BillingCycle]:
        """SBC11: seller billing cycles (seek pages; one daily slot, pages exempt)."""
        params = {
            "start_date": start_date,
            "end_date": end_date,
            "id": _list(ids),
            "currency": _list(currencies),
            "pay_out_state": _list(pay_out_states),
        }
        async for item in self._seek(
            BillingCycle, "SBC11", "/api/seller-billing-cycles", params, page_size, SBC11_MAX_LIMIT
        ):
            yield item


# ---------------------------------------------------------------------- helpers


def _budget_text(budget: Budget) -> str:
    """The budget as its Call Frequency reads: "once per day", "20 times per minute"."""
    period = {86_400.0: "day", 3_600.0: "hour", 60.0: "minute"}.get(budget.period)
    count = "once" if budget.limit == 1 else f"{budget.limit} times"
    return f"{count} per {period}" if period else f"{count} per {budget.period:g} s"


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"pass timezone-aware datetimes to Mirakl, got {value!r}")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _query(params: Mapping[str, Any]) -> QueryPairs:
    """Query pairs: None dropped, lists repeated (``?p=a&p=b``), booleans lowercase."""
    pairs: QueryPairs = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((name, _format(item)) for item in value)
        else:
            pairs.append((name, _format(value)))
    return pairs


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _comma(values: Sequence[str] | None) -> str | None:
    """Comma-separated list (OR11's older string parameters)."""
    if values is None:
        return None
    return ",".join(values) or None


def _list(values: Sequence[Any] | None) -> list[Any] | None:
    return list(values) if values else None


def _seg(value: str) -> str:
    """A path segment, escaped (order ids such as ``12345-A`` are safe; others may not be)."""
    return quote(str(value), safe="")


def _drop_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _dump(model: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = _json_ready(model.model_dump(mode="python", exclude_none=True))
    return dumped


def _json_ready(value: Any) -> Any:
    """Plain JSON values; Decimal becomes a JSON number (pydantic's JSON mode would make it a
    string, which Mirakl's number fields do not accept)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return _format(value)
    return value


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _content_type(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if lower.endswith(".xml"):
        return "application/xml"
    return "text/csv"
