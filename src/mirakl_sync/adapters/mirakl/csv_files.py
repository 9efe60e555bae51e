"""The CSV files Mirakl imports (STO01 stock, PRI01 prices, OF01 offers) and its error reports.

Formats, from the spec's ``file`` descriptions and examples:

- STO01: ``"offer-sku";"quantity";"warehouse-code";"update-delete"``, one line per offer
  quantity, lines of one offer together; an empty ``warehouse-code`` is the global quantity.
- PRI01: ``"offer-sku";"price";"discount-price";"discount-start-date";"discount-end-date"``
  (+ ``channels`` for channel pricing), one line per price, prices of one offer together.
  Delete-and-replace: every price of a submitted offer that is not in the file is deleted.
- OF01: the offer columns (``sku;product-id;product-id-type;price;quantity;state;...``).

All files are semicolon-separated, UTF-8, every cell quoted (as in the spec's header
lines). Error reports (STO03, PRI03, OF03 when the import was CSV) are CSV too: for STO03
and PRI03 the first column is the line number in error and the second the reason; the
column names are not documented, so the parser reads them by position and keeps the rest
by header name. OF03's layout is not documented beyond "the uploaded format": its error
column is found by name (a header containing ``error``), else the last column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

DELIMITER = ";"

STOCK_COLUMNS = ("offer-sku", "quantity", "warehouse-code", "update-delete")
PRICE_COLUMNS = (
    "offer-sku",
    "price",
    "discount-price",
    "discount-start-date",
    "discount-end-date",
)
# OF01 columns in the order Mirakl documents them (reference §5.1); only used ones are written.
OFFER_COLUMNS = (
    "sku",
    "product-id",
    "product-id-type",
    "description",
    "internal-description",
    "price",
    "price-additional-info",
    "quantity",
    "min-quantity-alert",
    "state",
    "available-start-date",
    "available-end-date",
    "discount-price",
    "discount-start-date",
    "discount-end-date",
    "discount-ranges",
    "allow-quote-requests",
    "leadtime-to-ship",
    "min-order-quantity",
    "max-order-quantity",
    "package-quantity",
    "update-delete",
    "price-ranges",
    "logistic-class",
    "product-tax-code",
)


@dataclass(frozen=True)
class StockLine:
    """One STO01 line: the quantity of one offer (in one warehouse, or globally)."""

    offer_sku: str
    quantity: int
    warehouse_code: str | None = None
    update_delete: str | None = None  # "update" (default when empty) or "delete"


@dataclass(frozen=True)
class PriceLine:
    """One PRI01 line: one price of one offer."""

    offer_sku: str
    price: Decimal
    discount_price: Decimal | None = None
    discount_start_date: str | None = None  # ISO 8601, e.g. 2024-01-01T23:00:00Z
    discount_end_date: str | None = None
    channels: tuple[str, ...] = ()  # channel pricing: written "US|CA"; empty = default price


@dataclass(frozen=True)
class OfferLine:
    """One OF01 line; ``state`` is an OF61 offer condition code (e.g. "11")."""

    sku: str
    product_id: str
    product_id_type: str
    price: Decimal
    quantity: int
    state: str
    update_delete: str = "update"
    extra: Mapping[str, str] = field(default_factory=dict)  # any other documented column


@dataclass(frozen=True)
class ErrorReportRow:
    """One line of a Mirakl error report."""

    line: int | None
    message: str
    values: dict[str, str]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _write(header: Iterable[str], rows: Iterable[Iterable[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITER, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([_text(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def stock_csv(lines: Iterable[StockLine]) -> bytes:
    """The STO01 file; lines of one offer are grouped as Mirakl asks."""
    ordered = sorted(lines, key=lambda line: line.offer_sku)  # stable: keeps warehouse order
    return _write(
        STOCK_COLUMNS,
        (
            (line.offer_sku, line.quantity, line.warehouse_code, line.update_delete)
            for line in ordered
        ),
    )


def price_csv(lines: Iterable[PriceLine]) -> bytes:
    """The PRI01 file; a ``channels`` column is added when any line is channel-specific."""
    ordered = sorted(lines, key=lambda line: line.offer_sku)
    with_channels = any(line.channels for line in ordered)
    header = (*PRICE_COLUMNS, "channels") if with_channels else PRICE_COLUMNS
    rows: list[list[object]] = []
    for line in ordered:
        row: list[object] = [
            line.offer_sku,
            line.price,
            line.discount_price,
            line.discount_start_date,
            line.discount_end_date,
        ]
        if with_channels:
            row.append("|".join(line.channels))
        rows.append(row)
    return _write(header, rows)


def offers_csv(lines: Iterable[OfferLine]) -> bytes:
    """The OF01 file with the documented columns in use (others come from ``extra``)."""
    materialised = list(lines)
    used = {"sku", "product-id", "product-id-type", "price", "quantity", "state", "update-delete"}
    for line in materialised:
        used.update(line.extra)
    header = [column for column in OFFER_COLUMNS if column in used]
    header += sorted(used - set(OFFER_COLUMNS))
    rows = []
    for line in materialised:
        cells: dict[str, object] = {
            "sku": line.sku,
            "product-id": line.product_id,
            "product-id-type": line.product_id_type,
            "price": line.price,
            "quantity": line.quantity,
            "state": line.state,
            "update-delete": line.update_delete,
            **line.extra,
        }
        rows.append([cells.get(column) for column in header])
    return _write(header, rows)


def parse_error_report(content: bytes, *, line_number_first: bool = True) -> list[ErrorReportRow]:
    """Parse an error report: STO03/PRI03 (``line_number_first``) or OF03 (by column name)."""
    text = content.decode("utf-8-sig", errors="replace")
    if not text.strip():
        return []
    sample = text.splitlines()[0]
    delimiter = DELIMITER if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    result: list[ErrorReportRow] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        if line_number_first and len(cells) >= 2:
            line = int(cells[0]) if cells[0].strip().isdigit() else None
            message = cells[1]
        else:
            error_columns = [i for i, name in enumerate(header) if "error" in name.lower()]
            index = error_columns[0] if error_columns else len(cells) - 1
            message = cells[index] if index < len(cells) else ""
            line_columns = [i for i, name in enumerate(header) if "line" in name.lower()]
            raw = cells[line_columns[0]] if line_columns else ""
            line = int(raw) if raw.strip().isdigit() else None
        result.append(ErrorReportRow(line=line, message=message, values=values))
    return result
