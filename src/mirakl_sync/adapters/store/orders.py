"""The order repository: ``marketplace_orders``, ``sku_mappings`` and pull watermarks.

Each order row keeps the normalised order (``payload``), Mirakl's state, the hub's own
status, and the import's progress (``decisions``: line decisions, whether OR21 was sent,
which Supercycle items were marked sold) so a repeated workflow step never repeats an
external write.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Text, cast, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mirakl_sync.adapters.mirakl.marketplace import order_from_mirakl
from mirakl_sync.adapters.mirakl.models import Order as MiraklOrder
from mirakl_sync.adapters.store.cursors import SqlCursors
from mirakl_sync.adapters.store.tables import marketplace_orders, sku_mappings
from mirakl_sync.domain.orders import (
    HubStatus,
    MarketplaceOrder,
    OrderAddress,
    OrderCustomer,
    OrderLine,
    OrderProgress,
    OrderTaxLine,
    ShopOrderRef,
    SkuMapping,
    StoredOrder,
    TargetSystem,
)

#: Marks a payload holding the hub's normalised order (no OR11 JSON was given).
_NORMALISED = "hub_normalised"


class SqlOrderRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._cursors = SqlCursors(engine)

    # -- orders

    def record_pulled(
        self, order: MarketplaceOrder, *, deadline: datetime | None, now: datetime
    ) -> StoredOrder | None:
        t = marketplace_orders
        values = {
            "state": order.state,
            "last_updated_at": order.last_updated_at,
            "currency": order.currency,
            "total_price": str(order.total_price),
            "line_count": len(order.lines),
            # Other flows read the OR11 JSON itself (line ids, states) from here.
            "payload": order.raw if order.raw is not None else order_to_json(order),
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            row = connection.execute(
                select(t)
                .where(t.c.marketplace == order.marketplace)
                .where(t.c.order_id == order.order_id)
            ).first()
            if row is None:
                # Two pulls racing on one new order: the second insert does nothing.
                connection.execute(
                    self._insert(t)
                    .values(
                        marketplace=order.marketplace,
                        order_id=order.order_id,
                        hub_status=HubStatus.NEW.value,
                        created_at=order.created_at,
                        acceptance_deadline_at=deadline,
                        first_seen_at=now,
                        **values,
                    )
                    .on_conflict_do_nothing()
                )
                return None
            previous = _stored(row)
            # An older read (overlapping pages, a slow pull) never overwrites a newer one,
            # and an unchanged one is not written again: each pull re-reads its overlap,
            # and rewriting every order of it was most of a 1 s pull's time.
            changed = row.payload != values["payload"] or row.state != order.state
            if order.last_updated_at >= previous.order.last_updated_at and changed:
                connection.execute(
                    update(t)
                    .where(t.c.marketplace == order.marketplace)
                    .where(t.c.order_id == order.order_id)
                    .values(**values)
                )
            return previous

    def get(self, marketplace: str, order_id: str) -> StoredOrder | None:
        t = marketplace_orders
        with self._engine.connect() as connection:
            row = connection.execute(
                select(t).where(t.c.marketplace == marketplace).where(t.c.order_id == order_id)
            ).first()
        return None if row is None else _stored(row)

    def set_status(self, marketplace: str, order_id: str, status: HubStatus, now: datetime) -> None:
        self._update(marketplace, order_id, hub_status=status.value, updated_at=now)

    def save_progress(
        self, marketplace: str, order_id: str, progress: OrderProgress, now: datetime
    ) -> None:
        self._update(marketplace, order_id, decisions=progress_to_json(progress), updated_at=now)

    def set_shop_order(
        self, marketplace: str, order_id: str, shop_order: ShopOrderRef, now: datetime
    ) -> None:
        self._update(
            marketplace,
            order_id,
            shopify_order_id=shop_order.id,
            shopify_order_name=shop_order.name,
            updated_at=now,
        )

    def mark_followup(self, marketplace: str, order_id: str, change: str, now: datetime) -> None:
        self._update(marketplace, order_id, followup_pending=change, updated_at=now)

    def followup_done(self, marketplace: str, order_id: str, change: str, now: datetime) -> bool:
        # Compare and clear: a pull that saw a newer change meanwhile set another key,
        # which stays for its own follow-up.
        t = marketplace_orders
        with self._engine.begin() as connection:
            done = connection.execute(
                update(t)
                .where(t.c.marketplace == marketplace)
                .where(t.c.order_id == order_id)
                .where(t.c.followup_pending == change)
                .values(followup_pending=None, updated_at=now)
            )
        return bool(done.rowcount)

    def pending_followups(self, marketplace: str) -> dict[str, str]:
        t = marketplace_orders
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(t.c.order_id, t.c.followup_pending)
                .where(t.c.marketplace == marketplace)
                .where(t.c.followup_pending.is_not(None))
                .order_by(t.c.created_at)
            ).all()
        return {row.order_id: row.followup_pending for row in rows}

    def with_status(self, marketplace: str, statuses: list[HubStatus]) -> list[StoredOrder]:
        t = marketplace_orders
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(t)
                .where(t.c.marketplace == marketplace)
                .where(t.c.hub_status.in_([s.value for s in statuses]))
                .order_by(t.c.created_at)
            ).all()
        return [_stored(row) for row in rows]

    def unlinked_orders(
        self, states: Collection[str], *, limit: int | None = None
    ) -> list[StoredOrder]:
        """Orders in one of ``states`` that have no shop order, the hub never decided and
        did not refuse or cancel, oldest first (``services.order_adoption``): orders
        accepted before the hub, by hand or by a previous connector. Few: once linked an
        order leaves this set, and the hub's own orders are never in it."""
        t = marketplace_orders
        query = (
            select(t)
            .where(t.c.shopify_order_id.is_(None))
            .where(t.c.state.in_(list(states)))
            .where(t.c.hub_status.not_in([HubStatus.REFUSED.value, HubStatus.CANCELLED.value]))
            .order_by(t.c.created_at)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in rows:
            stored = _stored(row)
            progress = stored.progress
            # The hub's own imports decide before they make the shop order, and one
            # accepted while Shopify was down makes it later: none of those is adopted.
            if progress.decisions or progress.or21_sent or progress.shop_order_pending:
                continue
            out.append(stored)
        return out

    def orders_that_sold(self, item_id: int) -> list[StoredOrder]:
        """Orders whose import marked the Supercycle item ``item_id`` sold (its id in
        their ``sold_items``). A scan of the progress as text, then parsed: used only
        when a release was cut short by a crash (``services.item_release``)."""
        t = marketplace_orders
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(t).where(cast(t.c.decisions, Text).like(f"%{int(item_id)}%"))
            ).all()
        return [s for s in map(_stored, rows) if item_id in s.progress.sold_items]

    def _update(self, marketplace: str, order_id: str, **values: Any) -> None:
        t = marketplace_orders
        with self._engine.begin() as connection:
            connection.execute(
                update(t)
                .where(t.c.marketplace == marketplace)
                .where(t.c.order_id == order_id)
                .values(**values)
            )

    # -- SKU mappings

    def mapping(self, marketplace: str, offer_sku: str) -> SkuMapping | None:
        t = sku_mappings
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(t)
                .where(t.c.offer_sku == offer_sku)
                .where(t.c.marketplace.in_([marketplace, "*"]))
            ).all()
        if not rows:
            return None
        # The marketplace's own mapping wins over the one for every marketplace.
        row = min(rows, key=lambda r: r.marketplace == "*")
        return SkuMapping(row.offer_sku, TargetSystem(row.target_system), row.target_sku)

    def add_mapping(
        self,
        marketplace: str,
        offer_sku: str,
        system: TargetSystem,
        target_sku: str,
        *,
        now: datetime,
        note: str | None = None,
    ) -> None:
        """Bind ``offer_sku`` (on ``marketplace``, or ``*`` for all) to a variant or item."""
        with self._engine.begin() as connection:
            connection.execute(
                self._insert(sku_mappings)
                .values(
                    marketplace=marketplace,
                    offer_sku=offer_sku,
                    target_system=system.value,
                    target_sku=target_sku,
                    note=note,
                    created_at=now,
                )
                .on_conflict_do_update(
                    index_elements=["marketplace", "offer_sku"],
                    set_={"target_system": system.value, "target_sku": target_sku, "note": note},
                )
            )

    def list_mappings(self, marketplace: str | None = None) -> list[tuple[str, SkuMapping]]:
        """(marketplace or ``*``, mapping) for every explicit binding, by SKU."""
        t = sku_mappings
        query = select(t).order_by(t.c.offer_sku, t.c.marketplace)
        if marketplace is not None:
            query = query.where(t.c.marketplace.in_([marketplace, "*"]))
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            (r.marketplace, SkuMapping(r.offer_sku, TargetSystem(r.target_system), r.target_sku))
            for r in rows
        ]

    def remove_mapping(self, marketplace: str, offer_sku: str) -> bool:
        t = sku_mappings
        with self._engine.begin() as connection:
            deleted = connection.execute(
                t.delete().where(t.c.marketplace == marketplace).where(t.c.offer_sku == offer_sku)
            )
        return deleted.rowcount == 1

    # -- cursors

    def cursor(self, flow: str, scope: str) -> str | None:
        return self._cursors.get(flow, scope)

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None:
        self._cursors.put(flow, scope, value, now)

    def cursors_of(self, flow: str, scope_prefix: str = "") -> dict[str, str]:
        """Every cursor of ``flow`` whose scope starts with ``scope_prefix``, by scope."""
        return self._cursors.of(flow, scope_prefix)

    def delete_cursor(self, flow: str, scope: str) -> None:
        self._cursors.delete(flow, scope)


