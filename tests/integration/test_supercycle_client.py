"""SupercycleClient against SupercycleEmulator, in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from mirakl_sync.adapters.supercycle.client import SupercycleClient
from mirakl_sync.adapters.supercycle.models import (
    ReturnLineUpdate,
    ReturnRequestLine,
    TimeFilter,
)
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.domain.item_availability import BlockScope, is_sellable
from mirakl_sync.errors import (
    AuthenticationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    RetryableError,
)
from mirakl_sync.sandbox.seed import SeedCatalogue, build_catalogue
from mirakl_sync.sandbox.supercycle import SupercycleEmulator

T = TypeVar("T")
BASE_URL = "http://supercycle.test/api/v1"
START = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FakeClock:
    """A clock that only moves when someone sleeps on it (or a test advances it)."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport and records every response status."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.statuses: list[int] = []
        self.urls: list[httpx.URL] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.statuses.append(response.status_code)
        self.urls.append(request.url)
        return response


@pytest.fixture(scope="module")
def catalogue() -> SeedCatalogue:
    return build_catalogue()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(catalogue: SeedCatalogue, clock: FakeClock) -> SupercycleEmulator:
    emulator = SupercycleEmulator(clock=clock)
    emulator.load_catalogue(catalogue)
    return emulator


def client_for(
    emulator: SupercycleEmulator,
    clock: FakeClock,
    *,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **options: Any,
) -> SupercycleClient:
    return SupercycleClient(
        BASE_URL,
        api_key or emulator.api_key,
        transport=transport or httpx.ASGITransport(app=emulator.asgi_app()),
        clock=clock,
        sleep=clock.sleep,
        **options,
    )


async def collect(iterator: Any) -> list[Any]:
    return [row async for row in iterator]


def with_client(
    emulator: SupercycleEmulator,
    clock: FakeClock,
    body: Callable[[SupercycleClient], Awaitable[T]],
    **options: Any,
) -> T:
    async def go() -> T:
        async with client_for(emulator, clock, **options) as client:
            return await body(client)

    return run(go())


# --- auth, paging, filters ---------------------------------------------------------------


