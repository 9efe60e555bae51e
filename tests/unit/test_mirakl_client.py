"""MiraklClient against httpx.MockTransport: headers, paging, retries, errors, budgets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from structlog.testing import capture_logs

from mirakl_sync.adapters.call_budget import UnlimitedCallBudget
from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.errors import MiraklUnavailableError
from mirakl_sync.adapters.mirakl.models import (
    NewShipment,
    OrderState,
    RefundRequest,
    ShipmentLine,
)
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)

T = TypeVar("T")
API_KEY = "5e1f-secret-shop-key"
BASE = "https://debenhams-prod.mirakl.net"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Sleeps:
    def __init__(self, events: list[str] | None = None) -> None:
        self.calls: list[float] = []
        self.events = events

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.events is not None:
            self.events.append(f"sleep {seconds:g}")


class RecordingBudget:
    def __init__(self, events: list[str] | None = None, wait: float = 0.0) -> None:
        self.reservations: list[tuple[str, Budget]] = []
        self.events = events
        self.wait = wait

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        self.reservations.append((key, budget))
        if self.events is not None:
            self.events.append(f"reserve {key}")
        return self.wait

    def calling(self, key: str) -> None:
        if self.events is not None:
            self.events.append(f"calling {key}")


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler,
    *,
    sleeps: Sleeps | None = None,
    budget: Any = None,
    **kwargs: Any,
) -> MiraklClient:
    return MiraklClient(
        BASE,
        API_KEY,
        shop_id=2001,
        marketplace="debenhams",
        transport=httpx.MockTransport(handler),
        call_budget=budget if budget is not None else UnlimitedCallBudget(),
        sleep=sleeps or Sleeps(),
        **kwargs,
    )


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode(), keep_blank_values=True)


def order_json(order_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "commercial_id": order_id.split("-")[0],
        "order_state": "WAITING_ACCEPTANCE",
        "created_date": "2024-05-01T10:00:00Z",
        "last_updated_date": "2024-05-01T10:00:00Z",
        "currency_iso_code": "GBP",
        "price": 42.5,
        "customer": {
            "customer_id": "c1",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "billing_address": None,
            "shipping_address": None,
        },
        "order_lines": [
            {
                "order_line_id": f"{order_id}-1",
                "order_line_index": 1,
                "order_line_state": "WAITING_ACCEPTANCE",
                "offer_sku": "TENT-2P-GRN",
                "quantity": 1,
                "price": 42.5,
                "refunds": [],
                "cancelations": [],
            }
        ],
        **extra,
    }


# --------------------------------------------------------------------------- headers


def test_auth_header_is_the_raw_key_and_shop_id_is_on_every_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/orders":
            return httpx.Response(200, json={"orders": [], "total_count": 0})
        if request.url.path == "/api/offers/stock/imports":
            return httpx.Response(201, json={"import_id": "77"})
        return httpx.Response(204 if request.method == "PUT" else 200)

    async def scenario() -> None:
        async with make_client(handler) as client:
            await client.version()
            _ = [order async for order in client.list_orders()]
            await client.accept_order("1-A", {"1-A-1": True})
            await client.ship_order("1-A")
            await client.import_stock(b'"offer-sku";"quantity"\n"A";"1"\n')

    run(scenario())
    assert [r.url.path for r in seen] == [
        "/api/version",
        "/api/orders",
        "/api/orders/1-A/accept",
        "/api/orders/1-A/ship",
        "/api/offers/stock/imports",
    ]
    for request in seen:
        assert request.headers["Authorization"] == API_KEY
        assert request.headers["Accept"] == "application/json"
        assert query(request)["shop_id"] == ["2001"]


def test_bodiless_puts_send_content_length_zero() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async def scenario() -> None:
        async with make_client(handler) as client:
            await client.ship_order("1-A")
            await client.cancel_order("1-A")

    run(scenario())
    assert [(r.method, r.url.path) for r in seen] == [
        ("PUT", "/api/orders/1-A/ship"),
        ("PUT", "/api/orders/1-A/cancel"),
    ]
    for request in seen:
        assert request.headers["Content-Length"] == "0"
        assert request.content == b""


def test_api_key_is_never_logged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503) if request.method == "GET" else httpx.Response(429)

    async def scenario() -> None:
        async with make_client(handler, max_retries=1) as client:
            with pytest.raises(RetryableError):
                await client.version()
            with pytest.raises(RateLimitedError):
                await client.ship_order("1-A")

    with capture_logs() as logs:
        run(scenario())
    assert logs, "the client should log its calls"
    assert API_KEY not in repr(logs)
    assert API_KEY not in repr(make_client(handler))


# --------------------------------------------------------------------------- paging


def test_offset_paging_walks_every_page_until_total_count() -> None:
    all_ids = [f"{n}-A" for n in range(250)]
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = query(request)
        seen.append(q)
        offset, size = int(q["offset"][0]), int(q["max"][0])
        page = [order_json(i) for i in all_ids[offset : offset + size]]
        return httpx.Response(200, json={"orders": page, "total_count": len(all_ids)})

    async def scenario() -> list[str]:
        async with make_client(handler) as client:
            return [
                o.order_id
                async for o in client.list_orders(
                    order_state_codes=["WAITING_ACCEPTANCE", "SHIPPING"],
                    start_update_date=datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
                )
            ]

    assert run(scenario()) == all_ids
    assert [(q["offset"], q["max"]) for q in seen] == [
        (["0"], ["100"]),
        (["100"], ["100"]),
        (["200"], ["100"]),
    ]
    for q in seen:
        assert q["order_state_codes"] == ["WAITING_ACCEPTANCE,SHIPPING"]
        assert q["start_update_date"] == ["2024-05-01T09:30:00Z"]


def test_list_orders_splits_more_than_100_order_ids() -> None:
    seen: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = query(request)["order_ids"][0].split(",")
        seen.append(ids)
        return httpx.Response(
            200, json={"orders": [order_json(i) for i in ids], "total_count": len(ids)}
        )

    ids = [f"{n}-A" for n in range(130)]

    async def scenario() -> list[str]:
        async with make_client(handler) as client:
            return [o.order_id async for o in client.list_orders(order_ids=ids)]

    assert run(scenario()) == ids
    assert [len(chunk) for chunk in seen] == [100, 30]


def test_naive_datetimes_are_refused() -> None:
    async def scenario() -> None:
        async with make_client(lambda r: httpx.Response(200)) as client:
            async for _ in client.list_orders(start_update_date=datetime(2024, 5, 1)):
                pass

    with pytest.raises(ValueError, match="timezone-aware"):
        run(scenario())


def test_seek_paging_follows_next_page_token_and_sends_only_the_token() -> None:
    pages = {
        None: {"data": [{"id": "t1"}, {"id": "t2"}], "next_page_token": "p2"},
        "p2": {"data": [{"id": "t3"}], "next_page_token": "p3", "previous_page_token": "p1"},
        "p3": {"data": [{"id": "t4"}]},
    }
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        q = query(request)
        seen.append(q)
        return httpx.Response(200, json=pages[q.get("page_token", [None])[0]])

    async def scenario() -> list[str]:
        async with make_client(handler) as client:
            return [
                line.id
                async for line in client.transaction_logs(
                    transaction_types=["ORDER_AMOUNT", "COMMISSION_FEE"], sort="lastUpdated,ASC"
                )
            ]

    assert run(scenario()) == ["t1", "t2", "t3", "t4"]
    assert seen[0]["limit"] == ["2000"]
    assert seen[0]["transaction_type"] == ["ORDER_AMOUNT", "COMMISSION_FEE"]
    assert seen[1] == {"page_token": ["p2"], "shop_id": ["2001"]}
    assert seen[2] == {"page_token": ["p3"], "shop_id": ["2001"]}


# --------------------------------------------------------------------------- retries


def test_429_honours_retry_after_then_succeeds() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    sleeps = Sleeps()

    async def scenario() -> None:
        async with make_client(lambda r: answers.pop(0), sleeps=sleeps) as client:
            await client.version()

    run(scenario())
    assert sleeps.calls == [7.0]
    assert answers == []


def test_429_on_a_write_is_retried_too_because_mirakl_did_nothing() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "3"})
        return httpx.Response(204)

    sleeps = Sleeps()

    async def scenario() -> None:
        async with make_client(handler, sleeps=sleeps) as client:
            await client.accept_order("1-A", {"1-A-1": True})

    run(scenario())
    assert len(calls) == 2
    assert sleeps.calls == [3.0]


def test_repeated_429_raises_rate_limited_with_retry_after() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, headers={"Retry-After": "11"})

    sleeps = Sleeps()

    async def scenario() -> None:
        async with make_client(handler, sleeps=sleeps, max_retries=2) as client:
            await client.carriers()

    with pytest.raises(RateLimitedError) as caught:
        run(scenario())
    assert caught.value.retry_after == 11.0
    assert caught.value.status == 429
    assert len(calls) == 3
    assert sleeps.calls == [11.0, 11.0]


def test_5xx_on_a_read_is_retried_with_backoff() -> None:
    answers = [
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(200, json={"carriers": [{"code": "DHL", "label": "DHL"}]}),
    ]
    sleeps = Sleeps()

    async def scenario() -> list[str]:
        async with make_client(lambda r: answers.pop(0), sleeps=sleeps) as client:
            return [c.code for c in await client.carriers()]

    assert run(scenario()) == ["DHL"]
    assert len(sleeps.calls) == 2
    assert all(s > 0 for s in sleeps.calls)
    assert sleeps.calls[1] > sleeps.calls[0] / 2  # grows (equal jitter keeps half of it)


def test_5xx_on_a_read_gives_up_with_retryable_error() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"status": 500, "message": "boom"})

    async def scenario() -> None:
        async with make_client(handler, max_retries=3) as client:
            await client.platform_configuration()

    with pytest.raises(RetryableError) as caught:
        run(scenario())
    assert len(calls) == 4
    assert caught.value.status == 500
    assert "boom" in str(caught.value)


def test_timeout_on_a_read_is_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"reasons": [], "total_count": 0})

    async def scenario() -> None:
        async with make_client(handler) as client:
            assert await client.reasons() == []

    run(scenario())
    assert len(calls) == 2


def test_timeout_on_a_write_is_not_retried_and_is_ambiguous() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    sleeps = Sleeps()
    refund = RefundRequest(
        order_line_id="1-A-1", amount=Decimal("10"), shipping_amount=Decimal("0"), reason_code="15"
    )

    async def scenario() -> None:
        async with make_client(handler, sleeps=sleeps) as client:
            await client.refund([refund])

    with pytest.raises(MiraklUnavailableError) as caught:
        run(scenario())
    assert isinstance(caught.value, RetryableError)
    assert caught.value.ambiguous is True
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(calls) == 1
    assert sleeps.calls == []


def test_5xx_on_a_write_is_not_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502)

    async def scenario() -> None:
        async with make_client(handler) as client:
            await client.import_stock(b"x")

    with pytest.raises(MiraklUnavailableError) as caught:
        run(scenario())
    assert caught.value.ambiguous is True
    assert len(calls) == 1


# --------------------------------------------------------------------------- errors


def test_4xx_surfaces_mirakl_message_and_business_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={"status": 400, "message": "ORDER_INVALID_STATE: Current status is SHIPPED"},
        )

    async def scenario() -> None:
        async with make_client(handler) as client:
            await client.ship_order("1-A")

    with pytest.raises(PermanentError) as caught:
        run(scenario())
    assert caught.value.status == 400
    assert caught.value.code == "ORDER_INVALID_STATE"
    assert "Current status is SHIPPED" in str(caught.value)
    assert caught.value.system == "mirakl"


def test_4xx_with_a_non_json_body_still_gives_its_text() -> None:
    async def scenario() -> None:
        async with make_client(lambda r: httpx.Response(400, text="Bad things")) as client:
            await client.ship_order("1-A")

    with pytest.raises(PermanentError, match="Bad things"):
        run(scenario())


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, AuthenticationError), (404, NotFoundError)],
)
def test_auth_and_not_found_statuses(status: int, error: type[Exception]) -> None:
    async def scenario() -> None:
        async with make_client(lambda r: httpx.Response(status)) as client:
            await client.account()

    with pytest.raises(error):
        run(scenario())


# --------------------------------------------------------------------------- models


def test_unknown_fields_and_unknown_enum_values_are_tolerated() -> None:
    order = order_json("9-A", order_state="SOME_FUTURE_STATE", brand_new_field={"x": 1})
    order["order_lines"][0]["order_line_state"] = "ANOTHER_NEW_STATE"
    order["order_lines"][0]["refunds"] = [
        {
            "id": "r1",
            "order_refund_id": "u-1",
            "amount": 5.5,
            "quantity": 1,
            "reason_code": "15",
            "refund_state": "WAITING_SOMETHING_NEW",
            "state": "WAITING_REFUND",
            "commission_amount": 0.5,
            "commission_tax_amount": 0.1,
            "commission_taxes": [],
            "commission_total_amount": 0.6,
            "created_date": "2024-05-02T10:00:00Z",
            "new_refund_field": True,
        }
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orders": [order], "total_count": 1, "extra": 1})

    async def scenario() -> list[Any]:
        async with make_client(handler) as client:
            return [o async for o in client.list_orders()]

    (parsed,) = run(scenario())
    assert parsed.order_state == "SOME_FUTURE_STATE"
    assert parsed.order_state != OrderState.SHIPPING
    assert parsed.model_extra == {"brand_new_field": {"x": 1}}
    assert parsed.customer is not None and parsed.customer.shipping_address is None
    line = parsed.order_lines[0]
    assert line.order_line_state == "ANOTHER_NEW_STATE"
    assert line.refunds[0].amount == Decimal("5.5")
    assert line.refunds[0].refund_state == "WAITING_SOMETHING_NEW"


def test_known_state_compares_equal_to_the_string() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orders": [order_json("1-A")], "total_count": 1})

    async def scenario() -> list[Any]:
        async with make_client(handler) as client:
            return [o async for o in client.list_orders()]

    (parsed,) = run(scenario())
    assert parsed.order_state == OrderState.WAITING_ACCEPTANCE


# --------------------------------------------------------------------------- bodies


def test_write_bodies_follow_the_spec() -> None:
    bodies: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        bodies[request.url.path] = json.loads(request.content)
        if request.url.path == "/api/orders/refund":
            return httpx.Response(
                200,
                json={
                    "order_tax_mode": "TAX_INCLUDED",
                    "refunds": [
                        {
                            "refund_id": "1130",
                            "order_refund_id": "u-1",
                            "order_line_id": "1-A-1",
                            "amount": 10.5,
                            "shipping_amount": 0,
                            "quantity": 1,
                            "reason_code": "15",
                        }
                    ],
                },
            )
        return httpx.Response(204)

    refund = RefundRequest(
        order_line_id="1-A-1",
        amount=Decimal("10.50"),
        shipping_amount=Decimal("0"),
        reason_code="15",
        quantity=1,
    )

    async def scenario() -> Any:
        async with make_client(handler) as client:
            await client.accept_order("1-A", {"1-A-1": True, "1-A-2": False})
            await client.update_tracking("1-A", carrier_code="DHL", tracking_number="JD0001")
            return await client.refund([refund], order_tax_mode="TAX_INCLUDED")

    created = run(scenario())
    assert bodies["/api/orders/1-A/accept"] == {
        "order_lines": [{"id": "1-A-1", "accepted": True}, {"id": "1-A-2", "accepted": False}]
    }
    assert bodies["/api/orders/1-A/tracking"] == {
        "carrier_code": "DHL",
        "tracking_number": "JD0001",
    }
    assert bodies["/api/orders/refund"] == {
        "order_tax_mode": "TAX_INCLUDED",
        "refunds": [
            {
                "order_line_id": "1-A-1",
                "amount": 10.5,
                "shipping_amount": 0,
                "reason_code": "15",
                "quantity": 1,
            }
        ],
    }
    assert created.refunds[0].refund_id == "1130"


def test_update_tracking_needs_a_carrier() -> None:
    async def scenario() -> None:
        async with make_client(lambda r: httpx.Response(204)) as client:
            await client.update_tracking("1-A", tracking_number="X")

    with pytest.raises(ValueError, match="carrier"):
        run(scenario())


def test_create_shipments_chunks_by_1000_and_merges_results() -> None:
    sizes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        shipments = json.loads(request.content)["shipments"]
        sizes.append(len(shipments))
        success = [
            {"id": f"s-{s['order_id']}", "order_id": s["order_id"], "status": "SHIPPING"}
            for s in shipments[1:]
        ]
        errors = [{"order_id": shipments[0]["order_id"], "message": "nope"}]
        return httpx.Response(201, json={"shipment_success": success, "shipment_errors": errors})

    shipments = [
        NewShipment(
            order_id=f"{n}-A",
            shipment_lines=[ShipmentLine(order_line_id=f"{n}-A-1", quantity=1)],
        )
        for n in range(1500)
    ]

    async def scenario() -> Any:
        async with make_client(handler) as client:
            return await client.create_shipments(shipments)

    result = run(scenario())
    assert sizes == [1000, 500]
    assert len(result.shipment_success) == 1498
    assert [e.order_id for e in result.shipment_errors] == ["0-A", "1000-A"]


def test_export_chunk_on_another_host_gets_no_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"[]")

    async def scenario() -> None:
        async with make_client(handler) as client:
            await client.download_export_chunk("https://files.example.com/chunk-1.json?sig=abc")
            await client.download_export_chunk(f"{BASE}/api/offers/export/async/file/1")

    run(scenario())
    assert "Authorization" not in seen[0].headers
    assert "shop_id" not in query(seen[0])
    assert seen[1].headers["Authorization"] == API_KEY


# --------------------------------------------------------------------------- budgets


def test_budget_is_reserved_before_every_page_with_the_key() -> None:
    events: list[str] = []
    budget = RecordingBudget(events)

    def handler(request: httpx.Request) -> httpx.Response:
        events.append(f"call {request.url.path}")
        offset = int(query(request)["offset"][0])
        page = [order_json(f"{offset + n}-A") for n in range(100 if offset == 0 else 20)]
        return httpx.Response(200, json={"orders": page, "total_count": 120})

    async def scenario() -> None:
        async with make_client(handler, budget=budget, budget_scale=0.5) as client:
            _ = [o async for o in client.list_orders()]

    run(scenario())
    key = "mirakl:debenhams:2001:OR11"
    assert events == [f"reserve {key}", f"calling {key}", "call /api/orders"] * 2
    assert budget.reservations == [(key, Budget(1, 30.0))] * 2


def test_budget_wait_is_slept_before_the_call() -> None:
    events: list[str] = []
    budget = RecordingBudget(events, wait=12.5)

    def handler(request: httpx.Request) -> httpx.Response:
        events.append("call")
        return httpx.Response(201, json={"import_id": "5"})

    async def scenario() -> None:
        async with make_client(handler, budget=budget, sleeps=Sleeps(events)) as client:
            await client.import_stock(b"x")

    run(scenario())
    # Said calling after the sleep, just before the request: a process killed while it
    # slept leaves its slot to the next caller (``SqlCallBudget``).
    key = "mirakl:debenhams:2001:STO01"
    assert events == [f"reserve {key}", "sleep 12.5", f"calling {key}", "call"]


def test_tl02_reserves_both_budgets_on_every_page() -> None:
    budget = RecordingBudget()
    pages = [{"data": [{"id": "a"}], "next_page_token": "t"}, {"data": [{"id": "b"}]}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages.pop(0))

    async def scenario() -> None:
        async with make_client(handler, budget=budget) as client:
            _ = [line async for line in client.transaction_logs()]

    run(scenario())
    assert [b for _, b in budget.reservations] == [Budget(20, 60), Budget(60, 3600)] * 2


def test_iv01_pages_after_the_first_are_exempt() -> None:
    budget = RecordingBudget()

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(query(request)["offset"][0])
        invoices = [{"invoice_id": offset + n} for n in range(2)]
        return httpx.Response(200, json={"invoices": invoices, "total_count": 6})

    async def scenario() -> list[Any]:
        async with make_client(handler, budget=budget) as client:
            return [i async for i in client.invoices(page_size=2)]

    assert len(run(scenario())) == 6
    assert budget.reservations == [("mirakl:debenhams:2001:IV01", Budget(1, 86400))]


def test_full_offer_export_takes_the_daily_budget_too() -> None:
    budget = RecordingBudget()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tracking_id": "t-1"})

    async def scenario() -> None:
        async with make_client(handler, budget=budget) as client:
            await client.start_offer_export()
            await client.start_offer_export(last_request_date=datetime(2024, 5, 1, tzinfo=UTC))

    run(scenario())
    assert [key.rsplit(":", 2)[-2:] for key, _ in budget.reservations] == [
        ["2001", "OF52"],
        ["OF52", "full"],
        ["2001", "OF52"],
    ]


def test_budget_scale_zero_lifts_the_budget_with_the_default_store() -> None:
    sleeps = Sleeps()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orders": [], "total_count": 0})

    async def scenario() -> None:
        client = MiraklClient(
            BASE,
            API_KEY,
            transport=httpx.MockTransport(handler),
            budget_scale=0,
            sleep=sleeps,
        )
        async with client:
            for _ in range(3):
                _ = [o async for o in client.list_orders()]

    run(scenario())
    assert sleeps.calls == []


def test_default_budget_makes_the_second_or11_wait_a_minute() -> None:
    sleeps = Sleeps()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orders": [], "total_count": 0})

    async def scenario() -> None:
        async with MiraklClient(
            BASE, API_KEY, transport=httpx.MockTransport(handler), sleep=sleeps
        ) as client:
            for _ in range(2):
                _ = [o async for o in client.list_orders()]

    run(scenario())
    assert len(sleeps.calls) == 1
    assert 59.0 < sleeps.calls[0] <= 60.0


def test_an_order_read_as_the_hub_acts_on_it_takes_no_once_a_minute_slot() -> None:
    # Before (issue 10's soak): every read of one order (before a shipment, a refund, an
    # acceptance) took a slot of OR11's once-a-minute budget, so at 2,000 orders an hour
    # they queued for minutes and pushed every pull back. A read of given orders is
    # OR11's synchronous usage ("at each order page display"); the pulls stay
    # asynchronous, once a minute.
    from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi

    sleeps = Sleeps()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"orders": [order_json("7-A")], "total_count": 1})

    async def scenario() -> Any:
        async with MiraklClient(
            BASE, API_KEY, transport=httpx.MockTransport(handler), sleep=sleeps
        ) as client:
            _ = [o async for o in client.list_orders()]  # the pull takes this minute's slot
            api = MiraklDispatchApi(client, "debenhams")
            reads = [await api.order("7-A") for _ in range(3)]
            assert sleeps.calls == []
            _ = [o async for o in client.list_orders()]  # the next pull waits its minute
            return reads

    assert [r["order_id"] for r in run(scenario())] == ["7-A"] * 3
    assert len(sleeps.calls) == 1 and 59.0 < sleeps.calls[0] <= 60.0


def test_a_synchronous_or11_needs_the_orders_it_reads() -> None:
    async def scenario() -> None:
        async with make_client(lambda r: httpx.Response(200, json={})) as client:
            _ = [o async for o in client.list_orders(synchronous=True)]

    with pytest.raises(ValueError, match="order_ids"):
        run(scenario())
