"""``make agent-bundle``: one archive that installs the branch agent on an offline office PC.

The archive ``dist/pst-branch-agent-<version>-offline.zip`` holds every wheel the agent needs for
Linux x86_64 and Windows amd64, Python 3.11 and 3.12 (``wheels/``), the install scripts
(``install.sh`` with a systemd unit, ``install.ps1`` with a scheduled task) and a short
``README.txt``. Before it writes the archive it proves, with ``pip download --no-index`` against
the bundle's own wheels only, that every target finds a wheel for every dependency.

    python deploy/agent_bundle.py [--out dist] [--wheel PATH]

It needs the internet (PyPI) once, on the machine that builds the bundle; the office PC does not.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DISTRIBUTION = "pst-helpdesk"
REQUIREMENT = f"{DISTRIBUTION}[agent]"

#: (name, pip --platform values, Python versions, marker-only requirements): what an office PC
#: runs. pip evaluates environment markers for this machine even with --platform, so a dependency
#: only Windows needs (``tzdata; sys_platform == 'win32'``, from Django and the agent) is named.
LINUX = ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "linux_x86_64")
TARGETS = (
    ("linux-x86_64", LINUX, ("3.11", "3.12"), ()),
    ("windows-amd64", ("win_amd64",), ("3.11", "3.12"), ("tzdata",)),
)
SCRIPTS = ("install.sh", "install.ps1", "pst-branch-agent.service", "README.txt")


class BundleError(Exception):
    """A step failed; the message says which and why."""


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BundleError(f"{' '.join(command)}\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def build_wheel(into: Path) -> Path:
    """The project's own wheel, built from this tree."""
    _pip("wheel", "--no-deps", "--quiet", "-w", str(into), str(ROOT))
    wheels = sorted(into.glob("pst_helpdesk-*.whl"))
    if not wheels:
        raise BundleError(f"no pst_helpdesk wheel was built in {into}")
    return wheels[-1]


def _target_args(platforms: tuple[str, ...], python: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for platform in platforms:
        args += ["--platform", platform]
    return args


def download(wheels: Path, project_wheel: Path) -> None:
    """Every dependency of ``[agent]``, as wheels, for every target (shared wheels once)."""
    for _name, platforms, pythons, extra in TARGETS:
        for python in pythons:
            _pip(
                "download",
                "--quiet",
                "-d",
                str(wheels),
                *_target_args(platforms, python),
                f"{project_wheel}[agent]",
                *extra,
            )


def verify(wheels: Path) -> list[str]:
    """Resolve ``[agent]`` for each target from the bundle alone (no index): a missing wheel
    fails here, not on the office PC. Returns one line per target checked."""
    checked = []
    for name, platforms, pythons, extra in TARGETS:
        for python in pythons:
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    _pip(
                        "download",
                        "--quiet",
                        "--no-index",
                        "--find-links",
                        str(wheels),
                        "-d",
                        scratch,
                        *_target_args(platforms, python),
                        REQUIREMENT,
                        *extra,
                    )
                except BundleError as exc:
                    raise BundleError(
                        f"the bundle lacks a wheel for {name}, Python {python}:\n{exc}"
                    ) from None
                got = sorted(p.name for p in Path(scratch).glob("*.whl"))
            checked.append(f"{name} Python {python}: {len(got)} wheels")
    return checked


def build(out: Path, project_wheel: Path | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch) / "stage"
        wheels = stage / "wheels"
        wheels.mkdir(parents=True)
        if project_wheel is None:
            project_wheel = build_wheel(Path(scratch) / "own")
        shutil.copy2(project_wheel, wheels)
        download(wheels, project_wheel)
        lines = verify(wheels)
        version = project_wheel.name.split("-")[1]
        name = f"pst-branch-agent-{version}-offline"
        for script in SCRIPTS:
            shutil.copy2(HERE / script, stage / script)
        (stage / "wheels.txt").write_text(
            "\n".join(sorted(p.name for p in wheels.glob("*.whl"))) + "\n", encoding="utf-8"
        )
        archive = out / f"{name}.zip"
        partial = archive.with_suffix(".zip.partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo.from_file(path, f"{name}/{path.relative_to(stage)}")
                    if path.suffix == ".sh":
                        info.external_attr = 0o755 << 16
                    bundle.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
        partial.replace(archive)
    for line in lines:
        print(f"checked {line}")
    print(f"wrote {archive}")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="directory of the archive")
    parser.add_argument("--wheel", help="use this pst_helpdesk wheel instead of building one")
    args = parser.parse_args(argv)
    try:
        build(Path(args.out), Path(args.wheel) if args.wheel else None)
    except BundleError as exc:
        print(f"agent-bundle: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
