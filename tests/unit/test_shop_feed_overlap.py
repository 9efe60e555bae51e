"""How far behind its cursor a safety-net pass re-reads the shop (``services.shop_feed``).

The re-read is there for changes Shopify's search lists late (up to the ``overlap``) and
for the one-second resolution of ``updatedAt``. A change the page that moved the cursor
did not list was, at the latest, made ``overlap`` before that page was read: so a cursor
written long after the change it stands at needs less re-reading.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mirakl_sync.services.shop_feed import MIN_OVERLAP, OVERLAP, ShopChangeFeed

CURSOR = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


class Cursors:
    def __init__(self, value: datetime, written: datetime) -> None:
        self.value, self.written = value, written

    def get(self, flow: str, scope: str) -> str | None:
        return self.value.isoformat().replace("+00:00", "Z")

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None:
        raise AssertionError("start() never moves the cursor")

    def written_at(self, flow: str, scope: str) -> datetime | None:
        return self.written


def since(read_behind: timedelta) -> datetime:
    feed = ShopChangeFeed(
        shop=None,  # type: ignore[arg-type]
        index=None,  # type: ignore[arg-type]
        cursors=Cursors(CURSOR, CURSOR + read_behind),
        clock=lambda: (CURSOR + read_behind).timestamp(),
    )
    start = feed.start("shipments")
    assert start is not None
    return datetime.fromisoformat(start)


def test_a_feed_that_is_caught_up_re_reads_the_whole_overlap() -> None:
    assert since(timedelta(seconds=0)) == CURSOR - OVERLAP


def test_a_feed_behind_the_shop_re_reads_only_what_its_last_page_could_have_missed() -> None:
    # Before (issue 10, a 10-minute soak at 2,000 orders an hour under faults): every pass
    # re-read 10 to 16 pages of the five minutes behind its cursor whatever the lag; with
    # Shopify's 5% of 30-second hangs those pages took most of a pass's share, and the
    # cursor stayed 3 minutes behind the shop.
    assert since(timedelta(minutes=3)) == CURSOR - (OVERLAP - timedelta(minutes=3))
    # Far behind: still a minute (clocks of Shopify and the hub may differ a little).
    assert since(timedelta(minutes=10)) == CURSOR - MIN_OVERLAP
