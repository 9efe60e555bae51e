"""The safety-net passes under faults (issue 10, item 2): small durable steps, one pass of
a kind at a time, and late cancellations and refunds sent once.

No webhook is subscribed in these tests (``Env`` registers none): everything made in
Shopify reaches Mirakl only through the polls, as when the hub was down when it happened.
The scheduled passes run under a real engine (SQLite); ``run_*_cycle`` runs the same units
directly, as ``sync shipments|refunds --once`` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dispatch_env import CallCounter, Env, run, served

from mirakl_sync.adapters.supercycle.models import MethodType
from mirakl_sync.config import SafetyNetSettings
from mirakl_sync.domain.exceptions import ExceptionStatus
from mirakl_sync.entrypoints import dispatch_once
from mirakl_sync.services.refunds import SHIP_FIRST_ENTITY
from mirakl_sync.workflows import pass_units, safety_net
from mirakl_sync.workflows.dispatch import run_refunds_cycle, run_shipments_cycle
from mirakl_sync.workflows.engine import Engine, engine_config_from_settings, start_workflow
from mirakl_sync.workflows.flow_context import current_flow_context, flow_context

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
    env.rewire(shopify=shopify)
    return env, shopify


def env_counting_mirakl(tmp_path: Path) -> tuple[Env, CallCounter]:
    """An env whose Mirakl requests are counted (by method and path)."""
    env = Env(tmp_path)
    counter = CallCounter(env.sandbox.app)
    env.rewire(mirakl=httpx.ASGITransport(app=counter))
    return env, counter


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
            context = current_flow_context()
            if context is not None:
                context.engine = None


def start_pass(
    kind: str, workflow_id: str, *, poll_seconds: float = SafetyNetSettings().poll_seconds
) -> Any:
    """A pass as its schedule starts it: its context carries the feed bound of the
    schedule's period."""
    fn = safety_net.shipments_poll if kind == "shipments" else safety_net.refunds_poll
    context = {"feed_seconds": safety_net.feed_seconds_for(poll_seconds)}
    return start_workflow(fn, datetime.now(UTC), context, workflow_id=workflow_id)


def open_exceptions(env: Env, type_: str) -> list[Any]:
    return [r for r in env.hub.store.exception_log.list(limit=1000) if r.type == type_]


def refunds_on(env: Env, market: str, order_id: str) -> list[Any]:
    return [r for ln in env.mirakl_order(market, order_id).lines for r in ln.refunds]


def refund_counts(env: Env, *order_ids: str) -> tuple[int, ...]:
    return tuple(len(refunds_on(env, "debenhams", order_id)) for order_id in order_ids)


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
    with env.workflows():
        context = flow_context()
        shared = context.hub
        run_shipments_cycle(env.settings)
        run_refunds_cycle(env.settings)
        assert flow_context() is context and context.hub is shared
        # Still open: a pass would fail on a disposed engine's pool otherwise.
        with shared.store.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    env.close()


# --------------------------------------------------------------------------- small steps


def test_a_page_that_raises_is_recorded_and_skipped_and_the_pass_still_ships_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 1)
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


