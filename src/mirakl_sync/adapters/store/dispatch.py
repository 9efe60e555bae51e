"""Store access for dispatch, cancellations and refunds.

``SqlMarketplaceOrderIndex`` reads ``marketplace_orders`` (written by the orders flow);
``SqlBindings`` and ``SqlHandledShopOrders`` implement the ``Bindings`` and
``HandledShopOrders`` ports over the ``bindings`` and ``shop_feed_handled`` tables (the
``Cursors`` port is ``adapters.store.cursors``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Text, cast, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mirakl_sync.adapters.store.tables import (
    bindings,
    marketplace_orders,
    shop_feed_handled,
)
from mirakl_sync.domain.shipments import OrderRef

_GID_ORDER = "gid://shopify/Order/"
#: Ids per ``IN (...)`` (SQLite allows 32766 parameters a statement, older builds 999).
_IN_CHUNK = 500


def _ref(row: Any) -> OrderRef:
    return OrderRef(
        marketplace=row.marketplace,
        order_id=row.order_id,
        shopify_order_id=row.shopify_order_id,
        state=row.state,
        hub_status=row.hub_status,
    )


def shopify_order_ids_of(shopify_order_id: str) -> list[str]:
    """Both spellings of a Shopify order id: the GID and the numeric legacy id."""
    text = str(shopify_order_id)
    if text.startswith(_GID_ORDER):
        return [text, text.removeprefix(_GID_ORDER)]
    return [text, f"{_GID_ORDER}{text}"]


class SqlMarketplaceOrderIndex:
    _columns = (
        marketplace_orders.c.marketplace,
        marketplace_orders.c.order_id,
        marketplace_orders.c.shopify_order_id,
        marketplace_orders.c.state,
        marketplace_orders.c.hub_status,
    )

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def by_shopify_order(self, shopify_order_id: str) -> OrderRef | None:
        query = select(*self._columns).where(
            marketplace_orders.c.shopify_order_id.in_(shopify_order_ids_of(shopify_order_id))
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return _ref(row) if row else None

    def by_order_id(self, marketplace: str, order_id: str) -> OrderRef | None:
        query = select(*self._columns).where(
            marketplace_orders.c.marketplace == marketplace,
            marketplace_orders.c.order_id == order_id,
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return _ref(row) if row else None

    def payload(self, marketplace: str, order_id: str) -> dict[str, Any] | None:
        query = select(marketplace_orders.c.payload).where(
            marketplace_orders.c.marketplace == marketplace,
            marketplace_orders.c.order_id == order_id,
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar()
        return dict(value) if isinstance(value, dict) else None

    def with_offer_sku(self, offer_sku: str) -> list[OrderRef]:
        # The payload is the OR11 JSON; a LIKE on its text narrows the rows on both
        # databases, the exact check is on the parsed lines.
        needle = f'%"{offer_sku}"%'
        query = (
            select(*self._columns, marketplace_orders.c.payload)
            .where(cast(marketplace_orders.c.payload, Text).like(needle))
            .order_by(marketplace_orders.c.created_at.desc())
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in rows:
            lines = (row.payload or {}).get("order_lines") or []
            if any(line.get("offer_sku") == offer_sku for line in lines):
                out.append(_ref(row))
        return out

    def by_shopify_orders(self, shopify_order_ids: Iterable[str]) -> dict[str, OrderRef]:
        asked: dict[str, str] = {}
        for given in shopify_order_ids:
            for spelling in shopify_order_ids_of(given):
                asked.setdefault(spelling, given)
        found: dict[str, OrderRef] = {}
        spellings = list(asked)
        with self._engine.connect() as connection:
            # In chunks: SQLite caps the parameters of one statement.
            for start in range(0, len(spellings), _IN_CHUNK):
                chunk = spellings[start : start + _IN_CHUNK]
                query = select(*self._columns).where(
                    marketplace_orders.c.shopify_order_id.in_(chunk)
                )
                for row in connection.execute(query):
                    found.setdefault(asked[row.shopify_order_id], _ref(row))
        return found

    def earliest_with_shop_order(self) -> datetime | None:
        query = select(func.min(marketplace_orders.c.created_at)).where(
            marketplace_orders.c.shopify_order_id.is_not(None)
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar()
        return value if isinstance(value, datetime) else None


class SqlBindings:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, system: str, entity: str, internal_id: str) -> str | None:
        query = select(bindings.c.external_id).where(
            bindings.c.system == system,
            bindings.c.entity == entity,
            bindings.c.internal_id == internal_id,
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else str(value)

    def put(
        self, system: str, entity: str, internal_id: str, external_id: str, now: datetime
    ) -> None:
        where = (
            bindings.c.system == system,
            bindings.c.entity == entity,
            bindings.c.internal_id == internal_id,
        )
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(bindings).where(*where).values(external_id=external_id, synced_at=now)
            ).rowcount
            if not changed:
                connection.execute(
                    bindings.insert().values(
                        system=system,
                        entity=entity,
                        internal_id=internal_id,
                        external_id=external_id,
                        synced_at=now,
                    )
                )

    def delete(self, system: str, entity: str, internal_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                delete(bindings).where(
                    bindings.c.system == system,
                    bindings.c.entity == entity,
                    bindings.c.internal_id == internal_id,
                )
            )

    def external_ids(self, system: str, entity: str, internal_prefix: str) -> list[str]:
        query = select(bindings.c.external_id).where(
            bindings.c.system == system,
            bindings.c.entity == entity,
            bindings.c.internal_id.startswith(internal_prefix, autoescape=True),
        )
        with self._engine.connect() as connection:
            return [str(v) for v in connection.execute(query).scalars()]


class SqlHandledShopOrders:
    """What each safety-net pass last handled of each shop order (``shop_feed_handled``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def digests(self, scope: str, shop_order_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(str(i) for i in shop_order_ids))
        out: dict[str, str] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(ids), _IN_CHUNK):
                query = select(shop_feed_handled.c.shop_order_id, shop_feed_handled.c.digest).where(
                    shop_feed_handled.c.scope == scope,
                    shop_feed_handled.c.shop_order_id.in_(ids[start : start + _IN_CHUNK]),
                )
                out.update({row.shop_order_id: row.digest for row in connection.execute(query)})
        return out

    def mark(self, scope: str, handled: dict[str, tuple[str, datetime]]) -> None:
        if not handled:
            return
        rows = [
            {"scope": scope, "shop_order_id": str(i), "digest": d, "updated_at": at}
            for i, (d, at) in handled.items()
        ]
        insert = self._insert(shop_feed_handled)
        statement = insert.on_conflict_do_update(
            index_elements=[shop_feed_handled.c.scope, shop_feed_handled.c.shop_order_id],
            set_={"digest": insert.excluded.digest, "updated_at": insert.excluded.updated_at},
        )
        with self._engine.begin() as connection:
            connection.execute(statement, rows)

    def prune(self, scope: str, updated_before: datetime) -> int:
        statement = delete(shop_feed_handled).where(
            shop_feed_handled.c.scope == scope, shop_feed_handled.c.updated_at < updated_before
        )
        with self._engine.begin() as connection:
            return int(connection.execute(statement).rowcount or 0)
