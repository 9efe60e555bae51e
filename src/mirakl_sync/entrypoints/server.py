"""``mirakl-sync run``: the engine (flows, schedules, watchdog) and the status page, one process."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import partial

import uvicorn
from fastapi import FastAPI

from mirakl_sync.adapters.shopify.webhook_subscriptions import ShopifyWebhookSubscriptions
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.views import SqlStatusReader
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.entrypoints.web import create_web_app
from mirakl_sync.errors import MiraklSyncError
from mirakl_sync.services.webhook_subscriptions import ensure_subscriptions
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


def subscribe_webhooks(hub: Hub) -> None:
    """Subscribe to the Shopify webhooks the flows use, when the hub has a public URL."""
    settings = hub.settings
    public_url = settings.web.public_url
    if public_url is None or settings.shopify.webhook_secret is None:
        logger.info("no web.public_url or shopify.webhook_secret: Shopify changes are polled")
        return

    async def subscribe() -> list[str]:
        async with hub.shopify() as client:
            return await ensure_subscriptions(ShopifyWebhookSubscriptions(client), public_url)

    try:
        added = asyncio.run(subscribe())
    except MiraklSyncError as exc:
        hub.store.exception_log.record(
            ExceptionReport(
                type="webhook_subscription_failed",
                owner=OwnerTeam.OPS,
                severity=Severity.WARNING,
                entity_type="shop",
                entity_id=settings.shopify.shop,
                message=f"could not subscribe to Shopify webhooks ({exc}); the hub polls "
                "instead, which is slower. Check the access token's scopes and web.public_url.",
            ),
            datetime.now(UTC),
        )
        return
    if added:
        logger.info("subscribed to Shopify webhooks: %s", ", ".join(added))


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
    try:
        subscribe_webhooks(hub)
        web = build_web_app(hub)
        server = uvicorn.Server(
            uvicorn.Config(web, host=settings.web.host, port=settings.web.port, log_level="warning")
        )
        logger.info("status page on http://%s:%d", settings.web.host, settings.web.port)
        server.run()
    finally:
        runtime.stop()
        hub.close()
