"""``ShopifyClient``: the hub's Admin GraphQL client (httpx, injectable transport).

    async with ShopifyClient(settings.graphql_url, token) as shopify:
        shop = await shopify.shop_info()
        async for variant in shopify.variant_stock():
            ...

What it does for every call:

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
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

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
from mirakl_sync.adapters.shopify.models import (
    Fulfillment,
    FulfillmentLineInput,
    FulfillmentOrder,
    InventoryBehaviour,
    InventoryItem,
    Location,
    Order,
    OrderCreateInput,
    OrderRef,
    Refund,
    RefundLineItemInput,
    RefundTransactionInput,
    ShopInfo,
    Variant,
    WebhookSubscription,
)
from mirakl_sync.config import ShopifySettings
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


class ShopifyClient(HttpApiClient):
    """Async client of one shop's Admin GraphQL API (see the module docstring)."""

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

    @classmethod
    def from_settings(cls, settings: ShopifySettings, **options: Any) -> ShopifyClient:
        """A client for the shop in ``[shopify]`` (``options`` as for the constructor)."""
        return cls(settings.graphql_url, settings.access_token.get_secret_value(), **options)

    # -- transport ------------------------------------------------------------------------

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

    # -- shop and locations ------------------------------------------------------------------

    async def shop_info(self) -> ShopInfo:
        data = await self.run("ShopInfo")
        return ShopInfo.from_node(data["shop"])

    async def locations(self) -> list[Location]:
        return [
            Location.from_node(node)
            async for node in self.paginate("Locations", {}, ("locations",), page_size=50)
        ]

    # -- variants and inventory --------------------------------------------------------------

    async def variants(self, query: str, *, page_size: int = 100) -> AsyncIterator[Variant]:
        """Variants matching a Shopify search ``query`` (e.g. ``sku:"X"``), without stock."""
        async for node in self.paginate(
            "VariantsByQuery", {"query": query}, ("productVariants",), page_size=page_size
        ):
            yield Variant.from_node(node)

    async def variants_by_sku(self, sku: str) -> list[Variant]:
        """Every variant whose SKU is exactly ``sku`` (Shopify does not enforce uniqueness).

        Pages of 2: Shopify charges a connection by its ``first``, and a SKU lookup
        usually finds one variant, so a page of 100 would cost ~50 times the points.
        """
        matches = self.variants(f"sku:{search_value(sku)}", page_size=SKU_LOOKUP_PAGE)
        return [v async for v in matches if v.sku == sku]

    async def variant_stock(
        self, query: str | None = None, *, page_size: int = 25, levels: int = 10
    ) -> AsyncIterator[Variant]:
        """Every variant (or those matching ``query``) with ``available`` per location.

        25 variants x 10 locations keeps the requested cost under Shopify's 1000 per query.
        """
        async for node in self.paginate(
            "VariantStockPage",
            {"query": query, "levels": levels},
            ("productVariants",),
            page_size=page_size,
        ):
            yield Variant.from_node(node)

    async def levels_per_variant(self) -> int:
        """Inventory levels to ask for per variant: the shop's location count (read once)."""
        if self._pacing.location_count is None:
            self._pacing.location_count = max(1, len(await self.locations()))
        return self._pacing.location_count

    async def variant_stock_all(self) -> AsyncIterator[Variant]:
        """Every variant with its stock, in the largest pages that stay under 1000 points."""
        levels = await self.levels_per_variant()
        # Requested cost is about first x (3 + 4 x levels) + 2 (checked against the
        # emulator's cost rules, which follow Shopify's documented ones).
        page = max(1, min(MAX_PAGE_SIZE, 990 // (3 + 4 * levels)))
        async for variant in self.variant_stock(page_size=page, levels=levels):
            yield variant

    async def variant_stock_by_sku(self, sku: str, *, levels: int | None = None) -> list[Variant]:
        """The variants whose SKU is exactly ``sku``, with ``available`` per location.

        Small pages for the same reason as :meth:`variants_by_sku`: a fresh stock read at
        decision time must not spend the shop's whole query budget.
        """
        matches = self.variant_stock(
            f"sku:{search_value(sku)}",
            page_size=SKU_LOOKUP_PAGE,
            levels=levels if levels is not None else await self.levels_per_variant(),
        )
        return [v async for v in matches if v.sku == sku]

    async def variant_inventory(self, variant_id: str) -> tuple[str, InventoryItem] | None:
        """The variant ``variant_id``'s SKU and inventory item with ``available`` per
        location; ``None`` when there is no such variant (deleted)."""
        data = await self.run(
            "VariantStockById", {"id": variant_id, "levels": await self.levels_per_variant()}
        )
        variant = data.get("productVariant")
        if variant is None or variant.get("inventoryItem") is None:
            return None
        return str(variant.get("sku") or ""), InventoryItem.from_node(variant["inventoryItem"])

    async def inventory_item(self, inventory_item_id: str, *, levels: int = 50) -> InventoryItem:
        data = await self.run("InventoryItem", {"id": inventory_item_id, "levels": levels})
        if data.get("inventoryItem") is None:
            raise NotFoundError(f"no inventory item {inventory_item_id}", system=SYSTEM)
        return InventoryItem.from_node(data["inventoryItem"])

    # -- orders -----------------------------------------------------------------------------

    async def orders(self, query: str, *, page_size: int = 5) -> AsyncIterator[Order]:
        async for node in self.paginate(
            "OrdersByQuery", {"query": query}, ("orders",), page_size=page_size
        ):
            yield Order.from_node(node)

    async def order_by_source_identifier(self, source_identifier: str) -> Order | None:
        """The order created for ``source_identifier`` (the Mirakl order id), if any."""
        query = f"source_identifier:{search_value(source_identifier)}"
        async for order in self.orders(query, page_size=5):
            # Search is fuzzy on some keys: keep only the exact match.
            if order.source_identifier == source_identifier:
                return order
        return None

    async def order_ref_by_source_identifier(self, source_identifier: str) -> OrderRef | None:
        """Lean :meth:`order_by_source_identifier`: id, name, cancelled, financial status."""
        query = f"source_identifier:{search_value(source_identifier)}"
        async for node in self.paginate(
            "OrderRefsByQuery", {"query": query}, ("orders",), page_size=SKU_LOOKUP_PAGE
        ):
            ref = OrderRef.from_node(node)
            if ref.source_identifier == source_identifier:
                return ref
        return None

    async def order_ref(self, order_id: str) -> OrderRef:
        data = await self.run("OrderRef", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return OrderRef.from_node(data["order"])

    async def order_create_ref(
        self,
        order: OrderCreateInput,
        *,
        inventory_behaviour: InventoryBehaviour = "BYPASS",
    ) -> OrderRef:
        """:meth:`order_create` answering only the lean reference (about a tenth of the cost)."""
        data = await self.run(
            "OrderCreateRef",
            {
                "order": dict(order),
                "options": {
                    "inventoryBehaviour": inventory_behaviour,
                    "sendReceipt": False,
                    "sendFulfillmentReceipt": False,
                },
            },
        )
        return OrderRef.from_node(_payload(data, "orderCreate")["order"])

    async def order(self, order_id: str) -> Order:
        data = await self.run("Order", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return Order.from_node(data["order"])

    async def order_create(
        self,
        order: OrderCreateInput,
        *,
        inventory_behaviour: InventoryBehaviour = "BYPASS",
        send_receipt: bool = False,
        send_fulfillment_receipt: bool = False,
    ) -> Order:
        """``orderCreate``. Not retried after a timeout: look the order up first."""
        data = await self.run(
            "OrderCreate",
            {
                "order": dict(order),
                "options": {
                    "inventoryBehaviour": inventory_behaviour,
                    "sendReceipt": send_receipt,
                    "sendFulfillmentReceipt": send_fulfillment_receipt,
                },
            },
        )
        payload = _payload(data, "orderCreate")
        return Order.from_node(payload["order"])

    async def order_cancel(
        self,
        order_id: str,
        *,
        reason: str = "OTHER",
        restock: bool = True,
        refund: bool | None = None,
        notify_customer: bool = False,
        staff_note: str | None = None,
    ) -> str | None:
        """``orderCancel``: Shopify cancels in a job; returns the job id."""
        data = await self.run(
            "OrderCancel",
            {
                "orderId": order_id,
                "reason": reason,
                "restock": restock,
                "refund": refund,
                "notifyCustomer": notify_customer,
                "staffNote": staff_note,
            },
        )
        payload = _payload(data, "orderCancel", errors_key="orderCancelUserErrors")
        job = payload.get("job") or {}
        return cast("str | None", job.get("id"))

    async def order_update(
        self,
        order_id: str,
        *,
        tags: list[str] | None = None,
        note: str | None = None,
        custom_attributes: list[dict[str, str]] | None = None,
    ) -> None:
        """``orderUpdate`` of the given fields only (``tags`` replaces all tags)."""
        update: dict[str, Any] = {"id": order_id}
        if tags is not None:
            update["tags"] = tags
        if note is not None:
            update["note"] = note
        if custom_attributes is not None:
            update["customAttributes"] = custom_attributes
        data = await self.run("OrderUpdate", {"input": update})
        _payload(data, "orderUpdate")

    async def order_mark_as_paid(self, order_id: str) -> str | None:
        data = await self.run("OrderMarkAsPaid", {"input": {"id": order_id}})
        payload = _payload(data, "orderMarkAsPaid")
        return cast("str | None", (payload.get("order") or {}).get("displayFinancialStatus"))

    # -- fulfilment -------------------------------------------------------------------------

    async def fulfillment_orders(self, order_id: str) -> list[FulfillmentOrder]:
        data = await self.run("OrderFulfillmentOrders", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [
            FulfillmentOrder.from_node(node) for node in data["order"]["fulfillmentOrders"]["nodes"]
        ]

    async def fulfillments(self, order_id: str) -> list[Fulfillment]:
        data = await self.run("OrderFulfillments", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [Fulfillment.from_node(node) for node in data["order"]["fulfillments"]]

    async def fulfillment_create(
        self,
        lines_by_fulfillment_order: Mapping[str, Sequence[FulfillmentLineInput]],
        *,
        tracking_company: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        notify_customer: bool = False,
    ) -> Fulfillment:
        """``fulfillmentCreate``; an empty line list fulfils the whole fulfillment order."""
        tracking: dict[str, str] = {}
        if tracking_company:
            tracking["company"] = tracking_company
        if tracking_number:
            tracking["number"] = tracking_number
        if tracking_url:
            tracking["url"] = tracking_url
        fulfillment: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": [
                _fulfillment_order_lines(fo_id, lines)
                for fo_id, lines in lines_by_fulfillment_order.items()
            ],
            "notifyCustomer": notify_customer,
        }
        if tracking:
            fulfillment["trackingInfo"] = tracking
        data = await self.run("FulfillmentCreate", {"fulfillment": fulfillment})
        payload = _payload(data, "fulfillmentCreate")
        return Fulfillment.from_node(payload["fulfillment"])

    # -- refunds ----------------------------------------------------------------------------

    async def refunds(self, order_id: str) -> list[Refund]:
        data = await self.run("OrderRefunds", {"id": order_id})
        if data.get("order") is None:
            raise NotFoundError(f"no order {order_id}", system=SYSTEM)
        return [Refund.from_node(node) for node in data["order"]["refunds"]]

    async def refund_create(
        self,
        order_id: str,
        lines: Sequence[RefundLineItemInput],
        *,
        idempotency_key: str | None = None,
        note: str | None = None,
        notify: bool = False,
        full_shipping_refund: bool = False,
        transactions: Sequence[RefundTransactionInput] = (),
    ) -> Refund:
        """``refundCreate`` with an ``@idempotent`` key (required since 2026-04).

        Pass a key derived from the hub's own refund id so a retried call is answered
        with the original refund instead of refunding twice.
        """
        refund_input: dict[str, Any] = {
            "orderId": order_id,
            "refundLineItems": list(lines),
            "notify": notify,
        }
        if note is not None:
            refund_input["note"] = note
        if full_shipping_refund:
            refund_input["shipping"] = {"fullRefund": True}
        if transactions:
            refund_input["transactions"] = list(transactions)
        data = await self.run(
            "RefundCreate",
            {"input": refund_input, "idempotencyKey": idempotency_key or str(uuid.uuid4())},
        )
        payload = _payload(data, "refundCreate")
        return Refund.from_node(payload["refund"])

    # -- webhooks ---------------------------------------------------------------------------

    async def webhook_subscriptions(self) -> list[WebhookSubscription]:
        return [
            WebhookSubscription.from_node(node)
            async for node in self.paginate(
                "WebhookSubscriptions", {}, ("webhookSubscriptions",), page_size=100
            )
        ]

    async def webhook_subscription_create(self, topic: str, uri: str) -> WebhookSubscription:
        """Subscribe ``uri`` to ``topic`` (the enum, e.g. ``ORDERS_CREATE``)."""
        data = await self.run(
            "WebhookSubscriptionCreate",
            {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}},
        )
        payload = _payload(data, "webhookSubscriptionCreate")
        return WebhookSubscription.from_node(payload["webhookSubscription"])


def _fulfillment_order_lines(
    fulfillment_order_id: str, lines: Sequence[FulfillmentLineInput]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"fulfillmentOrderId": fulfillment_order_id}
    if lines:
        entry["fulfillmentOrderLineItems"] = list(lines)
    return entry


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
