"""Read models for the status page and the CLI (the read side, apart from the write path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mirakl_sync.domain.exceptions import ExceptionRecord


@dataclass(frozen=True)
class WorkerView:
    executor_id: str
    hostname: str
    pid: int
    role: str
    status: str
    seconds_since_heartbeat: float


@dataclass(frozen=True)
class MarketplaceView:
    code: str
    name: str
    host: str
    open_exceptions: int


@dataclass(frozen=True)
class OrderView:
    marketplace: str
    order_id: str
    #: Mirakl's state, and where the hub got to with the order.
    state: str
    hub_status: str
    created_at: datetime
    total: str
    lines: int
    shopify_order_name: str | None
    acceptance_deadline_at: datetime | None


@dataclass(frozen=True)
class StatusView:
    marketplaces: list[MarketplaceView]
    orders: list[OrderView]
    exceptions: list[ExceptionRecord]
    workers: list[WorkerView]


class StatusReader(Protocol):
    def status(self) -> StatusView: ...
