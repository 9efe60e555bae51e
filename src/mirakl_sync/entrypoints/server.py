"""``mirakl-sync run``: the engine (flows, schedules, watchdog) and the status page, one process."""

from __future__ import annotations

import logging
from functools import partial

import uvicorn
from fastapi import FastAPI

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.views import SqlStatusReader
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.entrypoints.web import create_web_app
from mirakl_sync.workflows.runtime import start_runtime

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
    )


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
        web = build_web_app(hub)
        server = uvicorn.Server(
            uvicorn.Config(web, host=settings.web.host, port=settings.web.port, log_level="warning")
        )
        logger.info("status page on http://%s:%d", settings.web.host, settings.web.port)
        server.run()
    finally:
        runtime.stop()
        hub.close()
