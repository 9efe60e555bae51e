"""The order pull never duplicates and never misses an order, however its polls overlap.

``pull_orders`` runs here against the in-process Mirakl emulator through the real
``MiraklClient`` and ``MiraklMarketplace``, and stores into the real
``SqlOrderRepository`` (SQLite, migrated). A test double between client and emulator
(:class:`PagedOrders`) serves OR11 in pages of two, so a handful of orders spans several
pages as hundreds do in production, lets a test act between two page fetches (customers
ordering, the hub deciding an order), and moves the emulator's clock a minute per page
(each OR11 page waits for a slot of a one-call-a-minute budget). No test sleeps.

What is proved:

- orders placed while a pull walks its pages are stored once and imported once;
- an order updated mid-walk that jumps ahead of the offset (the listing shifts, one order
  is served twice) is deduplicated now and read by the next pull, because the watermark
  never moves beyond the cycle's start;
- orders sharing one ``last_updated_date`` straddling the watermark are read by the next
  pull (the boundary is inclusive) without a duplicate;
- a known order's later change is a follow-up with its state re-stored, never a new import;
- after downtime longer than the overlap, the next pull backfills from the last stored
  update, not from "now".

``marketplace_orders`` is keyed by (marketplace, order_id), so a second row for an order
cannot exist; "stored exactly once" is therefore checked as: the stored ids are exactly the
placed ones, and each order is counted ``new`` by exactly one pull.

Every test passes ``full_sweep=False``: the daily sweep of open orders is a safety net
that would hide a hole in the date window, and the window is what is under test.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from orders_sandbox import hub_settings
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Mount

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.marketplace import MiraklMarketplace
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.orders import HubStatus
from mirakl_sync.sandbox.mirakl import EmulatedMarketplace, MiraklEmulator
from mirakl_sync.sandbox.server import MARKETPLACES
from mirakl_sync.services.order_pull import WATERMARK_FLOW, PullResult, pull_orders
from mirakl_sync.workflows.orders import pull_settings

MARKET = MARKETPLACES[0]
CODE = MARKET.code
SKU = "FJ-OVERLAP-TENT"
#: A whole second, so every emulator date is exact at Mirakl's millisecond precision.
T0 = 1_700_000_000.0
PAGE_SIZE = 2
#: The real client waits for a slot of OR11's 1/min budget before each page.
SECONDS_PER_PAGE = 60.0


class FakeClock:
    """The emulator's clock, moved by hand (and by :class:`PagedOrders`)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def at(self, when: float) -> None:
        assert when >= self.now, "the clock only moves forward"
        self.now = when


@dataclass(frozen=True)
class ServedPage:
    """One OR11 page as the emulator served it."""

    offset: int
    order_ids: list[str]
    total: int

    @property
    def last(self) -> bool:
        # The client stops when offset + items reaches the total *of this answer*:
        # whatever is placed after this page is served is left for the next pull.
        return self.offset + len(self.order_ids) >= self.total


PageHook = Callable[[ServedPage], Awaitable[None]]