class RaisingMirakl(httpx.AsyncBaseTransport):
    """Mirakl behind a proxy that breaks (an error no service handles) on every request
    naming order ``order`` while ``broken``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, order: str = "") -> None:
        self.inner = inner
        self.order = order
        self.broken = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode(errors="replace")
        if self.broken and self.order and self.order in str(request.url) + body:
            raise RuntimeError(f"injected: the proxy broke on {self.order}")
        return await self.inner.handle_async_request(request)


def test_an_order_whose_events_raise_costs_only_that_order_and_is_retried_later(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    mirakl = RaisingMirakl(env.transport)
    env.rewire(mirakl=mirakl)
    a, b, c = env.offer_skus("debenhams")[:3]
    good, good_shop = run(env.accepted_order("debenhams", [(a, 1)]))
    bad, bad_shop = run(env.accepted_order("debenhams", [(b, 1)]))
    _, later_shop = run(env.accepted_order("debenhams", [(c, 1)]))
    mirakl.order = bad
    with env.workflows():
        env.now[0] += 60
        env.sandbox.shopify.fulfil_order(good_shop, "Royal Mail", "RM901")
        env.sandbox.shopify.fulfil_order(bad_shop, "Royal Mail", "RM902")
        # Both orders are on one page, shipped in one batch: the batch raises, so each
        # order is tried alone; only the broken one is kept.
        [shipped] = run_shipments_cycle(env.settings)
        assert (shipped.order_id, shipped.status.value) == (good, "shipped")
        assert env.mirakl_order("debenhams", bad).state.value == "SHIPPING"
        [kept] = open_exceptions(env, "poll_order_failed")
        assert kept.details["order_id"] == bad and "RuntimeError: injected" in kept.message
        # An hour later another order changes; the broken order fails again in the
        # overlap's re-read (the shipped one is skipped: handled, unchanged), and the
        # cursor moves past both to the later change.
        env.now[0] += 3600
        updated_again(env, later_shop)
        assert run_shipments_cycle(env.settings) == []
        assert len(open_exceptions(env, "poll_order_failed")) == 1
        # Then the proxy works again. The feed no longer reads the broken order (nothing
        # of it changed): only the kept record brings it back, and it ships.
        env.now[0] += 3600
        mirakl.broken = False
        results = run_shipments_cycle(env.settings)
        assert [(r.order_id, r.status.value) for r in results] == [(bad, "shipped")], results
        assert open_exceptions(env, "poll_order_failed") == []
        assert run_shipments_cycle(env.settings) == []
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 2
    env.close()


class SlowFeed(ScriptedShopify):
    """Each changed-orders page costs ``seconds`` of the hub's clock (Shopify and Mirakl
    slow under faults)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, now: list[float], seconds: float):
        super().__init__(inner)
        self.now, self.seconds = now, seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if b"OrdersChangedSince" in await request.aread():
            self.now[0] += self.seconds
        return await super().handle_async_request(request)


def test_a_scheduled_pass_reads_the_feed_for_half_its_period_then_runs_the_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before (issue 10, the soak): under faults a pass read a feed that kept growing for
    # minutes; every later tick skipped behind it and its due retries (a shipment waiting
    # for the debit) never ran, so the shipment was never sent.
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 1)
    # The process's config says 30 s, as after an operator changed it while these passes
    # were scheduled: the bound is the schedule's (its context, a workflow input replayed
    # as it was), never re-read from the config in the body, which a recovered pass
    # could then cut at another page than its first run.
    env = Env(tmp_path, top={"safety_net": {"poll_seconds": 30}})
    feed = SlowFeed(env.transport, env.now, seconds=100.0)  # 5-minute period: 2 pages
    env.rewire(shopify=feed)
    skus = env.offer_skus("debenhams")
    orders = [run(env.accepted_order("debenhams", [(sku, 1)])) for sku in skus[:4]]
    env.now[0] += 60
    for index, (_, shop) in enumerate(orders):
        env.now[0] += 1
        env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM80{index}")
    with env.workflows(clock=lambda: env.now[0]), engine_for(env) as engine:
        first = start_pass("shipments", "bounded-1").result()
        assert (first["pages"], first["complete"]) == (2, False), first
        names = [s.name for s in engine.list_steps("bounded-1")]
        assert names[-3:] == [
            "mirakl_sync.poll.source",
            "mirakl_sync.poll.retries",
            "mirakl_sync.poll.pass_done",
        ], names
        shipped = [
            o for o, _ in orders if env.mirakl_order("debenhams", o).state.value == "SHIPPED"
        ]
        assert len(shipped) == 2, shipped
        # The next passes go on from the cursor (re-reading its overlap first) and ship
        # the rest, each once.
        for attempt in range(2, 6):
            summary = start_pass("shipments", f"bounded-{attempt}").result()
            if summary["complete"]:
                break
        assert summary["complete"] is True, summary
    assert all(env.mirakl_order("debenhams", o).state.value == "SHIPPED" for o, _ in orders)
    assert len(env.sandbox.mirakl.market("debenhams").shipments) == 4
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


