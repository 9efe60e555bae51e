"""Work Mirakl cannot take yet because of the order's state waits, durably (issue 10,
items 3 and 4), against the in-process sandbox.

* A refund (OR28) or a cancellation (OR29/OR30) of an order not yet accepted or debited
  is neither dropped nor a finance failure: it waits (an INFO record a later pass tries
  again, nobody alarmed) and is sent once the order allows it; an order the marketplace
  refused in the meantime needs no refund on Mirakl (said so, not as a failure); one still
  blocked past the deadline is an exception whose remedy fits the cause.
* A shipment (OR23/OR24, ST01) refused with "Current status is WAITING_..." waits (and is
  kept for the next pass) even when the order moved on by the time it is re-read: never
  ``carrier_rejected`` / ``ship_refused``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from dispatch_env import Env, run, with_kit
from sqlalchemy import update

from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.domain.exceptions import ExceptionStatus, Severity
from mirakl_sync.services.cancellations import CancelStatus
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.services.refunds import RefundSource, RefundStatus
from mirakl_sync.services.shop_cancel_mark import cancelled_in_shop
from mirakl_sync.services.shop_feed import fulfilment_from_shopify

HOUR = 3600.0


class Lazy(httpx.AsyncBaseTransport):
    """Lets a test wrap the sandbox's transport after the Env is built."""

    def __init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.inner is not None
        return await self.inner.handle_async_request(request)


class RefuseOnce(httpx.AsyncBaseTransport):
    """Answers the first request matching (method, path suffix) with ``reply`` instead of
    the emulator (what Mirakl said a moment before the order moved on), then forwards."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, method: str, suffix: str, reply: httpx.Response
    ) -> None:
        self.inner, self.method, self.suffix, self.reply = inner, method, suffix, reply
        self.used = False
        self.calls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        if (
            not self.used
            and request.method == self.method
            and request.url.path.endswith(self.suffix)
        ):
            self.used = True
            return self.reply
        return await self.inner.handle_async_request(request)


def mirakl_400(message: str) -> httpx.Response:
    return httpx.Response(400, content=json.dumps({"status": 400, "message": message}).encode())


async def unaccepted_order(env: Env, market: str, lines: list[tuple[str, int]]) -> tuple[str, str]:
    """A marketplace order still WAITING_ACCEPTANCE whose shop order exists (the hub made
    it and OR21 has not landed yet); returns (Mirakl order id, Shopify order GID)."""
    order_id = env.sandbox.mirakl.place_order(market, lines)
    async with env.hub.shopify() as shop:
        created = await shop.order_create(
            {
                "sourceIdentifier": order_id,
                "tags": ["mirakl", market],
                "currency": "GBP",
                "lineItems": [
                    {
                        "sku": sku,
                        "title": sku,
                        "quantity": qty,
                        "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}},
                    }
                    for sku, qty in lines
                ],
            }
        )
    order = await read_order(env, market, order_id)
    stamp = datetime.fromtimestamp(env.now[0], UTC)
    with env.hub.store.engine.begin() as connection:
        connection.execute(
            marketplace_orders.insert().values(
                marketplace=market,
                order_id=order_id,
                state=order["order_state"],
                hub_status="new",
                created_at=stamp,
                last_updated_at=stamp,
                line_count=len(order["order_lines"]),
                shopify_order_id=created.id,
                payload=order,
                first_seen_at=stamp,
                updated_at=stamp,
            )
        )
    return order_id, created.id


async def read_order(env: Env, market: str, order_id: str) -> dict[str, Any]:
    async with env.hub.mirakl(env.settings.marketplace(market)) as client:
        [order] = [o async for o in client.list_orders(order_ids=[order_id])]
        return dict(order.model_dump(mode="json"))


async def pulled(env: Env, market: str, order_id: str) -> str:
    """What the order pull does each minute: the stored state follows Mirakl's."""
    order = await read_order(env, market, order_id)
    with env.hub.store.engine.begin() as connection:
        connection.execute(
            update(marketplace_orders)
            .where(marketplace_orders.c.marketplace == market)
            .where(marketplace_orders.c.order_id == order_id)
            .values(state=order["order_state"], payload=order)
        )
    return str(order["order_state"])


async def accept(env: Env, market: str, order_id: str, *, debit: bool = True) -> str:
    async with env.hub.mirakl(env.settings.marketplace(market)) as client:
        [order] = [o async for o in client.list_orders(order_ids=[order_id])]
        await client.accept_order(order_id, {ln.order_line_id: True for ln in order.order_lines})
    if debit:
        env.now[0] += 10  # past the emulator's debit delay: SHIPPING
    return await pulled(env, market, order_id)


