"""Every API client bounds a hung request to a few seconds (issue 10, Deliver 2).

Under faults 5% of requests hung 30 s, and every client waited 30 s (its timeout) before
retrying, so each hang held a slot of the order flow for half a minute: the embedded hub
got through 890 orders an hour against 2,000 offered. The timeout a request carries is
what httpx hands the transport (``request.extensions["timeout"]``), so it is checked
here without waiting for anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from mirakl_sync.adapters.http import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS
from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.supercycle.client import SupercycleClient

#: "A few seconds": what a hang may cost before the retry.
BOUND = 10.0


class Recorder:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.timeouts: list[dict[str, float]] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(dict(request.extensions["timeout"]))
        return self.answer(request)


async def _quietly(call: Awaitable[Any]) -> None:
    # The answer does not matter here, the request's timeout does.
    with contextlib.suppress(Exception):
        await call


async def _first_page(client: MiraklClient) -> list[Any]:
    return [order async for order in client.list_orders()]


def _mirakl(recorder: Recorder) -> Awaitable[Any]:
    async def go() -> None:
        async with MiraklClient(
            "http://mirakl.test", "key", transport=httpx.MockTransport(recorder), max_retries=0
        ) as client:
            await _quietly(_first_page(client))

    return go()


def _shopify(recorder: Recorder) -> Awaitable[Any]:
    async def go() -> None:
        async with ShopifyClient(
            "http://shop.test/admin/api/2026-10/graphql.json",
            "shpat_test",
            transport=httpx.MockTransport(recorder),
            max_retries=0,
        ) as client:
            await _quietly(client.execute("query { shop { name } }"))

    return go()


def _supercycle(recorder: Recorder) -> Awaitable[Any]:
    async def go() -> None:
        async with SupercycleClient(
            "http://supercycle.test/api/v1",
            "key",
            transport=httpx.MockTransport(recorder),
            max_retries=0,
        ) as client:
            await _quietly(client.get_item(1))

    return go()


@pytest.mark.parametrize(
    "call", [_mirakl, _shopify, _supercycle], ids=["mirakl", "shopify", "supercycle"]
)
def test_each_client_bounds_a_hung_request_to_a_few_seconds(
    call: Callable[[Recorder], Awaitable[Any]],
) -> None:
    recorder = Recorder(lambda request: httpx.Response(500, json={"message": "boom"}))
    asyncio.run(call(recorder))  # type: ignore[arg-type]
    assert recorder.timeouts, "no request was sent"
    for timeout in recorder.timeouts:
        assert timeout["read"] is not None and timeout["read"] <= BOUND, timeout
        assert timeout["write"] is not None and timeout["write"] <= BOUND, timeout
        assert timeout["connect"] is not None and timeout["connect"] <= BOUND, timeout


def test_the_bounds_are_a_few_seconds() -> None:
    assert CONNECT_TIMEOUT_SECONDS <= READ_TIMEOUT_SECONDS <= BOUND


def test_a_read_that_timed_out_is_retried_and_succeeds() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("hung", request=request)
        return httpx.Response(200, json={"orders": [], "total_count": 0})

    async def no_sleep(seconds: float) -> None:
        return None

    async def go() -> Any:
        async with MiraklClient(
            "http://mirakl.test", "key", transport=httpx.MockTransport(answer), sleep=no_sleep
        ) as client:
            return await _first_page(client)

    asyncio.run(go())
    assert len(calls) == 2