@pytest.mark.parametrize("pass_at_start", [True, False])
def test_what_happened_while_the_hub_was_down_goes_out_when_it_starts(
    tmp_path: Path, pass_at_start: bool
) -> None:
    # Before (issue 10, the soak): a fulfilment, a refund or a cancellation made while the
    # hub was down (its webhook had nowhere to land) waited for the next 5-minute tick;
    # a hub restarted more often than that (a crash loop, a deploy) never sent them.
    env = Env(tmp_path)
    a, b, c = env.offer_skus("debenhams")[:3]
    shipped, shipped_shop = run(env.accepted_order("debenhams", [(a, 1)]))
    refunded, refunded_shop = run(env.accepted_order("debenhams", [(b, 1)]))
    cancelled, cancelled_shop = run(env.accepted_order("debenhams", [(c, 1)]))
    env.now[0] += 60
    env.sandbox.shopify.fulfil_order(shipped_shop, "Royal Mail", "RM701")
    env.sandbox.shopify.fulfil_order(refunded_shop, "Royal Mail", "RM702")
    env.sandbox.shopify.refund_order(refunded_shop, restock_type="RETURN")
    env.sandbox.shopify.cancel_order(cancelled_shop)
    # An hourly period: only a pass at start can send them within this test.
    settings = SafetyNetSettings(poll_seconds=3600, pass_at_start=pass_at_start)
    with env.workflows(), engine_for(env) as engine:
        started = safety_net.register(engine, settings)
        if not pass_at_start:
            assert started == []
            assert env.mirakl_order("debenhams", shipped).state.value == "SHIPPING"
            return
        summaries = [engine.retrieve(workflow_id).result() for workflow_id in started]
        assert [s["kind"] for s in summaries] == ["shipments", "refunds"], summaries
    assert env.mirakl_order("debenhams", shipped).state.value == "SHIPPED"
    assert env.mirakl_order("debenhams", cancelled).state.value == "CANCELED"
    assert len(refunds_on(env, "debenhams", refunded)) == 1
    env.close()


def test_a_pass_while_shopify_is_down_ends_recorded_and_the_next_one_runs(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    order_id, shop = run(env.accepted_order("maisonhome", [(env.offer_skus("maisonhome")[0], 1)]))
    env.sandbox.shopify.fulfil_order(shop, "DPD UK", "15501234")
    env.sandbox.faults["shopify"].set_rates(error_rate=1.0)
    with env.workflows(), engine_for(env):
        down = start_pass("shipments", "down").result()
        assert (down["skipped"], down["complete"], down["pages"]) == (False, False, 1), down
        [unreadable] = open_exceptions(env, "poll_source_unreadable")
        assert unreadable.entity_id == "shopify-changes:shipments"
        assert env.mirakl_order("maisonhome", order_id).state.value == "SHIPPING"
        env.sandbox.faults["shopify"].set_rates(error_rate=0.0)
        back = start_pass("shipments", "back").result()
        assert (back["skipped"], back["complete"]) == (False, True), back
        assert env.mirakl_order("maisonhome", order_id).state.value == "SHIPPED"
        assert open_exceptions(env, "poll_source_unreadable") == []
    env.close()


# --------------------------------------------------------------------------- late events


def test_a_cancellation_made_while_the_hub_was_down_is_sent_once_even_after_later_edits(
    tmp_path: Path,
) -> None:
    env, counter = env_counting_mirakl(tmp_path)
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


def test_cancellations_on_a_page_whose_step_raised_are_sent_by_the_next_pass_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 1)
    env = Env(tmp_path)
    counter = CallCounter(env.sandbox.app)
    shopify = ScriptedShopify(env.transport)
    env.rewire(shopify=shopify, mirakl=httpx.ASGITransport(app=counter))
    skus = env.offer_skus("debenhams")
    _, plain_shop = run(env.accepted_order("debenhams", [(skus[0], 1)]))
    whole, whole_shop = run(env.accepted_order("debenhams", [(skus[1], 1)]))
    lines, lines_shop = run(env.accepted_order("debenhams", [(skus[2], 1), (skus[3], 1)]))
    with env.workflows(), engine_for(env):
        start_pass("shipments", "warm-s").result()
        start_pass("refunds", "warm-r").result()
        # While the hub is down: an edit, a cancellation, a line cancelled by a refund.
        env.now[0] += 3600
        updated_again(env, plain_shop)
        env.now[0] += 60
        env.sandbox.shopify.cancel_order(whole_shop)
        env.now[0] += 60
        env.sandbox.shopify.refund_order(lines_shop, {skus[3]: 1}, restock_type="CANCEL")
        # Each pass's second page raises (its step too, when retried): the pass goes on.
        shopify.raise_after_first_page = True
        assert start_pass("shipments", "faulty-s").result()["failed_units"] == ["page"]
        assert start_pass("refunds", "faulty-r").result()["failed_units"] == ["page"]
        assert counter.count("PUT", f"/orders/{whole}/cancel") == 0
        shopify.raise_after_first_page = False
        for index in range(2):
            start_pass("shipments", f"healed-s{index}").result()
            start_pass("refunds", f"healed-r{index}").result()
            updated_again(env, whole_shop)
            updated_again(env, lines_shop)
    assert env.mirakl_order("debenhams", whole).state.value == "CANCELED"
    cancelled = {
        ln.offer_sku: len(ln.cancelations) for ln in env.mirakl_order("debenhams", lines).lines
    }
    assert cancelled == {skus[2]: 0, skus[3]: 1}
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
        # A later edit of the order asks nothing new: nothing is sent or read again.
        updated_again(env, old_shop)
        assert run_refunds_cycle(env.settings) == []
    assert len(refunds_on(env, "debenhams", old)) == 1
    env.close()


