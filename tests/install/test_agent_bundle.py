"""``make agent-bundle`` and the office PC: the offline archive installs the agent with no
network, the agent's environment holds no central-only package, and the agent suite passes in it.
The Windows half is checked for a wheel for every dependency (it cannot run here)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

from tests.install.conftest import CENTRAL_ONLY, ROOT, clean_env, importable, run

sys.path.insert(0, str(ROOT / "deploy"))
import agent_bundle

HASH_KEY = "bundle-test-id-hash-key-0123456789abcdef0123"


def _no_network_prefix() -> list[str]:
    """``unshare -n``: a network namespace with no route at all (root only); else nothing, and
    the install still runs with ``--no-index`` and no pip configuration."""
    if shutil.which("unshare") and os.geteuid() == 0:
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n"]
    return []


@pytest.fixture(scope="module")
def bundle(project_wheel, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    archive = agent_bundle.build(out, project_wheel)
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(out / "unpacked")
    (folder,) = (out / "unpacked").iterdir()
    for script in folder.glob("*.sh"):  # zipfile drops the mode on extraction
        script.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def installed(bundle, tmp_path_factory):
    """install.sh run as the README.txt says, in a namespace with no network."""
    base = tmp_path_factory.mktemp("office-pc")
    prefix, data, units = base / "opt" / "pst-agent", base / "var" / "pst-agent", base / "units"
    from sync.transport import generate_keypair

    command = [
        *_no_network_prefix(),
        "sh",
        bundle / "install.sh",
        "--prefix",
        prefix,
        "--data-dir",
        data,
        "--unit-dir",
        units,
        "--user",
        subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip(),
        "--branch",
        "1222",
        "--name",
        "BPS Kabupaten Labuhanbatu Selatan",
        "--central",
        "tcp://127.0.0.1:9",
        f"--server-key={generate_keypair().public_key}",
        "--id-hash-key",
        HASH_KEY,
    ]
    result = run(command, env=clean_env(PST_AGENT_ADMIN_PASSWORD="kopi-susu-pagi-7"))
    return {"prefix": prefix, "data": data, "units": units, "stdout": result.stdout}


def test_the_bundle_has_a_wheel_for_every_dependency_on_every_target(bundle):
    wheels = bundle / "wheels"
    checked = agent_bundle.verify(wheels)
    assert [line.split(":")[0] for line in checked] == [
        "linux-x86_64 Python 3.11",
        "linux-x86_64 Python 3.12",
        "windows-amd64 Python 3.11",
        "windows-amd64 Python 3.12",
    ]
    names = {path.name.lower() for path in wheels.glob("*.whl")}
    for python in ("cp311", "cp312"):
        for package in ("pyzmq", "msgspec"):
            assert any(n.startswith(package) and python in n and "win_amd64" in n for n in names)
            assert any(n.startswith(package) and python in n and "linux" in n for n in names)
    assert any(n.startswith("tzdata-") for n in names), "Windows has no system timezone data"
    central = ("django_helpdesk", "djangorestframework", "drf_spectacular", "openpyxl", "holidays")
    assert not [n for n in names if n.startswith(central)]
    assert {"install.sh", "install.ps1", "pst-branch-agent.service", "README.txt"} <= {
        p.name for p in bundle.iterdir()
    }


def test_the_bundle_check_names_a_missing_wheel(bundle, tmp_path):
    """Take the Windows pyzmq wheel for 3.12 away: the check says which target lacks what."""
    wheels = tmp_path / "wheels"
    shutil.copytree(bundle / "wheels", wheels)
    for path in wheels.glob("pyzmq-*cp312*win_amd64.whl"):
        path.unlink()
    with pytest.raises(agent_bundle.BundleError, match=r"windows-amd64, Python 3\.12"):
        agent_bundle.verify(wheels)


def test_linux_install_with_no_network(installed):
    prefix, data = installed["prefix"], installed["data"]
    assert "Branch public key: " in installed["stdout"]
    unit = (installed["units"] / "pst-branch-agent.service").read_text()
    assert f"ExecStart={prefix}/bin/pst-branch-agent run --data-dir {data}" in unit
    assert "Restart=on-failure" in unit and "WantedBy=multi-user.target" in unit
    python = prefix / "bin" / "python"
    assert importable(python) == [], f"central-only packages on the office PC: {CENTRAL_ONLY}"
    where = run([python, "-c", "import branch_agent; print(branch_agent.__file__)"]).stdout
    assert "site-packages" in where
    # The central plugin in this environment stops with a message naming the extra to install.
    plugin = run(
        [python, "-c", "import django; from django.conf import settings; "
         "settings.configure(INSTALLED_APPS=['pst_helpdesk_ext']); django.setup()"],
        check=False,
    )  # fmt: skip
    assert plugin.returncode != 0
    assert 'pip install "pst-helpdesk[central]"' in plugin.stderr, plugin.stderr[-2000:]
    assert "django-helpdesk" in plugin.stderr
    status = run([prefix / "bin" / "pst-branch-agent", "status", "--json", "--data-dir", data])
    assert json.loads(status.stdout)["branch"] == "1222"


def test_the_installed_agent_serves_the_kiosk(installed):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = subprocess.Popen(
        [
            installed["prefix"] / "bin" / "pst-branch-agent",
            "run",
            "--data-dir",
            installed["data"],
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-sync",
        ],
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/kiosk/", timeout=5) as page:
                    assert page.status == 200
                    assert b"BPS Kabupaten Labuhanbatu Selatan" in page.read()
                    break
            except OSError:
                assert agent.poll() is None, agent.stderr.read().decode()
                assert time.monotonic() < deadline, "the agent did not answer within 60 s"
                time.sleep(0.5)
    finally:
        agent.terminate()
        agent.wait(timeout=30)
    assert agent.returncode == 0


def test_a_second_install_is_an_upgrade_that_keeps_the_data(bundle, installed):
    before = (installed["data"] / "agent.toml").read_text()
    result = run(
        [
            *_no_network_prefix(),
            "sh",
            bundle / "install.sh",
            "--prefix",
            installed["prefix"],
            "--data-dir",
            installed["data"],
            "--no-service",
        ]
    )
    assert "init skipped" in result.stdout
    assert (installed["data"] / "agent.toml").read_text() == before


def test_install_sh_refuses_bad_input_naming_the_fix(bundle, tmp_path):
    result = run(
        [
            "sh",
            bundle / "install.sh",
            "--prefix",
            tmp_path / "p",
            "--data-dir",
            tmp_path / "d",
            "--no-service",
        ],
        check=False,
    )
    assert result.returncode == 2
    assert "--branch, --central, --server-key and --id-hash-key" in result.stderr
    assert not (tmp_path / "p").exists(), "refused before it installs anything"
    result = run(["sh", bundle / "install.sh", "--prefix"], check=False)
    assert result.returncode == 2 and "--prefix needs a value" in result.stderr


#: The agent suite's modules that need nothing beyond pytest and pytest-django (the browser
#: tests need Playwright, a test-only package the office PC never has).
AGENT_SUITE = (
    "test_cli.py",
    "test_services.py",
    "test_sync_store.py",
    "test_views.py",
    "test_api.py",
)


def test_the_agent_suite_passes_in_the_agent_only_environment(installed, tmp_path):
    python = installed["prefix"] / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "pytest>=8", "pytest-django>=4.8"])
    assert importable(python) == []
    copy = tmp_path / "run"
    copy.mkdir()
    # The tests alone: their process helpers live in tests/support (tests never import bench/).
    shutil.copytree(ROOT / "tests", copy / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    result = run(
        [python, "-m", "pytest", "--ds=tests.agent_settings", "-q", "-p", "no:cacheprovider"]
        + ["-m", "not browser"]
        + [f"tests/agent/{name}" for name in AGENT_SUITE],
        cwd=copy,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "error" not in result.stdout.splitlines()[-1]
