"""``make chaos``: the chaos harness's command line (``python bench/chaos.py --runs N ...``).

The harness itself (processes, proxies, nemesis, workload and the SQL checks) lives in
``tests/support/chaos.py``, which the CI-sized chaos tests use too; its module text says what a
run does. The last line is exactly ``N runs, L lost, D duplicated``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.chaos import main

if __name__ == "__main__":
    sys.exit(main())
