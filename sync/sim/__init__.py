"""Deterministic simulation of the sync cores: ``world`` (the fake network, faults, traffic) and
``invariants`` (DESIGN.md's nine, one checker each). ``run_seed`` is what tests and the soak use."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from sync.memory import MemoryCentralStore
from sync.sim.invariants import CHECKERS, check_all
from sync.sim.stores import MemoryBranchSim, SimBranchStore, SimCentralStore
from sync.sim.world import Profile, Violation, World


@dataclass(frozen=True)
class SeedResult:
    seed: int
    violations: tuple[Violation, ...]
    digest: str
    ops_created: int
    ops_applied: int
    quiet_at: float | None
    stats: tuple[tuple[str, int], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations

    def report(self) -> str:
        lines = [f"seed {self.seed}: {len(self.violations)} violations"]
        lines += [f"  {v.invariant}: {v.detail}" for v in self.violations[:20]]
        lines.append(f"  replay: {replay_hint(self.seed)}")
        return "\n".join(lines)


def run_seed(
    seed: int,
    *,
    central_store_factory: Callable[[], SimCentralStore] = MemoryCentralStore,
    branch_store_factory: Callable[[], SimBranchStore] = MemoryBranchSim,
    trace: bool = False,
) -> tuple[SeedResult, World]:
    world = World(
        seed,
        central_store_factory=central_store_factory,
        branch_store_factory=branch_store_factory,
        trace=trace,
    ).run()
    violations = tuple(check_all(world))
    result = SeedResult(
        seed=seed,
        violations=violations,
        digest=world.digest,
        ops_created=sum(len(c) for c in world.truth.created.values()),
        ops_applied=sum(len(b.effects) for b in world.central_store.branches.values()),
        quiet_at=world.quiet_at,
        stats=tuple(sorted(world.stats.items())),
    )
    return result, world


def replay_hint(seed: int) -> str:
    return (
        f"PST_SIM_SEED={seed} .venv/bin/python -m pytest tests/sync/test_simulation.py "
        f"-k replay -q   (or: .venv/bin/python -m sync.sim {seed} --trace)"
    )


def seed_from_env() -> int | None:
    value = os.environ.get("PST_SIM_SEED", "").strip()
    return int(value) if value else None


__all__ = ["CHECKERS", "Profile", "SeedResult", "Violation", "World", "replay_hint", "run_seed"]
