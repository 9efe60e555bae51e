"""Doctor: is every system the hub depends on reachable, with the keys configured?

Each check is a coroutine returning a one-line detail on success; any exception is a
failure, worded as what to do about it. Checks run concurrently, each with a timeout,
so one dead system cannot hide the state of the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mirakl_sync.errors import (
    AuthenticationError,
    MiraklSyncError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)


class CheckSkipped(MiraklSyncError):
    """The check was not run."""


class CheckFailed(MiraklSyncError):
    """The check failed; its message is already worded as what to do."""


@dataclass(frozen=True)
class CheckResult:
    system: str
    check: str
    #: ``ok``, ``failed`` or ``skipped``.
    outcome: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass(frozen=True)
class Check:
    system: str
    check: str
    run: Callable[[], Awaitable[str]]


async def run_checks(checks: list[Check], *, timeout: float = 15.0) -> list[CheckResult]:
    return list(await asyncio.gather(*(_run_one(check, timeout) for check in checks)))


async def _run_one(check: Check, timeout: float) -> CheckResult:
    try:
        detail = await asyncio.wait_for(check.run(), timeout)
    except CheckSkipped as exc:
        return CheckResult(check.system, check.check, "skipped", str(exc))
    except TimeoutError:
        return CheckResult(
            check.system, check.check, "failed", f"no answer within {timeout:g}s: is the URL right?"
        )
    except Exception as exc:
        return CheckResult(check.system, check.check, "failed", explain(exc))
    return CheckResult(check.system, check.check, "ok", detail)


def explain(error: BaseException) -> str:
    """Turn an error into one line that says what to do."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, CheckFailed):
        return text
    if isinstance(error, AuthenticationError):
        return f"the key was rejected ({text}): check the api key or token in the config"
    if isinstance(error, NotFoundError):
        return f"not found ({text}): check the base_url (and shop_id)"
    if isinstance(error, RateLimitedError):
        return f"rate limited ({text}): try again later"
    if isinstance(error, RetryableError):
        return f"not reachable ({text}): check the base_url and the network"
    if isinstance(error, PermanentError):
        return f"refused ({text})"
    return f"{type(error).__name__}: {text}"