def test_wrong_key_is_an_authentication_error(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    with pytest.raises(AuthenticationError) as raised:
        with_client(emulator, clock, lambda c: c.get_item(300_001), api_key="wrong-key")
    assert raised.value.status == 401
    assert isinstance(raised.value.__cause__, httpx.HTTPStatusError)
    assert "API key" in str(raised.value)


def test_paging_reaches_every_item_exactly_once(
    emulator: SupercycleEmulator, clock: FakeClock, catalogue: SeedCatalogue
) -> None:
    transport = RecordingTransport(httpx.ASGITransport(app=emulator.asgi_app()))
    items = with_client(
        emulator, clock, lambda c: collect(c.iter_items(page_size=40)), transport=transport
    )
    ids = [item.id for item in items]
    assert sorted(ids) == sorted(seed.id for seed in catalogue.items)
    assert len(set(ids)) == len(ids)
    expected_pages = -(-len(catalogue.items) // 40)
    assert len(transport.statuses) == expected_pages
    assert all("limit=40" in str(url) for url in transport.urls)


def test_filters_by_visibility_sku_serial_and_active_rental(
    emulator: SupercycleEmulator, clock: FakeClock, catalogue: SeedCatalogue
) -> None:
    seed_item = catalogue.items[10]
    _, variant = next((p, v) for p, v in catalogue.variants() if v.id == seed_item.variant_id)

    async def body(c: SupercycleClient) -> tuple[list[Any], ...]:
        return (
            await collect(c.iter_items(visibility="sold")),
            await collect(c.iter_items(sku=variant.sku)),
            await collect(c.iter_items(serial=seed_item.serial)),
            await collect(c.iter_items(with_active_rental=True)),
        )

    sold, by_sku, by_serial, rented = with_client(emulator, clock, body)
    assert {i.id for i in sold} == {s.id for s in catalogue.items if s.visibility == "sold"}
    assert {i.id for i in by_sku} == {
        s.id for s in catalogue.items if s.variant_id == seed_item.variant_id
    }
    assert [i.id for i in by_serial] == [seed_item.id]
    held = {r.item_id for r in emulator.state.rentals.values() if r.status != "received"}
    held -= {r.item_id for r in emulator.state.rentals.values() if r.status == "scheduled"}
    assert {i.id for i in rented} == held
    assert all(i.active_rental_id is not None for i in rented)


def test_updated_filter_returns_only_what_changed(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    loaded_at = clock.utc()

    async def body(c: SupercycleClient) -> tuple[list[Any], list[Any], list[Any]]:
        clock.advance(30)
        await c.update_item(300_010, pick_location="B2-01-A1")
        await c.update_rental(700_001, packing_status="packed")
        changed_items = await collect(c.iter_items(updated=TimeFilter(gt=loaded_at)))
        changed_rentals = await collect(c.iter_rentals(updated=TimeFilter(gt=loaded_at)))
        before = await collect(c.iter_items(updated=TimeFilter(lte=loaded_at), page_size=100))
        return changed_items, changed_rentals, before

    changed_items, changed_rentals, before = with_client(emulator, clock, body)
    # Updating a rental does not touch its item: only the item we edited is expected.
    assert [i.id for i in changed_items] == [300_010]
    assert changed_items[0].pick_location == "B2-01-A1"
    assert changed_items[0].updated_at is not None and changed_items[0].updated_at > loaded_at
    assert [r.id for r in changed_rentals] == [700_001]
    assert changed_rentals[0].packing_status == "packed"
    assert 300_010 not in {i.id for i in before}
    assert len(before) == len(emulator.state.items) - 1


def test_works_when_mounted_under_a_prefix(emulator: SupercycleEmulator, clock: FakeClock) -> None:
    host = Starlette(routes=[Mount("/supercycle", app=emulator.asgi_app())])

    async def go() -> Any:
        async with SupercycleClient(
            "http://sandbox.test/supercycle/api/v1",
            emulator.api_key,
            transport=httpx.ASGITransport(app=host),
            clock=clock,
            sleep=clock.sleep,
        ) as client:
            return await client.get_item(300_001)

    assert run(go()).id == 300_001


# --- writes --------------------------------------------------------------------------------


def test_selling_an_item_marks_it_sold_and_unsellable(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    target = next(
        i.id
        for i in sorted(emulator.state.items.values(), key=lambda i: i.id)
        if i.visibility == "available"
        and emulator.state.active_rental(i.id) is None
        and not emulator.state.blocks_on(i)
    )

    async def body(c: SupercycleClient) -> tuple[Any, Any, Any]:
        before = await c.get_item(target)
        clock.advance(5)
        sold = await c.mark_item_sold(target)
        return before, sold, await c.get_item(target)

    before, sold, after = with_client(emulator, clock, body)
    today = clock.utc().date()
    assert is_sellable(before.facts(), today)
    assert sold.visibility == after.visibility == "sold"
    assert after.updated_at is not None and before.updated_at is not None
    assert after.updated_at > before.updated_at
    assert not is_sellable(after.facts(), today)


def test_update_rejections_carry_supercycle_messages(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    with pytest.raises(PermanentError) as raised:
        with_client(emulator, clock, lambda c: c.update_item(300_001, visibility="lost"))
    assert raised.value.status == 422
    assert "visibility must be one of" in str(raised.value)
    assert not isinstance(raised.value, NotFoundError)

    with pytest.raises(NotFoundError):
        with_client(emulator, clock, lambda c: c.get_item(1))

    new_variant = next(  # a variant of a product that is NOT imported into Supercycle
        v.id for p in build_catalogue().products if not p.managed_by_supercycle for v in p.variants
    )
    with pytest.raises(PermanentError) as raised:
        with_client(emulator, clock, lambda c: c.create_items(new_variant, quantity=1))
    assert "not belong to a product imported" in str(raised.value)


def test_return_order_lifecycle(emulator: SupercycleEmulator, clock: FakeClock) -> None:
    rental_id = 700_001  # seeded: fulfilled calendar rental, item out with the customer
    item_id = emulator.state.rentals[rental_id].item_id
    today = clock.utc().date()

    async def request_and_receive(c: SupercycleClient) -> tuple[Any, Any, Any, Any]:
        created = await c.create_return_order([ReturnRequestLine(rental_id=rental_id)])
        order = created.return_orders[0]
        clock.advance(60)
        received = await c.update_return_order(
            order.id,
            lines=[
                ReturnLineUpdate(id=order.return_lines[0].id, status="received", condition_id=3)
            ],
        )
        return created, received, await c.get_item(item_id), await c.get_rental(rental_id)

    created, received, item, rental = with_client(emulator, clock, request_and_receive)
    assert created.errors == []
    order = created.return_orders[0]
    assert order.status == "requested"
    assert [line.status for line in order.return_lines] == ["awaiting"]
    assert order.return_lines[0].item is not None
    assert order.return_lines[0].item.active_return_id == order.id

    assert received.status == "received"
    assert received.return_lines[0].status == "received"
    assert item.status == "unprocessed"  # Not ready after a return...
    assert item.condition_id == 3  # ...with the line's condition copied
    assert item.visibility == "available"
    assert rental.status == "received" and rental.return_order_id == order.id
    # Processing status does not change availability, unless the brand requires Ready.
    assert is_sellable(item.facts(), today)
    assert not is_sellable(item.facts(), today, require_ready=True)

    emulator.restock_item(item_id)
    restocked, final = with_client(
        emulator,
        clock,
        lambda c: asyncio.gather(c.get_item(item_id), c.get_return_order(order.id)),
    )
    assert restocked.status == "processed" and restocked.active_return_id is None
    assert final.status == "completed"
    assert final.return_lines[0].restocked_at is not None


def test_returning_a_rental_twice_reports_supercycle_errors(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    returning = next(r for r in emulator.state.rentals.values() if r.return_order_id is not None)
    with pytest.raises(PermanentError) as raised:
        with_client(
            emulator,
            clock,
            lambda c: c.create_return_order([ReturnRequestLine(rental_id=returning.id)]),
        )
    assert raised.value.status == 422
    assert f"already in return {returning.return_order_id}" in str(raised.value)


def test_blocked_dates_round_trip_and_drive_the_rule(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    today = clock.utc().date()
    target = 300_020

    async def body(c: SupercycleClient) -> tuple[Any, list[Any], Any]:
        made = await c.create_blocked_date(
            "Item", target, first=today, last=today + timedelta(days=1), description="Repair"
        )
        active = await collect(c.iter_blocked_dates(active_from=today, active_to=today))
        return made, active, await c.get_item(target)

    made, active, item = with_client(emulator, clock, body)
    assert made.from_ == today and made.to == today + timedelta(days=1)
    assert made.id in {b.id for b in active}
    # The seeded product block ended yesterday: not active today.
    assert all(b.to is None or b.to >= today for b in active)
    blocks = [r for b in active if (r := b.blocked_range()) is not None]
    assert any(b.target_id == target for b in blocks)
    assert not is_sellable(item.facts(), today, blocks)
    assert is_sellable(item.facts(), today + timedelta(days=2), blocks) is (
        item.visibility == "available" and item.active_rental_id is None
    )


def test_availability_timeline_counts_free_items_per_day(
    emulator: SupercycleEmulator, clock: FakeClock
) -> None:
    state = emulator.state
    today = clock.utc().date()
    by_variant: dict[int, list[int]] = {}
    for item in sorted(state.items.values(), key=lambda i: i.id):
        if item.visibility == "available":
            by_variant.setdefault(item.shopify_variant_id, []).append(item.id)
    # A variant with two or more available items, none rented or blocked yet.
    variant_id, free = next(
        (v, ids)
        for v, ids in by_variant.items()
        if len(ids) >= 2
        and not any(r.item_id in ids for r in state.rentals.values())
        and not any(state.blocks_on(state.items[i]) for i in ids)
    )
    total = len(free)
    emulator.create_rental(free[0], first=today + timedelta(days=2), last=today + timedelta(days=4))
    emulator.block(BlockScope.ITEM, free[1], today + timedelta(days=1), today + timedelta(days=1))

    timeline = with_client(emulator, clock, lambda c: c.get_availability_timeline(variant_id))
    assert timeline.inventory_count == total
    assert len(timeline.occupancy) == 365
    assert timeline.occupancy[today] == total
    assert timeline.occupancy[today + timedelta(days=1)] == total - 1  # blocked day
    assert timeline.occupancy[today + timedelta(days=2)] == total - 1  # rental starts
    assert timeline.occupancy[today + timedelta(days=4)] == total - 1  # inclusive end
    assert timeline.occupancy[today + timedelta(days=5)] == total
    assert timeline.uncommited_inventory_count == total  # the rental has not started


# --- rate limits and transport failures -----------------------------------------------


def test_429_retry_after_is_honoured(catalogue: SeedCatalogue, clock: FakeClock) -> None:
    emulator = SupercycleEmulator(clock=clock, rate_limit_per_minute=3)
    emulator.load_catalogue(catalogue)
    transport = RecordingTransport(httpx.ASGITransport(app=emulator.asgi_app()))

    async def body(c: SupercycleClient) -> list[Any]:
        return [await c.get_item(300_001) for _ in range(5)]

    # A client budget far above the server's, so the server's 429 is what paces us.
    items = with_client(emulator, clock, body, transport=transport, budget=Budget(1000, 60.0))
    assert [i.id for i in items] == [300_001] * 5
    # Three calls fill the minute; the fourth is refused with Retry-After: 60, the
    # client waits exactly that, and the window is clear for the rest.
    assert transport.statuses == [200, 200, 200, 429, 200, 200]
    assert 60 in clock.sleeps


def test_429_beyond_retries_raises_rate_limited(catalogue: SeedCatalogue, clock: FakeClock) -> None:
    emulator = SupercycleEmulator(clock=clock, rate_limit_per_minute=1)
    emulator.load_catalogue(catalogue)

    async def body(c: SupercycleClient) -> None:
        await c.get_item(300_001)
        await c.get_item(300_001)

    with pytest.raises(RateLimitedError) as raised:
        with_client(emulator, clock, body, max_retries=0, budget=Budget(1000, 60.0))
    assert raised.value.retry_after is not None and 0 < raised.value.retry_after <= 60


def test_client_budget_keeps_under_the_limit(catalogue: SeedCatalogue, clock: FakeClock) -> None:
    emulator = SupercycleEmulator(clock=clock, rate_limit_per_minute=6, timelines_per_minute=2)
    emulator.load_catalogue(catalogue)
    transport = RecordingTransport(httpx.ASGITransport(app=emulator.asgi_app()))
    variant_id = emulator.state.items[300_001].shopify_variant_id

    async def body(c: SupercycleClient) -> None:
        for _ in range(3):
            await c.get_availability_timeline(variant_id)
        for _ in range(7):
            await c.get_item(300_001)

    with_client(
        emulator,
        clock,
        body,
        transport=transport,
        budget=Budget(6, 60.0),
        timelines_budget=Budget(2, 60.0),
    )
    assert transport.statuses == [200] * 10
    assert sum(clock.sleeps) >= 60  # it did have to wait, rather than being refused


def test_server_errors_and_timeouts_are_retried_then_retryable(clock: FakeClock) -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if len(calls) == 2:
            return httpx.Response(503, json={"errors": ["maintenance"]})
        return httpx.Response(200, json={"id": 5, "visibility": "available", "status": "processed"})

    async def go(handler: Callable[[httpx.Request], httpx.Response], retries: int) -> Any:
        async with SupercycleClient(
            BASE_URL,
            "k",
            transport=httpx.MockTransport(handler),
            clock=clock,
            sleep=clock.sleep,
            max_retries=retries,
        ) as client:
            return await client.get_item(5)

    assert run(go(flaky, 3)).id == 5
    assert len(calls) == 3

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, json={"errors": ["bad gateway"]})

    with pytest.raises(RetryableError) as raised:
        run(go(down, 2))
    assert raised.value.status == 502 and "bad gateway" in str(raised.value)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RetryableError) as raised:
        run(go(unreachable, 1))
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_creations_are_not_replayed_after_an_ambiguous_failure(clock: FakeClock) -> None:
    posts: list[str] = []

    def timeout_then_ok(request: httpx.Request) -> httpx.Response:
        posts.append(request.method)
        if len(posts) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"errors": [], "returnOrders": []})

    async def go() -> Any:
        async with SupercycleClient(
            BASE_URL,
            "k",
            transport=httpx.MockTransport(timeout_then_ok),
            clock=clock,
            sleep=clock.sleep,
            max_retries=3,
        ) as client:
            return await client.create_return_order([ReturnRequestLine(rental_id=1)])

    with pytest.raises(RetryableError):
        run(go())
    assert posts == ["POST"]  # the return may exist now: never sent twice blindly