def test_under_shopify_faults_every_pass_ends_and_nothing_is_lost_or_sent_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pass_units, "SHOP_PAGE_SIZE", 2)
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


# --------------------------------------------------------------------------- killed mid-pass

# A worker running one refunds pass under its own engine, so it can die for real
# (os._exit, after the pass's first page is checkpointed) and be restarted with the same
# executor id, which resumes the pass.
WORKER = """
import json
import sys
from datetime import UTC, datetime

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.workflows import dispatch, pass_units, safety_net  # noqa: F401 (registers)
from mirakl_sync.workflows.engine import Engine, engine_config_from_settings, start_workflow
from mirakl_sync.workflows.flow_context import FlowContext, set_flow_context

CONFIG, MODE = sys.argv[1:3]
settings = settings_from_mapping(json.loads(open(CONFIG).read()), env={})
set_flow_context(FlowContext(settings, bootstrap(settings)))
pass_units.SHOP_PAGE_SIZE = 1  # one order a page, so the pass has pages to resume
with Engine(engine_config_from_settings(settings, executor_id="solo")) as engine:
    safety_net.use_engine(engine)
    if MODE == "recover":
        # Launch already resumed this executor's PENDING pass: wait for it.
        result = engine.retrieve("refunds-pass").result()
    else:
        run = start_workflow(
            safety_net.refunds_poll, datetime.now(UTC), None, workflow_id="refunds-pass"
        )
        result = run.result()
    steps = [s.name for s in engine.list_steps("refunds-pass")]
    print(json.dumps({"result": result, "steps": steps}))
"""