def count_orders(engine: Engine) -> int:
    """How many marketplace orders the hub has seen (benchmarks, status)."""
    from sqlalchemy import func

    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(marketplace_orders)).scalar_one()
        )


# --------------------------------------------------------------------------- JSON codecs


def _stored(row: Any) -> StoredOrder:
    payload = row.payload
    if payload.get(_NORMALISED):
        order = order_from_json(payload)
    else:
        order = order_from_mirakl(row.marketplace, MiraklOrder.model_validate(payload))
    return StoredOrder(
        order=order,
        hub_status=HubStatus(row.hub_status),
        acceptance_deadline_at=row.acceptance_deadline_at,
        progress=progress_from_json(row.decisions),
        shopify_order_id=row.shopify_order_id,
        shopify_order_name=row.shopify_order_name,
        followup_pending=row.followup_pending,
    )


def progress_to_json(progress: OrderProgress) -> dict[str, Any]:
    return {
        "lines": dict(progress.decisions),
        "or21_sent": progress.or21_sent,
        "sold_items": list(progress.sold_items),
        "shop_order_pending": progress.shop_order_pending,
        "refusals": dict(progress.refusals),
    }


def progress_from_json(data: Any) -> OrderProgress:
    if not data:
        return OrderProgress()
    return OrderProgress(
        decisions={str(k): bool(v) for k, v in (data.get("lines") or {}).items()},
        or21_sent=bool(data.get("or21_sent")),
        sold_items=[int(i) for i in data.get("sold_items") or []],
        shop_order_pending=bool(data.get("shop_order_pending")),
        refusals={str(k): str(v) for k, v in (data.get("refusals") or {}).items()},
    )


