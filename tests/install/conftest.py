"""Install tests: the package built, installed and used the way an admin does it, each in a fresh
virtual environment (``make test-install``, ``tox -e install``; part of CI). They need PyPI once
per run for the wheels; the office-PC install itself runs with no index and, as root, in a network
namespace with no route."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CENTRAL_ONLY = ("helpdesk", "rest_framework", "drf_spectacular", "openpyxl", "holidays")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PST_EXPECT_INSTALLED"):  # tox -e dist runs a copy without the source tree
        skip = pytest.mark.skip(reason="install tests build from the source tree")
        for item in items:
            if "tests/install/" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(skip)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this machine's pip settings (its index, find-links) or the
    test run's Django settings: what a fresh shell on the admin's machine has."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PST_", "DJANGO_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def run(command, *, cwd=None, env=None, timeout=600, check=True):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd or tempfile.gettempdir(),  # never the source tree: it would shadow the install
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory):
    """The pst_helpdesk wheel built from this tree, as `pip install` of the repository does."""
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT])
    (wheel,) = out.glob("pst_helpdesk-*.whl")
    return wheel


def importable(python: Path, modules=CENTRAL_ONLY) -> list[str]:
    """Which of ``modules`` the interpreter can import (should be none)."""
    code = (
        "import importlib.util, sys; "
        f"print(','.join(m for m in {list(modules)!r} if importlib.util.find_spec(m)))"
    )
    out = run([python, "-c", code]).stdout.strip()
    return [m for m in out.split(",") if m]