def kept(env: Env, read: Any) -> Any:
    """``read(kit)`` (a synchronous service call) on a kit of ``env``."""

    async def body(kit: Any) -> Any:
        return read(kit)

    return run(with_kit(env, body))


def open_exceptions(env: Env) -> list[Any]:
    return env.hub.store.exception_log.list(status=ExceptionStatus.OPEN)


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


# --------------------------------------------------------------------------- refunds


def test_a_refund_before_acceptance_waits_then_is_sent_once_the_order_is_accepted(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[0]
    order_id, _ = run(unaccepted_order(env, "debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:1001", "debenhams", order_id, {sku: 1}, "shopify_refund")

    first = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source)))
    assert first.status == RefundStatus.WAITING, first
    assert refunds_on(env, "debenhams", order_id) == []
    # Kept for the next passes, and nobody is alarmed: no refund_failed, nothing above INFO.
    records = open_exceptions(env)
    assert [r.type for r in records] == ["refund_waiting"], records
    assert {r.severity for r in records} == {Severity.INFO}
    assert "WAITING_ACCEPTANCE" in records[0].message
    assert kept(env, lambda kit: kit.refunds.due_retries()) == [source]

    # A pass while it still waits: still waiting, still one record.
    again = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source)))
    assert again.status == RefundStatus.WAITING
    assert [r.type for r in open_exceptions(env)] == ["refund_waiting"]

    assert run(accept(env, "debenhams", order_id)) == "SHIPPING"
    [retry] = kept(env, lambda kit: kit.refunds.due_retries())
    sent = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(retry)))
    assert sent.status == RefundStatus.SENT, sent
    assert len(refunds_on(env, "debenhams", order_id)) == 1
    assert open_exceptions(env) == []
    assert kept(env, lambda kit: kit.refunds.due_retries()) == []
    env.close()


def test_a_refund_mirakl_refuses_for_the_lines_state_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    """The stored state and OR11 said SHIPPING, yet OR28 answered the line cannot be
    refunded in WAITING_DEBIT_PAYMENT: Mirakl's own words classify it as waiting."""
    lazy = Lazy()
    env = Env(tmp_path, mirakl_transport=lazy)
    refusal = "Order line 1-1 cannot be refunded in WAITING_DEBIT_PAYMENT"
    lazy.inner = RefuseOnce(env.transport, "PUT", "/api/orders/refund", mirakl_400(refusal))
    sku = env.offer_skus("debenhams")[1]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:1002", "debenhams", order_id, {sku: 1}, "shopify_refund")
    first = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source)))
    assert first.status == RefundStatus.WAITING, first
    assert [r.type for r in open_exceptions(env)] == ["refund_waiting"]
    [retry] = kept(env, lambda kit: kit.refunds.due_retries())
    assert run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(retry))).status == (
        RefundStatus.SENT
    )
    assert len(refunds_on(env, "debenhams", order_id)) == 1
    assert open_exceptions(env) == []
    env.close()


def test_a_refund_of_an_order_the_marketplace_refused_needs_nothing_on_mirakl(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[2]
    order_id, _ = run(unaccepted_order(env, "debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:1003", "debenhams", order_id, {sku: 1}, "shopify_refund")
    assert run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source))).status == (
        RefundStatus.WAITING
    )
    env.now[0] += 700  # past the sandbox's acceptance window: auto-refused
    assert run(pulled(env, "debenhams", order_id)) == "REFUSED"
    [retry] = kept(env, lambda kit: kit.refunds.due_retries())
    result = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(retry)))
    assert result.status == RefundStatus.NOT_ON_MARKETPLACE, result
    assert "REFUSED" in result.detail
    records = open_exceptions(env)
    # Said clearly, for finance's reconciliation, and not as a failure.
    assert [(r.type, r.severity, r.owner.value) for r in records] == [
        ("refund_not_needed", Severity.INFO, "finance")
    ]
    assert "never charged" in records[0].message
    assert kept(env, lambda kit: kit.refunds.due_retries()) == []
    # Handled once: a replay (webhook, pass) does not record it again.
    again = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    assert again.status == RefundStatus.NOT_ON_MARKETPLACE
    assert refunds_on(env, "debenhams", order_id) == []
    env.close()