class PageLog:
    """An ASGI wrapper noting the ``after`` of every changed-orders page asked for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.afters: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/graphql.json"):
            await self.app(scope, receive, send)
            return
        messages, body, more = [], b"", True
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if b"OrdersChangedSince" in body:
            self.afters.append(json.loads(body)["variables"].get("after"))
        replay = iter(messages)

        async def again() -> Any:
            return next(replay, {"type": "http.disconnect"})

        await self.app(scope, again, send)


def _worker(script: Path, config: Path, mode: str, *, crash: bool) -> Any:
    env = {k: v for k, v in os.environ.items() if k != safety_net.CRASH_AFTER_PAGES_ENV}
    if crash:
        env[safety_net.CRASH_AFTER_PAGES_ENV] = "1"
    return subprocess.run(
        [sys.executable, str(script), str(config), mode],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONUNBUFFERED": "1"},
        check=False,
    )


def test_a_refunds_pass_killed_mid_way_resumes_after_its_last_page_and_sends_each_once(
    tmp_path: Path,
) -> None:
    env = Env(tmp_path)
    pages = PageLog(env.sandbox.app)
    first, first_shop = run(env.accepted_order("debenhams", [(env.offer_skus("debenhams")[0], 1)]))
    second, second_shop = run(
        env.accepted_order("debenhams", [(env.offer_skus("debenhams")[1], 1)])
    )
    env.sandbox.shopify.fulfil_order(first_shop, "Royal Mail", "RM801")
    env.sandbox.shopify.fulfil_order(second_shop, "Royal Mail", "RM802")
    with env.workflows():
        run_shipments_cycle(env.settings)
        run_refunds_cycle(env.settings)  # the refunds cursor is set
    # While the hub is down, the shop refunds both orders (no webhook reaches it).
    env.now[0] += 3600
    env.sandbox.shopify.refund_order(first_shop, restock_type="RETURN")
    env.now[0] += 60
    env.sandbox.shopify.refund_order(second_shop, restock_type="RETURN")
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    config = tmp_path / "hub.json"
    with served(pages) as base:
        config.write_text(json.dumps(env.raw_for(base)), encoding="utf-8")
        env.forget_call_budgets()

        crashed = _worker(script, config, "start", crash=True)
        assert crashed.returncode == 87, crashed.stderr[-3000:]
        assert pages.afters == [None]  # the pass read its first page, then died
        assert refund_counts(env, first, second) == (1, 0)

        updated_again(env, first_shop)  # and the first order is edited meanwhile
        recovered = _worker(script, config, "recover", crash=False)
        assert recovered.returncode == 0, recovered.stderr[-3000:]
        outcome = json.loads(recovered.stdout.strip().splitlines()[-1])
        assert outcome["result"]["complete"] is True, outcome
        # Resumed after page 1: the pass's first page is not read again, its steps not run
        # again; the second order's refund goes, the first's is not sent twice.
        assert None not in pages.afters[1:] and len(pages.afters) > 1, pages.afters
        steps = outcome["steps"]
        assert steps.count("mirakl_sync.poll.catch_up") == 1, steps
        assert steps.count("mirakl_sync.poll.start") == 1, steps
        assert refund_counts(env, first, second) == (1, 1)
    with env.workflows():
        env.now[0] += 600
        assert set(run_refunds_cycle(env.settings)) <= {"already_sent"}
    assert refund_counts(env, first, second) == (1, 1)
    env.close()


def test_a_refunds_pass_ships_a_fulfilment_it_finds_before_refunding_its_order(
    tmp_path: Path,
) -> None:
    # Before (the first-day e2e, once refunds no longer waited for a once-a-minute OR11
    # slot): an order fulfilled and then refunded in Shopify between two passes was
    # refunded on Mirakl by the refunds pass while still SHIPPING; the shipments pass's
    # OR24 came after, on refunded lines, and the order never showed as shipped.
    env = Env(tmp_path)
    order_id, shop = run(env.accepted_order("debenhams", [(env.offer_skus("debenhams")[0], 1)]))
    env.now[0] += 60  # debited
    env.sandbox.shopify.fulfil_order(shop, "Royal Mail", "RM901")
    env.now[0] += 1
    env.sandbox.shopify.refund_order(shop, restock_type="RETURN")
    with env.workflows():
        assert run_refunds_cycle(env.settings) == ["sent"]
        order = env.mirakl_order("debenhams", order_id)
        assert order.state.value == "SHIPPED" and order.tracking_number == "RM901"
        assert len(refunds_on(env, "debenhams", order_id)) == 1
        # The shipments pass finds it done: nothing shipped twice.
        run_shipments_cycle(env.settings)
        assert len(refunds_on(env, "debenhams", order_id)) == 1
    env.close()


def test_a_shopify_refund_of_lines_still_to_ship_waits_for_their_shipment(
    tmp_path: Path,
) -> None:
    # Before (the first-day e2e): the warehouse fulfils and refunds in the same second;
    # the refund's OR28 landed before the fulfilment's OR24, the lines went REFUNDED and
    # the order never showed as shipped on Mirakl. A refund of lines Mirakl still has to
    # ship now waits for their shipment, for [refunds] ship_first_seconds at most.
    wait = 300.0
    env = Env(tmp_path, top={"refunds": {"ship_first_seconds": wait}})
    skus = env.offer_skus("debenhams")
    shipped, shipped_shop = run(env.accepted_order("debenhams", [(skus[0], 1)]))
    never, never_shop = run(env.accepted_order("debenhams", [(skus[1], 1)]))
    env.now[0] += 60  # debited: SHIPPING
    env.sandbox.shopify.refund_order(shipped_shop)
    env.sandbox.shopify.refund_order(never_shop)
    with env.workflows(clock=lambda: env.now[0]):
        assert run_refunds_cycle(env.settings) == ["waiting", "waiting"]
        assert refund_counts(env, shipped, never) == (0, 0)
        env.sandbox.shopify.fulfil_order(shipped_shop, "Royal Mail", "RM902")
        run_shipments_cycle(env.settings)
        assert env.mirakl_order("debenhams", shipped).state.value == "SHIPPED"
        env.now[0] += 1
        assert sorted(run_refunds_cycle(env.settings)) == ["sent", "waiting"]
        assert refund_counts(env, shipped, never) == (1, 0)
        # Lines that never ship: the refund goes once the wait is over.
        env.now[0] += wait
        assert "sent" in run_refunds_cycle(env.settings)
        assert refund_counts(env, shipped, never) == (1, 1)
    # Once sent, a refund's hold for its shipment is not kept.
    holds = sa.create_engine(env.settings.database_url)
    with holds.connect() as connection:
        left = connection.execute(
            sa.text("SELECT count(*) FROM bindings WHERE entity = :e"),
            {"e": SHIP_FIRST_ENTITY},
        ).scalar()
    holds.dispose()
    assert left == 0
    env.close()


class FailingShipments(httpx.AsyncBaseTransport):
    """ST01 answers 500 until ``healthy``; everything else goes to the emulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.healthy = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        st01 = request.method == "POST" and request.url.path.endswith("/api/shipments")
        if st01 and not self.healthy:
            return httpx.Response(500, json={"status": 500, "message": "injected"})
        return await self.inner.handle_async_request(request)


