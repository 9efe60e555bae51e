"""The hub's web side: the status page, a JSON health check, and the Shopify webhook receiver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.services.ports import ExceptionLog
from mirakl_sync.services.views import StatusReader

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: Verifies a Shopify webhook: (raw body, X-Shopify-Hmac-Sha256 header) -> valid?
WebhookVerifier = Callable[[bytes, str], bool]


def create_web_app(
    *,
    status_reader: StatusReader,
    exception_log: ExceptionLog,
    shop: str,
    verify_shopify_webhook: WebhookVerifier | None = None,
    on_shopify_webhook: Callable[[str, dict[str, Any], dict[str, str]], None] | None = None,
) -> FastAPI:
    app = FastAPI(title="mirakl-sync", docs_url=None, redoc_url=None)
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

    @app.get("/", response_class=HTMLResponse)
    def status_page(request: Request) -> Response:
        return templates.TemplateResponse(
            request,
            "status.html",
            {
                "status": status_reader.status(),
                "shop": shop,
                "now": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
            },
        )

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/status")
    def status_json() -> JSONResponse:
        return JSONResponse(_jsonable(asdict(status_reader.status())))

    @app.post("/webhooks/shopify")
    async def shopify_webhook(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
        topic = request.headers.get("X-Shopify-Topic", "")
        if verify_shopify_webhook is None:
            return JSONResponse(
                {"error": "webhooks are not configured: set shopify.webhook_secret"}, 503
            )
        if not signature or not verify_shopify_webhook(body, signature):
            # Never process it, but never lose sight of it either: someone must look.
            exception_log.record(
                ExceptionReport(
                    type="webhook_signature_invalid",
                    owner=OwnerTeam.OPS,
                    severity=Severity.WARNING,
                    entity_type="webhook",
                    entity_id=topic or "unknown-topic",
                    message="a Shopify webhook failed HMAC verification and was ignored; check "
                    "shopify.webhook_secret matches the app's client secret",
                    details={"shop_domain": request.headers.get("X-Shopify-Shop-Domain", "")},
                ),
                datetime.now(UTC),
            )
            return JSONResponse({"error": "invalid HMAC signature"}, 401)
        try:
            payload = await request.json()
        except ValueError:
            exception_log.record(
                ExceptionReport(
                    type="webhook_malformed",
                    owner=OwnerTeam.OPS,
                    severity=Severity.WARNING,
                    entity_type="webhook",
                    entity_id=topic or "unknown-topic",
                    message="a signed Shopify webhook had a body that is not JSON; polling will "
                    "catch up on the change it announced",
                ),
                datetime.now(UTC),
            )
            return JSONResponse({"error": "body is not JSON"}, 400)
        if on_shopify_webhook is not None:
            on_shopify_webhook(topic, payload, dict(request.headers))
        return JSONResponse({"status": "accepted"})

    return app


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
