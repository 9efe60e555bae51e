"""``Retry-After``, as every client reads it: delta-seconds or an HTTP date (RFC 9110)."""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx


def retry_after_seconds(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait from ``now`` (epoch seconds), never negative; None when the header
    is absent or unreadable (each client then backs off its own way)."""
    value = response.headers.get("Retry-After")
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