def test_a_refund_waits_past_its_bound_while_the_shipment_of_its_order_is_retried(
    tmp_path: Path,
) -> None:
    # Before (issue 10, the SQLite hour): an order fulfilled and refunded whole while ST01
    # answered 500; the refund waited its ship_first_seconds, went, and the shipment's
    # retry then found no line left to ship: never shipped on Mirakl.
    wait = 30.0
    env = Env(tmp_path, top={"refunds": {"ship_first_seconds": wait}})
    mirakl = FailingShipments(env.transport)
    env.rewire(mirakl=mirakl)
    order_id, shop = run(env.accepted_order("debenhams", [(env.offer_skus("debenhams")[0], 1)]))
    env.now[0] += 60  # debited: SHIPPING
    env.sandbox.shopify.fulfil_order(shop, "Royal Mail", "RM903")
    env.sandbox.shopify.refund_order(shop)
    with env.workflows(clock=lambda: env.now[0]):
        assert run_refunds_cycle(env.settings) == ["waiting"]  # its shipment failed first
        assert len(open_exceptions(env, "shipment_not_sent")) == 1
        env.now[0] += 10 * wait
        assert run_refunds_cycle(env.settings) == ["waiting"]  # the shipment is still tried
        assert refund_counts(env, order_id) == (0,)
        mirakl.healthy = True
        env.now[0] += 3600
        run_shipments_cycle(env.settings)
        assert env.mirakl_order("debenhams", order_id).state.value == "SHIPPED"
        assert run_refunds_cycle(env.settings) == ["sent"]
    assert refund_counts(env, order_id) == (1,)
    env.close()