def test_a_refund_still_blocked_past_the_deadline_is_an_exception_with_the_right_remedy(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    # The operator's PSP never confirms the debit (the emulator's delay pushed out).
    env.sandbox.mirakl.settings.debit_delay_seconds = 10 * 24 * HOUR
    sku = env.offer_skus("debenhams")[3]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)], debit=False))
    source = RefundSource("shopify-refund:1004", "debenhams", order_id, {sku: 1}, "shopify_refund")
    assert run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source))).status == (
        RefundStatus.WAITING
    )
    env.now[0] += 73 * HOUR
    [retry] = kept(env, lambda kit: kit.refunds.due_retries())
    assert run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(retry))).status == (
        RefundStatus.WAITING
    )
    blocked = [r for r in open_exceptions(env) if r.type == "refund_blocked"]
    assert len(blocked) == 1, open_exceptions(env)
    [record] = blocked
    assert record.owner.value == "finance" and record.severity == Severity.ERROR
    assert "WAITING_DEBIT" in record.message and "top up" not in record.message
    assert "back office" in record.message
    # Still kept: the hub goes on trying it (hourly) and sends it once the debit lands.
    env.sandbox.mirakl.settings.debit_delay_seconds = 5
    env.now[0] += HOUR
    run(pulled(env, "debenhams", order_id))
    [retry] = kept(env, lambda kit: kit.refunds.due_retries())
    assert run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(retry))).status == (
        RefundStatus.SENT
    )
    assert open_exceptions(env) == []
    env.close()


# --------------------------------------------------------------------------- cancellations


def test_a_shop_cancellation_before_acceptance_waits_then_cancels_on_mirakl(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[0]
    order_id, _ = run(unaccepted_order(env, "sportshub", [(sku, 1)]))
    first = run(with_kit(env, lambda kit: kit.cancellations.cancel_in_pass("sportshub", order_id)))
    assert first.status == CancelStatus.WAITING, first
    # The order flow is told to refuse it rather than accept it (if its OR21 is still to
    # go: here the acceptance goes out first, as when it was on its way).
    assert cancelled_in_shop(SqlOrderRepository(env.hub.store.engine), "sportshub", order_id)
    records = open_exceptions(env)
    assert [(r.type, r.severity) for r in records] == [("cancel_waiting", Severity.INFO)]
    retries = kept(env, lambda kit: kit.cancellations.due_retries(lines=False))
    assert retries == [("sportshub", order_id, None)]
    assert run(accept(env, "sportshub", order_id)) == "SHIPPING"
    result = run(with_kit(env, lambda kit: kit.cancellations.cancel_in_pass("sportshub", order_id)))
    assert result.status == CancelStatus.CANCELLED, result
    assert env.mirakl_order("sportshub", order_id).state.value == "CANCELED"
    assert open_exceptions(env) == []
    env.close()


# --------------------------------------------------------------------------- shipments


def fulfilment(env: Env, shop: str, company: str, number: str) -> Any:
    env.sandbox.shopify.fulfil_order(shop, company, number)

    async def body(kit: Any) -> Any:
        return fulfilment_from_shopify(shop, (await kit.shop.fulfillments(shop))[-1])

    return run(with_kit(env, body))


def dispatch(env: Env, f: Any) -> Any:
    return run(with_kit(env, lambda kit: kit.dispatch.dispatch_many([f])))[0]


def test_or23_refused_for_a_waiting_state_waits_even_when_the_order_moved_on(
    tmp_path: Path,
) -> None:
    lazy = Lazy()
    env = Env(tmp_path, mirakl_transport=lazy)
    refusal = mirakl_400("Current status is WAITING_DEBIT_PAYMENT")
    lazy.inner = RefuseOnce(env.transport, "PUT", "/tracking", refusal)
    sku = env.offer_skus("sportshub")[0]  # sportshub: no multi-shipment, OR23 + OR24
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    f = fulfilment(env, shop, "Royal Mail", "RM20000001GB")
    first = dispatch(env, f)
    assert first.status == DispatchStatus.WAITING, first
    assert not [r for r in open_exceptions(env) if r.severity != Severity.INFO]
    [retry] = kept(env, lambda kit: kit.dispatch.due_retries())
    assert dispatch(env, retry).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPED"
    assert open_exceptions(env) == []
    env.close()


def test_or24_refused_for_a_waiting_state_waits_even_when_the_order_moved_on(
    tmp_path: Path,
) -> None:
    lazy = Lazy()
    env = Env(tmp_path, mirakl_transport=lazy)
    refusal = mirakl_400("Current status is WAITING_ACCEPTANCE")
    lazy.inner = RefuseOnce(env.transport, "PUT", "/ship", refusal)
    sku = env.offer_skus("sportshub")[1]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    f = fulfilment(env, shop, "Royal Mail", "RM20000002GB")
    first = dispatch(env, f)
    assert first.status == DispatchStatus.WAITING, first
    assert not [r for r in open_exceptions(env) if r.severity != Severity.INFO]
    [retry] = kept(env, lambda kit: kit.dispatch.due_retries())
    assert dispatch(env, retry).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPED"
    assert open_exceptions(env) == []
    env.close()


def test_an_st01_line_error_naming_a_waiting_state_waits_even_when_the_order_moved_on(
    tmp_path: Path,
) -> None:
    lazy = Lazy()
    env = Env(tmp_path, mirakl_transport=lazy)
    lazy.inner = env.transport
    sku = env.offer_skus("debenhams")[4]  # debenhams: multi-shipment, ST01 in batches
    order_id, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
    report = {
        "shipment_success": [],
        "shipment_errors": [
            {"order_id": order_id, "message": "Current status is WAITING_DEBIT_PAYMENT"}
        ],
    }
    reply = httpx.Response(201, content=json.dumps(report).encode())
    lazy.inner = RefuseOnce(env.transport, "POST", "/api/shipments", reply)
    f = fulfilment(env, shop, "Royal Mail", "RM20000003GB")
    first = dispatch(env, f)
    assert first.status == DispatchStatus.WAITING, first
    assert not [r for r in open_exceptions(env) if r.severity != Severity.INFO]
    [retry] = kept(env, lambda kit: kit.dispatch.due_retries())
    assert dispatch(env, retry).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
    assert open_exceptions(env) == []
    env.close()


def test_a_shipment_waiting_for_the_debit_in_a_pass_is_kept_for_the_next_pass(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[2]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)], debit=False))
    f = fulfilment(env, shop, "Royal Mail", "RM20000004GB")
    assert dispatch(env, f).status == DispatchStatus.WAITING
    records = open_exceptions(env)
    assert [(r.type, r.severity) for r in records] == [("shipment_waiting", Severity.INFO)]
    assert kept(env, lambda kit: kit.dispatch.due_retries()) == [f]
    env.now[0] += 10  # debited
    [retry] = kept(env, lambda kit: kit.dispatch.due_retries())
    assert dispatch(env, retry).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPED"
    assert open_exceptions(env) == []
    env.close()