class PagedOrders(httpx.AsyncBaseTransport):
    """Between the client and the emulator: small OR11 pages, a hook, a clock per page.

    ``MiraklMarketplace`` asks for Mirakl's largest page (``max=100``); lowering ``max``
    here gives several pages with a few orders, and the client's offset walk copes with
    a short page as it must with a real one. ``after_page`` runs once a page is answered
    and before the client asks for the next, i.e. between two page fetches.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        clock: FakeClock,
        *,
        page_size: int,
        seconds_per_page: float,
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.page_size = page_size
        self.seconds_per_page = seconds_per_page
        self.pages: list[ServedPage] = []
        self.after_page: PageHook | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" or not request.url.path.endswith("/api/orders"):
            return await self.inner.handle_async_request(request)
        request.url = request.url.copy_set_param("max", str(self.page_size))
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        data = json.loads(body)
        page = ServedPage(
            offset=int(request.url.params.get("offset", "0")),
            order_ids=[order["order_id"] for order in data["orders"]],
            total=int(data["total_count"]),
        )
        self.pages.append(page)
        if self.after_page is not None:
            await self.after_page(page)
        self.clock.advance(self.seconds_per_page)
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    @property
    def listed(self) -> list[str]:
        """Every order id served in the current walk, in order, repeats included."""
        return [oid for page in self.pages for oid in page.order_ids]


class Harness:
    """One emulated marketplace, the hub's store, and a pull cycle as the workflow runs it."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        overlap_seconds: float = 300.0,
        seconds_per_page: float = SECONDS_PER_PAGE,
        acceptance_window_seconds: float = 72 * 3600.0,
    ) -> None:
        self.clock = FakeClock(T0)
        self.emulator = MiraklEmulator(
            [
                EmulatedMarketplace(
                    code=CODE, name=MARKET.name, api_key=MARKET.api_key, shop_id=MARKET.shop_id
                )
            ],
            clock=self.clock,
            call_frequency_scale=0,
            acceptance_window_seconds=acceptance_window_seconds,
        )
        self.emulator.load_offers(
            CODE,
            [{"shop_sku": SKU, "product_id": "5012345678900", "price": 189.0, "quantity": 10_000}],
        )
        # Mounted as the sandbox mounts it, so the hub's base_url is used unchanged.
        app = Starlette(routes=[Mount("/mirakl", app=self.emulator.asgi_app())])
        self.inner = httpx.ASGITransport(app=app)
        self.pager = PagedOrders(
            self.inner, self.clock, page_size=PAGE_SIZE, seconds_per_page=seconds_per_page
        )
        settings = hub_settings(tmp_path, order_overlap_seconds=overlap_seconds)
        upgrade_database(settings.database_url)
        self.market = settings.marketplace(CODE)
        self.engine = create_store_engine(settings.database_url)
        self.repository = SqlOrderRepository(self.engine)

    # -- the marketplace side

    def place(self, count: int, *, spacing: float = 0.0) -> list[str]:
        """``count`` customer orders, ``spacing`` seconds apart (0: the same instant)."""
        placed = []
        for _ in range(count):
            placed.append(self.emulator.place_order(CODE, [(SKU, 1)]))
            self.clock.advance(spacing)
        return placed

    def last_updated(self, order_id: str) -> float:
        return self.emulator.market(CODE).orders[order_id].last_updated

    # -- the hub side

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _client(self, transport: httpx.AsyncBaseTransport) -> MiraklClient:
        return MiraklClient(
            self.market.base_url,
            self.market.api_key.get_secret_value(),
            shop_id=self.market.shop_id,
            marketplace=CODE,
            transport=transport,
            budget_scale=0,
        )

    def pull(self, after_page: PageHook | None = None) -> PullResult:
        """One cycle; ``now`` is read when it starts, as ``pull_step`` does."""

        async def cycle() -> PullResult:
            self.pager.pages = []
            self.pager.after_page = after_page
            try:
                async with self._client(self.pager) as mirakl:
                    return await pull_orders(
                        MiraklMarketplace(mirakl, CODE),
                        self.repository,
                        pull_settings(self.market),
                        now=self.now(),
                        full_sweep=False,
                    )
            finally:
                self.pager.after_page = None

        return asyncio.run(cycle())

    async def decide(self, order_id: str) -> None:
        """What the import workflow does once it has decided: OR21 (accept every line)
        through its own client, then the hub status."""
        stored = self.repository.get(CODE, order_id)
        assert stored is not None
        async with self._client(self.inner) as mirakl:
            await MiraklMarketplace(mirakl, CODE).decide(
                order_id, {line.line_id: True for line in stored.order.lines}
            )
        self.repository.set_status(CODE, order_id, HubStatus.ACCEPTED, self.now())

    def decide_now(self, order_ids: list[str]) -> None:
        async def all_of_them() -> None:
            for order_id in order_ids:
                await self.decide(order_id)

        asyncio.run(all_of_them())

    def stored_ids(self) -> set[str]:
        t = marketplace_orders
        with self.engine.connect() as connection:
            rows = connection.execute(select(t.c.order_id).where(t.c.marketplace == CODE)).all()
        return {row.order_id for row in rows}

    def stored_state(self, order_id: str) -> str:
        stored = self.repository.get(CODE, order_id)
        assert stored is not None, f"{order_id} is not stored"
        return stored.order.state

    def hub_status(self, order_id: str) -> HubStatus:
        stored = self.repository.get(CODE, order_id)
        assert stored is not None, f"{order_id} is not stored"
        return stored.hub_status

    def watermark(self) -> str | None:
        return self.repository.cursor(WATERMARK_FLOW, CODE)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def assert_no_repeats(result: PullResult) -> None:
    repeats = [oid for oid, n in Counter(result.imports).items() if n > 1]
    assert repeats == [], f"one pull asked to import {repeats} more than once"


