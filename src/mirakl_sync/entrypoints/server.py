"""``mirakl-sync run``: the engine (flows, schedules, watchdog) and the status page, one process."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from functools import partial

import uvicorn
from fastapi import FastAPI

from mirakl_sync.adapters.shopify.webhook_subscriptions import ShopifyWebhookSubscriptions
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.views import SqlStatusReader
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.entrypoints.web import create_web_app
from mirakl_sync.services.webhook_subscriptions import SubscriptionKeeper
from mirakl_sync.workflows.runtime import start_runtime
from mirakl_sync.workflows.webhooks import route_shopify_webhook

logger = logging.getLogger(__name__)


def build_web_app(hub: Hub) -> FastAPI:
    settings = hub.settings
    verify = None
    if settings.shopify.webhook_secret is not None:
        from mirakl_sync.adapters.shopify.webhooks import verify_webhook

        verify = partial(
            _verify, verify_webhook, settings.shopify.webhook_secret.get_secret_value()
        )
    return create_web_app(
        status_reader=SqlStatusReader(hub.store.engine, settings),
        exception_log=hub.store.exception_log,
        shop=settings.shopify.shop,
        verify_shopify_webhook=verify,
        on_shopify_webhook=route_shopify_webhook,
        max_webhook_body_bytes=settings.web.webhook_max_body_bytes,
    )


class WebhookSubscriber:
    """Keeps ``run`` subscribed to Shopify's webhooks: a try at start, then a background thread.

    The thread sleeps until the keeper's next try (a retry with backoff after a failure, an
    hourly check once all are in place) and is stopped with the hub. Each try opens its
    own Shopify client on its own event loop, so it shares nothing with the web server.
    ``wait(seconds)`` returns True when the subscriber should stop (tests give a fake).
    """

    def __init__(
        self,
        hub: Hub,
        keeper: SubscriptionKeeper,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._hub = hub
        self._keeper = keeper
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._next: float | None = None
        self._thread: threading.Thread | None = None

    def attempt(self) -> float:
        async def one() -> float:
            async with self._hub.shopify() as client:
                return await self._keeper.attempt(ShopifyWebhookSubscriptions(client))

        try:
            return asyncio.run(one())
        except Exception:
            # The keeper records Shopify's failures itself; this is anything else (the
            # exception log unwritable, say). The thread must live on to try again.
            delay = self._keeper.backoff.first_seconds
            logger.exception("webhook subscription check failed; trying again in %.0f s", delay)
            return delay

    def start_attempt(self) -> float:
        """The try at start (in the caller's thread); the seconds until the next one."""
        self._next = self.attempt()
        return self._next

    def run(self) -> None:
        """Try, wait, try again, until stopped (the thread's body)."""
        if self._next is None:
            self._next = self.attempt()
        while not self._wait(self._next):
            self._next = self.attempt()

    def start(self) -> None:
        """Try now; then keep trying and checking in a daemon thread."""
        self.start_attempt()
        self._thread = threading.Thread(target=self.run, name="webhook-subscriptions", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        # A try in flight is bounded by the Shopify client's timeouts; the wait ends at once.
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def subscribe_webhooks(hub: Hub) -> WebhookSubscriber | None:
    """Subscribe to the Shopify webhooks the flows use, when the hub has a public URL.

    A failed subscription does not stop the hub (it polls meanwhile): it is an exception
    for ops, tried again in the background until it lands (``SubscriptionKeeper``).
    """
    settings = hub.settings
    public_url = settings.web.public_url
    if public_url is None or settings.shopify.webhook_secret is None:
        logger.info("no web.public_url or shopify.webhook_secret: Shopify changes are polled")
        return None
    keeper = SubscriptionKeeper(
        public_url=public_url, shop=settings.shopify.shop, exception_log=hub.store.exception_log
    )
    subscriber = WebhookSubscriber(hub, keeper)
    subscriber.start()
    return subscriber


def _verify(verifier: object, secret: str, body: bytes, signature: str) -> bool:
    assert callable(verifier)
    return bool(verifier(body, signature, secret))


def serve_hub(settings: Settings) -> None:
    """Migrate, start the engine, serve the status page; stop cleanly on Ctrl+C / SIGTERM."""
    # Embedded set-ups should just work; migrations are idempotent and take a lock-free
    # fast path when already at head. Distributed workers never migrate.
    upgrade_database(settings.database_url)
    runtime = start_runtime(settings, role="hub")
    hub = bootstrap(settings)
    subscriber: WebhookSubscriber | None = None
    try:
        subscriber = subscribe_webhooks(hub)
        web = build_web_app(hub)
        server = uvicorn.Server(
            uvicorn.Config(web, host=settings.web.host, port=settings.web.port, log_level="warning")
        )
        logger.info("status page on http://%s:%d", settings.web.host, settings.web.port)
        server.run()
    finally:
        if subscriber is not None:
            subscriber.stop()
        runtime.stop()
        hub.close()
