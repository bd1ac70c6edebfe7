"""The central plugin's layout by capability (README "Layout"), checked on the source.

- No import cycle between the down-feed and the intake: the intake writes feed rows, so the
  feed never imports the intake (what both need lives in ``signals`` and ``bulk_insert``).
- The helpdesk gateway is a lower layer: it imports no PST service but the bulk insert engine.
- The SLA clock is pure: ``sla/clock.py`` and ``sla/policy.py`` write no row and record no
  follow-up (saving is ``actions`` and ``tick``).
- The split modules stay small: none over 500 lines without a reason written in its header.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

WRITE_METHODS = {
    "save",
    "update",
    "create",
    "delete",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}


def source_of(module: str) -> Path:
    return Path(importlib.import_module(module).__file__)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, absolute names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def write_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in WRITE_METHODS
    ]


def test_the_feed_never_imports_the_intake():
    imports = imported_modules(source_of("pst_helpdesk_ext.services.feed"))
    assert sorted(m for m in imports if "intake" in m) == []


def test_the_gateway_imports_no_service_but_the_bulk_insert_engine():
    imports = imported_modules(source_of("pst_helpdesk_ext.helpdesk_gateway"))
    services = sorted(m for m in imports if m.startswith("pst_helpdesk_ext.services"))
    assert services == [
        "pst_helpdesk_ext.services.bulk_insert",
        "pst_helpdesk_ext.services.bulk_insert.Row",
        "pst_helpdesk_ext.services.bulk_insert.RowInserter",
    ]


@pytest.mark.parametrize("module", ["clock", "policy"])
def test_the_sla_clock_writes_nothing(module):
    path = source_of(f"pst_helpdesk_ext.services.sla.{module}")
    assert write_calls(path) == []
    imports = imported_modules(path)
    assert not any(m.endswith(("update_ticket", "helpdesk_gateway")) for m in imports)


def test_the_write_checker_sees_writes(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("pst.save(update_fields=['x'])\nQ.objects.filter().update(a=1)\nlen([])\n")
    assert write_calls(sample) == ["1: .save()", "2: .update()"]


@pytest.mark.parametrize(
    "package", ["pst_helpdesk_ext.services.intake", "pst_helpdesk_ext.services.sla"]
)
def test_split_modules_stay_small(package):
    root = source_of(package).parent
    extra = [source_of("pst_helpdesk_ext.helpdesk_gateway"), root.parent / "bulk_insert.py"]
    long = [
        f"{path.name}: {len(path.read_text().splitlines())} lines"
        for path in sorted(root.glob("*.py")) + extra
        if len(path.read_text().splitlines()) > 500
        and "Why this module is long" not in path.read_text()
    ]
    assert long == []
