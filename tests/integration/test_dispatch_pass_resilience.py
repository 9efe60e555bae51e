"""One record that fails does not stop a shipments or refunds pass (issue 9, "the rest of
the work carries on").

A pass (``sync shipments|refunds --once``, the 5-minute polls) handles every fulfilment,
refund and cancellation that changed in the shop. Before, the first ``RetryableError`` of
any one of them (a Mirakl 500, a timeout, a call budget with no slot within the bound)
ended the whole pass. Now the failing record is an open exception for its team, naming the
order, the marketplace and the operation; the others go through; a later pass tries the
failed record again (its shop order need not change again) and resolves the exception
once it goes through. Every write is idempotent, so the retry sends nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch_env import Env, run

from mirakl_sync.domain.exceptions import ExceptionRecord, ExceptionStatus, OwnerTeam
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle

#: Far enough apart that a pass's overlap (5 minutes behind its cursor) never re-reads the
#: earlier change: only the retry of the failed record can bring it back.
APART = 600.0


class FailingMirakl(httpx.AsyncBaseTransport):
    """Answers HTTP 500 to the Mirakl calls ``(method, path suffix)`` in ``fail`` that name
    an order of ``orders`` (in the path or the body), without passing them on; with
    ``after_landing``, Mirakl does them and the answer is lost (a 500 after the fact)."""

    def __init__(self) -> None:
        self.inner: httpx.AsyncBaseTransport | None = None
        self.fail: set[tuple[str, str]] = set()
        self.orders: set[str] = set()
        self.failed: list[str] = []
        self.after_landing = False

    def _names_an_order(self, request: httpx.Request) -> bool:
        text = request.url.path + request.content.decode(errors="replace")
        return any(f"{order}/" in text or f'"{order}' in text for order in self.orders)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.inner is not None
        await request.aread()
        rule = next(
            ((m, s) for m, s in self.fail if request.method == m and request.url.path.endswith(s)),
            None,
        )
        if rule is not None and self._names_an_order(request):
            self.failed.append(f"{request.method} {request.url.path}")
            if self.after_landing:
                await self.inner.handle_async_request(request)
            return httpx.Response(500, json={"message": "Internal Server Error"})
        return await self.inner.handle_async_request(request)


def env_with(tmp_path: Path, **options: Any) -> tuple[Env, FailingMirakl]:
    failing = FailingMirakl()
    env = Env(tmp_path, mirakl_transport=failing, **options)
    failing.inner = env.transport
    return env, failing


def open_exceptions(env: Env, type_: str) -> list[ExceptionRecord]:
    return [r for r in env.hub.store.exception_log.list(limit=1000) if r.type == type_]


def exception_status(env: Env, record: ExceptionRecord) -> ExceptionStatus:
    everything = env.hub.store.exception_log.list(status=None, limit=1000)
    return next(r.status for r in everything if r.id == record.id)


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


@pytest.mark.parametrize(
    ("market", "failing_call", "operation"),
    [
        ("debenhams", ("POST", "/api/shipments"), "ST01"),
        ("sportshub", ("PUT", "/tracking"), "OR23"),
    ],
)
def test_a_shipment_mirakl_fails_does_not_stop_the_pass_and_ships_on_a_later_one(
    tmp_path: Path, market: str, failing_call: tuple[str, str], operation: str
) -> None:
    env, failing = env_with(tmp_path)
    first_sku, second_sku = env.offer_skus(market)[:2]
    first, first_shop = run(env.accepted_order(market, [(first_sku, 1)]))
    second, second_shop = run(env.accepted_order(market, [(second_sku, 1)]))
    with env.workflows(clock=lambda: env.now[0]):
        env.now[0] += APART
        env.sandbox.shopify.fulfil_order(first_shop, "Royal Mail", "RM501")
        env.now[0] += APART
        env.sandbox.shopify.fulfil_order(second_shop, "Royal Mail", "RM502")
        failing.fail, failing.orders = {failing_call}, {first}

        results = {r.order_id: r.status for r in run_shipments_cycle(env.settings)}

        assert failing.failed, "the fault was never injected"
        assert results == {first: DispatchStatus.EXCEPTION, second: DispatchStatus.SHIPPED}
        assert env.mirakl_order(market, second).state.value == "SHIPPED"
        assert env.mirakl_order(market, first).state.value == "SHIPPING"
        [exception] = open_exceptions(env, "shipment_not_sent")
        assert exception.owner == OwnerTeam.OPS
        assert exception.marketplace == market
        assert first in exception.message and market in exception.message
        assert operation in exception.message
        assert exception.details["order_id"] == first

        # Mirakl answers again. The next pass, an hour later (the shop order did not
        # change since), ships the first parcel, once, and resolves the exception.
        failing.fail = set()
        env.now[0] += 3600
        results = {r.order_id: r.status for r in run_shipments_cycle(env.settings)}
        assert results[first] == DispatchStatus.SHIPPED, results
        assert env.mirakl_order(market, first).state.value == "SHIPPED"
        assert exception_status(env, exception) == ExceptionStatus.RESOLVED
        assert open_exceptions(env, "shipment_not_sent") == []
        env.now[0] += 3600
        run_shipments_cycle(env.settings)
    if market == "debenhams":
        shipments = env.sandbox.mirakl.market(market).shipments.values()
        assert sorted(s.order_id for s in shipments) == sorted([first, second])
    env.close()


def test_a_shipment_batch_whose_answer_is_lost_ships_each_parcel_once(tmp_path: Path) -> None:
    env, failing = env_with(tmp_path)
    skus = env.offer_skus("debenhams")[:2]
    orders = [run(env.accepted_order("debenhams", [(sku, 1)])) for sku in skus]
    with env.workflows(clock=lambda: env.now[0]):
        env.now[0] += APART
        for index, (_, shop) in enumerate(orders):
            env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM55{index}")
        # ST01 creates both shipments, but its answer is lost (a 500 after the fact).
        failing.fail, failing.orders = {("POST", "/api/shipments")}, {orders[0][0]}
        failing.after_landing = True

        results = run_shipments_cycle(env.settings)

        assert failing.failed, "the fault was never injected"
        # Each order alone re-reads ST11 first: it finds its shipment and creates none.
        assert {r.status for r in results} <= {
            DispatchStatus.SHIPPED,
            DispatchStatus.ALREADY_SHIPPED,
            DispatchStatus.EXCEPTION,
        }, results
        failing.fail = set()
        env.now[0] += 3600
        run_shipments_cycle(env.settings)
        for order_id, _ in orders:
            assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
        assert open_exceptions(env, "shipment_not_sent") == []
    shipments = env.sandbox.mirakl.market("debenhams").shipments.values()
    assert sorted(s.order_id for s in shipments) == sorted(o for o, _ in orders)
    env.close()


def shipped_and_refunded(env: Env, market: str, count: int) -> list[str]:
    """``count`` orders shipped on ``market``, then refunded in the shop (returns), each
    refund ``APART`` after the previous one; returns their Mirakl order ids."""
    orders = []
    for sku in env.offer_skus(market)[:count]:
        order_id, shop = run(env.accepted_order(market, [(sku, 1)]))
        env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM6{len(orders)}")
        orders.append((order_id, shop))
    [r.status for r in run_shipments_cycle(env.settings)]
    for order_id, _ in orders:
        assert env.mirakl_order(market, order_id).state.value == "SHIPPED"
    for _, shop in orders:
        env.now[0] += APART
        env.sandbox.shopify.refund_order(shop, restock_type="RETURN")
    return [order_id for order_id, _ in orders]


def test_a_refund_mirakl_fails_does_not_stop_the_pass_and_goes_on_a_later_one(
    tmp_path: Path,
) -> None:
    env, failing = env_with(tmp_path)
    with env.workflows(clock=lambda: env.now[0]):
        first, second = shipped_and_refunded(env, "debenhams", 2)
        failing.fail, failing.orders = {("PUT", "/api/orders/refund")}, {first}

        statuses = run_refunds_cycle(env.settings)

        assert failing.failed, "the fault was never injected"
        assert sorted(statuses) == ["exception", "sent"], statuses
        assert refunds_on(env, "debenhams", first) == []
        assert len(refunds_on(env, "debenhams", second)) == 1
        [exception] = open_exceptions(env, "refund_not_sent")
        assert exception.owner == OwnerTeam.FINANCE
        assert exception.marketplace == "debenhams"
        assert first in exception.message and "debenhams" in exception.message
        assert "OR28" in exception.message

        failing.fail = set()
        env.now[0] += 3600
        run_refunds_cycle(env.settings)
        assert len(refunds_on(env, "debenhams", first)) == 1
        assert exception_status(env, exception) == ExceptionStatus.RESOLVED
        env.now[0] += 3600
        run_refunds_cycle(env.settings)
    assert len(refunds_on(env, "debenhams", first)) == 1
    assert len(refunds_on(env, "debenhams", second)) == 1
    env.close()


def test_refunds_are_not_held_by_the_once_a_minute_order_list_budget(tmp_path: Path) -> None:
    # Before: each refund read its order (OR11) on OR11's once-a-minute budget, so with
    # Mirakl's Call Frequency obeyed and no wait allowed the second refund of a pass was
    # not sent ("refund_not_sent ... OR11 ... next slot"). A read of the order a refund is
    # for is OR11's synchronous usage ("at each order page display"): both go out.
    env, _ = env_with(tmp_path)
    with env.workflows(clock=lambda: env.now[0]):
        first, second = shipped_and_refunded(env, "debenhams", 2)
        env.reconfigure(
            marketplaces=[
                m.model_copy(update={"call_budget_scale": 1.0, "max_budget_wait_seconds": 0})
                for m in env.settings.marketplaces
            ]
        )
        statuses = run_refunds_cycle(env.settings)

        assert sorted(statuses) == ["sent", "sent"], statuses
        assert [len(refunds_on(env, "debenhams", o)) for o in (first, second)] == [1, 1]
        assert open_exceptions(env, "refund_not_sent") == []
    env.close()


def test_a_cancellation_mirakl_fails_does_not_stop_the_shipments_pass(tmp_path: Path) -> None:
    env, failing = env_with(tmp_path)
    cancel_sku, ship_sku = env.offer_skus("sportshub")[:2]
    cancelled, cancelled_shop = run(env.accepted_order("sportshub", [(cancel_sku, 1)]))
    shipped, shipped_shop = run(env.accepted_order("sportshub", [(ship_sku, 1)]))
    with env.workflows(clock=lambda: env.now[0]):
        env.now[0] += APART
        env.sandbox.shopify.cancel_order(cancelled_shop)
        env.now[0] += APART
        env.sandbox.shopify.fulfil_order(shipped_shop, "Royal Mail", "RM701")
        failing.fail, failing.orders = {("PUT", "/cancel")}, {cancelled}

        results = run_shipments_cycle(env.settings)

        assert failing.failed, "the fault was never injected"
        assert [(r.order_id, r.status) for r in results] == [(shipped, DispatchStatus.SHIPPED)]
        [exception] = open_exceptions(env, "cancel_not_sent")
        assert exception.owner == OwnerTeam.OPS
        assert cancelled in exception.message and "OR29" in exception.message

        failing.fail = set()
        env.now[0] += 3600
        run_shipments_cycle(env.settings)
        assert env.mirakl_order("sportshub", cancelled).state.value == "CANCELED"
        assert exception_status(env, exception) == ExceptionStatus.RESOLVED
    env.close()


class FailingSupercycle(httpx.AsyncBaseTransport):
    """Answers HTTP 500 to every Supercycle request while ``down``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(500, json={"error": "Internal Server Error"})
        return await self.inner.handle_async_request(request)


def test_supercycle_down_leaves_the_shop_refunds_going_and_is_an_ops_exception(
    tmp_path: Path,
) -> None:
    env, _ = env_with(tmp_path)
    supercycle = FailingSupercycle(env.transport)
    supercycle.down = False
    env.rewire(supercycle=supercycle)
    with env.workflows(clock=lambda: env.now[0]):
        [order_id] = shipped_and_refunded(env, "debenhams", 1)
        supercycle.down = True

        assert run_refunds_cycle(env.settings) == ["sent"]

        assert len(refunds_on(env, "debenhams", order_id)) == 1
        [exception] = open_exceptions(env, "poll_source_unreadable")
        assert exception.owner == OwnerTeam.OPS and "Supercycle returns" in exception.message
        supercycle.down = False
        run_refunds_cycle(env.settings)
        assert exception_status(env, exception) == ExceptionStatus.RESOLVED
    env.close()
