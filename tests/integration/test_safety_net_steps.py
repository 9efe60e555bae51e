"""The safety-net passes under faults (issue 10, item 2): small durable steps, one pass of
a kind at a time, and late cancellations and refunds sent once.

No webhook is subscribed in these tests (``Env`` registers none): everything made in
Shopify reaches Mirakl only through the polls, as when the hub was down when it happened.
The scheduled passes run under a real engine (SQLite); ``run_*_cycle`` runs the same units
directly, as ``sync shipments|refunds --once`` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from dispatch_env import CallCounter, Env, run

from mirakl_sync.adapters.supercycle.models import MethodType
from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.domain.exceptions import ExceptionStatus
from mirakl_sync.workflows import dispatch as dispatch_workflows
from mirakl_sync.workflows import safety_net
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle
from mirakl_sync.workflows.engine import Engine, engine_config_from_settings, start_workflow

pytestmark = pytest.mark.timeout(180)


class ScriptedShopify(httpx.AsyncBaseTransport):
    """Shopify as the tests script it: ``raise_after_first_page`` makes every changed-orders
    page after a pass's first raise an error no service handles (a bug, a broken proxy);
    ``hold_first_page`` keeps the first changed-orders request waiting until released."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.raise_after_first_page = False
        self.hold_first_page = False
        self.held = threading.Event()
        self.release = threading.Event()
        self.pages = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if b"OrdersChangedSince" in body:
            self.pages += 1
            after = json.loads(body).get("variables", {}).get("after")
            if self.raise_after_first_page and after is not None:
                raise RuntimeError("injected: the page handler's proxy broke")
            if self.hold_first_page and self.pages == 1:
                self.held.set()
                await asyncio.to_thread(self.release.wait, 60)
        return await self.inner.handle_async_request(request)


def env_with_shopify(tmp_path: Path, **options: Any) -> tuple[Env, ScriptedShopify]:
    env = Env(tmp_path, **options)
    shopify = ScriptedShopify(env.transport)
    env.hub.close()
    env.hub = bootstrap(
        env.settings,
        transports=dataclasses.replace(env.hub.transports, shopify=shopify),
        clock=lambda: env.now[0],
    )
    return env, shopify


@contextmanager
def engine_for(env: Env, executor_id: str = "poll-test") -> Iterator[Engine]:
    """An engine on the env's database running the passes started by the test (no
    schedules: a pass starts only when the test starts it)."""
    config = engine_config_from_settings(env.settings, executor_id=executor_id)
    with Engine(config) as engine:
        safety_net.use_engine(engine)
        try:
            yield engine
        finally:
            safety_net._ENGINE.clear()


def start_pass(kind: str, workflow_id: str) -> Any:
    fn = safety_net.shipments_poll if kind == "shipments" else safety_net.refunds_poll
    return start_workflow(fn, datetime.now(UTC), None, workflow_id=workflow_id)


def open_exceptions(env: Env, type_: str) -> list[Any]:
    return [r for r in env.hub.store.exception_log.list(limit=1000) if r.type == type_]


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


def shop_order(env: Env, gid: str) -> Any:
    return env.sandbox.shopify.data.orders[int(gid.rsplit("/", 1)[-1])]


def updated_again(env: Env, gid: str) -> None:
    """Someone edits the shop order later (a tag, a note): its ``updated_at`` moves on."""
    env.now[0] += 60
    env.sandbox.shopify.touch_order(shop_order(env, gid), "ORDERS_UPDATED")


# --------------------------------------------------------------------------- the process's hub


def test_a_pass_never_closes_the_hub_the_process_shares(tmp_path: Path) -> None:
    # Before: run_*_cycle called configure(settings), which closed the process's hub (its
    # database engine) while dispatch, refund and webhook steps may be using it.
    env = Env(tmp_path)
    built: list[Any] = []

    def factory(settings: Any) -> Any:
        built.append(env.hub_factory(settings))
        return built[-1]

    with env.workflows():
        dispatch_workflows.configure(env.settings, hub_factory=factory)
        shared = dispatch_workflows._hub()
        run_shipments_cycle(env.settings)
        run_refunds_cycle(env.settings)
        assert dispatch_workflows._CONFIG.hub is shared
        assert built == [shared]
    env.close()


# --------------------------------------------------------------------------- small steps


