"""Translate Supercycle HTTP failures into the hub's error tree (``mirakl_sync.errors``).

Supercycle answers errors with ``{"errors": ["message", ...]}`` (shown on
``POST /return_orders``); other bodies are tolerated and summarised.
"""

from __future__ import annotations

import json

import httpx

from mirakl_sync.adapters.retry_after import retry_after_seconds
from mirakl_sync.errors import (
    AuthenticationError,
    ExternalSystemError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

SYSTEM = "Supercycle"


def error_messages(response: httpx.Response) -> list[str]:
    """The ``errors`` strings of a Supercycle error body, or a short excerpt of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()
        return [text[:300]] if text else []
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [str(e) for e in errors]
        if isinstance(errors, str):
            return [errors]
        for key in ("error", "message"):
            if isinstance(body.get(key), str):
                return [body[key]]
    return [json.dumps(body)[:300]]


def translate(response: httpx.Response, *, now: float) -> ExternalSystemError:
    """The hub error for a failed (non-2xx) Supercycle response."""
    status = response.status_code
    request = response.request
    where = f"{request.method} {request.url.path}"
    detail = "; ".join(error_messages(response)) or response.reason_phrase
    if status in (401, 403):
        return AuthenticationError(
            f"{where} was refused ({detail}): check the Supercycle API key "
            "(Supercycle > Settings > API)",
            system=SYSTEM,
            status=status,
        )
    if status == 404:
        return NotFoundError(f"{where}: not found ({detail})", system=SYSTEM, status=status)
    if status == 429:
        return RateLimitedError(
            f"{where}: rate limited ({detail})",
            retry_after=retry_after_seconds(response, now),
            system=SYSTEM,
        )
    if status >= 500:
        return RetryableError(
            f"{where}: Supercycle failed ({detail}); it will be retried",
            system=SYSTEM,
            status=status,
        )
    return PermanentError(f"{where} was rejected: {detail}", system=SYSTEM, status=status)