def _taxes_json(taxes: tuple[OrderTaxLine, ...]) -> list[dict[str, Any]]:
    return [
        {"code": t.code, "amount": str(t.amount), "rate": None if t.rate is None else str(t.rate)}
        for t in taxes
    ]


def _taxes(data: Any) -> tuple[OrderTaxLine, ...]:
    return tuple(
        OrderTaxLine(
            t["code"], Decimal(t["amount"]), None if t.get("rate") is None else Decimal(t["rate"])
        )
        for t in data or []
    )


def _address_json(address: OrderAddress | None) -> dict[str, Any] | None:
    return None if address is None else dict(address.__dict__)


def _address(data: Any) -> OrderAddress | None:
    return None if data is None else OrderAddress(**data)


def order_to_json(order: MarketplaceOrder) -> dict[str, Any]:
    customer = order.customer
    return {
        _NORMALISED: True,
        "marketplace": order.marketplace,
        "order_id": order.order_id,
        "state": order.state,
        "created_at": order.created_at.isoformat(),
        "last_updated_at": order.last_updated_at.isoformat(),
        "currency": order.currency,
        "total_price": str(order.total_price),
        "shipping_price": str(order.shipping_price),
        "tax_mode": order.tax_mode,
        "shipping_type_code": order.shipping_type_code,
        "shipping_type_label": order.shipping_type_label,
        "has_incident": order.has_incident,
        "reference_for_customer": order.reference_for_customer,
        "customer": None
        if customer is None
        else {
            "customer_id": customer.customer_id,
            "firstname": customer.firstname,
            "lastname": customer.lastname,
            "billing_address": _address_json(customer.billing_address),
            "shipping_address": _address_json(customer.shipping_address),
        },
        "lines": [
            {
                "line_id": line.line_id,
                "offer_sku": line.offer_sku,
                "quantity": line.quantity,
                "state": line.state,
                "title": line.title,
                "unit_price": str(line.unit_price),
                "price": str(line.price),
                "shipping_price": str(line.shipping_price),
                "taxes": _taxes_json(line.taxes),
                "shipping_taxes": _taxes_json(line.shipping_taxes),
            }
            for line in order.lines
        ],
    }


def order_from_json(data: dict[str, Any]) -> MarketplaceOrder:
    customer = data.get("customer")
    return MarketplaceOrder(
        marketplace=data["marketplace"],
        order_id=data["order_id"],
        state=data["state"],
        created_at=_dt(data["created_at"]),
        last_updated_at=_dt(data["last_updated_at"]),
        currency=data["currency"],
        total_price=Decimal(data["total_price"]),
        shipping_price=Decimal(data["shipping_price"]),
        tax_mode=data["tax_mode"],
        shipping_type_code=data.get("shipping_type_code"),
        shipping_type_label=data.get("shipping_type_label"),
        has_incident=bool(data.get("has_incident")),
        reference_for_customer=data.get("reference_for_customer"),
        customer=None
        if customer is None
        else OrderCustomer(
            customer_id=customer.get("customer_id"),
            firstname=customer.get("firstname"),
            lastname=customer.get("lastname"),
            billing_address=_address(customer.get("billing_address")),
            shipping_address=_address(customer.get("shipping_address")),
        ),
        lines=tuple(
            OrderLine(
                line_id=line["line_id"],
                offer_sku=line["offer_sku"],
                quantity=int(line["quantity"]),
                state=line["state"],
                title=line.get("title") or "",
                unit_price=Decimal(line["unit_price"]),
                price=Decimal(line["price"]),
                shipping_price=Decimal(line["shipping_price"]),
                taxes=_taxes(line.get("taxes")),
                shipping_taxes=_taxes(line.get("shipping_taxes")),
            )
            for line in data["lines"]
        ),
    )


def _dt(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
