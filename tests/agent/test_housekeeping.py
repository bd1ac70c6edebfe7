"""Checkpoints run off the request path and keep the WAL small."""

import sqlite3

from branch_agent.djsettings import SQLITE_INIT
from branch_agent.housekeeping import Housekeeper


def test_checkpoints_move_the_wal_into_the_store(tmp_path):
    path = tmp_path / "store.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(SQLITE_INIT)
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10000
    db.execute("CREATE TABLE t (x TEXT)")
    for _ in range(300):
        db.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
    wal = path.with_name(path.name + "-wal")
    grown = wal.stat().st_size
    assert grown > 500_000  # no automatic checkpoint inside the writes
    keeper = Housekeeper(path, checkpoint_every=0.05)
    keeper.start()
    keeper.stop()  # a final TRUNCATE checkpoint
    assert keeper.checkpoints >= 1
    assert wal.stat().st_size == 0
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 300
