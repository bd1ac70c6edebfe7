"""The nine invariants of DESIGN.md ("Invariants every test of sync checks"), one checker each.

Each checker takes a finished ``World`` (healed, then run until quiet or out of time) and returns
the violations it finds, naming the invariant. ``check_all`` runs them in DESIGN.md's order.
Checkers read the stores and the world's ground truth; only ``idempotent_replay`` sends anything,
and it asserts that doing so changed nothing.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import TypeVar

from sync.codec import Changes, Push, decode, encode
from sync.sim.stores import comparable
from sync.sim.world import EPOCH, REVOKED_IDENTITY, UNKNOWN_IDENTITY, Violation, World
from sync.store import ChangesPage, FeedEntry

T = TypeVar("T")
REPLAYS = 60  # messages of each kind replayed by idempotent_replay


def no_loss(world: World) -> list[Violation]:
    """1. Every op ever ACKed, or still in a branch outbox, is applied at central."""
    found = []
    for code, node in world.branches.items():
        central = world.central_store.branches[code]
        effects = set(central.effects)
        for op_id, verdict in world.truth.acked[code].items():
            record = central.records.get(op_id)
            if record is None:
                found.append(
                    Violation("no_loss", f"{code}:{op_id} was ACKed ({verdict}), not recorded")
                )
            elif verdict == "accepted" and op_id not in effects:
                found.append(Violation("no_loss", f"{code}:{op_id} was ACKed, has no effect"))
        for op_id in node.store.outbox_ids():
            if op_id not in central.records:
                found.append(
                    Violation("no_loss", f"{code}:{op_id} is in the outbox, not at central")
                )
    return found


def no_duplicates(world: World) -> list[Violation]:
    """2. At most one effect per (branch, op_id)."""
    found = []
    for code, central in world.central_store.branches.items():
        seen: set[str] = set()
        for op_id in central.effects:
            if op_id in seen:
                found.append(Violation("no_duplicates", f"{code}:{op_id} took effect twice"))
            seen.add(op_id)
        logged = [op_id for op_id, _ in central.apply_log]
        if len(logged) != len(set(logged)):
            found.append(Violation("no_duplicates", f"{code}: an op id was applied twice"))
    return found


def no_phantoms(world: World) -> list[Violation]:
    """3. Every applied op was created by that branch, as it created it (seq may be renumbered)."""
    found = []
    for code, central in world.central_store.branches.items():
        created = world.truth.created.get(code, {})
        delivered = world.truth.delivered.get(code, set())
        for op_id, record in central.records.items():
            truth = created.get(op_id)
            if truth is None:
                found.append(
                    Violation("no_phantoms", f"{code}:{op_id} was never created by {code}")
                )
                continue
            mine, theirs = truth.op, record.op
            if (mine.kind, mine.entity_id, mine.hlc, mine.payload) != (
                theirs.kind,
                theirs.entity_id,
                theirs.hlc,
                theirs.payload,
            ):
                found.append(
                    Violation("no_phantoms", f"{code}:{op_id} differs from what was created")
                )
            if op_id not in delivered:
                found.append(
                    Violation("no_phantoms", f"{code}:{op_id} never came over {code}'s link")
                )
    return found


def ack_safety(world: World) -> list[Violation]:
    """4. Nothing leaves an outbox before central committed it (checked at every commit)."""
    return [v for v in world.truth.online if v.invariant == "ack_safety"]


def order(world: World) -> list[Violation]:
    """5. Per branch, ops apply in seq order and in the order they were created; the high-water
    mark and the feed cursor never go back (checked at every commit)."""
    found = [v for v in world.truth.online if v.invariant == "order"]
    for code, central in world.central_store.branches.items():
        previous = 0
        for op_id, seq in central.apply_log:
            if seq <= previous:
                found.append(
                    Violation("order", f"{code}:{op_id} applied at seq {seq} after {previous}")
                )
            previous = seq
        position = {op_id: n for n, (op_id, _) in enumerate(central.apply_log)}
        for op_id, truth in world.truth.created.get(code, {}).items():
            if op_id not in position:
                continue
            for earlier in truth.pending_before:
                if position.get(earlier.op_id, -1) > position[op_id]:
                    found.append(
                        Violation(
                            "order",
                            f"{code}:{op_id} applied before {earlier.op_id}, created earlier",
                        )
                    )
    return found


def convergence(world: World) -> list[Violation]:
    """6. After healing, each branch's view of its tickets (and reference data) is central's."""
    found = []
    for code, node in world.branches.items():
        fields = node.store.VIEW_FIELDS  # what this branch store keeps of central's state
        mine = dict(node.store.central_view())
        theirs = world.central_store.tickets(code)
        for entity in sorted(set(mine) | set(theirs)):
            if comparable(mine.get(entity), fields) != comparable(theirs.get(entity), fields):
                found.append(
                    Violation(
                        "convergence",
                        f"{code} ticket {entity}: "
                        f"branch {mine.get(entity)}, central {theirs.get(entity)}",
                    )
                )
        reference = node.store.reference_view()
        if reference is not None and dict(reference) != world.central_store.reference:
            found.append(Violation("convergence", f"{code} reference data differs from central's"))
    return found


def idempotent_replay(world: World) -> list[Violation]:
    """7. Re-sending any PUSH, CHANGES or snapshot changes nothing (here, after convergence)."""
    if world.central_core is None or not all(n.core for n in world.branches.values()):
        return [Violation("idempotent_replay", "a node is down; nothing to replay against")]
    rng = random.Random(world.seed ^ 0x5EED)
    central_before = world.central_store.fingerprint()
    branches_before = {code: node.store.fingerprint() for code, node in world.branches.items()}
    now = world.now

    def deliver_to_central(code: str, push: Push) -> None:
        assert world.central_core is not None
        for event in world.central_core.receive(code, encode(push), EPOCH + now):
            frames = getattr(event, "frames", None)
            core = world.branches[code].core
            if frames is not None and core is not None:
                core.receive(frames, now)  # the answer, too, must change nothing

    for code, push in _sample(rng, world.truth.pushes):
        deliver_to_central(code, push)  # exactly as sent: old sessions fenced, the rest deduped
    for code, frames in _sample(rng, world.truth.changes):
        node = world.branches[code]
        assert node.core is not None
        node.core.receive(frames, now)
        message = decode(frames)
        assert isinstance(message, Changes)
        node.store.apply_changes(_page(message))
    for code, node in world.branches.items():  # a snapshot taken now, for the current cursor
        snapshot = world.central_store.snapshot(code, 0)
        cursor = node.store.feed_cursor()
        node.store.apply_changes(dataclasses.replace(snapshot, from_cursor=cursor))
    found = []
    if world.central_store.fingerprint() != central_before:
        found.append(Violation("idempotent_replay", "replaying PUSHes changed central"))
    for code, node in world.branches.items():
        if node.store.fingerprint() != branches_before[code]:
            found.append(Violation("idempotent_replay", f"replaying CHANGES changed branch {code}"))
    return found


def liveness(world: World) -> list[Violation]:
    """8. Once healed, outboxes empty and cursors reach the head, with no restart."""
    if world.quiet_at is not None:
        return []
    head = world.central_store.head
    details = [
        f"{code}: {node.core.state.value if node.core else 'down'}, "
        f"{node.store.pending_count()} pending, cursor {node.store.feed_cursor()}/{head}"
        for code, node in world.branches.items()
    ]
    limit = world.end_at - world.profile.active_for
    return [Violation("liveness", f"not quiet {limit:.0f}s after healing: " + "; ".join(details))]


def authentication(world: World) -> list[Violation]:
    """9. Unknown or revoked keys are refused; a body never overrides the transport's identity."""
    found = []
    store = world.central_store
    if UNKNOWN_IDENTITY in store.branches:
        found.append(
            Violation("authentication", f"central keeps state for unknown {UNKNOWN_IDENTITY}")
        )
    revoked = store.branches.get(REVOKED_IDENTITY)
    if revoked is not None and (revoked.records or revoked.effects):
        found.append(Violation("authentication", f"ops applied for revoked {REVOKED_IDENTITY}"))
    for when, kind in world.truth.replies.get(UNKNOWN_IDENTITY, []):
        if kind != b"ERROR" and kind != b"PONG":
            found.append(Violation("authentication", f"unknown key got {kind!r} at {when:.1f}"))
    revoked_at = world.truth.revoked_at
    for when, kind in world.truth.replies.get(REVOKED_IDENTITY, []):
        if revoked_at is not None and when >= revoked_at and kind not in (b"ERROR", b"PONG"):
            found.append(Violation("authentication", f"revoked key got {kind!r} at {when:.1f}"))
    for code, central in store.branches.items():
        delivered = world.truth.delivered.get(code, set())
        for op_id in central.records:
            if op_id not in delivered:
                found.append(
                    Violation("authentication", f"{code}:{op_id} recorded, never sent as {code}")
                )
            owners = [c for c, created in world.truth.created.items() if op_id in created]
            if owners and owners != [code]:
                found.append(
                    Violation("authentication", f"{op_id} of {owners} recorded under {code}")
                )
    return found


CHECKERS: tuple[Callable[[World], list[Violation]], ...] = (
    no_loss,
    no_duplicates,
    no_phantoms,
    ack_safety,
    order,
    convergence,
    idempotent_replay,
    liveness,
    authentication,
)


def check_all(world: World) -> list[Violation]:
    found: list[Violation] = []
    for checker in CHECKERS:
        found += checker(world)
    return found


def _sample(rng: random.Random, items: list[T]) -> list[T]:
    if len(items) <= REPLAYS:
        return list(items)
    return [items[i] for i in sorted(rng.sample(range(len(items)), REPLAYS))]


def _page(message: Changes) -> ChangesPage:
    return ChangesPage(
        from_cursor=message.from_,
        to_cursor=message.to,
        items=tuple(FeedEntry(i.feed_id, i.kind, i.entity_id, i.payload) for i in message.items),
        more=message.more,
        snapshot=message.snapshot,
    )


__all__ = ["CHECKERS", "check_all"]