# --------------------------------------------------------------------------- the overlap re-read


def test_the_overlap_re_read_sends_nothing_for_orders_unchanged_since_a_pass_handled_them(
    tmp_path: Path,
) -> None:
    # Before (issue 10, the hour soak): every pass re-read the 5 minutes behind its cursor
    # and handled each order there again, re-reading Mirakl's shipments for each page; at
    # 2,000 orders an hour under faults the re-read took most of a pass, the cursor fell
    # 50 minutes behind and 106 fulfilments were never sent.
    env, counter = env_counting_mirakl(tmp_path)
    a, b = env.offer_skus("debenhams")[:2]
    orders = [run(env.accepted_order("debenhams", [(sku, 1)])) for sku in (a, b)]
    two_lines, two_shop = run(env.accepted_order("debenhams", [(a, 1), (b, 1)]))
    with env.workflows():
        for index, (_, shop) in enumerate(orders):
            env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM90{index}")
        env.sandbox.shopify.fulfil_order(two_shop, "Royal Mail", "RM910", lines={a: 1})
        assert len(run_shipments_cycle(env.settings)) == 3
        # The second line is fulfilled in the very second the pass read the order: its
        # ``updated_at`` does not move (one-second resolution), yet it is new work.
        env.sandbox.shopify.fulfil_order(two_shop, "Royal Mail", "RM911", lines={b: 1})
        env.now[0] += 30  # well inside the overlap: every order above is re-read
        before = len(counter.calls)
        results = run_shipments_cycle(env.settings)
        # Only the order with new work is handled (both its fulfilments: one is new).
        assert {r.order_id for r in results} == {two_lines}, results
        # One ST11 read and one ST01 for that order: nothing for the orders unchanged.
        assert counter.calls[before:] == [
            ("GET", "/mirakl/debenhams/api/shipments"),
            ("POST", "/mirakl/debenhams/api/shipments"),
        ]
        env.now[0] += 30
        before = len(counter.calls)
        assert run_shipments_cycle(env.settings) == []
        assert counter.calls[before:] == []
    assert all(env.mirakl_order("debenhams", o).state.value == "SHIPPED" for o, _ in orders)
    assert env.mirakl_order("debenhams", two_lines).state.value == "SHIPPED"
    env.close()


def test_sync_shipments_once_after_a_carrier_fix_ships_what_the_exception_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The exception's remedy is "add it to [carriers], then run `sync shipments --once`".
    # That pass read only the feed (the overlap re-read), so a fulfilment older than five
    # minutes was never tried again; and since the overlap skips what a pass handled, not
    # even a newer one. The direct pass reads again the orders such exceptions name.
    env = Env(tmp_path)
    sku = env.offer_skus("sportshub")[3]
    order_id, shop = run(env.accepted_order("sportshub", [(sku, 1)]))
    with env.workflows():
        env.sandbox.shopify.fulfil_order(shop, "Yodel Direct", "JD0009")
        [result] = run_shipments_cycle(env.settings)
        assert result.status.value == "exception"
        assert len(open_exceptions(env, "carrier_unmapped")) == 1
        env.now[0] += 3600  # fixed an hour later: far behind the feed's overlap
    with env.workflows():
        # A pass that is not the command (the scheduled passes, ``run_*_cycle``) leaves
        # the exception to a person: nothing is retried every period.
        assert run_shipments_cycle(env.settings) == []
    env.reconfigure(carriers={**env.settings.carriers, "Yodel Direct": "EVRI"})
    with env.workflows():
        dispatch_once.run_shipments_once(env.settings)
        assert capsys.readouterr().out.strip().splitlines()[-1] == (
            "shipments: 1 checked (1 shipped); 1 shop order read again with nothing new "
            "since the last pass"
        )
    assert env.mirakl_order("sportshub", order_id).carrier_code == "EVRI"
    assert [r for r in open_exceptions(env, "carrier_unmapped") if r.status.value == "open"] == []
    env.close()
