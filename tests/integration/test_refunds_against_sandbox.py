"""Refunds, cancellations and Supercycle returns against the in-process sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch_env import Env, run, with_kit

from mirakl_sync.services.cancellations import CancelStatus
from mirakl_sync.services.refunds import RefundSource, RefundStatus


class TimeoutAfterOr28(httpx.AsyncBaseTransport):
    """Forwards OR28 to the emulator, then times out (the refund DID land)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, reject: str | None = None) -> None:
        self.inner = inner
        self.reject = reject
        self.or28_calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/api/orders/refund"):
            self.or28_calls += 1
            if self.reject:
                body = json.dumps({"status": 400, "message": self.reject}).encode()
                return httpx.Response(400, content=body)
            response = await self.inner.handle_async_request(request)
            await response.aread()
            if self.or28_calls == 1:
                raise httpx.ReadTimeout("timed out", request=request)
            return response
        return await self.inner.handle_async_request(request)


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


def test_a_refund_that_timed_out_after_landing_is_never_sent_twice(tmp_path: Path) -> None:
    holder: dict[str, TimeoutAfterOr28] = {}

    class Lazy(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await holder["t"].handle_async_request(request)

    env = Env(tmp_path, mirakl_transport=Lazy())
    holder["t"] = TimeoutAfterOr28(env.transport)
    sku = env.offer_skus("debenhams")[0]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 2)]))
    source = RefundSource("shopify-refund:901", "debenhams", order_id, {sku: 1}, "shopify_refund")
    first = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    assert first.status == RefundStatus.SENT and len(first.refund_ids) == 1
    # Retried (webhook duplicate, polling, a resumed workflow): nothing is sent again.
    again = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    assert again.status == RefundStatus.ALREADY_SENT and again.refund_ids == first.refund_ids
    assert holder["t"].or28_calls == 1
    [refund] = refunds_on(env, "debenhams", order_id)
    line = env.mirakl_order("debenhams", order_id).lines[0]
    assert refund.amount == pytest.approx(line.price / 2) and refund.shipping_amount == 0
    env.close()


def test_a_crash_after_the_call_finds_the_refund_on_the_order_before_resending(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[1]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)]))
    source = RefundSource("supercycle-return-line:77", "debenhams", order_id, {sku: 1}, "return")
    run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    # Simulate the crash: the binding is back to "pending" as it was before the answer.
    internal = f"{order_id}|{source.key}"
    env_bindings = __import__(
        "mirakl_sync.adapters.store.dispatch", fromlist=["SqlBindings"]
    ).SqlBindings(env.hub.store.engine)
    from datetime import UTC, datetime

    env_bindings.put(
        "mirakl:debenhams", "refund", internal, "pending:" + internal, datetime.now(UTC)
    )
    again = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    assert again.status == RefundStatus.ALREADY_SENT
    assert len(refunds_on(env, "debenhams", order_id)) == 1
    env.close()