def test_an_st24_error_naming_a_waiting_state_waits(tmp_path: Path) -> None:
    """A shipment created earlier (ST01 without ``shipped``) is confirmed with ST24; its
    per-shipment error names a waiting state: WAITING, never ``ship_refused``."""
    lazy = Lazy()
    env = Env(tmp_path, mirakl_transport=lazy)
    lazy.inner = env.transport
    sku = env.offer_skus("debenhams")[5]
    order_id, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
    f = fulfilment(env, shop, "Royal Mail", "RM20000005GB")
    [line] = env.mirakl_order("debenhams", order_id).lines

    async def create() -> Any:
        item = {
            "order_id": order_id,
            "shipment_lines": [
                {"order_line_id": line.line_id, "quantity": 1, "package_reference": f.source_id}
            ],
            "shipped": False,
        }
        async with env.hub.mirakl(env.settings.marketplace("debenhams")) as client:
            return await MiraklDispatchApi(client, "debenhams").create_shipments([item])

    success, errors = run(create())
    assert len(success) == 1 and errors == []
    report = {
        "shipment_success": [],
        "shipment_errors": [
            {"id": success[0]["id"], "message": "Current status is WAITING_DEBIT_PAYMENT"}
        ],
    }
    reply = httpx.Response(200, content=json.dumps(report).encode())
    lazy.inner = RefuseOnce(env.transport, "PUT", "/api/shipments/ship", reply)
    first = dispatch(env, f)
    assert first.status == DispatchStatus.WAITING, first
    assert not [r for r in open_exceptions(env) if r.severity != Severity.INFO]
    [retry] = kept(env, lambda kit: kit.dispatch.due_retries())
    assert dispatch(env, retry).status == DispatchStatus.SHIPPED
    assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
    assert open_exceptions(env) == []
    env.close()
