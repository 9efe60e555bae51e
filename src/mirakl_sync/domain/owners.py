"""Who acts on a failure (``OwnerTeam``) and how urgently (``Severity``)."""

from __future__ import annotations

from enum import StrEnum


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
