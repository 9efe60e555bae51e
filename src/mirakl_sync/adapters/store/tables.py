"""The hub's tables, as SQLAlchemy Core metadata (the source for Alembic autogenerate)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases.

    SQLite has no timezone type and hands back naive values, so values are stored as
    naive UTC there and made aware again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Every record that could not go through, one row per distinct problem (see domain.exceptions).
exceptions = Table(
    "exceptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: Identifies "the same problem again": type + entity; repeats bump count and last_seen_at.
    Column("fingerprint", String(255), nullable=False, unique=True),
    Column("type", String(80), nullable=False, index=True),
    Column("owner", String(20), nullable=False, index=True),
    Column("severity", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("marketplace", String(40)),
    Column("entity_type", String(40), nullable=False),
    Column("entity_id", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    #: A time by which someone must act (e.g. the marketplace's acceptance deadline).
    Column("deadline_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
)

#: The binder's table: which internal record is which record on an external system.
bindings = Table(
    "bindings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("system", String(40), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("internal_id", String(255), nullable=False),
    Column("payload_hash", String(64)),
    Column("synced_at", UtcDateTime, nullable=False),
    UniqueConstraint("system", "entity", "external_id", name="uq_bindings_external"),
    UniqueConstraint("system", "entity", "internal_id", name="uq_bindings_internal"),
)

#: One row per API call budget: the theoretical arrival time of its next free slot
#: (epoch seconds as a float: sub-second precision on both databases).
call_budgets = Table(
    "call_budgets",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("tat", Float, nullable=False),
    #: For a claim (``SqlClaims``): the process holding it (``holder_of``), so a claim
    #: whose holder died lapses at once instead of at the end of its lease.
    Column("holder", String(300), nullable=True),
)

#: Worker processes and their heartbeats; the watchdog hands a silent executor's work on.
executors = Table(
    "executors",
    metadata,
    Column("executor_id", String(120), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", BigInteger, nullable=False),
    #: Where ``pid`` means something: this boot's id and the PID namespace (Linux), so a
    #: process in the same space can tell for sure that the pid no longer runs. Null
    #: where it cannot be read (then only a missed beat or the timeout tells).
    Column("process_space", String(200), nullable=True),
    Column("role", String(20), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    #: ``alive``, ``stopped`` (clean exit) or ``dead`` (work recovered by the watchdog).
    Column("status", String(20), nullable=False),
)

#: Where each flow got to on each system (watermarks, cursors), so restarts resume.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("flow", String(40), primary_key=True),
    Column("scope", String(80), primary_key=True),
    Column("cursor", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: What each safety-net pass last handled of each shop order it read (a digest of the
#: fields its events come from), so the overlap re-read skips what did not change
#: (``services.shop_feed``). Rows older than a pass's start are pruned by the pass.
shop_feed_handled = Table(
    "shop_feed_handled",
    metadata,
    Column("scope", String(40), primary_key=True),
    Column("shop_order_id", String(80), primary_key=True),
    Column("digest", String(64), nullable=False),
    #: The shop order's ``updated_at`` when it was handled (what pruning compares).
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Every marketplace order the hub has seen, with where the hub got to with it.
marketplace_orders = Table(
    "marketplace_orders",
    metadata,
    Column("marketplace", String(40), primary_key=True),
    Column("order_id", String(100), primary_key=True),
    #: Mirakl's ``order_state`` as last read (WAITING_ACCEPTANCE, SHIPPING, ...).
    Column("state", String(40), nullable=False),
    #: The hub's own progress: ``new``, ``waiting`` (an exception holds it), ``accepted``,
    #: ``refused``, ``shipping``, ``cancelled``, ``closed`` (see domain.orders).
    Column("hub_status", String(20), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    Column("last_updated_at", UtcDateTime, nullable=False),
    #: When the marketplace will auto-refuse it (created + acceptance_window_hours).
    Column("acceptance_deadline_at", UtcDateTime),
    Column("currency", String(3)),
    Column("total_price", String(32)),
    Column("line_count", Integer, nullable=False),
    Column("shopify_order_id", String(100)),
    Column("shopify_order_name", String(40)),
    #: The last OR11 payload, for the workflow and for support.
    Column("payload", JSON, nullable=False),
    #: Line id -> accepted (true) or refused (false), once decided.
    Column("decisions", JSON),
    #: A change of the marketplace's state (the pull's follow-up key, e.g. ``SHIPPING``)
    #: the hub's side is not yet brought in line with; cleared by the follow-up that did
    #: it. While set, every pull starts the follow-up again (services.order_pull).
    Column("followup_pending", String(60), index=True),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Explicit offer SKU -> product bindings that override the default (offer SKU = variant
#: SKU, or = Supercycle serial). ``marketplace`` is ``*`` for a binding on every marketplace.
sku_mappings = Table(
    "sku_mappings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("marketplace", String(40), nullable=False),
    Column("offer_sku", String(100), nullable=False),
    #: ``shopify`` (a variant) or ``supercycle`` (an item).
    Column("target_system", String(20), nullable=False),
    #: The Shopify variant SKU, or the Supercycle item serial.
    Column("target_sku", String(100), nullable=False),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("marketplace", "offer_sku", name="uq_sku_mappings_offer"),
)

#: One row per stock key (variant SKU or item serial): locking it serialises every
#: decision about that stock, across processes, on both databases.
stock_keys = Table(
    "stock_keys",
    metadata,
    Column("sku", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
)

#: Stock held for marketplace order lines, in the one pool every channel draws from.
stock_reservations = Table(
    "stock_reservations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", String(100), nullable=False, index=True),
    Column("marketplace", String(40), nullable=False),
    Column("order_id", String(100), nullable=False),
    Column("order_line_id", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    #: ``held`` (counted against the pool), ``committed`` (the source of truth now
    #: reflects it), ``released`` (given back).
    Column("status", String(20), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("marketplace", "order_line_id", name="uq_stock_reservations_line"),
)

#: What the hub wants each marketplace offer to be, and what it last sent (stock, price).
offer_states = Table(
    "offer_states",
    metadata,
    Column("marketplace", String(40), primary_key=True),
    Column("shop_sku", String(100), primary_key=True),
    Column("desired_quantity", Integer),
    Column("sent_quantity", Integer),
    Column("desired_price", String(32)),
    Column("sent_price", String(32)),
    #: Quantity the marketplace reported in its last offer export (drift detection).
    Column("marketplace_quantity", Integer),
    #: ``pending``, ``sent``, ``superseded``, ``error`` or ``skipped``.
    Column("status", String(20), nullable=False, index=True),
    Column("import_id", String(100)),
    Column("message", Text),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
)

#: Files sent to a marketplace (STO01, PRI01, OF01) and what became of them.
marketplace_imports = Table(
    "marketplace_imports",
    metadata,
    Column("marketplace", String(40), primary_key=True),
    Column("import_id", String(100), primary_key=True),
    #: ``stock``, ``prices`` or ``offers``.
    Column("kind", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("lines_in_error", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)
