"""The STO01/PRI01/OF01 files the client uploads and the error reports it reads."""

from __future__ import annotations

from decimal import Decimal

from mirakl_sync.adapters.mirakl.csv_files import (
    OfferLine,
    PriceLine,
    StockLine,
    offers_csv,
    parse_error_report,
    price_csv,
    stock_csv,
)


def test_stock_file_has_the_documented_header_and_groups_lines_of_one_offer() -> None:
    content = stock_csv(
        [
            StockLine("B-SKU", 4, "WH-LEEDS"),
            StockLine("A-SKU", 0),
            StockLine("B-SKU", 2, "WH-BRISTOL"),
        ]
    ).decode()
    assert content.splitlines() == [
        '"offer-sku";"quantity";"warehouse-code";"update-delete"',
        '"A-SKU";"0";"";""',
        '"B-SKU";"4";"WH-LEEDS";""',
        '"B-SKU";"2";"WH-BRISTOL";""',
    ]


def test_price_file_writes_decimals_exactly_and_adds_channels_only_when_used() -> None:
    plain = price_csv([PriceLine("A", Decimal("19.90"), Decimal("15.00"), "2024-01-01T00:00:00Z")])
    assert plain.decode().splitlines() == [
        '"offer-sku";"price";"discount-price";"discount-start-date";"discount-end-date"',
        '"A";"19.90";"15.00";"2024-01-01T00:00:00Z";""',
    ]
    channel = price_csv([PriceLine("A", Decimal("20"), channels=("US", "CA"))]).decode()
    assert channel.splitlines()[0].endswith(';"channels"')
    assert channel.splitlines()[1] == '"A";"20";"";"";"";"US|CA"'


def test_offers_file_uses_documented_columns_in_order() -> None:
    content = offers_csv(
        [
            OfferLine(
                "TENT-1",
                "5012345678900",
                "EAN",
                Decimal("189.00"),
                7,
                "11",
                extra={"leadtime-to-ship": "2"},
            )
        ]
    ).decode()
    header, row = content.splitlines()
    assert header == (
        '"sku";"product-id";"product-id-type";"price";"quantity";"state";'
        '"leadtime-to-ship";"update-delete"'
    )
    assert row == '"TENT-1";"5012345678900";"EAN";"189.00";"7";"11";"2";"update"'


def test_error_report_reads_line_number_and_reason_first() -> None:
    report = b'"line";"error";"offer-sku";"quantity"\n"3";"The offer does not exist";"NOPE";"5"\n\n'
    (row,) = parse_error_report(report)
    assert row.line == 3
    assert row.message == "The offer does not exist"
    assert row.values["offer-sku"] == "NOPE"


def test_offer_error_report_finds_the_error_column_by_name() -> None:
    report = b'"sku";"price";"error-message"\n"TENT-1";"-1";"Price must be positive"\n'
    (row,) = parse_error_report(report, line_number_first=False)
    assert row.message == "Price must be positive"
    assert row.line is None
    assert parse_error_report(b"") == []
