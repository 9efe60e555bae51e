"""How ``SupercycleClient`` builds query parameters and JSON bodies (None is left out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _param(params: dict[str, str], key: str, value: str | int | None) -> None:
    """Add a query parameter unless it is None (query values are strings)."""
    if value is not None:
        params[key] = str(value)


def _field(body: dict[str, Any], key: str, value: Any) -> None:
    """Add a JSON body field unless it is None (None means "leave unchanged")."""
    if value is not None:
        body[key] = value


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
