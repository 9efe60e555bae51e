"""How ``MiraklClient`` encodes what it sends: query pairs, path segments, JSON bodies.

Mirakl wants UTC timestamps ending in ``Z``, lowercase booleans, repeated query
parameters for lists and numbers (not strings) for decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

QueryPairs = list[tuple[str, str | int | float | bool | None]]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"pass timezone-aware datetimes to Mirakl, got {value!r}")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _query(params: Mapping[str, Any]) -> QueryPairs:
    """Query pairs: None dropped, lists repeated (``?p=a&p=b``), booleans lowercase."""
    pairs: QueryPairs = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((name, _format(item)) for item in value)
        else:
            pairs.append((name, _format(value)))
    return pairs


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _comma(values: Sequence[str] | None) -> str | None:
    """Comma-separated list (OR11's older string parameters)."""
    if values is None:
        return None
    return ",".join(values) or None


def _list(values: Sequence[Any] | None) -> list[Any] | None:
    return list(values) if values else None


def _seg(value: str) -> str:
    """A path segment, escaped (order ids such as ``12345-A`` are safe; others may not be)."""
    return quote(str(value), safe="")


def _drop_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _dump(model: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = _json_ready(model.model_dump(mode="python", exclude_none=True))
    return dumped


def _json_ready(value: Any) -> Any:
    """Plain JSON values; Decimal becomes a JSON number (pydantic's JSON mode would make it a
    string, which Mirakl's number fields do not accept)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return _format(value)
    return value


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _content_type(filename: str) -> str:
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if lower.endswith(".xml"):
        return "application/xml"
    return "text/csv"
