"""``ShopifyEmulator``: the emulated shop, its operations, test helpers and ASGI app.

    emulator = ShopifyEmulator(webhook_sender=captured.append_async)
    emulator.load_catalogue(build_catalogue(products=20))
    transport = httpx.ASGITransport(app=emulator.asgi_app())

Operations (``create_order``, ``create_fulfillment``, ``create_refund``, ``cancel_order_by_id``,
``set_available``) change state and emit webhooks; the GraphQL mutations and the test
helpers (``fulfil_order``, ``refund_order``, ``cancel_order``, ``set_available``) share them.
Webhook deliveries run as tasks on the running event loop (like Shopify, after the
response); ``await emulator.drain_webhooks()`` waits for them. ``webhooks_sent`` keeps
every message for assertions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mirakl_sync.sandbox.seed import SeedCatalogue
from mirakl_sync.sandbox.shopify.mutations import MutationRoot
from mirakl_sync.sandbox.shopify.querycost import (
    MAX_QUERY_COST,
    actual_cost,
    requested_cost,
)
from mirakl_sync.sandbox.shopify.resolvers import QueryRoot, parse_gid, resolve_type
from mirakl_sync.sandbox.shopify.schema import admin_schema
from mirakl_sync.sandbox.shopify.state import (
    FulfillmentOrderLineRec,
    FulfillmentOrderRec,
    FulfillmentRec,
    LineItemRec,
    LocationRec,
    OrderRec,
    ProductRec,
    RefundLineRec,
    RefundRec,
    ShopData,
    VariantRec,
    WebhookSubscriptionRec,
)
from mirakl_sync.sandbox.shopify.webhooks import (
    TOPICS,
    WebhookMessage,
    WebhookSender,
    fulfillment_payload,
    inventory_level_payload,
    order_payload,
    product_payload,
    refund_payload,
    sign_message,
)

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


class ShopifyEmulator:
    def __init__(
        self,
        shop: str = "fjellrev.myshopify.com",
        access_token: str = "sandbox-shopify-token",
        webhook_secret: str = "sandbox-webhook-secret",
        clock: Callable[[], float] = time.time,
        restore_rate: float = 100.0,
        bucket_size: float = 2000.0,
        api_version: str = "2026-10",
        webhook_sender: WebhookSender | None = None,
        currency: str = "GBP",
    ) -> None:
        self.shop = shop
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.clock = clock
        self.restore_rate = restore_rate
        self.bucket_size = bucket_size
        self.api_version = api_version
        self.webhook_sender = webhook_sender
        self.data = ShopData(shop=shop, currency=currency)
        self.webhooks_sent: list[WebhookMessage] = []
        #: How many requests were answered THROTTLED (shown by the sandbox, read by tests).
        self.throttled_count = 0
        #: Points actually charged, and requests run, per operation name (``anonymous``
        #: when a document has none): where the shop's query budget goes.
        self.points_by_operation: Counter[str] = Counter()
        self.requests_by_operation: Counter[str] = Counter()
        self._pending: list[WebhookMessage] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(6_000_000_001)
        self._order_numbers = itertools.count(1001)
        self._available = bucket_size
        self._bucket_at = clock()

    # -- state ----------------------------------------------------------------------------

    def now(self) -> str:
        moment = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def next_id(self) -> int:
        return next(self._ids)

    @contextmanager
    def as_of(self, moment: float) -> Iterator[None]:
        """Run operations as if the clock read ``moment`` (for seeding a shop's history:
        orders, fulfilments and refunds made before the hub was installed)."""
        clock, bucket_at = self.clock, self._bucket_at
        self.clock = lambda: moment
        try:
            yield
        finally:
            self.clock, self._bucket_at = clock, bucket_at

    def load_catalogue(self, catalogue: SeedCatalogue) -> None:
        """Load the seed's locations, products, variants and per-location ``available``."""
        now = self.now()
        for location_id, name in catalogue.locations:
            self.data.locations[location_id] = LocationRec(location_id, name)
        for product in catalogue.products:
            self.data.products[product.id] = ProductRec(
                id=product.id,
                title=product.title,
                handle=product.handle,
                product_type=product.product_type,
                vendor=product.vendor,
                tags=list(product.tags),
                variant_ids=[v.id for v in product.variants],
                created_at=now,
                updated_at=now,
            )
            for position, variant in enumerate(product.variants, start=1):
                self.data.variants[variant.id] = VariantRec(
                    id=variant.id,
                    product_id=product.id,
                    sku=variant.sku,
                    barcode=variant.barcode,
                    title=f"{variant.size} / {variant.colour}",
                    price=variant.price,
                    inventory_item_id=variant.inventory_item_id,
                    position=position,
                    created_at=now,
                    updated_at=now,
                    tracked=not product.managed_by_supercycle,
                )
                self.data.items[variant.inventory_item_id] = variant.id
                for location_id, _ in catalogue.locations:
                    self.data.levels[(variant.inventory_item_id, location_id)] = (
                        variant.inventory.get(location_id, 0)
                    )

    # -- operations shared by mutations and helpers ------------------------------------------

    def create_order(
        self, order: dict[str, Any], lines: list[dict[str, Any]], behaviour: str
    ) -> tuple[OrderRec | None, str | None]:
        now = self.now()
        location_id = next(iter(self.data.locations))
        line_recs: list[LineItemRec] = []
        claims: list[tuple[int, int, int]] = []
        for line in lines:
            variant = self.data.variants.get(line["variant_id"] or -1)
            price = (
                line["price"]
                if line["price"] is not None
                else (variant.price if variant else Decimal("0"))
            )
            rec = LineItemRec(
                id=self.next_id(),
                variant_id=variant.id if variant else None,
                product_id=variant.product_id if variant else None,
                sku=line.get("sku") or (variant.sku if variant else None),
                title=line.get("title")
                or (self.data.products[variant.product_id].title if variant else ""),
                variant_title=line.get("variantTitle") or (variant.title if variant else None),
                quantity=int(line["quantity"]),
                price=Decimal(str(price)),
                requires_shipping=bool(line.get("requiresShipping", False)),
                taxable=bool(line.get("taxable", True)),
                tax_lines=[_tax(t) for t in line.get("taxLines") or []],
            )
            if variant is not None and variant.tracked and behaviour != "BYPASS":
                item_id = variant.inventory_item_id
                claim_at = max(
                    self.data.locations, key=lambda loc: self.data.levels.get((item_id, loc), 0)
                )
                available = self.data.levels.get((variant.inventory_item_id, claim_at), 0)
                if behaviour == "DECREMENT_OBEYING_POLICY" and available < rec.quantity:
                    return None, f"Not enough inventory for {variant.sku}"
                rec.claimed_location_id = claim_at
                claims.append((variant.inventory_item_id, claim_at, rec.quantity))
            line_recs.append(rec)
        order_id = self.next_id()
        rec_order = OrderRec(
            id=order_id,
            number=next(self._order_numbers),
            source_identifier=order.get("sourceIdentifier"),
            source_name=order.get("sourceName"),
            tags=list(order.get("tags") or []),
            email=order.get("email"),
            phone=order.get("phone"),
            note=order.get("note"),
            currency=order.get("currency") or self.data.currency,
            financial_status=order.get("financialStatus") or "PENDING",
            created_at=now,
            updated_at=now,
            processed_at=order.get("processedAt") or now,
            line_items=line_recs,
            shipping_address=order.get("shippingAddress"),
            billing_address=order.get("billingAddress"),
            shipping_lines=[
                {
                    "title": s["title"],
                    "code": s.get("code"),
                    "source": s.get("source"),
                    "price": str(s["priceSet"]["shopMoney"]["amount"]),
                    "tax_lines": [_tax(t) for t in s.get("taxLines") or []],
                }
                for s in order.get("shippingLines") or []
            ],
            tax_lines=[_tax(t) for t in order.get("taxLines") or []],
            custom_attributes=[dict(a) for a in order.get("customAttributes") or []],
            taxes_included=bool(order.get("taxesIncluded", False)),
            test=bool(order.get("test", False)),
        )
        self.data.orders[order_id] = rec_order
        for li in line_recs:
            self.data.line_items[li.id] = (order_id, li)
        fo_location = next(
            (li.claimed_location_id for li in line_recs if li.claimed_location_id), location_id
        )
        fo = FulfillmentOrderRec(
            id=self.next_id(),
            order_id=order_id,
            location_id=fo_location,
            status="OPEN",
            lines=[
                FulfillmentOrderLineRec(self.next_id(), li.id, li.quantity, li.quantity)
                for li in line_recs
            ],
            created_at=now,
            updated_at=now,
        )
        self.data.fulfillment_orders[fo.id] = fo
        rec_order.fulfillment_order_ids.append(fo.id)
        self.emit("ORDERS_CREATE", order_payload(self.data, rec_order, None))
        for item_id, loc, quantity in claims:
            self._change_available(item_id, loc, -quantity)
        return rec_order, None

    def touch_order(self, order: OrderRec, topic: str) -> None:
        order.updated_at = self.now()
        self.emit(topic, order_payload(self.data, order, _rest_fulfillment_status(order)))

    def cancel_order_by_id(
        self, order_id: int, *, reason: str = "OTHER", restock: bool = True
    ) -> None:
        order = self.data.orders[order_id]
        order.cancelled_at = self.now()
        order.cancel_reason = reason
        for fo_id in order.fulfillment_order_ids:
            fo = self.data.fulfillment_orders[fo_id]
            if fo.status in ("OPEN", "IN_PROGRESS", "SCHEDULED", "ON_HOLD"):
                fo.status = (
                    "CLOSED"
                    if any(line.remaining < line.total for line in fo.lines)
                    else "CANCELLED"
                )
                for line in fo.lines:
                    line.remaining = 0
        if restock:
            for li in order.line_items:
                unfulfilled = li.quantity - li.refunded - li.fulfilled
                if li.claimed_location_id and unfulfilled > 0 and li.variant_id:
                    item_id = self.data.variants[li.variant_id].inventory_item_id
                    self._change_available(item_id, li.claimed_location_id, unfulfilled)
        self.touch_order(order, "ORDERS_CANCELLED")

    def create_fulfillment(
        self,
        requests: list[tuple[int, list[tuple[int, int]] | None]],
        tracking: list[dict[str, str | None]],
    ) -> FulfillmentRec:
        now = self.now()
        lines: list[tuple[int, int, int]] = []
        order_id = self.data.fulfillment_orders[requests[0][0]].order_id
        order = self.data.orders[order_id]
        location_id = self.data.fulfillment_orders[requests[0][0]].location_id
        for fo_id, chosen in requests:
            fo = self.data.fulfillment_orders[fo_id]
            wanted = (
                dict(chosen)
                if chosen is not None
                else {line.id: line.remaining for line in fo.lines if line.remaining}
            )
            for line in fo.lines:
                quantity = wanted.get(line.id, 0)
                if quantity <= 0:
                    continue
                line.remaining -= quantity
                _, line_item = self.data.line_items[line.line_item_id]
                line_item.fulfilled += quantity
                lines.append((self.next_id(), line.line_item_id, quantity))
            fo.status = "CLOSED" if all(line.remaining == 0 for line in fo.lines) else "IN_PROGRESS"
            fo.updated_at = now
        rec = FulfillmentRec(
            id=self.next_id(),
            order_id=order_id,
            name=f"{order.name}-F{len(order.fulfillment_ids) + 1}",
            status="SUCCESS",
            created_at=now,
            updated_at=now,
            location_id=location_id,
            tracking=tracking,
            lines=lines,
            fulfillment_order_ids=[fo for fo, _ in requests],
        )
        self.data.fulfillments[rec.id] = rec
        order.fulfillment_ids.append(rec.id)
        order.updated_at = now
        self.emit("FULFILLMENTS_CREATE", fulfillment_payload(self.data, rec))
        return rec

    def create_refund(
        self,
        order_id: int,
        lines: list[tuple[int, int, str, int | None]],
        *,
        note: str | None = None,
        transactions: list[dict[str, Any]] | None = None,
        shipping: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundRec:
        order = self.data.orders[order_id]
        now = self.now()
        refund_lines: list[RefundLineRec] = []
        restocks: list[tuple[int, int, int]] = []
        for line_item_id, quantity, restock_type, location_id in lines:
            _, line_item = self.data.line_items[line_item_id]
            line_item.refunded += quantity
            where = location_id or line_item.claimed_location_id or next(iter(self.data.locations))
            if restock_type == "CANCEL":
                for fo_id in order.fulfillment_order_ids:
                    for fo_line in self.data.fulfillment_orders[fo_id].lines:
                        if fo_line.line_item_id == line_item_id:
                            fo_line.remaining = max(0, fo_line.remaining - quantity)
            if restock_type in ("CANCEL", "RETURN") and line_item.variant_id:
                item_id = self.data.variants[line_item.variant_id].inventory_item_id
                restocks.append((item_id, where, quantity))
            refund_lines.append(
                RefundLineRec(
                    id=self.next_id(),
                    line_item_id=line_item_id,
                    quantity=quantity,
                    restock_type=restock_type,
                    location_id=where if restock_type != "NO_RESTOCK" else None,
                    subtotal=line_item.price * quantity,
                )
            )
        # Money moves only through transactions, as in Shopify's refundCreate.
        total = sum((Decimal(t["amount"]) for t in transactions or []), Decimal("0"))
        refund = RefundRec(
            id=self.next_id(),
            order_id=order_id,
            created_at=now,
            note=note,
            lines=refund_lines,
            total=total,
            transactions=list(transactions or []),
        )
        del shipping  # shipping refunds move no money without a transaction either
        self.data.refunds[refund.id] = refund
        if idempotency_key:
            self.data.refund_keys[idempotency_key] = refund.id
        order.refund_ids.append(refund.id)
        refunded = sum((self.data.refunds[r].total for r in order.refund_ids), Decimal("0"))
        if refunded > 0:
            order.financial_status = (
                "REFUNDED" if refunded >= order.total() else "PARTIALLY_REFUNDED"
            )
        order.updated_at = now
        self.emit("REFUNDS_CREATE", refund_payload(self.data, refund))
        for item_id, loc, quantity in restocks:
            self._change_available(item_id, loc, quantity)
        return refund

    def subscribe(self, topic: str, uri: str) -> WebhookSubscriptionRec:
        """Register ``uri`` for ``topic`` (the GraphQL enum, e.g. ``ORDERS_CREATE``)."""
        if topic not in TOPICS:
            raise ValueError(f"the emulator sends only {', '.join(TOPICS)}")
        now = self.now()
        rec = WebhookSubscriptionRec(self.next_id(), topic, uri, "JSON", now, now)
        self.data.subscriptions[rec.id] = rec
        return rec

    def _change_available(self, item_id: int, location_id: int, delta: int) -> None:
        key = (item_id, location_id)
        self.data.levels[key] = self.data.levels.get(key, 0) + delta
        self._inventory_changed(item_id, location_id)

    def _inventory_changed(self, item_id: int, location_id: int) -> None:
        now = self.now()
        available = self.data.levels[(item_id, location_id)]
        self.emit(
            "INVENTORY_LEVELS_UPDATE", inventory_level_payload(item_id, location_id, available, now)
        )
        variant = self.data.variants[self.data.items[item_id]]
        product = self.data.products[variant.product_id]
        product.updated_at = now
        self.emit("PRODUCTS_UPDATE", product_payload(self.data, product))

    # -- test helpers: what a merchant or a shopper does in the real shop --------------------

    def set_available(self, sku: str, location_id: int, quantity: int) -> None:
        """Set ``available`` of ``sku`` at ``location_id`` (like an admin stock edit)."""
        variant = next((v for v in self.data.variants.values() if v.sku == sku), None)
        if variant is None:
            raise KeyError(f"no variant with SKU {sku!r}")
        if location_id not in self.data.locations:
            raise KeyError(f"no location {location_id}")
        self.data.levels[(variant.inventory_item_id, location_id)] = quantity
        self._inventory_changed(variant.inventory_item_id, location_id)

    def fulfil_order(
        self,
        order_gid: str,
        tracking_company: str,
        tracking_number: str,
        tracking_url: str | None = None,
        lines: dict[str, int] | None = None,
    ) -> str:
        """Fulfil every open fulfillment order of the order, or only ``lines`` (SKU ->
        quantity); return the fulfillment's gid."""
        order = self._order(order_gid)
        open_fos = [
            fo
            for fo in order.fulfillment_order_ids
            if self.data.fulfillment_orders[fo].status in ("OPEN", "IN_PROGRESS")
        ]
        if not open_fos:
            raise ValueError(f"order {order_gid} has nothing left to fulfil")
        chosen: dict[int, list[tuple[int, int]] | None] = dict.fromkeys(open_fos)
        if lines is not None:
            left = dict(lines)
            for fo_id in open_fos:
                picked: list[tuple[int, int]] = []
                for line in self.data.fulfillment_orders[fo_id].lines:
                    sku = self.data.line_items[line.line_item_id][1].sku or ""
                    quantity = min(left.get(sku, 0), line.remaining)
                    if quantity > 0:
                        picked.append((line.id, quantity))
                        left[sku] -= quantity
                chosen[fo_id] = picked
            chosen = {fo: picked for fo, picked in chosen.items() if picked}
        rec = self.create_fulfillment(
            list(chosen.items()),
            [{"company": tracking_company, "number": tracking_number, "url": tracking_url}],
        )
        return f"gid://shopify/Fulfillment/{rec.id}"

    def refund_order(
        self,
        order_gid: str,
        lines: dict[str, int] | None = None,
        *,
        restock_type: str = "NO_RESTOCK",
        amount: Decimal | None = None,
        note: str | None = None,
    ) -> str:
        """Refund ``{sku: quantity}`` (default: every line in full) and ``amount`` of money
        (default: the lines' price); return the refund's gid."""
        order = self._order(order_gid)
        chosen: list[tuple[int, int, str, int | None]] = []
        money = Decimal("0")
        for li in order.line_items:
            refundable = li.quantity - li.refunded
            quantity = refundable if lines is None else min(lines.get(li.sku or "", 0), refundable)
            if quantity > 0:
                chosen.append((li.id, quantity, restock_type, None))
                money += li.price * quantity
        if not chosen:
            raise ValueError(f"order {order_gid} has nothing left to refund")
        refund_amount = money if amount is None else amount
        transactions = [{"amount": str(refund_amount), "gateway": "manual", "kind": "REFUND"}]
        rec = self.create_refund(order.id, chosen, note=note, transactions=transactions)
        return f"gid://shopify/Refund/{rec.id}"

    def cancel_order(
        self, order_gid: str, *, reason: str = "CUSTOMER", restock: bool = True
    ) -> None:
        """Cancel an order as the merchant would in the admin."""
        self.cancel_order_by_id(self._order(order_gid).id, reason=reason, restock=restock)

    def _order(self, order_gid: str) -> OrderRec:
        order = self.data.orders.get(parse_gid(order_gid, "Order") or -1)
        if order is None:
            raise KeyError(f"no order {order_gid}")
        return order

    # -- webhooks --------------------------------------------------------------------------

    def emit(self, topic: str, payload: dict[str, Any]) -> None:
        event_id = str(uuid.uuid4())
        for subscription in self.data.subscriptions.values():
            if subscription.topic != topic:
                continue
            message = sign_message(
                url=subscription.uri,
                topic=TOPICS[topic],
                payload=payload,
                shop=self.shop,
                secret=self.webhook_secret,
                api_version=self.api_version,
                webhook_id=str(uuid.uuid4()),
                event_id=event_id,
                triggered_at=self.now(),
            )
            self.webhooks_sent.append(message)
            self._pending.append(message)
        self._schedule()

    def _schedule(self) -> None:
        if self.webhook_sender is None or not self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: delivered by the next drain_webhooks()
        pending, self._pending = self._pending, []
        for message in pending:
            task = loop.create_task(self.webhook_sender(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain_webhooks(self) -> None:
        """Deliver what is pending and wait until every delivery has finished."""
        self._schedule()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the API ---------------------------------------------------------------------------

    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[Route("/admin/api/{version}/graphql.json", self._graphql, methods=["POST"])]
        )

    def _bucket(self) -> float:
        now = self.clock()
        self._available = min(
            self.bucket_size, self._available + max(0.0, now - self._bucket_at) * self.restore_rate
        )
        self._bucket_at = now
        return self._available

    def _throttle_status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.bucket_size,
            "currentlyAvailable": round(self._bucket(), 2),
            "restoreRate": self.restore_rate,
        }

    async def _graphql(self, request: Request) -> JSONResponse:
        headers = {"X-Shopify-API-Version": self.api_version}
        if request.headers.get("X-Shopify-Access-Token") != self.access_token:
            return JSONResponse({"errors": INVALID_TOKEN}, status_code=401, headers=headers)
        if request.path_params["version"] != self.api_version:
            return JSONResponse({"errors": "Not Found"}, status_code=404, headers=headers)
        try:
            body = json.loads(await request.body())
            query = body["query"]
            variables = body.get("variables") or {}
            operation_name = body.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Parameter Missing or Invalid",
                            "extensions": {"code": "BAD_REQUEST"},
                        }
                    ]
                },
                status_code=400,
                headers=headers,
            )
        result = self.run(query, variables, operation_name)
        self._schedule()
        return JSONResponse(result, headers=headers)

    def run(
        self, query: str, variables: dict[str, Any], operation_name: str | None = None
    ) -> dict[str, Any]:
        """Validate, cost, and execute one document; answer the JSON body Shopify would."""
        schema = admin_schema()
        try:
            document = parse(query)
        except GraphQLError as error:
            return {"errors": [error.formatted]}
        errors = validate(schema, document)
        if errors:
            return {"errors": [e.formatted for e in errors]}
        cost = requested_cost(schema, document, operation_name, variables)
        if cost > MAX_QUERY_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {cost}, which exceeds the single query max cost "
                        f"limit ({MAX_QUERY_COST}).",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": cost,
                            "maxCost": MAX_QUERY_COST,
                        },
                    }
                ]
            }
        if self._bucket() < cost:
            self.throttled_count += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": cost,
                        "actualQueryCost": None,
                        "throttleStatus": self._throttle_status(),
                    }
                },
            }
        self._available -= cost
        root: Any = QueryRoot(self.data, self.api_version)
        operation = _operation(document, operation_name)
        mutation = operation is not None and operation.operation is OperationType.MUTATION
        if mutation:
            root = MutationRoot(self)
        outcome = execute(
            schema,
            document,
            root_value=root,
            variable_values=variables,
            operation_name=operation_name,
            type_resolver=resolve_type,
        )
        assert isinstance(outcome, ExecutionResult)
        response: dict[str, Any] = {}
        if outcome.errors:
            response["errors"] = [e.formatted for e in outcome.errors]
        response["data"] = outcome.data
        actual = cost if mutation else min(cost, actual_cost(outcome.data))
        # Refund what was charged up front but not used, as Shopify does.
        self._available = min(self.bucket_size, self._available + cost - actual)
        name = operation.name.value if operation is not None and operation.name else "anonymous"
        self.points_by_operation[name] += actual
        self.requests_by_operation[name] += 1
        response["extensions"] = {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": actual,
                "throttleStatus": self._throttle_status(),
            }
        }
        return response


def _operation(document: Any, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named ``operation_name``, else the first."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return definition
    return None


def _tax(tax: dict[str, Any]) -> dict[str, Any]:
    price = (tax.get("priceSet") or {}).get("shopMoney", {}).get("amount", "0")
    return {
        "title": tax["title"],
        "rate": str(tax["rate"]),
        "price": str(price),
        "channel_liable": tax.get("channelLiable"),
    }


def _rest_fulfillment_status(order: OrderRec) -> str | None:
    fulfilled = sum(li.fulfilled for li in order.line_items)
    if not fulfilled:
        return None
    wanted = sum(li.quantity - li.refunded for li in order.line_items)
    return "fulfilled" if fulfilled >= wanted else "partial"
