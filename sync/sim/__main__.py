"""``python -m sync.sim SEED [--trace]``: run one seed of the simulation and explain it."""

from __future__ import annotations

import argparse
import sys

from sync.sim import run_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.sim", description=__doc__)
    parser.add_argument("seed", type=int)
    parser.add_argument("--trace", action="store_true", help="print every event of the run")
    args = parser.parse_args(argv)
    result, world = run_seed(args.seed, trace=args.trace)
    if world.trace is not None:
        print("\n".join(world.trace))
    print(world.profile)
    print(
        f"{result.ops_created} ops created, {result.ops_applied} applied, "
        f"quiet at {result.quiet_at}, digest {result.digest[:16]}"
    )
    print(result.report())
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
