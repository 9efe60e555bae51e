"""The hub's web side: the status page, a JSON health check, and the Shopify webhook receiver.

The receiver checks every delivery before any handler sees it, in this order: its size
(``web.webhook_max_body_bytes``, 413 beyond it, read no further), its HMAC signature
(401), then its body (``adapters.shopify.webhook_payloads``: JSON with a depth limit, an
object, the fields the topic's handler reads; 400). Each refusal answers a short JSON
error and is an exception for ops; a refused body is fingerprinted by its topic and
digest, so Shopify's retries of one bad delivery are one exception whose count grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from mirakl_sync.adapters.shopify.webhook_payloads import WebhookPayloadError, read_payload
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.services.ports import ExceptionLog
from mirakl_sync.services.views import StatusReader

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: ``web.webhook_max_body_bytes``'s default (1 MiB).
DEFAULT_MAX_WEBHOOK_BODY_BYTES = 1024 * 1024
#: Bodies up to this size are read on the event loop (a typical one takes ~0.1 ms).
INLINE_PARSE_BYTES = 64 * 1024
#: How much of a refused body its exception keeps (ops read it; a body can be 1 MiB).
EXCERPT_CHARS = 200

#: Verifies a Shopify webhook: (raw body, X-Shopify-Hmac-Sha256 header) -> valid?
WebhookVerifier = Callable[[bytes, str], bool]


def create_web_app(
    *,
    status_reader: StatusReader,
    exception_log: ExceptionLog,
    shop: str,
    verify_shopify_webhook: WebhookVerifier | None = None,
    on_shopify_webhook: Callable[[str, dict[str, Any], dict[str, str]], None] | None = None,
    max_webhook_body_bytes: int = DEFAULT_MAX_WEBHOOK_BODY_BYTES,
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
        topic = request.headers.get("X-Shopify-Topic", "")
        if verify_shopify_webhook is None:
            return JSONResponse(
                {"error": "webhooks are not configured: set shopify.webhook_secret"}, 503
            )
        # Size first: nothing is read (nor signed, nor parsed) beyond the limit.
        body = await _read_at_most(request, max_webhook_body_bytes)
        if body is None:
            exception_log.record(
                _too_large(topic, request.headers, max_webhook_body_bytes), datetime.now(UTC)
            )
            return JSONResponse({"error": f"body larger than {max_webhook_body_bytes} bytes"}, 413)
        signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
        if not signature or not verify_shopify_webhook(body, signature):
            # Never process it, but never lose sight of it either: someone must look.
            exception_log.record(
                ExceptionReport(
                    type=ExceptionType.WEBHOOK_SIGNATURE_INVALID,
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
            # JSON with a depth limit, an object, the fields the topic's handler reads.
            if len(body) > INLINE_PARSE_BYTES:
                # ~0.1 s for a 1 MiB body: off the event loop, so the status page and
                # other deliveries are not held up meanwhile.
                payload = await run_in_threadpool(read_payload, topic, body)
            else:
                payload = read_payload(topic, body)
        except WebhookPayloadError as exc:
            exception_log.record(_malformed(topic, request.headers, body, exc), datetime.now(UTC))
            error = f"unreadable {topic or 'webhook'} body: {exc}"
            return JSONResponse({"error": error[:280]}, 400)
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


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is over ``limit`` bytes (what was read is dropped)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    # Counted as it arrives: a chunked body has no Content-Length to trust.
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _delivery(headers: Mapping[str, str]) -> dict[str, str]:
    # X-Shopify-Event-Id is the same on every retry of one event; Webhook-Id per attempt.
    return {
        "event_id": headers.get("X-Shopify-Event-Id", ""),
        "webhook_id": headers.get("X-Shopify-Webhook-Id", ""),
        "shop_domain": headers.get("X-Shopify-Shop-Domain", ""),
    }


def _too_large(topic: str, headers: Mapping[str, str], limit: int) -> ExceptionReport:
    return ExceptionReport(
        type=ExceptionType.WEBHOOK_BODY_TOO_LARGE,
        owner=OwnerTeam.OPS,
        severity=Severity.WARNING,
        entity_type="webhook",
        # Never read in full, so never signed nor hashed: one exception per topic.
        entity_id=topic or "unknown-topic",
        message=f"a Shopify webhook ({topic or 'no topic'}) was larger than "
        f"web.webhook_max_body_bytes ({limit} bytes) and was refused unread; polling "
        "catches up on the change it announced. If Shopify's payloads for this topic are "
        "really that large, raise web.webhook_max_body_bytes.",
        details={"topic": topic, "limit_bytes": limit, **_delivery(headers)},
    )


def _malformed(
    topic: str, headers: Mapping[str, str], body: bytes, exc: WebhookPayloadError
) -> ExceptionReport:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return ExceptionReport(
        type=ExceptionType.WEBHOOK_MALFORMED,
        owner=OwnerTeam.OPS,
        severity=Severity.WARNING,
        entity_type="webhook",
        # The same body again (Shopify retries a delivery it saw refused) is the same row.
        entity_id=f"{topic or 'unknown-topic'}:{digest}",
        message=f"a signed Shopify webhook ({topic or 'no topic'}) was not what the hub "
        f"reads ({exc.reason}) and was not processed; polling catches up on the change it "
        "announced. Nothing to do unless it repeats; then report it with the excerpt.",
        details={
            "topic": topic,
            "kind": exc.kind,
            "reason": exc.reason,
            "body_bytes": len(body),
            "sha256": digest,
            "excerpt": body[:EXCERPT_CHARS].decode("utf-8", "replace"),
            **_delivery(headers),
        },
    )
