"""The stock ledger in the store: holds on the pool, serialised per stock key.

A hold first bumps the key's row in ``stock_keys`` (an ``UPDATE`` takes PostgreSQL's
row lock, and SQLite's write lock), then sums the other holds and inserts its own, all
in one transaction. Two processes deciding on the same unique item therefore queue
behind each other: the second sees the first's hold and is refused. A committed hold
still counts against a source read made before (or just after) its commit
(``domain.stock_pool.counted_since``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mirakl_sync.adapters.store.tables import stock_keys, stock_reservations
from mirakl_sync.domain.stock_pool import (
    HoldDecision,
    HoldOutcome,
    LineHold,
    Reservation,
    ReservationStatus,
    counted_since,
    decide_hold,
)


class SqlStockLedger:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def hold(
        self,
        request: LineHold,
        *,
        source_available: int,
        now: datetime,
        read_at: datetime | None = None,
    ) -> HoldOutcome:
        with self._engine.begin() as connection:
            self._lock_key(connection, request.sku)
            existing = self._find(connection, request.marketplace, request.order_line_id)
            if existing is not None:
                granted = existing.status is not ReservationStatus.RELEASED
                return HoldOutcome(
                    HoldDecision(granted=granted, free=source_available),
                    existing if granted else None,
                    existing=True,
                )
            # Held, or committed too recently for the source read to reflect it.
            reflected_before = counted_since(read_at or now)
            held_by_others = connection.execute(
                select(func.coalesce(func.sum(stock_reservations.c.quantity), 0))
                .where(stock_reservations.c.sku == request.sku)
                .where(
                    or_(
                        stock_reservations.c.status == ReservationStatus.HELD.value,
                        and_(
                            stock_reservations.c.status == ReservationStatus.COMMITTED.value,
                            stock_reservations.c.updated_at >= reflected_before,
                        ),
                    )
                )
            ).scalar_one()
            decision = decide_hold(
                source_available=source_available,
                held_by_others=int(held_by_others),
                requested=request.quantity,
            )
            if not decision.granted:
                return HoldOutcome(decision, None)
            connection.execute(
                insert(stock_reservations).values(
                    sku=request.sku,
                    marketplace=request.marketplace,
                    order_id=request.order_id,
                    order_line_id=request.order_line_id,
                    quantity=request.quantity,
                    status=ReservationStatus.HELD.value,
                    created_at=now,
                    updated_at=now,
                )
            )
        return HoldOutcome(
            decision,
            Reservation(
                request.sku,
                request.marketplace,
                request.order_id,
                request.order_line_id,
                request.quantity,
                ReservationStatus.HELD,
            ),
        )

    def commit(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        return self._move(marketplace, order_line_id, ReservationStatus.COMMITTED, now)

    def release(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        return self._move(marketplace, order_line_id, ReservationStatus.RELEASED, now)

    def reservation(self, marketplace: str, order_line_id: str) -> Reservation | None:
        with self._engine.connect() as connection:
            return self._find(connection, marketplace, order_line_id)

    def held_quantities(self, skus: list[str] | None = None) -> dict[str, int]:
        query = (
            select(stock_reservations.c.sku, func.sum(stock_reservations.c.quantity))
            .where(stock_reservations.c.status == ReservationStatus.HELD.value)
            .group_by(stock_reservations.c.sku)
        )
        if skus is not None:
            query = query.where(stock_reservations.c.sku.in_(skus))
        with self._engine.connect() as connection:
            return {str(sku): int(total) for sku, total in connection.execute(query).all()}

    def _move(
        self, marketplace: str, order_line_id: str, status: ReservationStatus, now: datetime
    ) -> bool:
        """Change a reservation's status; False if there is none or it is already there.

        A released reservation stays released: stock given back is never taken again
        by a late, repeated step.
        """
        statement = (
            update(stock_reservations)
            .where(stock_reservations.c.marketplace == marketplace)
            .where(stock_reservations.c.order_line_id == order_line_id)
            .where(stock_reservations.c.status != status.value)
            .where(stock_reservations.c.status != ReservationStatus.RELEASED.value)
            .values(status=status.value, updated_at=now)
        )
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def _lock_key(self, connection: Connection, sku: str) -> None:
        connection.execute(
            self._insert(stock_keys).values(sku=sku, version=0).on_conflict_do_nothing()
        )
        connection.execute(
            update(stock_keys)
            .where(stock_keys.c.sku == sku)
            .values(version=stock_keys.c.version + 1)
        )

    @staticmethod
    def _find(connection: Connection, marketplace: str, order_line_id: str) -> Reservation | None:
        row = connection.execute(
            select(stock_reservations)
            .where(stock_reservations.c.marketplace == marketplace)
            .where(stock_reservations.c.order_line_id == order_line_id)
        ).first()
        if row is None:
            return None
        return Reservation(
            row.sku,
            row.marketplace,
            row.order_id,
            row.order_line_id,
            row.quantity,
            ReservationStatus(row.status),
        )