def test_a_page_that_raises_is_recorded_and_skipped_and_the_pass_still_ships_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safety_net, "SHOP_PAGE_SIZE", 1)
    env, shopify = env_with_shopify(tmp_path)
    supercycle = env.sandbox.supercycle
    first, first_shop = run(env.accepted_order("debenhams", [(env.offer_skus("debenhams")[0], 1)]))
    env.now[0] += 60
    second, second_shop = run(
        env.accepted_order("debenhams", [(env.offer_skus("debenhams")[1], 1)])
    )
    # A third order ships through its fulfilled Supercycle cycle (another unit).
    env.now[0] += 60
    resale, resale_shop, item_id, _ = env.resale_sale("debenhams", 0)
    env.sandbox.shopify.fulfil_order(first_shop, "Royal Mail", "RM501")
    env.sandbox.shopify.fulfil_order(second_shop, "Royal Mail", "RM502")
    cycle = supercycle.create_rental(
        item_id,
        method_type=MethodType.RESALE,
        shopify_order_id=int(resale_shop.rsplit("/", 1)[-1]),
    )
    supercycle.fulfil_rental(cycle.id)
    shopify.raise_after_first_page = True
    with env.workflows(), engine_for(env) as engine:
        summary = start_pass("shipments", "pass-1").result()
        # The pass ended (no ERROR): page 1 shipped, page 2 recorded and skipped, the
        # cycle shipped by its own unit.
        assert summary["complete"] is False and summary["failed_units"] == ["page"], summary
        assert env.mirakl_order("debenhams", first).state.value == "SHIPPED"
        assert env.mirakl_order("debenhams", second).state.value == "SHIPPING"
        assert env.mirakl_order("debenhams", resale).state.value == "SHIPPED"
        [failed] = open_exceptions(env, "poll_step_failed")
        assert "Page 2 of the shop feed of the shipments pass" in failed.message
        assert "RuntimeError: injected" in failed.message
        names = [s.name for s in engine.list_steps("pass-1")]
        assert names.count("mirakl_sync.poll.page") == 2, names
        # Shopify heals: the next pass reads on from the cursor (page 1 handled) and ships
        # the second order; the exception clears.
        shopify.raise_after_first_page = False
        again = start_pass("shipments", "pass-2").result()
        assert again["complete"] is True, again
        assert env.mirakl_order("debenhams", second).state.value == "SHIPPED"
        everything = env.hub.store.exception_log.list(status=None, limit=1000)
        assert next(r for r in everything if r.id == failed.id).status == ExceptionStatus.RESOLVED
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 3
    env.close()


def test_a_tick_while_a_pass_of_its_kind_runs_is_skipped(tmp_path: Path) -> None:
    # Before: every 5-minute tick started a whole pass whatever was still running, so slow
    # passes piled up (runs PENDING behind one another).
    env, shopify = env_with_shopify(tmp_path)
    order_id, shop = run(env.accepted_order("sportshub", [(env.offer_skus("sportshub")[0], 1)]))
    env.sandbox.shopify.fulfil_order(shop, "Royal Mail", "RM601")
    shopify.hold_first_page = True
    with env.workflows(), engine_for(env):
        slow = start_pass("shipments", "pass-slow")
        assert shopify.held.wait(60), "the first pass never read the shop feed"
        late = start_pass("shipments", "pass-late").result()
        assert late["skipped"] is True, late
        # Another kind is not held back by it.
        refunds = start_pass("refunds", "refunds-1").result()
        assert refunds["skipped"] is False, refunds
        shopify.release.set()
        done = slow.result()
        assert done["skipped"] is False and done["statuses"] == {"shipped": 1}, done
        # Once it ended, the next tick runs.
        assert start_pass("shipments", "pass-next").result()["skipped"] is False
    assert env.mirakl_order("sportshub", order_id).state.value == "SHIPPED"
    assert len(env.sandbox.mirakl.market("sportshub").shipments) <= 1
    env.close()


# --------------------------------------------------------------------------- late events


