"""DESIGN.md's import rules, checked on the source: sync stays pure, the programs stay apart."""

import ast
import importlib
from pathlib import Path

import pytest


def package_dir(package: str) -> Path:
    """Where the package really is: the source tree, or site-packages under `tox -e dist`."""
    return Path(importlib.import_module(package).__file__).parent


FORBIDDEN = {
    "sync": {"django", "rest_framework", "helpdesk", "pst_helpdesk_ext", "branch_agent"},
    "branch_agent": {"pst_helpdesk_ext", "helpdesk"},
    "pst_helpdesk_ext": {"branch_agent"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_design(package):
    root = package_dir(package)
    files = sorted(root.rglob("*.py"))
    assert files, f"{package} has no source"
    offences = [
        f"{path.relative_to(root.parent)} imports {name}"
        for path in files
        for name in sorted(imported_roots(path) & FORBIDDEN[package])
    ]
    assert offences == []


def test_only_the_transport_and_its_keys_import_zmq():
    offenders = [
        path.name
        for path in sorted(package_dir("sync").rglob("*.py"))
        if "zmq" in imported_roots(path) and path.name not in ("transport.py", "keys.py")
    ]
    assert offenders == []


def test_rule_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import django.db\nfrom helpdesk.models import Ticket\nfrom . import x\n")
    assert imported_roots(sample) == {"django", "helpdesk"}


# The pure domain contract both programs share (README, layout): each module exists, imports only
# the standard library, sync itself and the two small pure libraries sync depends on, and the
# programs use it instead of copies of their own.
DOMAIN_CONTRACT = ("feed", "ids", "nik", "ops", "ownership", "regions", "vocabulary")
PURE_LIBRARIES = {"msgspec", "stdnum"}


@pytest.mark.parametrize("module", DOMAIN_CONTRACT)
def test_the_domain_contract_is_pure(module):
    import sys

    path = package_dir("sync") / f"{module}.py"
    assert path.is_file(), f"sync/{module}.py is part of the domain contract"
    outside = imported_roots(path) - set(sys.stdlib_module_names) - {"sync"}
    assert outside <= PURE_LIBRARIES


def sync_modules_used(package: str) -> set[str]:
    used: set[str] = set()
    for path in package_dir(package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "sync":
                    used.update(alias.name for alias in node.names)
                elif node.module.startswith("sync."):
                    used.add(node.module.split(".")[1])
    return used


@pytest.mark.parametrize(
    ("package", "needed"),
    [
        ("pst_helpdesk_ext", {"feed", "ids", "nik", "ownership", "regions", "vocabulary"}),
        ("branch_agent", {"feed", "ids", "nik", "regions"}),
    ],
)
def test_both_programs_use_the_contract(package, needed):
    assert needed <= sync_modules_used(package)
