"""The order store writes a pulled order only when it changed.

Each pull re-reads its overlap (orders updated shortly before its watermark); at a
1-second poll that is every order of the last minute, every second. Rewriting them all
made the pull the slowest part of an order's way in, so an unchanged read is not written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.orders import SqlOrderRepository, order_to_json
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.config import MarketplaceSettings
from mirakl_sync.domain.orders import MarketplaceOrder, OrderLine

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _order(state: str = "WAITING_ACCEPTANCE", updated: datetime = T0) -> MarketplaceOrder:
    order = MarketplaceOrder(
        marketplace="debenhams",
        order_id="2001-A",
        state=state,
        created_at=T0,
        last_updated_at=updated,
        currency="GBP",
        total_price=Decimal("49.99"),
        shipping_price=Decimal("0"),
        tax_mode="TAX_INCLUDED",
        lines=(OrderLine("2001-A-1", "SKU-1", 1, state, "Tent", Decimal("49.99")),),
    )
    return replace(order, raw=order_to_json(order))


def _updated_at(repository: SqlOrderRepository, engine: sa.Engine) -> datetime:
    with engine.connect() as connection:
        value = connection.execute(sa.select(marketplace_orders.c.updated_at)).scalar_one()
    assert isinstance(value, datetime)
    return value


def test_an_unchanged_order_read_again_is_not_written_a_changed_one_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade_database(url)
    engine = create_store_engine(url)
    repository = SqlOrderRepository(engine)
    assert repository.record_pulled(_order(), deadline=None, now=T0) is None
    first = _updated_at(repository, engine)

    # The next pull's overlap reads it again, unchanged: no write.
    later = T0 + timedelta(seconds=5)
    assert repository.record_pulled(_order(), deadline=None, now=later) is not None
    assert _updated_at(repository, engine) == first

    # Mirakl changed it: written, with the new state.
    accepted = _order("WAITING_DEBIT_PAYMENT", updated=T0 + timedelta(seconds=3))
    repository.record_pulled(accepted, deadline=None, now=later)
    assert _updated_at(repository, engine) > first
    stored = repository.get("debenhams", "2001-A")
    assert stored is not None and stored.order.state == "WAITING_DEBIT_PAYMENT"

    # An older read arriving late changes nothing.
    repository.record_pulled(_order(), deadline=None, now=later + timedelta(seconds=1))
    stored = repository.get("debenhams", "2001-A")
    assert stored is not None and stored.order.state == "WAITING_DEBIT_PAYMENT"
    engine.dispose()


def test_the_pull_overlap_defaults_to_five_polls_between_one_and_five_minutes() -> None:
    def market(**extra: object) -> MarketplaceSettings:
        return MarketplaceSettings.model_validate(
            {"code": "debenhams", "base_url": "http://x", "api_key": "k", **extra}
        )

    assert market().effective_order_overlap_seconds == 300  # the default 60 s poll
    assert market(order_poll_seconds=1).effective_order_overlap_seconds == 60
    assert market(order_poll_seconds=30).effective_order_overlap_seconds == 150
    assert market(order_poll_seconds=600).effective_order_overlap_seconds == 300
    # Said explicitly, it is kept as said.
    explicit = market(order_poll_seconds=1, order_overlap_seconds=5)
    assert explicit.effective_order_overlap_seconds == 5
