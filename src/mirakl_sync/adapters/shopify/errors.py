"""Shopify-specific errors, placed in the hub's error tree (``mirakl_sync.errors``).

```
PermanentError
├── ShopifyUserError        a mutation answered ``userErrors``; ``.user_errors`` lists them
└── WebhookSignatureError   a webhook's HMAC did not match: drop the delivery
```

Everything else the client raises is one of the shared classes: ``RetryableError``,
``RateLimitedError`` (``THROTTLED``/429), ``AuthenticationError`` (401/403) or
``PermanentError`` (GraphQL ``errors``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mirakl_sync.errors import PermanentError

SYSTEM = "shopify"


@dataclass(frozen=True)
class UserErrorDetail:
    """One entry of a mutation's ``userErrors`` (``code`` is absent on the plain ``UserError``)."""

    field: tuple[str, ...]
    message: str
    code: str | None = None

    def __str__(self) -> str:
        where = ".".join(self.field)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({self.code})" if self.code else text


class ShopifyUserError(PermanentError):
    """Shopify rejected the mutation's input (userErrors); fix the data and try again."""

    def __init__(self, mutation: str, user_errors: list[UserErrorDetail]) -> None:
        self.mutation = mutation
        self.user_errors = list(user_errors)
        details = "; ".join(str(error) for error in self.user_errors)
        code = next((e.code for e in self.user_errors if e.code), None)
        super().__init__(f"{mutation} was rejected: {details}", system=SYSTEM, code=code)


class WebhookSignatureError(PermanentError):
    """The webhook's X-Shopify-Hmac-Sha256 does not match its body: check the webhook secret
    (the app's client secret) in [shopify] webhook_secret, and never re-serialise the body."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, system=SYSTEM, status=401, code="invalid_hmac")