def test_a_rejected_refund_becomes_an_exception_for_finance(tmp_path: Path) -> None:
    holder: dict[str, Any] = {}

    class Lazy(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await holder["t"].handle_async_request(request)  # type: ignore[no-any-return]

    env = Env(tmp_path, mirakl_transport=Lazy())
    holder["t"] = TimeoutAfterOr28(env.transport, reject="insufficient payable balance")
    sku = env.offer_skus("debenhams")[2]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:902", "debenhams", order_id, {sku: 1}, "shopify_refund")
    result = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    assert result.status == RefundStatus.EXCEPTION
    [record] = env.hub.store.exception_log.list()
    assert record.owner.value == "finance" and "insufficient payable balance" in record.message
    assert refunds_on(env, "debenhams", order_id) == []
    env.close()


class FailingReasons(httpx.AsyncBaseTransport):
    """RE01 answers 500 until ``healthy``; everything else goes to the emulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.healthy = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/reasons") and not self.healthy:
            return httpx.Response(500, json={"status": 500, "message": "injected"})
        return await self.inner.handle_async_request(request)


def test_a_refund_whose_reasons_cannot_be_read_yet_is_retried_not_failed(
    tmp_path: Path,
) -> None:
    # Before (issue 10, the 10-minute soak): with no refund reason configured the hub uses
    # the marketplace's first RE01 code; when RE01 could not be read (a 500, or another
    # process reading it gave no answer) the refund became ``refund_failed`` for finance
    # ("set refund_reasons"), never tried again: 9 refunds never reached Mirakl.
    holder: dict[str, FailingReasons] = {}

    class Lazy(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await holder["t"].handle_async_request(request)

    env = Env(tmp_path, mirakl_transport=Lazy())
    holder["t"] = reasons = FailingReasons(env.transport)
    assert env.settings.marketplace("debenhams").default_refund_reason is None
    assert env.settings.marketplace("debenhams").refund_reasons == {}
    sku = env.offer_skus("debenhams")[0]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:905", "debenhams", order_id, {sku: 1}, "shopify_refund")
    first = run(with_kit(env, lambda kit: kit.refunds.refund_in_pass(source)))
    assert first.status == RefundStatus.EXCEPTION, first
    [record] = [r for r in env.hub.store.exception_log.list() if r.status.value == "open"]
    assert record.type == "refund_not_sent" and "RE01" in record.message, record
    assert refunds_on(env, "debenhams", order_id) == []
    # RE01 answers again; the later pass's retry sends the refund, once.
    reasons.healthy = True
    env.now[0] += 3600

    async def retry(kit: Any) -> Any:
        [due] = kit.refunds.due_retries()
        return await kit.refunds.refund_in_pass(due)

    again = run(with_kit(env, retry))
    assert again.status == RefundStatus.SENT, again
    assert len(refunds_on(env, "debenhams", order_id)) == 1
    assert [r for r in env.hub.store.exception_log.list() if r.status.value == "open"] == []
    env.close()


def test_refund_state_is_followed_until_refunded(tmp_path: Path) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("debenhams")[3]
    order_id, _ = run(env.accepted_order("debenhams", [(sku, 1)]))
    source = RefundSource("shopify-refund:903", "debenhams", order_id, {sku: 1}, "shopify_refund")
    sent = run(with_kit(env, lambda kit: kit.refunds.refund(source)))
    states = run(
        with_kit(env, lambda kit: kit.refunds.refund_states("debenhams", order_id, sent.refund_ids))
    )
    assert set(states.values()) != {"REFUNDED"}
    env.now[0] += 60
    states = run(
        with_kit(env, lambda kit: kit.refunds.refund_states("debenhams", order_id, sent.refund_ids))
    )
    assert set(states.values()) == {"REFUNDED"}
    env.close()


def test_a_shop_cancellation_cancels_the_marketplace_order_with_or29(tmp_path: Path) -> None:
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[0]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    env.sandbox.shopify.cancel_order(shop)
    result = run(with_kit(env, lambda kit: kit.cancellations.cancel_order("sportshub", order_id)))
    assert result.status == CancelStatus.CANCELLED
    assert env.mirakl_order("sportshub", order_id).state.value == "CANCELED"
    again = run(with_kit(env, lambda kit: kit.cancellations.cancel_order("sportshub", order_id)))
    assert again.status == CancelStatus.ALREADY
    env.close()


def test_a_cancelled_line_goes_through_or30_per_line(tmp_path: Path) -> None:
    env = Env(tmp_path, market_overrides={"debenhams": {"cancel_reason": "35"}})
    a, b = env.offer_skus("debenhams")[4:6]
    order_id, _ = run(env.accepted_order("debenhams", [(a, 1), (b, 1)]))
    result = run(
        with_kit(env, lambda kit: kit.cancellations.cancel_skus("debenhams", order_id, {a: 1}))
    )
    assert result.status == CancelStatus.LINES_CANCELLED
    states = [ln.state.value for ln in env.mirakl_order("debenhams", order_id).lines]
    assert states == ["CANCELED", "SHIPPING"]
    env.close()


def test_or30_refused_where_partial_cancellation_is_off_is_an_exception(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.sandbox.mirakl.market("debenhams").config.partial_cancelation = False
    a, b = env.offer_skus("debenhams")[6:8]
    order_id, _ = run(env.accepted_order("debenhams", [(a, 1), (b, 1)]))
    result = run(
        with_kit(env, lambda kit: kit.cancellations.cancel_skus("debenhams", order_id, {a: 1}))
    )
    assert result.status == CancelStatus.EXCEPTION
    [record] = env.hub.store.exception_log.list()
    assert record.type == "cancel_refused" and "OR30" in record.message
    env.close()


def test_cancellations_give_the_held_stock_back_to_the_pool(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
    from mirakl_sync.domain.stock_pool import LineHold

    env = Env(tmp_path, market_overrides={"debenhams": {"cancel_reason": "35"}})
    ledger = SqlStockLedger(env.hub.store.engine)
    now = datetime.now(UTC)
    # A whole order cancelled (OR29) and one line of another (OR30).
    a, b, c = env.offer_skus("debenhams")[8:11]
    whole, _ = run(env.accepted_order("debenhams", [(a, 1)]))
    partial, _ = run(env.accepted_order("debenhams", [(b, 1), (c, 2)]))
    for order_id in (whole, partial):
        for line in env.mirakl_order("debenhams", order_id).lines:
            hold = LineHold(line.offer_sku, "debenhams", order_id, line.line_id, line.quantity)
            assert ledger.hold(hold, source_available=5, now=now).decision.granted
    assert ledger.held_quantities() == {a: 1, b: 1, c: 2}

    result = run(with_kit(env, lambda kit: kit.cancellations.cancel_order("debenhams", whole)))
    assert result.status == CancelStatus.CANCELLED
    assert ledger.held_quantities() == {b: 1, c: 2}
    result = run(
        with_kit(env, lambda kit: kit.cancellations.cancel_skus("debenhams", partial, {c: 2}))
    )
    assert result.status == CancelStatus.LINES_CANCELLED
    assert ledger.held_quantities() == {b: 1}
    env.close()
