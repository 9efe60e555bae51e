"""The webhook event ids kept to drop duplicates stay bounded, by count and by age."""

from __future__ import annotations

import pytest

from mirakl_sync.domain.recent_keys import RecentKeys


def test_a_key_seen_lately_is_a_duplicate_once_forgotten_it_is_not() -> None:
    keys = RecentKeys(max_keys=10, ttl_seconds=60)
    assert not keys.seen("e1", 0.0)
    assert keys.seen("e1", 30.0)
    assert not keys.seen("e1", 61.0)  # older than the time to live: forgotten, seen anew


def test_the_memory_never_holds_more_than_its_bound() -> None:
    keys = RecentKeys(max_keys=3, ttl_seconds=3600)
    for i in range(100):
        keys.seen(f"e{i}", float(i))
    assert len(keys) == 3
    assert keys.seen("e99", 100.0) and not keys.seen("e0", 100.0)


def test_a_bound_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RecentKeys(max_keys=0, ttl_seconds=1)