# --------------------------------------------------------------------------- tests


def test_orders_placed_between_page_fetches_are_stored_once_and_imported_once(
    tmp_path: Path,
) -> None:
    h = Harness(tmp_path)
    before = h.place(5, spacing=1)
    h.clock.advance(10)
    during: list[str] = []  # placed after page 1: appended to this very listing
    after: list[str] = []  # placed after the last page: this walk has ended for them

    async def customers_keep_ordering(page: ServedPage) -> None:
        if len(h.pager.pages) == 1:
            during.extend(h.place(2))
        elif page.last and not after:
            after.extend(h.place(2))

    first = h.pull(after_page=customers_keep_ordering)

    # The scenario happened: several pages, new orders between them, some after the end.
    assert len(h.pager.pages) >= 3
    assert during and after
    assert set(during) <= set(h.pager.listed)
    assert not set(after) & set(h.pager.listed)
    assert_no_repeats(first)
    assert first.imports == before + during  # oldest first
    assert first.new == len(before + during)
    assert h.stored_ids() == set(before + during)

    # The import workflows decide all but one; that one is held up (an unmapped SKU).
    held, decided = first.imports[0], first.imports[1:]
    h.repository.set_status(CODE, held, HubStatus.WAITING, h.now())
    h.decide_now(decided)
    h.clock.advance(SECONDS_PER_PAGE)

    second = h.pull()

    assert h.stored_ids() == set(before + during + after)
    # Each order was new to exactly one pull: none lost, none stored twice.
    assert first.new + second.new == len(before + during + after)
    assert second.new == len(after)
    assert_no_repeats(second)
    # The decided orders changed on Mirakl (accepted, then debited): follow-ups, not imports.
    assert set(second.followups) == set(decided)
    imported = Counter(first.imports + second.imports)
    assert all(imported[oid] == 1 for oid in decided + after), imported
    # The held-up order is listed again on purpose (retried every cycle). Harmless: the
    # workflow's plan_step skips an order whose import is still running, and the import's
    # workflow id is keyed by the order (order:<marketplace>:<order_id>), so a second
    # listing never starts a second import of it alongside the first.
    assert imported[held] == 2


def test_an_order_updated_mid_walk_ahead_of_the_offset_is_read_by_the_next_pull(
    tmp_path: Path,
) -> None:
    # An overlap shorter than a walk (five pages take five minutes at 1 OR11/min): only
    # the watermark's cap at the cycle's start can save an order the walk skipped.
    overlap = 60.0
    h = Harness(tmp_path, overlap_seconds=overlap)
    late = h.place(1, spacing=600)[0]  # updated long before the next window opens
    h.place(1)
    h.clock.advance(10)
    first = h.pull()
    assert first.new == 2
    h.clock.advance(3600)
    batch = h.place(4, spacing=1)
    placed_mid_walk: list[str] = []

    async def import_decides_and_customers_order(page: ServedPage) -> None:
        if len(h.pager.pages) == 1:
            # The import workflow of ``late`` sends OR21 now: its last_updated_date jumps
            # into the window, and as the listing is sorted by creation it lands *before*
            # the offset, shifting everything after it by one.
            await h.decide(late)
        if len(h.pager.pages) <= 5:
            placed_mid_walk.extend(h.place(1))

    second = h.pull(after_page=import_decides_and_customers_order)

    listed = Counter(h.pager.listed)
    # The shift happened: one order was served twice, and ``late`` not at all.
    assert any(n > 1 for n in listed.values()), listed
    assert late not in listed
    # Orders created long after late's update were read, so a watermark taken from them
    # would be past it by more than the overlap.
    newest_read = max(h.last_updated(oid) for oid in listed)
    assert newest_read - h.last_updated(late) > overlap
    # This pull: each order once, however often it was listed.
    assert_no_repeats(second)
    assert second.seen == len(listed)
    assert second.new == len(batch) + len(set(placed_mid_walk) & set(listed))
    assert h.stored_state(late) == OrderState.WAITING_ACCEPTANCE  # not read yet

    third = h.pull()

    assert h.stored_state(late) != OrderState.WAITING_ACCEPTANCE  # the accepted order, re-stored
    assert late in third.followups
    assert late not in third.imports
    assert_no_repeats(third)
    everything = {late, *first.imports, *batch, *placed_mid_walk}
    assert h.stored_ids() == everything
    assert first.new + second.new + third.new == len(everything)


