"""Dirty stock keys and Shopify inventory-item bindings, in tables the store already has.

- **Dirty keys** (what changed at the source since the stock flow last read it) are rows
  of ``bindings`` with system ``stock-dirty``: entity = the kind of key
  (``shopify_item``: an inventory item id from an ``inventory_levels/update`` webhook;
  ``shopify_sku``; ``supercycle_serial``), ``external_id`` = ``internal_id`` = the key,
  ``synced_at`` = when it was last marked. Marking twice only moves ``synced_at``; a
  reader clears a key only if it was not marked again after it was read
  (``synced_at <= seen``), so a change that lands while a cycle runs is never lost, across
  processes and restarts. (A table of its own would be cleaner; ``bindings`` avoids a
  migration and has the one unique key needed.)
- **Inventory items** (``inventory_item_id`` -> variant SKU, learnt during full reads) are
  ``bindings`` rows with system ``shopify``, entity ``inventory_item``: a webhook then maps
  to its SKU with no Shopify call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, delete, insert, select, update

from mirakl_sync.adapters.store.tables import bindings

DIRTY = "stock-dirty"
SHOPIFY = "shopify"
INVENTORY_ITEM = "inventory_item"


class SqlStockChanges:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    # -- dirty keys --------------------------------------------------------------------------

    def mark(self, kind: str, keys: Iterable[str], now: datetime) -> None:
        """Mark ``keys`` dirty (again): an upsert per key, safe from any process."""
        wanted = sorted({k for k in keys if k})
        if not wanted:
            return
        with self._engine.begin() as connection:
            # Update first, insert what was missing: portable, and a concurrent insert of
            # the same key only loses the race to a row that is just as dirty.
            known = set(
                connection.execute(
                    select(bindings.c.external_id).where(
                        bindings.c.system == DIRTY,
                        bindings.c.entity == kind,
                        bindings.c.external_id.in_(wanted),
                    )
                ).scalars()
            )
            if known:
                connection.execute(
                    update(bindings)
                    .where(bindings.c.system == DIRTY, bindings.c.entity == kind)
                    .where(bindings.c.external_id.in_(known))
                    .values(synced_at=now)
                )
            fresh = [k for k in wanted if k not in known]
            if fresh:
                connection.execute(
                    insert(bindings),
                    [
                        {
                            "system": DIRTY,
                            "entity": kind,
                            "external_id": key,
                            "internal_id": key,
                            "synced_at": now,
                        }
                        for key in fresh
                    ],
                )

    def dirty(self, kind: str) -> dict[str, datetime]:
        """Every dirty key of ``kind`` and when it was last marked."""
        query = select(bindings.c.external_id, bindings.c.synced_at).where(
            bindings.c.system == DIRTY, bindings.c.entity == kind
        )
        with self._engine.connect() as connection:
            return {str(key): at for key, at in connection.execute(query).all()}

    def clear(self, kind: str, seen: Mapping[str, datetime]) -> None:
        """Clear the keys handled, unless marked again after ``seen[key]``."""
        if not seen:
            return
        with self._engine.begin() as connection:
            connection.execute(
                delete(bindings)
                .where(bindings.c.system == DIRTY, bindings.c.entity == kind)
                .where(bindings.c.external_id == bindparam("k_key"))
                .where(bindings.c.synced_at <= bindparam("k_seen")),
                [{"k_key": key, "k_seen": at} for key, at in seen.items()],
            )

    def clear_marked_before(self, before: datetime) -> None:
        """A full read started at ``before`` saw every change marked until then."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(bindings).where(
                    and_(bindings.c.system == DIRTY, bindings.c.synced_at <= before)
                )
            )

    # -- inventory items ---------------------------------------------------------------------

    def learn_inventory_items(self, items: Mapping[str, str], now: datetime) -> None:
        """Bind inventory item ids to variant SKUs (only what changed is written).

        Shopify does not enforce unique SKUs; a SKU keeps one inventory item here (the
        other's webhooks fall back to an ``inventoryItem`` read).
        """
        by_sku: dict[str, str] = {}
        for item_id, sku in items.items():
            by_sku.setdefault(sku, item_id)
        wanted = {item_id: sku for sku, item_id in by_sku.items()}
        with self._engine.begin() as connection:
            current = {
                str(external): str(internal)
                for external, internal in connection.execute(
                    select(bindings.c.external_id, bindings.c.internal_id).where(
                        bindings.c.system == SHOPIFY, bindings.c.entity == INVENTORY_ITEM
                    )
                ).all()
            }
            changed = {i: s for i, s in wanted.items() if current.get(i) != s}
            if not changed:
                return
            stale_items = set(changed)
            stale_skus = set(changed.values())
            doomed = [i for i, s in current.items() if i in stale_items or s in stale_skus]
            if doomed:
                connection.execute(
                    delete(bindings)
                    .where(bindings.c.system == SHOPIFY, bindings.c.entity == INVENTORY_ITEM)
                    .where(bindings.c.external_id.in_(doomed))
                )
            connection.execute(
                insert(bindings),
                [
                    {
                        "system": SHOPIFY,
                        "entity": INVENTORY_ITEM,
                        "external_id": item_id,
                        "internal_id": sku,
                        "synced_at": now,
                    }
                    for item_id, sku in changed.items()
                ],
            )

    def skus_of_items(self, item_ids: Iterable[str]) -> dict[str, str]:
        """Inventory item id -> variant SKU, for the ids bound (unknown ids are left out)."""
        wanted = sorted(set(item_ids))
        if not wanted:
            return {}
        query = select(bindings.c.external_id, bindings.c.internal_id).where(
            bindings.c.system == SHOPIFY,
            bindings.c.entity == INVENTORY_ITEM,
            bindings.c.external_id.in_(wanted),
        )
        with self._engine.connect() as connection:
            return {str(i): str(s) for i, s in connection.execute(query).all()}
