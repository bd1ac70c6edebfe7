"""The national reconnect benchmark, CI-sized: 20 offices x 20 ops released at once.

The same code as ``make bench`` (``bench/bench_national.py``): a real ``pst_sync_server`` on a
central SQLite database with every office enrolled, real CURVE ZeroMQ connections from two client
processes driving ``BranchCore``, and a probe office pushing single records meanwhile. Checked
here with SQL of our own: every op of every office is at central exactly once, in the office's
order, none rejected; and the benchmark's own order check does fail on a wrong order.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support.chaos import CentralDB
from tests.support.national import (
    PROBE_CODE,
    branch_codes,
    check_order,
    prepare,
    run_scale,
)

pytestmark = pytest.mark.slow

BRANCHES, OPS = 20, 20


def test_codes_are_distinct_bps_shaped() -> None:
    codes = branch_codes(548)
    assert len(set(codes)) == 548
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert sum(c.endswith("00") for c in codes) == 34  # the provinces


def test_small_national_reconnect_drains_everything_in_order(tmp_path: Path) -> None:
    codes = branch_codes(BRANCHES)
    keys, env = prepare(tmp_path, [*codes, PROBE_CODE], None)
    db = CentralDB(sqlite_path=tmp_path / "db.sqlite3")
    scale = run_scale(1, keys, codes, env, db, OPS, 2, timeout=120)
    assert scale.branches == BRANCHES and scale.ops == BRANCHES * OPS
    assert scale.order_ok == BRANCHES
    assert scale.probe, "the probe office pushed nothing during the drain"

    rows = db.rows(
        "SELECT b.code, a.seq, a.op_id, a.result FROM pst_helpdesk_ext_appliedop a"
        " JOIN pst_helpdesk_ext_branch b ON b.id = a.branch_id ORDER BY a.id"
    )
    by_code: dict[str, list[tuple[int, str, str]]] = {}
    for code, seq, op_id, result in rows:
        by_code.setdefault(code, []).append((seq, str(uuid.UUID(str(op_id))), result))
    for code in codes:
        held = by_code[code]
        assert [seq for seq, _, _ in held] == list(range(1, OPS + 1))  # complete, in order
        assert len({op for _, op, _ in held}) == OPS  # no op twice
        assert {result for *_, result in held} == {"applied"}
    per_branch = db.rows(
        "SELECT b.code, COUNT(*) FROM pst_helpdesk_ext_visit v JOIN pst_helpdesk_ext_branch b"
        " ON b.id = v.branch_id GROUP BY b.code"
    )
    visits = sum(count for code, count in per_branch if code in codes)
    assert visits == BRANCHES * -(-OPS // 6)  # every visit the backlogs started

    # The benchmark's own check notices a branch whose ops are held in another order.
    first = codes[0]
    swapped = [op for _, op, _ in by_code[first]][::-1]
    ok, wrong = check_order(db, {first: swapped})
    assert (ok, wrong) == (0, [first])
