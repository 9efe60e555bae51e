"""The one rule for which failures a durable step tries again.

A step is tried again (up to its ``retries``) unless a retry cannot help: a
``PermanentError`` (the system rejected the call: Mirakl's 400, a refused credential, a
resource that is not there) or a ``ConfigError`` (the settings are wrong) fails at once.
Everything else is tried again: a ``RetryableError`` (a 5xx, a timeout, a throttle, an
unreachable system; a write that may have landed is ``ambiguous``, and each write's
idempotency guard handles it), a transient failure of the store, and a fault no adapter
translated (a proxy that breaks mid-request), which may pass as well. Every step may run
twice after a crash anyway, so a retry asks nothing more of a step than a crash does.
Before (issue 11), dispatch steps retried every exception and order steps only
``RetryableError``.
"""

from __future__ import annotations

from mirakl_sync.errors import ConfigError, PermanentError


def step_retryable(exc: BaseException) -> bool:
    """Whether a step that raised ``exc`` is tried again (see the module docstring)."""
    return not isinstance(exc, (PermanentError, ConfigError))
