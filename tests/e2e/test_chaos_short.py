"""The chaos harness, CI-sized: two short runs of ``bench/chaos.py`` lose and duplicate nothing.

Real processes on loopback (central on SQLite, ``pst_sync_server``, two ``pst-branch-agent run``
behind the harness's TCP proxies), a seeded nemesis (SIGKILLs, cut and stalled links, one branch
restored from an older backup per run) and central staff replies going down, then SQL checks
against central and both branch stores. The second run also proves the checks can fail: after
its real check, one visit is deleted from central and one reply from a branch store, and the
check must report both as lost. ``make chaos RUNS=50`` is the full version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.support.chaos import Result, Run, Template, build_template

pytestmark = pytest.mark.slow

BRANCHES = 2
SECONDS = 12.0


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Iterator[Template]:
    yield build_template(tmp_path_factory.mktemp("chaos"), BRANCHES, None)


class SabotagedRun(Run):
    """A run whose check is repeated after deleting what the first check found in place."""

    sabotaged: Result

    def check(self) -> None:
        super().check()
        central = sqlite3.connect(self.tmpl.base / f"run-{self.index}" / "central" / "db.sqlite3")
        with central:
            (origin,) = central.execute(
                "SELECT origin_id FROM pst_helpdesk_ext_visit ORDER BY id DESC LIMIT 1"
            ).fetchone()
            central.execute("DELETE FROM pst_helpdesk_ext_visit WHERE origin_id = ?", (origin,))
        central.close()
        code = self.replies[0][0]
        branch = next(b for b in self.branches if b.code == code)
        store = sqlite3.connect(branch.store)
        with store:
            store.execute(
                "DELETE FROM branch_agent_ticketupdate WHERE key = ?",
                (f"reply:{self.replies[0][1]}:{self.replies[0][2]}",),
            )
        store.close()
        real, self.result = self.result, Result()
        super().check()
        self.sabotaged, self.result = self.result, real


def assert_clean(result: Result) -> None:
    assert result.error == ""
    assert (result.lost, result.duplicated) == (0, 0), result.details
    assert (result.phantoms, result.order_breaks) == (0, 0), result.details
    # Not vacuous: visits were made, faults happened, a branch went back in time, changes went down.
    assert result.visits >= 2
    assert result.ops >= result.visits
    assert result.restored
    assert sum(result.faults.values()) >= 3  # the backup, the restore and at least one more
    assert result.changes >= 2


def test_chaos_run_loses_and_duplicates_nothing(template: Template) -> None:
    result = Run(template, 1, 20261124, SECONDS, keep=False).execute()
    assert_clean(result)


def test_chaos_check_catches_a_loss(template: Template) -> None:
    run = SabotagedRun(template, 2, 7, SECONDS, keep=False)
    result = run.execute()
    assert_clean(result)
    assert run.sabotaged.lost >= 2, run.sabotaged.details
    assert any(line.startswith("lost: visit") for line in run.sabotaged.details)
    assert any(line.startswith("lost: reply") for line in run.sabotaged.details)
