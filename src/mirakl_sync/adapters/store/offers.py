"""Offer states and marketplace imports in the store (``offer_states``, ``marketplace_imports``).

One ``offer_states`` row per marketplace and offer SKU holds what the hub last decided
(``desired_*``), what it last sent (``sent_*``) and what the marketplace last showed
(``marketplace_quantity``), with the stock status:

- ``pending``: a new quantity waits for the next stock slot;
- ``superseded``: the last sent quantity was overtaken by a newer one before its import
  finished; the newer one waits for the next slot;
- ``sent``: the quantity went out in ``import_id``;
- ``error``: the marketplace refused the line (STO03); ``message`` says why;
- ``skipped``: nothing to send (the offer could not be listed; ``message`` says why).

Prices need no status: an offer's price is pending while ``desired_price`` differs
from ``sent_price``. The flows' cursors (OF52 request date ...) live in ``sync_cursors``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, insert, or_, select, update

from mirakl_sync.adapters.store.cursors import SqlCursors
from mirakl_sync.adapters.store.tables import marketplace_imports, offer_states

PENDING = "pending"
SUPERSEDED = "superseded"
SENT = "sent"
ERROR = "error"
SKIPPED = "skipped"
WAITING = (PENDING, SUPERSEDED)
#: Up to this many keys, a write reads only the rows it touches (an ``IN`` list) rather
#: than the marketplace's every row.
FEW = 500


class SqlOfferStates:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cursors = SqlCursors(engine)

    # -- stock -------------------------------------------------------------------------------

    def known_quantities(
        self, marketplace: str, skus: Collection[str] | None = None
    ) -> dict[str, int | None]:
        """What the hub last decided per offer (only ``skus`` when given: incremental)."""
        query = select(offer_states.c.shop_sku, offer_states.c.desired_quantity).where(
            offer_states.c.marketplace == marketplace
        )
        if skus is not None:
            query = query.where(offer_states.c.shop_sku.in_(sorted(skus)))
        with self._engine.connect() as connection:
            return {sku: quantity for sku, quantity in connection.execute(query).all()}

    def record_desired_quantities(
        self, marketplace: str, changes: Mapping[str, int], now: datetime
    ) -> None:
        if not changes:
            return
        with self._engine.begin() as connection:
            open_ids = self._open_import_ids(connection, marketplace, "stock")
            rows = select(
                offer_states.c.shop_sku,
                offer_states.c.status,
                offer_states.c.sent_quantity,
                offer_states.c.import_id,
            ).where(offer_states.c.marketplace == marketplace)
            if len(changes) <= FEW:
                # An incremental cycle changes a few offers: read only their rows.
                rows = rows.where(offer_states.c.shop_sku.in_(sorted(changes)))
            existing = {row.shop_sku: row for row in connection.execute(rows)}
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            for sku, quantity in changes.items():
                row = existing.get(sku)
                if row is None:
                    inserts.append(
                        {
                            "marketplace": marketplace,
                            "shop_sku": sku,
                            "desired_quantity": quantity,
                            "status": PENDING,
                            "changed_at": now,
                        }
                    )
                    continue
                if row.status in (SENT, *WAITING) and row.sent_quantity == quantity:
                    # Back to what the marketplace was last sent: nothing to push.
                    status = SENT if row.import_id else PENDING
                elif row.status in (SENT, SUPERSEDED) and row.import_id in open_ids:
                    status = SUPERSEDED
                else:
                    status = PENDING
                updates.append(
                    {"k_sku": sku, "v_quantity": quantity, "v_status": status, "now": now}
                )
            if inserts:
                connection.execute(insert(offer_states), inserts)
            if updates:
                connection.execute(
                    update(offer_states)
                    .where(offer_states.c.marketplace == marketplace)
                    .where(offer_states.c.shop_sku == _bind("k_sku"))
                    .values(
                        desired_quantity=_bind("v_quantity"),
                        status=_bind("v_status"),
                        changed_at=_bind("now"),
                        message=None,
                    ),
                    updates,
                )

    def mark_skipped(self, marketplace: str, reasons: Mapping[str, str], now: datetime) -> None:
        if not reasons:
            return
        with self._engine.begin() as connection:
            which = select(offer_states.c.shop_sku).where(offer_states.c.marketplace == marketplace)
            if len(reasons) <= FEW:
                which = which.where(offer_states.c.shop_sku.in_(sorted(reasons)))
            known = set(connection.execute(which).scalars())
            fresh = [
                {
                    "marketplace": marketplace,
                    "shop_sku": sku,
                    "status": SKIPPED,
                    "message": reason,
                    "changed_at": now,
                }
                for sku, reason in reasons.items()
                if sku not in known
            ]
            if fresh:
                connection.execute(insert(offer_states), fresh)
            stale = [
                {"k_sku": sku, "v_message": reason, "now": now}
                for sku, reason in reasons.items()
                if sku in known
            ]
            if stale:
                # One statement run per row (executemany): it must not hold an expanding
                # ``IN (...)`` parameter, which SQLAlchemy refuses there, hence the ORs.
                # Only rows waiting to be sent (or skipped already: the reason may have
                # changed) are marked: a quantity already sent stays as it is (the
                # marketplace has it). The desired quantity is forgotten, so that when the
                # record can be listed again its quantity is planned afresh.
                waiting = or_(*(offer_states.c.status == status for status in (*WAITING, SKIPPED)))
                connection.execute(
                    update(offer_states)
                    .where(offer_states.c.marketplace == marketplace)
                    .where(offer_states.c.shop_sku == _bind("k_sku"))
                    .where(waiting)
                    .values(
                        status=SKIPPED,
                        desired_quantity=None,
                        message=_bind("v_message"),
                        changed_at=_bind("now"),
                    ),
                    stale,
                )

    def pending_quantities(self, marketplace: str) -> dict[str, int]:
        query = (
            select(offer_states.c.shop_sku, offer_states.c.desired_quantity)
            .where(offer_states.c.marketplace == marketplace)
            .where(offer_states.c.status.in_(WAITING))
            .where(offer_states.c.desired_quantity.is_not(None))
        )
        with self._engine.connect() as connection:
            return {sku: int(q) for sku, q in connection.execute(query).all()}

    def mark_stock_sent(
        self, marketplace: str, quantities: Mapping[str, int], import_id: str, now: datetime
    ) -> None:
        if not quantities:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(offer_states)
                .where(offer_states.c.marketplace == marketplace)
                .where(offer_states.c.shop_sku == _bind("k_sku"))
                .values(
                    sent_quantity=_bind("quantity"),
                    status=SENT,
                    import_id=import_id,
                    sent_at=now,
                    message=None,
                ),
                [{"k_sku": sku, "quantity": q} for sku, q in quantities.items()],
            )

    def mark_stock_errors(
        self, marketplace: str, import_id: str, errors: Mapping[str, str], now: datetime
    ) -> list[str]:
        marked: list[str] = []
        with self._engine.begin() as connection:
            for sku, message in errors.items():
                result = connection.execute(
                    update(offer_states)
                    .where(offer_states.c.marketplace == marketplace)
                    .where(offer_states.c.shop_sku == sku)
                    .where(offer_states.c.import_id == import_id)
                    .where(offer_states.c.status == SENT)
                    .values(status=ERROR, message=message, changed_at=now)
                )
                if result.rowcount:
                    marked.append(sku)
        return marked

    def requeue(
        self, marketplace: str, quantities: Mapping[str, int | None], now: datetime
    ) -> None:
        if not quantities:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(offer_states)
                .where(offer_states.c.marketplace == marketplace)
                .where(offer_states.c.shop_sku == _bind("k_sku"))
                .values(
                    marketplace_quantity=_bind("seen"),
                    sent_quantity=_bind("seen"),
                    status=PENDING,
                    message="drift: the marketplace showed a different quantity",
                    changed_at=_bind("now"),
                ),
                [{"k_sku": sku, "seen": q, "now": now} for sku, q in quantities.items()],
            )

    def record_marketplace_quantities(
        self, marketplace: str, quantities: Mapping[str, int | None]
    ) -> None:
        if not quantities:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(offer_states)
                .where(offer_states.c.marketplace == marketplace)
                .where(offer_states.c.shop_sku == _bind("k_sku"))
                .values(marketplace_quantity=_bind("seen")),
                [{"k_sku": sku, "seen": q} for sku, q in quantities.items()],
            )

    def sent_quantities(self, marketplace: str) -> dict[str, int | None]:
        """Offers whose last quantity went out in a FINISHED import (drift may judge them)."""
        with self._engine.connect() as connection:
            open_ids = self._open_import_ids(connection, marketplace, "stock")
            rows = connection.execute(
                select(
                    offer_states.c.shop_sku, offer_states.c.sent_quantity, offer_states.c.import_id
                )
                .where(offer_states.c.marketplace == marketplace)
                .where(offer_states.c.status == SENT)
            ).all()
        return {sku: q for sku, q, import_id in rows if import_id not in open_ids}

    def learn_listed(self, marketplace: str, quantities: Mapping[str, int], now: datetime) -> None:
        """Record what the offer export shows for offers the hub has not sent (yet).

        A SKU without a row gets one, ``skipped`` until the hub decides its quantity (the
        next stock plan sends one, 0 included, since the offer exists there); a known row
        gets its ``marketplace_quantity``.
        """
        self._set_column(
            marketplace,
            "marketplace_quantity",
            quantities,
            "listed on the marketplace; no quantity decided by the hub yet",
            now,
        )

    def _set_column(
        self,
        marketplace: str,
        column: str,
        values: Mapping[str, Any],
        fresh_message: str,
        now: datetime,
    ) -> None:
        """Set ``column`` of each SKU's row; a SKU without a row gets one, ``skipped``
        (no quantity decided by the hub yet) with ``fresh_message``."""
        if not values:
            return
        with self._engine.begin() as connection:
            which = select(offer_states.c.shop_sku).where(offer_states.c.marketplace == marketplace)
            if len(values) <= FEW:
                which = which.where(offer_states.c.shop_sku.in_(sorted(values)))
            known = set(connection.execute(which).scalars())
            fresh = [
                {
                    "marketplace": marketplace,
                    "shop_sku": sku,
                    column: value,
                    "status": SKIPPED,
                    "message": fresh_message,
                    "changed_at": now,
                }
                for sku, value in values.items()
                if sku not in known
            ]
            if fresh:
                connection.execute(insert(offer_states), fresh)
            rows = [{"k_sku": sku, "k_value": v} for sku, v in values.items() if sku in known]
            if rows:
                connection.execute(
                    update(offer_states)
                    .where(offer_states.c.marketplace == marketplace)
                    .where(offer_states.c.shop_sku == _bind("k_sku"))
                    .values({column: _bind("k_value")}),
                    rows,
                )

    def listed_skus(self, marketplace: str, skus: Collection[str] | None = None) -> set[str]:
        query = (
            select(offer_states.c.shop_sku)
            .where(offer_states.c.marketplace == marketplace)
            .where(offer_states.c.marketplace_quantity.is_not(None))
        )
        if skus is not None:
            query = query.where(offer_states.c.shop_sku.in_(sorted(skus)))
        with self._engine.connect() as connection:
            return set(connection.execute(query).scalars())

    def states(self, marketplace: str) -> dict[str, dict[str, Any]]:
        """Every offer's row (for reports and tests), by SKU."""
        query = select(offer_states).where(offer_states.c.marketplace == marketplace)
        with self._engine.connect() as connection:
            return {row.shop_sku: dict(row._mapping) for row in connection.execute(query)}

    def status_counts(self, marketplace: str) -> dict[str, int]:
        query = (
            select(offer_states.c.status, func.count())
            .where(offer_states.c.marketplace == marketplace)
            .group_by(offer_states.c.status)
        )
        with self._engine.connect() as connection:
            return {status: int(n) for status, n in connection.execute(query).all()}

    # -- prices ------------------------------------------------------------------------------

    def known_prices(self, marketplace: str) -> dict[str, str | None]:
        query = select(offer_states.c.shop_sku, offer_states.c.desired_price).where(
            offer_states.c.marketplace == marketplace
        )
        with self._engine.connect() as connection:
            return {sku: price for sku, price in connection.execute(query).all()}

    def record_desired_prices(
        self, marketplace: str, prices: Mapping[str, str], now: datetime
    ) -> None:
        # A new row has no stock decided yet: ``skipped``, nothing for the stock push.
        self._set_column(marketplace, "desired_price", prices, "no quantity decided yet", now)

    def pending_prices(self, marketplace: str) -> dict[str, str]:
        query = (
            select(offer_states.c.shop_sku, offer_states.c.desired_price)
            .where(offer_states.c.marketplace == marketplace)
            .where(offer_states.c.desired_price.is_not(None))
            .where(
                (offer_states.c.sent_price.is_(None))
                | (offer_states.c.sent_price != offer_states.c.desired_price)
            )
        )
        with self._engine.connect() as connection:
            return {sku: str(price) for sku, price in connection.execute(query).all()}

    def mark_prices_sent(self, marketplace: str, prices: Mapping[str, str], now: datetime) -> None:
        if not prices:
            return
        with self._engine.begin() as connection:
            connection.execute(
                update(offer_states)
                .where(offer_states.c.marketplace == marketplace)
                .where(offer_states.c.shop_sku == _bind("k_sku"))
                .values(sent_price=_bind("price")),
                [{"k_sku": sku, "price": p} for sku, p in prices.items()],
            )

    # -- imports -----------------------------------------------------------------------------

    def record_import(
        self, marketplace: str, import_id: str, kind: str, lines: int, now: datetime
    ) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                insert(marketplace_imports).values(
                    marketplace=marketplace,
                    import_id=import_id,
                    kind=kind,
                    status="WAITING",
                    lines=lines,
                    created_at=now,
                )
            )

    def open_imports(self, marketplace: str, kind: str) -> list[str]:
        with self._engine.connect() as connection:
            return sorted(self._open_import_ids(connection, marketplace, kind))

    def finish_import(
        self,
        marketplace: str,
        import_id: str,
        status: str,
        lines_in_error: int | None,
        now: datetime,
    ) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(marketplace_imports)
                .where(marketplace_imports.c.marketplace == marketplace)
                .where(marketplace_imports.c.import_id == import_id)
                .values(status=status, lines_in_error=lines_in_error, finished_at=now)
            )

    def imports(self, marketplace: str) -> list[dict[str, Any]]:
        query = (
            select(marketplace_imports)
            .where(marketplace_imports.c.marketplace == marketplace)
            .order_by(marketplace_imports.c.created_at)
        )
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    @staticmethod
    def _open_import_ids(connection: Any, marketplace: str, kind: str) -> set[str]:
        return set(
            connection.execute(
                select(marketplace_imports.c.import_id).where(
                    and_(
                        marketplace_imports.c.marketplace == marketplace,
                        marketplace_imports.c.kind == kind,
                        marketplace_imports.c.finished_at.is_(None),
                    )
                )
            ).scalars()
        )

    # -- cursors -----------------------------------------------------------------------------

    def cursor(self, flow: str, scope: str) -> str | None:
        return self._cursors.get(flow, scope)

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None:
        self._cursors.put(flow, scope, value, now)


def _bind(name: str) -> Any:
    return bindparam(name)
