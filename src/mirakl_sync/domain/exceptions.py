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

from mirakl_sync.domain.exception_types import ExceptionType, kind_of
from mirakl_sync.domain.owners import OwnerTeam, Severity

# The owners and severities are the catalogue's (domain.owners); they are named here too,
# where every flow imports its ExceptionReport from.
__all__ = [
    "ExceptionRecord",
    "ExceptionReport",
    "ExceptionStatus",
    "ExceptionType",
    "OwnerTeam",
    "Severity",
]


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ExceptionReport:
    """What a flow reports when a record cannot go through: a type of the catalogue
    (``domain.exception_types``), with the owner the catalogue gives it."""

    #: A type of the catalogue (a str given is checked against it).
    type: ExceptionType
    owner: OwnerTeam
    severity: Severity
    #: What it is about: ``order``, ``sku``, ``offer``, ``marketplace``, ``refund`` ...
    entity_type: str
    entity_id: str
    message: str
    marketplace: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    deadline_at: datetime | None = None

    def __post_init__(self) -> None:
        kind = kind_of(self.type)  # ValueError for a type nobody owns
        object.__setattr__(self, "type", ExceptionType(self.type))
        if self.owner != kind.owner:
            raise ValueError(
                f"exception type {self.type} belongs to {kind.owner}, not {self.owner} "
                "(see mirakl_sync.domain.exception_types)"
            )

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
