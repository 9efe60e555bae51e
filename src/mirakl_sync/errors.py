"""The hub's error tree, shared by every layer.

```
MiraklSyncError                 anything the hub raises on purpose
├── ConfigError                 the configuration file is missing or wrong
└── ExternalSystemError         a call to Mirakl, Shopify or Supercycle failed
    ├── RetryableError          try again later: network, timeout, 429, 5xx (``ambiguous``:
    │   │                       a write may have landed; look before repeating it)
    │   ├── RateLimitedError    the system said 429; ``retry_after`` says when
    │   └── CallBudgetExhaustedError  the hub's own call budget has no slot within the
    │                           wait bound; the call was not made (``next_slot_at``)
    └── PermanentError          retrying will not help: 4xx, validation, userErrors
        ├── AuthenticationError 401/403: the key or token is wrong
        └── NotFoundError       404: the resource does not exist
```

Adapters translate their transport's errors into these at the boundary (chained with
``from exc``), so services and workflows only ever decide on ``RetryableError`` versus
``PermanentError``. The class docstring is the default message.
"""

from __future__ import annotations

from datetime import UTC, datetime


class MiraklSyncError(Exception):
    """mirakl-sync failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(MiraklSyncError):
    """The configuration is not valid."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class ExternalSystemError(MiraklSyncError):
    """A call to an external system failed."""

    #: The API operation that failed (e.g. ``ST01``, ``OR28``), when the client knows it;
    #: the passes name it in the exception they record.
    operation: str = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        system: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.system = system
        self.status = status
        self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        prefix = self.system + (f" HTTP {self.status}" if self.status else "")
        text = super().__str__()
        return f"{prefix}: {text}" if prefix else text


class RetryableError(ExternalSystemError):
    """The external system is unavailable for now; the call can be retried."""

    def __init__(
        self,
        message: str | None = None,
        *,
        system: str = "",
        status: int | None = None,
        code: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        # ``ambiguous``: a write may have been applied although no answer came back (a
        # timeout, a lost reply); look at the system's state before repeating it.
        self.ambiguous = ambiguous
        super().__init__(message, system=system, status=status, code=code)


class RateLimitedError(RetryableError):
    """The external system asked us to slow down (HTTP 429)."""

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        system: str = "",
        status: int | None = 429,
        code: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, system=system, status=status, code=code)


class PermanentError(ExternalSystemError):
    """The external system rejected the call; retrying it unchanged will not help."""


class AuthenticationError(PermanentError):
    """The external system rejected our credentials: check the key or token in the config."""


class NotFoundError(PermanentError):
    """The external system has no such resource."""


class CallBudgetExhaustedError(RetryableError):
    """No slot of the call budget opens within the wait bound; the call was not made."""

    def __init__(
        self,
        message: str | None = None,
        *,
        next_slot_at: float,
        wait_seconds: float = 0.0,
        key: str = "",
        operation: str = "",
        marketplace: str = "",
        system: str = "",
    ) -> None:
        #: Epoch seconds when the budget's next slot opens (the call may be made then).
        self.next_slot_at = next_slot_at
        #: Seconds from when it was raised until then.
        self.wait_seconds = wait_seconds
        self.key = key
        self.operation = operation
        self.marketplace = marketplace
        super().__init__(message, system=system)

    @property
    def next_slot(self) -> datetime:
        """``next_slot_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.next_slot_at, UTC)