def test_a_cancellation_made_while_the_hub_was_down_is_sent_once_even_after_later_edits(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    counter = CallCounter(env.sandbox.app)
    env.hub.close()
    env.hub = bootstrap(
        env.settings,
        transports=dataclasses.replace(
            env.hub.transports,
            mirakl={code: httpx.ASGITransport(app=counter) for code in env.hub.transports.mirakl},
        ),
        clock=lambda: env.now[0],
    )
    whole, whole_shop = run(env.accepted_order("sportshub", [(env.offer_skus("sportshub")[0], 1)]))
    a, b = env.offer_skus("debenhams")[:2]
    partly, partly_shop = run(env.accepted_order("debenhams", [(a, 1), (b, 1)]))
    with env.workflows():
        run_shipments_cycle(env.settings)
        run_refunds_cycle(env.settings)  # the cursors are set; nothing to send yet
        env.now[0] += 3600
        env.sandbox.shopify.cancel_order(whole_shop)
        # One unfulfilled line refunded with restock CANCEL: an OR30 of that line.
        env.sandbox.shopify.refund_order(partly_shop, {b: 1}, restock_type="CANCEL")
        updated_again(env, whole_shop)
        updated_again(env, partly_shop)
        for _ in range(2):
            run_shipments_cycle(env.settings)
            run_refunds_cycle(env.settings)
            updated_again(env, whole_shop)
            updated_again(env, partly_shop)
            env.now[0] += 600
    assert env.mirakl_order("sportshub", whole).state.value == "CANCELED"
    lines = {ln.offer_sku: ln for ln in env.mirakl_order("debenhams", partly).lines}
    assert (len(lines[b].cancelations), len(lines[a].cancelations)) == (1, 0)
    assert counter.count("PUT", f"/orders/{whole}/cancel") == 1
    assert counter.count("PUT", "/orders/cancel") == 1
    env.close()


def test_a_refund_on_an_order_older_than_the_cursor_overlap_is_seen_and_sent_once(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    old, old_shop = run(env.accepted_order("debenhams", [(env.offer_skus("debenhams")[0], 1)]))
    env.sandbox.shopify.fulfil_order(old_shop, "Royal Mail", "RM701")
    with env.workflows():
        run_shipments_cycle(env.settings)
        run_refunds_cycle(env.settings)
        # Days of other changes move the cursor far past the old order's last change.
        for index in range(1, 4):
            env.now[0] += 86_400
            sku = env.offer_skus("debenhams")[index]
            run(env.accepted_order("debenhams", [(sku, 1)]))
            run_refunds_cycle(env.settings)
        # The old order is refunded: its updated_at moves, so the feed reads it again.
        env.now[0] += 3600
        env.sandbox.shopify.refund_order(old_shop, restock_type="RETURN")
        assert run_refunds_cycle(env.settings) == ["sent"]
        updated_again(env, old_shop)
        assert run_refunds_cycle(env.settings) == ["already_sent"]
    assert len(refunds_on(env, "debenhams", old)) == 1
    env.close()


def test_under_shopify_faults_every_pass_ends_and_nothing_is_lost_or_sent_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(safety_net, "SHOP_PAGE_SIZE", 2)
    env = Env(tmp_path)
    skus = env.offer_skus("debenhams")
    orders = [run(env.accepted_order("debenhams", [(sku, 1)])) for sku in skus[:6]]
    with env.workflows(), engine_for(env):
        start_pass("shipments", "warm-s").result()
        start_pass("refunds", "warm-r").result()
        env.now[0] += 3600
        shipped = orders[:4]
        for order_id, shop in shipped:
            env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM{order_id[-4:]}")
        refunded = orders[:2]
        for _, shop in refunded:
            env.sandbox.shopify.refund_order(shop, restock_type="RETURN")
        cancelled = orders[5]
        env.sandbox.shopify.cancel_order(cancelled[1])
        # Half of Shopify's answers are 500s (the client retries each call 3 times).
        env.sandbox.faults["shopify"].set_rates(error_rate=0.5)
        summaries = []
        for index in range(3):
            summaries.append(start_pass("shipments", f"faulty-s{index}").result())
            summaries.append(start_pass("refunds", f"faulty-r{index}").result())
            env.now[0] += 300
        # Every pass ended (a workflow in ERROR would have raised above), none skipped.
        assert all(s["skipped"] is False for s in summaries), summaries
        env.sandbox.faults["shopify"].set_rates(error_rate=0.0)
        start_pass("shipments", "drain-s").result()
        start_pass("refunds", "drain-r").result()
    market = env.sandbox.mirakl.market("debenhams")
    for order_id, _ in shipped:
        assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED", order_id
    assert len(market.shipments) == len(shipped)
    for order_id, _ in refunded:
        assert len(refunds_on(env, "debenhams", order_id)) == 1, order_id
    assert env.mirakl_order("debenhams", cancelled[0]).state.value == "CANCELED"
    env.close()
