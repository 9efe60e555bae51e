"""``mirakl-sync exceptions list``: the exception log as readable blocks or JSON lines."""

from __future__ import annotations

import json
import shutil
import textwrap

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
    if not records:
        print(f"No {status or ''} exceptions.".replace("  ", " "))
        return
    width = shutil.get_terminal_size((100, 24)).columns
    print(f"{len(records)} exception(s), newest first")
    for record in records:
        print()
        for line in _block(record, width):
            print(line)


def _block(record: ExceptionRecord, width: int) -> list[str]:
    """One exception as a few lines: a heading, then its message wrapped to ``width``.

    Plain text, not a rich table: a table of ten columns folded the message into a
    one-word-wide column at 100 columns, and rich read the advice's own ``[carriers]``
    as markup and dropped it.
    """
    heading = " ".join(
        part
        for part in (
            f"#{record.id}",
            record.severity.value.upper(),
            record.owner.value,
            record.type,
            record.marketplace or "",
        )
        if part
    )
    seen = f"seen {record.count}x, last {record.last_seen_at:%Y-%m-%d %H:%M:%S}"
    if record.deadline_at:
        seen += f", deadline {record.deadline_at:%Y-%m-%d %H:%M}"
    indent = "    "
    lines = textwrap.wrap(heading, width) or [heading]
    for text in (f"{record.entity_type} {record.entity_id}", record.message, seen):
        lines += textwrap.wrap(
            text,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=True,
            break_on_hyphens=False,
        )
    return lines


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
