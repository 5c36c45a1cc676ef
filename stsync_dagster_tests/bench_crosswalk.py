"""Crosswalk speed with a million rows: `uv run python -m stsync_dagster_tests.bench_crosswalk [--rows N] [--db PATH]`.

Fills a SQLite crosswalk with confirmed rows, then times what a sync does per page of 500 records: one lookup,
one claim and one confirm. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from stsync_dagster.sync.crosswalk import CONFIRMED, Crosswalk, id_map

KIND = "materials"
PAGE = 500
FILL_BATCH = 50_000


def _fill(crosswalk: Crosswalk, rows: int) -> float:
    crosswalk.ensure_schema()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(1, rows + 1, FILL_BATCH):
        batch = [
            {
                "kind": KIND,
                "prod_id": prod_id,
                "int_id": prod_id + 50_000_000,
                "created_at": now,
                "state": CONFIRMED,
                "run_id": "bench-fill",
                "partition": None,
                "claimed_at": now,
                "updated_at": now,
                "source": "sync",
            }
            for prod_id in range(start, min(start + FILL_BATCH, rows + 1))
        ]
        with crosswalk.engine.begin() as conn:
            conn.execute(id_map.insert(), batch)  # executemany
    return time.perf_counter() - started


def _timed(action, repeats: int) -> list[float]:
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        action(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--db", help="SQLite file to use (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db or Path(tmp) / "bench.sqlite3")
        with Crosswalk(str(path)) as crosswalk:
            fill_s = _fill(crosswalk, args.rows)
            rng = random.Random(7)
            pages = [rng.sample(range(1, args.rows + 1), PAGE) for _ in range(args.repeats)]
            new_pages = [range(args.rows + 1 + i * PAGE, args.rows + 1 + (i + 1) * PAGE) for i in range(args.repeats)]

            def lookup(i):
                assert len(crosswalk.lookup(KIND, pages[i])) == PAGE

            def int_ids(i):
                assert len(crosswalk.int_ids(KIND, pages[i])) == PAGE

            def claim_confirm(i):
                ids = new_pages[i]
                assert len(crosswalk.claim(KIND, ids, f"bench-{i}")) == PAGE
                assert len(crosswalk.confirm(KIND, {p: p + 50_000_000 for p in ids}, f"bench-{i}")) == PAGE

            def record_unchanged(i):
                assert crosswalk.record(KIND, {p: p + 50_000_000 for p in pages[i]}, "reconcile").unchanged == PAGE

            results = {
                f"lookup {PAGE} ids": _timed(lookup, args.repeats),
                f"int_ids {PAGE} ids": _timed(int_ids, args.repeats),
                f"claim + confirm {PAGE} new ids": _timed(claim_confirm, args.repeats),
                f"record {PAGE} unchanged pairs": _timed(record_unchanged, args.repeats),
            }
            rows = sum(crosswalk.counts(KIND).values())
        size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6

    print(
        f"SQLite crosswalk: {rows:,} rows, {size_mb:.0f} MB on disk (with WAL); filled in {fill_s:.1f} s "
        f"({args.rows / fill_s:,.0f} rows/s)"
    )
    print(f"{'operation':<34}{'median ms':>10}{'p90 ms':>10}{'max ms':>10}   ({args.repeats} runs)")
    for name, times in results.items():
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
        print(f"{name:<34}{statistics.median(times):>10.1f}{p90:>10.1f}{max(times):>10.1f}")


if __name__ == "__main__":
    main()
