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
)

#: Worker processes and their heartbeats; the watchdog hands a silent executor's work on.
executors = Table(
    "executors",
    metadata,
    Column("executor_id", String(120), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", BigInteger, nullable=False),
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
