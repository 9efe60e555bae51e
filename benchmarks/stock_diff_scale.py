"""Benchmark: a full stock diff of N offers on 3 marketplaces (default 1,000,000).

What is timed is the hub's per-cycle work once the source has been read: for each of the
3 marketplaces, desired quantities (source - held - that marketplace's rules) and the diff
against what the hub last decided (coalescing: unchanged values are not sent). The input
(offers, quantities, facts, the previous decisions) is built first and not timed.

Memory: the peak resident set size of the whole process (``ru_maxrss``), inputs included.

    python benchmarks/stock_diff_scale.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import resource
import sys
import time

from mirakl_sync.domain.allocation import (
    OfferFacts,
    RuleBook,
    StockRule,
    desired_quantities,
    plan_stock_updates,
)

TYPES = ("Jackets", "Fleeces", "Base Layers", "Trousers", "Footwear", "Backpacks", "Tents", "Ski")
MARKETS = {
    "debenhams": [StockRule(safety_buffer=1)],
    "sportshub": [
        StockRule(tag="tents", max_quantity=2),
        StockRule(product_type="Footwear", percent_cap=50),
        StockRule(zero_at_or_below=1),
    ],
    "maisonhome": [],
}


def run(offers: int, seed: int = 42) -> dict[str, object]:
    rng = random.Random(seed)
    classes = [
        OfferFacts(t, frozenset({channel, t.lower().replace(" ", "-")}))
        for t in TYPES
        for channel in ("new", "resale", "tents" if t == "Tents" else "other")
    ]
    skus = [f"SKU-{i:07d}" for i in range(offers)]
    source = {sku: rng.randrange(0, 20) for sku in skus}
    facts = {sku: classes[i % len(classes)] for i, sku in enumerate(skus)}
    held = {skus[i]: 1 for i in range(0, offers, 97)}
    books = {code: RuleBook(rules) for code, rules in MARKETS.items()}
    # What the hub decided last cycle: 2% of the source has changed since.
    last_known: dict[str, dict[str, int | None]] = {}
    for code, book in books.items():
        last_known[code] = dict(desired_quantities(source, held, book, facts))
    for i in range(0, offers, 50):
        source[skus[i]] = (source[skus[i]] + 3) % 20
    gc.collect()
    started = time.perf_counter()
    changes: dict[str, int] = {}
    for code, book in books.items():
        desired = desired_quantities(source, held, book, facts)
        changes[code] = len(plan_stock_updates(desired, last_known[code]))
        del desired
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "benchmark": "stock_diff_scale",
        "offers": offers,
        "marketplaces": len(books),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "changes": changes,
        "target_seconds": 10.0,
        "target_peak_mb": 600.0,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 offers instead of 1,000,000")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--offers", type=int, default=None)
    args = parser.parse_args(argv)
    offers = args.offers or (100_000 if args.quick else 1_000_000)
    result = run(offers)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{result['offers']:,} offers x {result['marketplaces']} marketplaces: "
            f"{result['seconds']} s, peak RSS {result['peak_rss_mb']} MB, "
            f"changes {result['changes']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
