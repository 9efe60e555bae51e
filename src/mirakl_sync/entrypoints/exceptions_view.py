"""``mirakl-sync exceptions list``: the exception log as a table or JSON lines."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table

from mirakl_sync.bootstrap import open_store
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import ExceptionRecord, ExceptionStatus, OwnerTeam


def print_exceptions(
    settings: Settings,
    *,
    status: str | None,
    owner: str | None,
    marketplace: str | None,
    limit: int,
    as_json: bool,
) -> None:
    with open_store(settings) as store:
        records = store.exception_log.list(
            status=ExceptionStatus(status) if status else None,
            owner=OwnerTeam(owner) if owner else None,
            marketplace=marketplace,
            limit=limit,
        )
    if as_json:
        for record in records:
            print(json.dumps(_as_dict(record), default=str))
        return
    # Piped output (grep, a log file) gets wide lines instead of folded columns.
    console = Console() if sys.stdout.isatty() else Console(width=240)
    if not records:
        console.print(f"No {status or ''} exceptions.".replace("  ", " "))
        return
    table = Table(title=f"{len(records)} exception(s), newest first")
    for heading in (
        "id",
        "owner",
        "severity",
        "type",
        "marketplace",
        "entity",
        "message",
        "count",
        "last seen",
        "deadline",
    ):
        table.add_column(heading, overflow="fold")
    for record in records:
        table.add_row(
            str(record.id),
            record.owner.value,
            record.severity.value,
            record.type,
            record.marketplace or "",
            f"{record.entity_type} {record.entity_id}",
            record.message,
            str(record.count),
            f"{record.last_seen_at:%Y-%m-%d %H:%M:%S}",
            f"{record.deadline_at:%Y-%m-%d %H:%M}" if record.deadline_at else "",
        )
    console.print(table)


def _as_dict(record: ExceptionRecord) -> dict[str, object]:
    return {
        "id": record.id,
        "type": record.type,
        "owner": record.owner.value,
        "severity": record.severity.value,
        "status": record.status.value,
        "marketplace": record.marketplace,
        "entity_type": record.entity_type,
        "entity_id": record.entity_id,
        "message": record.message,
        "details": record.details,
        "count": record.count,
        "first_seen_at": record.first_seen_at.isoformat(),
        "last_seen_at": record.last_seen_at.isoformat(),
        "deadline_at": record.deadline_at.isoformat() if record.deadline_at else None,
    }
