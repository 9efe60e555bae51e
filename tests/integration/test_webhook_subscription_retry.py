"""A webhook subscription that fails at start is tried again, with backoff, until it lands.

Issue 10, item 8: ``run`` subscribed once at start; when Shopify failed that call the hub
lived on the 5-minute polls until its next restart. Here the emulated shop answers 500 to
``webhookSubscriptionCreate`` a number of times; the hub's subscriber tries again after
30 s, 60 s, 120 s ... (capped at 15 minutes, with jitter), records one exception for ops
whose count grows, and resolves it when every subscription is in place. Time is a fake
clock: the subscriber's waits advance it, nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import settings_from_mapping
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionStatus, OwnerTeam
from mirakl_sync.entrypoints.server import WebhookSubscriber
from mirakl_sync.sandbox.seed import build_catalogue
from mirakl_sync.sandbox.shopify import ShopifyEmulator
from mirakl_sync.services.webhook_subscriptions import (
    TOPICS,
    Backoff,
    SubscriptionKeeper,
)

URI = "https://hub.example.com/webhooks/shopify"


class FlakyShop(httpx.AsyncBaseTransport):
    """The emulated shop, answering 500 to the first ``failures`` subscription creations."""

    def __init__(self, emulator: ShopifyEmulator, failures: int) -> None:
        self._inner = httpx.ASGITransport(app=emulator.asgi_app())
        self.failures = failures
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if "webhookSubscriptionCreate" in body.get("query", "") and self.failures > 0:
            self.failures -= 1
            self.refused += 1
            return httpx.Response(500, text="Internal Server Error", request=request)
        return await self._inner.handle_async_request(request)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emulator() -> ShopifyEmulator:
    shop = ShopifyEmulator()
    shop.load_catalogue(build_catalogue(products=3))
    return shop


def make_hub(tmp_path: Path, emulator: ShopifyEmulator, transport: httpx.AsyncBaseTransport) -> Hub:
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path / 'hub.db'}",
            "shopify": {
                "shop": emulator.shop,
                "access_token": emulator.access_token,
                "webhook_secret": "s",
            },
            "web": {"public_url": "https://hub.example.com"},
        },
        env={},
    )
    upgrade_database(settings.database_url)
    return bootstrap(settings, transports=Transports(shopify=transport))


@pytest.fixture
def world(tmp_path: Path, emulator: ShopifyEmulator) -> Iterator[tuple[Hub, FlakyShop, FakeTime]]:
    shop = FlakyShop(emulator, failures=6)
    hub = make_hub(tmp_path, emulator, shop)
    yield hub, shop, FakeTime()
    hub.close()


def subscriber(hub: Hub, time: FakeTime, *, stop_after: int) -> WebhookSubscriber:
    """A subscriber whose waits advance the fake clock; it stops after ``stop_after`` waits."""
    keeper = SubscriptionKeeper(
        public_url="https://hub.example.com",
        shop=hub.settings.shopify.shop,
        exception_log=hub.store.exception_log,
        clock=time,
        random=lambda: 0.5,
    )

    def wait(seconds: float) -> bool:
        time.waits.append(seconds)
        time.now += seconds
        return len(time.waits) >= stop_after

    return WebhookSubscriber(hub, keeper, wait=wait)


def subscribed(emulator: ShopifyEmulator) -> set[tuple[str, str]]:
    return {(s.topic, s.uri) for s in emulator.data.subscriptions.values()}


def test_a_failed_subscription_is_tried_again_with_backoff_until_it_lands(
    world: tuple[Hub, FlakyShop, FakeTime], emulator: ShopifyEmulator
) -> None:
    hub, shop, time = world
    sub = subscriber(hub, time, stop_after=8)

    assert sub.start_attempt() > 0  # at start: refused (the hub still starts)
    [failed] = hub.store.exception_log.list()
    assert (failed.type, failed.owner, failed.entity_id) == (
        ExceptionType.WEBHOOK_SUBSCRIPTION_FAILED,
        OwnerTeam.OPS,
        hub.settings.shopify.shop,
    )
    assert "tries again in 27 s" in failed.message and "polls" in failed.message

    sub.run()  # the background loop, run here: tries until it lands, then re-checks
    # 6 refusals: at start, then after 30, 60, 120, 240, 480 s (jitter 0.5 -> 90%); the
    # seventh try lands (one topic per try before: each refused on the first create).
    assert shop.refused == 6
    assert time.waits[:6] == [27.0, 54.0, 108.0, 216.0, 432.0, 810.0]
    assert time.waits[6:] == [3600.0, 3600.0]  # landed: an hourly check that they still are
    assert subscribed(emulator) == {(t, URI) for t in TOPICS}
    assert hub.store.exception_log.list() == []
    [resolved] = hub.store.exception_log.list(status=ExceptionStatus.RESOLVED)
    assert resolved.type == ExceptionType.WEBHOOK_SUBSCRIPTION_FAILED and resolved.count == 6
    assert resolved.details["attempts"] == 6 and resolved.details["missing"] == sorted(TOPICS)


def test_the_backoff_doubles_to_fifteen_minutes_with_jitter() -> None:
    backoff = Backoff()
    assert [backoff.delay(n, 0.0) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    # Jitter takes up to a fifth off, never adds: the cap holds.
    assert backoff.delay(1, 0.999) == pytest.approx(24.006)
    assert backoff.delay(20, 0.5) == 810.0


def test_a_subscription_shopify_dropped_later_is_made_again(
    tmp_path: Path, emulator: ShopifyEmulator
) -> None:
    # Shopify deletes a subscription whose deliveries keep failing; the hourly check
    # puts it back (and a check that finds all in place writes nothing).
    hub = make_hub(tmp_path, emulator, FlakyShop(emulator, failures=0))
    try:
        time = FakeTime()
        sub = subscriber(hub, time, stop_after=2)
        assert sub.start_attempt() == 3600.0
        assert subscribed(emulator) == {(t, URI) for t in TOPICS}
        dropped = next(
            k for k, s in emulator.data.subscriptions.items() if s.topic == "REFUNDS_CREATE"
        )
        del emulator.data.subscriptions[dropped]
        sub.run()
        assert subscribed(emulator) == {(t, URI) for t in TOPICS}
        assert len(emulator.data.subscriptions) == len(TOPICS)
        assert hub.store.exception_log.list(status=None) == []
    finally:
        hub.close()


def test_the_subscriber_thread_stops_promptly(tmp_path: Path, emulator: ShopifyEmulator) -> None:
    hub = make_hub(tmp_path, emulator, FlakyShop(emulator, failures=100))
    try:
        keeper = SubscriptionKeeper(
            public_url="https://hub.example.com",
            shop=hub.settings.shopify.shop,
            exception_log=hub.store.exception_log,
        )
        sub = WebhookSubscriber(hub, keeper)
        sub.start()  # first try at start fails; the thread now waits ~30 s for the next
        assert sub.running
        sub.stop()
        assert not sub.running
        assert [r.type for r in hub.store.exception_log.list()] == [
            ExceptionType.WEBHOOK_SUBSCRIPTION_FAILED
        ]
    finally:
        hub.close()


class BrokenLog:
    """An exception log whose database is gone: every write fails."""

    def record(self, report: object, now: object) -> None:
        raise RuntimeError("database is locked")

    def resolve(self, fingerprint: str, now: object) -> bool:
        raise RuntimeError("database is locked")

    def list(self, **kwargs: object) -> list[object]:
        return []


def test_a_try_that_cannot_even_record_its_failure_does_not_end_the_retries(
    world: tuple[Hub, FlakyShop, FakeTime], emulator: ShopifyEmulator
) -> None:
    hub, shop, time = world
    keeper = SubscriptionKeeper(
        public_url="https://hub.example.com",
        shop=hub.settings.shopify.shop,
        exception_log=BrokenLog(),
        clock=time,
        random=lambda: 0.5,
    )

    def wait(seconds: float) -> bool:
        time.waits.append(seconds)
        return shop.failures == 0 and len(subscribed(emulator)) == len(TOPICS)

    sub = WebhookSubscriber(hub, keeper, wait=wait)
    assert sub.start_attempt() == 30.0  # the failure could not be recorded: tried again
    sub.run()
    assert shop.refused == 6
    assert subscribed(emulator) == {(t, URI) for t in TOPICS}