@pytest.mark.parametrize("overlap", [0.0, 300.0], ids=["no-overlap", "overlap-300s"])
def test_orders_sharing_the_watermark_timestamp_are_read_next_pull_without_duplicates(
    tmp_path: Path, overlap: float
) -> None:
    # The clock stands still during the walk: every order is created (and last updated)
    # at exactly T0, the timestamp the watermark will hold.
    h = Harness(tmp_path, overlap_seconds=overlap, seconds_per_page=0)
    first_batch = h.place(3)
    during: list[str] = []
    after: list[str] = []

    async def same_instant_orders(page: ServedPage) -> None:
        if len(h.pager.pages) == 1:
            during.extend(h.place(2))
        elif page.last and not after:
            after.extend(h.place(2))

    first = h.pull(after_page=same_instant_orders)

    everything = first_batch + during + after
    assert {h.last_updated(oid) for oid in everything} == {T0}
    assert h.watermark() == iso(T0)  # on the shared timestamp, with orders on both sides
    assert first.new == len(first_batch + during)
    assert not set(after) & h.stored_ids()

    h.clock.advance(30)
    second = h.pull()

    # Mirakl's start_update_date is inclusive: the whole instant is read again.
    assert second.seen == len(everything)
    assert second.new == len(after)
    assert h.stored_ids() == set(everything)
    assert_no_repeats(second)
    assert set(after) <= set(second.imports)


def test_a_stored_order_changed_after_the_watermark_passed_it_is_a_followup(
    tmp_path: Path,
) -> None:
    # The emulated marketplace refuses an order nobody accepted after an hour.
    h = Harness(tmp_path, acceptance_window_seconds=3600)
    undecided = h.place(1, spacing=600)[0]
    accepted = h.place(1)[0]
    h.clock.advance(10)
    first = h.pull()
    assert first.imports == [undecided, accepted]
    # The watermark is past the undecided order's last update, overlap included: only
    # a new update brings it back into the window.
    watermark = datetime.fromisoformat(h.watermark() or "").timestamp()
    assert watermark - 300 > h.last_updated(undecided)

    h.decide_now([accepted])  # OR21; Mirakl debits the customer five seconds later
    h.clock.at(T0 + 3700)  # the undecided one was auto-refused at T0 + 3600

    second = h.pull()

    assert second.new == 0
    assert second.imports == []
    assert second.followups == {undecided: "REFUSED", accepted: "SHIPPING"}
    assert h.stored_ids() == {undecided, accepted}
    assert h.stored_state(undecided) == "REFUSED"
    assert h.stored_state(accepted) == "SHIPPING"
    # The pull only reports; the follow-up workflows move the hub's status.
    assert h.hub_status(undecided) is HubStatus.NEW
    assert h.hub_status(accepted) is HubStatus.ACCEPTED


def test_after_downtime_longer_than_the_overlap_the_pull_backfills_from_the_watermark(
    tmp_path: Path,
) -> None:
    overlap = 300.0
    h = Harness(tmp_path, overlap_seconds=overlap, acceptance_window_seconds=2 * 3600)
    before = h.place(1)[0]
    h.clock.advance(10)
    h.pull()
    # The watermark is the last update read, not the time of the pull.
    assert h.watermark() == iso(h.last_updated(before))

    # Three hours without a pull (hub down), customers ordering meanwhile.
    h.clock.at(T0 + 1800)
    expired = h.place(1)[0]  # auto-refused at T0 + 9000, before the hub is back
    h.clock.at(T0 + 7200)
    waiting = h.place(1)
    h.clock.at(T0 + 10_200)
    waiting += h.place(1)
    h.clock.at(T0 + 10_800)
    assert h.clock() - datetime.fromisoformat(h.watermark() or "").timestamp() > 10 * overlap

    back = h.pull()

    assert h.stored_ids() == {before, expired, *waiting}
    assert back.new == 3
    assert h.stored_state(expired) == "REFUSED"  # found, though Mirakl decided it alone
    assert back.imports == waiting
    assert_no_repeats(back)
