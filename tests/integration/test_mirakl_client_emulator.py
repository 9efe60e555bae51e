"""MiraklClient against the Mirakl emulator (in-process, httpx.ASGITransport).

One order is driven through the seller's whole part of its life (OR11 -> OR21 -> OR23 ->
OR24 -> OR28) and a stock file goes through STO01 -> STO02 (-> STO03 for a bad line),
with the emulator's clock moved by hand so its time rules run in no time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest

from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.csv_files import StockLine
from mirakl_sync.adapters.mirakl.models import (
    ImportStatus,
    OrderLineState,
    OrderState,
    ReasonType,
    RefundRequest,
)
from mirakl_sync.errors import AuthenticationError, PermanentError
from mirakl_sync.sandbox.mirakl import EmulatedMarketplace, MiraklEmulator

T = TypeVar("T")
CODE = "debenhams"
KEY = "emulated-shop-key"
SKU = "FJ-TENT-2P-GRN"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> MiraklEmulator:
    emu = MiraklEmulator(
        [EmulatedMarketplace(code=CODE, name="Debenhams", api_key=KEY, shop_id=2001)],
        clock=clock,
        call_frequency_scale=0,
        import_processing_seconds=2,
        debit_delay_seconds=5,
        refund_delay_seconds=10,
    )
    emu.load_offers(
        CODE,
        [{"shop_sku": SKU, "product_id": "5012345678900", "price": 189.0, "quantity": 10}],
    )
    return emu


def client_for(emulator: MiraklEmulator, key: str = KEY) -> MiraklClient:
    return MiraklClient(
        f"http://mirakl.sandbox/{CODE}",
        key,
        shop_id=2001,
        marketplace=CODE,
        transport=httpx.ASGITransport(app=emulator.asgi_app()),
        budget_scale=0,
    )


def test_order_lifecycle_accept_track_ship_refund(
    emulator: MiraklEmulator, clock: FakeClock
) -> None:
    order_id = emulator.place_order(CODE, lines=[(SKU, 2)])

    async def scenario() -> None:
        async with client_for(emulator) as mirakl:
            waiting = [
                o
                async for o in mirakl.list_orders(order_state_codes=[OrderState.WAITING_ACCEPTANCE])
            ]
            assert [o.order_id for o in waiting] == [order_id]
            (order,) = waiting
            (line,) = order.order_lines
            assert line.offer_sku == SKU
            assert line.quantity == 2

            await mirakl.accept_order(order_id, {line.order_line_id: True})
            clock.advance(6)  # the emulator debits the customer after 5 s
            (order,) = [o async for o in mirakl.list_orders(order_ids=[order_id])]
            assert order.order_state == OrderState.SHIPPING

            carriers = await mirakl.carriers()
            assert carriers
            await mirakl.update_tracking(
                order_id, carrier_code=carriers[0].code, tracking_number="JD0001234"
            )
            await mirakl.ship_order(order_id)
            (order,) = [o async for o in mirakl.list_orders(order_ids=[order_id])]
            assert order.order_state == OrderState.SHIPPED
            assert order.shipping_tracking == "JD0001234"

            # A second OR24 is refused with Mirakl's message: the order is not SHIPPING.
            with pytest.raises(PermanentError) as refused:
                await mirakl.ship_order(order_id)
            assert refused.value.status == 400

            reasons = [
                r for r in await mirakl.reasons() if r.type == ReasonType.REFUND and r.is_shop_right
            ]
            assert reasons
            (line,) = order.order_lines
            refund = RefundRequest(
                order_line_id=line.order_line_id,
                amount=line.price or Decimal("0"),
                shipping_amount=Decimal("0"),
                reason_code=reasons[0].code,
                quantity=line.quantity,
                taxes=[{"code": t.code, "amount": t.amount} for t in line.taxes] or None,
            )
            created = await mirakl.refund([refund])
            assert [r.order_line_id for r in created.refunds] == [line.order_line_id]
            (order,) = [o async for o in mirakl.list_orders(order_ids=[order_id])]
            (line,) = order.order_lines
            assert [r.id for r in line.refunds] == [created.refunds[0].refund_id]
            clock.advance(11)
            (order,) = [o async for o in mirakl.list_orders(order_ids=[order_id])]
            assert order.order_lines[0].order_line_state == OrderLineState.REFUNDED

    run(scenario())


def test_stock_import_and_status(emulator: MiraklEmulator, clock: FakeClock) -> None:
    async def scenario() -> None:
        async with client_for(emulator) as mirakl:
            created = await mirakl.import_stock([StockLine(SKU, 3), StockLine("NO-SUCH-OFFER", 5)])
            status = await mirakl.stock_import_status(created.import_id)
            assert status.import_id == created.import_id
            assert status.status in (ImportStatus.WAITING, ImportStatus.RUNNING)
            clock.advance(3)
            status = await mirakl.stock_import_status(created.import_id)
            assert status.status == ImportStatus.COMPLETE
            assert status.lines_in_success == 1
            assert status.lines_in_error == 1
            assert status.has_error_report
            errors = await mirakl.stock_import_error_report(created.import_id)
            assert len(errors) == 1
            assert errors[0].message
            offers = [o async for o in mirakl.list_offers(sku=SKU)]
            assert [(o.shop_sku, o.quantity) for o in offers] == [(SKU, 3)]

    run(scenario())


def test_wrong_key_is_an_authentication_error(emulator: MiraklEmulator) -> None:
    async def scenario() -> None:
        async with client_for(emulator, key="not-the-key") as mirakl:
            await mirakl.account()

    with pytest.raises(AuthenticationError):
        run(scenario())


def test_reference_data_and_configuration(emulator: MiraklEmulator) -> None:
    async def scenario() -> None:
        async with client_for(emulator) as mirakl:
            await mirakl.version()
            account = await mirakl.account()
            assert account.shop_id == 2001
            config = await mirakl.platform_configuration()
            assert config.multi_shipment is True
            conditions = await mirakl.offer_conditions()
            assert "11" in {c.code for c in conditions}

    run(scenario())
