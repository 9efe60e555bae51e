"""Mirakl's errors, translated into the hub's error tree at the client's boundary.

```
mirakl_sync.errors.ExternalSystemError
├── RetryableError
│   ├── MiraklUnavailableError      5xx, timeout, network error (reads: after our own retries;
│   │                               writes: at once, never retried by us, see below)
│   └── RateLimitedError
│       └── MiraklRateLimitedError  429 still returned after honouring ``Retry-After``
└── PermanentError
    ├── MiraklRejectedError         other 4xx: Mirakl's ``message`` and business ``code``
    │                               (e.g. ORDER_INVALID_STATE) are carried
    ├── AuthenticationError
    │   └── MiraklAuthenticationError  401/403: wrong shop API key or shop_id
    └── NotFoundError
        └── MiraklNotFoundError     404: no such order/import/... (also: ST01 with
                                    multi-shipment disabled)
```

Every class sets ``system="mirakl"`` and the HTTP ``status``; callers catch the generic
classes of ``mirakl_sync.errors`` and only look at these for the details.

**Retry policy** (the client applies it, workflows build on it):

- *Idempotent reads* (every GET) are retried by the client on 5xx, timeouts and network
  errors with exponential backoff and full jitter, up to ``max_retries`` times, then
  ``MiraklUnavailableError`` is raised.
- *Writes* (PUT/POST: OR21, OR23, OR24, OR28, OR29, OR30, ST01, ST23, ST24, OF01, OF24,
  OF52, STO01, PRI01) are **never** retried automatically on 5xx or timeouts: the call may
  have reached Mirakl (a timed-out OR28 may have created the refund, a timed-out STO01 may
  have queued the import), and Mirakl has no idempotency keys. ``MiraklUnavailableError``
  is raised with ``ambiguous=True`` when the request may have been received; the caller (a
  durable workflow step with its own idempotency guard) re-reads Mirakl's state (OR11,
  OF04, PRI02...) and decides. A connection that was never established (``ConnectError``)
  is not ambiguous; it is still left to the caller, for one policy only.
- *429* is safe to repeat for every method (Mirakl refused the call before doing
  anything): the client sleeps ``Retry-After`` seconds (a fallback when absent) and tries
  again, up to ``max_retries`` times, then ``MiraklRateLimitedError(retry_after=...)``.
"""

from __future__ import annotations

import json
from typing import Any

from mirakl_sync.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

SYSTEM = "mirakl"


class MiraklUnavailableError(RetryableError):
    """Mirakl did not answer in time or answered 5xx: try again later."""

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, system=SYSTEM, status=status, code=code, ambiguous=ambiguous)


class MiraklRateLimitedError(RateLimitedError):
    """Mirakl kept answering 429 (too many calls): wait ``retry_after`` seconds."""

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after, system=SYSTEM, status=429)


class MiraklRejectedError(PermanentError):
    """Mirakl rejected the call (4xx); fix the request or re-read the state before retrying."""

    def __init__(
        self, message: str | None = None, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, system=SYSTEM, status=status, code=code)


class MiraklAuthenticationError(AuthenticationError):
    """Mirakl rejected the shop API key (or the key cannot reach this shop_id): check the config."""

    def __init__(
        self, message: str | None = None, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, system=SYSTEM, status=status, code=code)


class MiraklNotFoundError(NotFoundError):
    """Mirakl has no such resource (404)."""

    def __init__(
        self, message: str | None = None, *, status: int | None = 404, code: str | None = None
    ) -> None:
        super().__init__(message, system=SYSTEM, status=status, code=code)


def parse_error_body(content: bytes) -> tuple[str | None, str | None]:
    """Return ``(message, business code)`` from a Mirakl error body, whatever its shape.

    Observed shape: ``{"status": 400, "message": "..."}``. Some APIs add a business code
    (``code``) or a list of errors (``errors: [{code, message, field}]``); plain text and
    HTML bodies (proxies) are returned as the message, truncated.
    """
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text[:500], None
    if not isinstance(data, dict):
        return text[:500], None
    message = data.get("message") or data.get("error_description") or data.get("error")
    code = data.get("code") or data.get("error_code")
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        message = message or first.get("message")
        code = code or first.get("code")
    if message is None:
        message = text[:500]
    return str(message), (str(code) if code is not None else None)


def error_for_status(status: int, content: bytes) -> PermanentError | RetryableError:
    """The hub error for a non-2xx, non-429 Mirakl answer."""
    message, code = parse_error_body(content)
    if code is None and message:
        code = _known_code_in(message)
    if status in (401, 403):
        return MiraklAuthenticationError(message, status=status, code=code)
    if status == 404:
        return MiraklNotFoundError(message, status=status, code=code)
    if status >= 500:
        return MiraklUnavailableError(message, status=status, code=code)
    return MiraklRejectedError(message, status=status, code=code)


# Business codes Mirakl lists in the OR21 description; some answers carry them only in
# the message text.
KNOWN_BUSINESS_CODES = (
    "ORDER_INVALID_STATE",
    "ORDER_NOT_FOUND",
    "ORDER_LINE_NOT_FOUND",
    "ORDER_LINE_DUPLICATE_ID",
    "ORDER_LINE_NULL_ELEMENT",
    "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
    "ORDER_PARTIAL_ACCEPTANCE_DISABLED",
    "ORDER_FULFILLED_UNAUTHORIZED",
    "VALIDATION_ERROR",
)


def _known_code_in(message: str) -> str | None:
    # Longest first so ORDER_LINE_NOT_FOUND is not reported as ORDER_NOT_FOUND's prefix.
    for known in sorted(KNOWN_BUSINESS_CODES, key=len, reverse=True):
        if known in message:
            return known
    return None
