"""Mirakl's Call Frequency maxima, as the emulator enforces them (HTTP 429 + Retry-After).

Each entry is the "Maximum usage" of the operation's Call Frequency block in the official
seller spec (a unit test re-reads the spec text so this table cannot drift). Operations
whose maximum is "per business event" or "at each page display" (OR21, OR23, OR24, OR28,
OR29, OR30, ST01, ST11, ST23, ST24, OF21), RE01 ("each time a page must display a list of
reasons") and those without a block (PC01, V01, OF54) have no budget.

A key may carry a variant after a colon when the spec gives two maxima for one operation.
IV01 and SBC11 allow "once per day and as many times as there are pages returned": only the
first page counts. OR11 uses the "Asynchronous" maximum of the default persona.
"""

from __future__ import annotations

from mirakl_sync.domain.call_budget import Budget

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

CALL_FREQUENCY_MAXIMA: dict[str, tuple[Budget, ...]] = {
    "OR11": (Budget(1, MINUTE),),
    "OF01": (Budget(1, MINUTE),),
    "OF01:with_products": (Budget(1, 15 * MINUTE),),
    "OF02": (Budget(1, MINUTE),),
    "OF03": (Budget(1, MINUTE),),
    "OF04": (Budget(1, MINUTE),),
    "OF24": (Budget(1, MINUTE),),
    "OF52:differential": (Budget(1, MINUTE),),
    "OF52:full": (Budget(1, DAY),),
    "OF53": (Budget(1, 10.0),),
    "STO01": (Budget(1, MINUTE),),
    "STO02": (Budget(1, 15.0),),
    "STO03": (Budget(1, MINUTE),),
    "PRI01": (Budget(1, MINUTE),),
    "PRI02": (Budget(1, MINUTE),),
    "PRI03": (Budget(1, MINUTE),),
    "SH21": (Budget(1, DAY),),
    "OF61": (Budget(1, DAY),),
    "A01": (Budget(1, DAY),),
    "IV01": (Budget(1, DAY),),
    "SBC11": (Budget(1, DAY),),
    "TL02": (Budget(20, MINUTE), Budget(60, HOUR)),
}
