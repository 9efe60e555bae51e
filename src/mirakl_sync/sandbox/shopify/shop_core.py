"""The base of the emulated shop: its state, clock and ids, the order look-up by gid, and
the webhooks every operation emits (subscriptions, signing, delivery on the running loop).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mirakl_sync.sandbox.shopify.state import OrderRec, ShopData, WebhookSubscriptionRec
from mirakl_sync.sandbox.shopify.views import parse_gid
from mirakl_sync.sandbox.shopify.webhooks import TOPICS, WebhookMessage, WebhookSender, sign_message


class ShopCore:
    """The shop's state and webhook delivery, under the operation mixins that
    ``ShopifyEmulator`` is built from (they never import the facade back)."""

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

    def _order(self, order_gid: str) -> OrderRec:
        order = self.data.orders.get(parse_gid(order_gid, "Order") or -1)
        if order is None:
            raise KeyError(f"no order {order_gid}")
        return order

    # -- webhooks --------------------------------------------------------------------------

    def subscribe(self, topic: str, uri: str) -> WebhookSubscriptionRec:
        """Register ``uri`` for ``topic`` (the GraphQL enum, e.g. ``ORDERS_CREATE``)."""
        if topic not in TOPICS:
            raise ValueError(f"the emulator sends only {', '.join(TOPICS)}")
        now = self.now()
        rec = WebhookSubscriptionRec(self.next_id(), topic, uri, "JSON", now, now)
        self.data.subscriptions[rec.id] = rec
        return rec

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
