"""Soak the sync cores: run many seeds of the deterministic simulation and count violations.

    python bench/soak.py --seeds 10000 [--start 0] [--jobs 2]

Every failing seed is printed with its violations and the command that replays it exactly. The
last line is always ``N seeds, V violations`` (V counts seeds with at least one violation); the
exit status is 1 when V > 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

from sync.sim import SeedResult, run_seed


def one(seed: int) -> SeedResult:
    result, _ = run_seed(seed)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1000, help="how many seeds (default 1000)")
    parser.add_argument("--start", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    seeds = range(args.start, args.start + args.seeds)
    started = time.monotonic()
    failed = ops = 0
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for done, result in enumerate(pool.imap_unordered(one, seeds, chunksize=16), 1):
            ops += result.ops_created
            if not result.ok:
                failed += 1
                print(result.report(), flush=True)
            if done % 1000 == 0:
                rate = done / (time.monotonic() - started)
                print(f"... {done} seeds, {failed} failing, {rate:.0f} seeds/s", flush=True)
    elapsed = time.monotonic() - started
    print(f"{ops} ops simulated in {elapsed:.0f} s", flush=True)
    print(f"{args.seeds} seeds, {failed} violations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
