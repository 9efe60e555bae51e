"""Exceptions: records that could not go through, each with an owner team who must act.

An exception is business data, not a Python error: "order 1234-A waits on an unmapped
SKU, ops must act before 14:00". The same problem seen again (same type and entity)
is one exception whose count and last-seen time grow, so a retrying flow never floods
the list. Nothing fails silently: every flow reports here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OwnerTeam(StrEnum):
    #: Operations: orders, stock, dispatch, carriers, connectivity.
    OPS = "ops"
    #: Finance: refunds, settlements, commissions, payouts.
    FINANCE = "finance"
    #: E-commerce: catalogue, mappings, offers, prices.
    ECOMMERCE = "ecommerce"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    #: Money or a marketplace deadline is at stake now.
    CRITICAL = "critical"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ExceptionReport:
    """What a flow reports when a record cannot go through."""

    #: A stable snake_case name, e.g. ``unmapped_sku``, ``carrier_rejected``.
    type: str
    owner: OwnerTeam
    severity: Severity
    #: What it is about: ``order``, ``sku``, ``offer``, ``marketplace``, ``refund`` ...
    entity_type: str
    entity_id: str
    message: str
    marketplace: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    deadline_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        """Same type, marketplace and entity = the same problem seen again."""
        key = "|".join((self.type, self.marketplace or "", self.entity_type, self.entity_id))
        if len(key) <= 255:
            return key
        return key[:190] + "#" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ExceptionRecord:
    """An exception as stored, with its history."""

    id: int
    type: str
    owner: OwnerTeam
    severity: Severity
    status: ExceptionStatus
    entity_type: str
    entity_id: str
    message: str
    marketplace: str | None
    details: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    count: int
    deadline_at: datetime | None
    resolved_at: datetime | None
