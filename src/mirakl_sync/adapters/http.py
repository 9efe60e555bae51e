"""HTTP plumbing shared by the API clients."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any, Self

import httpx

#: Seconds to open a connection, and to wait for each read (or write) of a request,
#: before it fails with a timeout and the client's own policy retries it (reads) or
#: looks first (writes). A server that says nothing for this long is hung: under faults
#: 5% of requests hung 30 s, and a 30 s timeout held a slot of the order flow for the
#: whole hang (issue 10). A read timeout is per read, not per response: a large answer
#: that keeps streaming is not cut off.
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 10.0


def default_timeout() -> httpx.Timeout:
    """The timeout of every API client unless it is given one."""
    return httpx.Timeout(
        READ_TIMEOUT_SECONDS,
        connect=CONNECT_TIMEOUT_SECONDS,
        read=READ_TIMEOUT_SECONDS,
        write=READ_TIMEOUT_SECONDS,
    )


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process, built on first use.

    Building a context loads the CA bundle, which takes tens of milliseconds; clients are
    created per workflow step, so building one per client dominated the hub's CPU time.
    A context is safe to share between clients and threads.
    """
    return ssl.create_default_context()


def async_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` using the shared TLS context (unless a transport is given,
    in which case the transport does its own connecting)."""
    options.setdefault("verify", shared_ssl_context())
    return httpx.AsyncClient(**options)


class HttpApiClient:
    """Base of the API clients: an ``httpx.AsyncClient`` in ``_http``, closed on exit.

    ``async with Client(...) as client:`` closes the connection pool however the block
    ends; ``aclose()`` does the same by hand.
    """

    _http: httpx.AsyncClient

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
