"""The Shopify client's error translation and retries, against httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.shopify.errors import ShopifyUserError
from mirakl_sync.errors import (
    AuthenticationError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

URL = "https://fjellrev.myshopify.com/admin/api/2026-10/graphql.json"


def _cost(requested: float = 1, available: float = 1999, restore: float = 100) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": requested,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": restore,
            },
        }
    }


SHOP = {
    "shop": {"name": "Fjellrev", "myshopifyDomain": "fjellrev.myshopify.com", "currencyCode": "GBP"}
}
THROTTLED = {
    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
    "extensions": {
        "cost": {
            "requestedQueryCost": 300,
            "actualQueryCost": None,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 100.0,
                "restoreRate": 100.0,
            },
        }
    },
}


class Harness:
    """Answers requests from a script of responses and records what was sent and slept."""

    def __init__(self, responses: list[Callable[[httpx.Request], httpx.Response]]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.now = 0.0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)(request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def client(self, **options: Any) -> ShopifyClient:
        return ShopifyClient(
            URL,
            "shpat_test",
            transport=httpx.MockTransport(self.handler),
            sleep=self.sleep,
            clock=lambda: self.now,
            **options,
        )


def answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def fail_with(exc: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def raise_it(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return raise_it


def run(harness: Harness, call: Callable[[ShopifyClient], Any], **options: Any) -> Any:
    async def go() -> Any:
        async with harness.client(**options) as client:
            return await call(client)

    return asyncio.run(go())


def test_sends_the_token_header_and_query_and_reads_the_shop() -> None:
    harness = Harness([answer({"data": SHOP, "extensions": _cost()})])
    shop = run(harness, lambda c: c.shop_info())
    assert shop.myshopify_domain == "fjellrev.myshopify.com"
    sent = harness.requests[0]
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert str(sent.url) == URL
    assert "myshopifyDomain" in json.loads(sent.content)["query"]


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_raise_authentication_error(status: int) -> None:
    harness = Harness([answer({"errors": "[API] Invalid API key or access token"}, status)])
    with pytest.raises(AuthenticationError) as caught:
        run(harness, lambda c: c.shop_info())
    assert caught.value.status == status
    assert "Invalid API key" in str(caught.value)


def test_graphql_errors_raise_permanent_error_with_the_message() -> None:
    body = {
        "errors": [
            {
                "message": "Field 'nope' doesn't exist on type 'Shop'",
                "extensions": {"code": "undefinedField"},
            }
        ]
    }
    harness = Harness([answer(body)])
    with pytest.raises(PermanentError) as caught:
        run(harness, lambda c: c.shop_info())
    assert not isinstance(caught.value, RetryableError)
    assert "nope" in str(caught.value)
    assert caught.value.code == "undefinedField"


def test_throttled_waits_for_the_bucket_then_retries() -> None:
    harness = Harness([answer(THROTTLED), answer({"data": SHOP, "extensions": _cost()})])
    run(harness, lambda c: c.shop_info())
    assert len(harness.requests) == 2
    # (300 requested - 100 available) / 100 per second
    assert harness.sleeps == [pytest.approx(2.0)]


def test_throttled_too_often_raises_rate_limited_with_retry_after() -> None:
    harness = Harness([answer(THROTTLED)] * 3)
    with pytest.raises(RateLimitedError) as caught:
        run(harness, lambda c: c.shop_info(), max_throttle_retries=2)
    assert len(harness.requests) == 3
    assert caught.value.retry_after == pytest.approx(2.0)


def test_http_429_honours_retry_after() -> None:
    harness = Harness(
        [
            answer({"errors": "Throttled"}, 429, {"Retry-After": "3"}),
            answer({"data": SHOP, "extensions": _cost()}),
        ]
    )
    run(harness, lambda c: c.shop_info())
    assert harness.sleeps == [3.0]


def test_server_errors_are_retried_with_backoff_then_retryable() -> None:
    harness = Harness([answer({"errors": "oops"}, 502)] * 4)
    with pytest.raises(RetryableError) as caught:
        run(harness, lambda c: c.shop_info(), max_retries=3, backoff_seconds=0.5)
    assert caught.value.status == 502
    assert harness.sleeps == [0.5, 1.0, 2.0]


def test_timeouts_are_retried_then_succeed() -> None:
    harness = Harness([fail_with(httpx.ReadTimeout), answer({"data": SHOP, "extensions": _cost()})])
    shop = run(harness, lambda c: c.shop_info())
    assert shop.name == "Fjellrev"
    assert len(harness.requests) == 2


def test_a_plain_mutation_is_not_resent_after_a_timeout() -> None:
    harness = Harness([fail_with(httpx.ReadTimeout)])
    with pytest.raises(RetryableError):
        run(harness, lambda c: c.order_create({"lineItems": [{"quantity": 1, "title": "X"}]}))
    assert len(harness.requests) == 1


def test_an_idempotent_mutation_is_resent_after_a_timeout() -> None:
    refund = {
        "refundCreate": {
            "refund": {
                "id": "gid://shopify/Refund/1",
                "refundLineItems": {"nodes": []},
                "totalRefundedSet": {"shopMoney": {"amount": "0", "currencyCode": "GBP"}},
            },
            "order": None,
            "userErrors": [],
        }
    }
    harness = Harness(
        [fail_with(httpx.ReadTimeout), answer({"data": refund, "extensions": _cost()})]
    )
    result = run(
        harness, lambda c: c.refund_create("gid://shopify/Order/1", [], idempotency_key="key-1")
    )
    assert result.id == "gid://shopify/Refund/1"
    bodies = [json.loads(r.content) for r in harness.requests]
    assert [b["variables"]["idempotencyKey"] for b in bodies] == ["key-1", "key-1"]
    assert "@idempotent(key: $idempotencyKey)" in bodies[0]["query"]


def test_user_errors_raise_shopify_user_error_with_the_list() -> None:
    body = {
        "data": {
            "orderCreate": {
                "order": None,
                "userErrors": [
                    {
                        "field": ["order", "lineItems", "0", "variantId"],
                        "message": "Variant does not exist",
                        "code": "INVALID",
                    }
                ],
            }
        },
        "extensions": _cost(10),
    }
    harness = Harness([answer(body)])
    with pytest.raises(ShopifyUserError) as caught:
        run(harness, lambda c: c.order_create({"lineItems": [{"quantity": 1}]}))
    error = caught.value
    assert isinstance(error, PermanentError)
    assert error.code == "INVALID"
    assert error.user_errors[0].field == ("order", "lineItems", "0", "variantId")
    assert "Variant does not exist" in str(error)


def test_waits_before_sending_when_the_known_bucket_is_too_low() -> None:
    harness = Harness(
        [
            answer({"data": SHOP, "extensions": _cost(requested=50, available=10, restore=20)}),
            answer({"data": SHOP, "extensions": _cost(requested=50, available=1990)}),
        ]
    )

    async def twice(client: ShopifyClient) -> None:
        await client.shop_info()
        await client.shop_info()

    run(harness, twice)
    # the bucket held 10 points, the query costs 50, it refills 20 a second
    assert harness.sleeps == [pytest.approx(2.0)]
