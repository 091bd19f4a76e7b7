"""The release path (issue 20, "The release path is checked" and "What must hold"): `python -m build` makes
the sdist and the wheel, `twine check` passes, the sdist builds the same wheel as the source tree, and the
wheel installed into a fresh environment runs the newcomer path from an empty folder — `cartrial demo`,
`cartrial examples copy`, `cartrial protocol check`, a dry-run `cartrial import templates`, `cartrial
templates write` — reading nothing from the source checkout.

The fresh environment is a new virtual environment holding only the built wheel (installed by pip, not
editable); the dependencies (pandas, SQLAlchemy, ...) come from the test environment through a ``.pth``
line that adds its site-packages *after* the new one. Lines of a ``.pth`` file only extend ``sys.path``:
the test environment's own ``.pth`` files (among them the editable install's pointer to ``src/``) are not
processed, so `cartrial` can only be imported from the installed wheel, which is asserted. Each command runs
with the interpreter's isolated mode (``-I``: no ``PYTHONPATH``, no current folder on ``sys.path``) in an
empty temporary folder, under an audit hook that records every file opened; none may lie in the checkout
outside the test environment's own installation prefix.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import cartrial

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE", "NOTICE", "CHANGELOG.md", "MANIFEST.in")

AUDITED_MAIN = """\
import os, sys
opened = set()

def _hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes)):
        opened.add(os.fsdecode(args[0]))

sys.addaudithook(_hook)
from cartrial.cli import main

code = main(sys.argv[1:])
with open(os.environ["CARTRIAL_OPENED_LOG"], "a", encoding="utf-8") as log:
    log.writelines(os.path.realpath(p) + "\\n" for p in sorted(opened))
sys.exit(code)
"""
"""Runs ``cartrial ARGS`` as the console script does, recording (resolved) every file it opens."""


@dataclass(frozen=True)
class Release:
    dist: Path
    direct_wheel: Path
    python: Path
    script: Path
    site_packages: Path


def _run(args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    # Deliberately a subprocess, not the shared in-process runner (tests/conftest.py `run_cartrial`): it runs
    # the build tools and the command installed from the wheel.
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _source_copy(destination: Path) -> None:
    """The files a release is built from (the package and the documents the metadata names)."""
    import shutil

    for name in SOURCE_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)
    shutil.copytree(
        REPO_ROOT / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """Build sdist + wheel (the wheel from the sdist) and a wheel straight from the tree; install the wheel
    into a fresh virtual environment."""
    root = tmp_path_factory.mktemp("release")
    tree = root / "tree"
    tree.mkdir()
    _source_copy(tree)
    dist, direct = root / "dist", root / "direct"
    build = [sys.executable, "-m", "build", "--no-isolation"]
    _run([*build, "--outdir", dist, tree])  # sdist, then the wheel built from the unpacked sdist
    _run([*build, "--wheel", "--outdir", direct, tree])  # the wheel straight from the source tree

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    site_packages = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    )
    parent = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "_test_dependencies.pth").write_text("".join(f"{p}\n" for p in parent))
    (wheel,) = dist.glob("*.whl")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    return Release(dist, next(direct.glob("*.whl")), python, venv / "bin" / "cartrial", site_packages)


def _record(wheel: Path) -> set[str]:
    """The wheel's files with their hashes (its RECORD, less the RECORD's own line)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
        lines = archive.read(name).decode().splitlines()
    return {line for line in lines if line and not line.startswith(name + ",")}


def _installed_files_unchanged(site_packages: Path) -> list[str]:
    """The installed package's files that differ from the wheel's RECORD (added, changed or missing),
    bytecode caches aside: the commands must write into the user's folder, never into the package."""
    import base64
    import hashlib

    (record,) = site_packages.glob("cartrial-*.dist-info/RECORD")
    expected = {}
    for line in record.read_text().splitlines():
        name, digest, _ = line.rsplit(",", 2)
        if name.startswith("cartrial/") and "__pycache__" not in name:
            expected[name] = digest
    found = {
        str(p.relative_to(site_packages)): p
        for p in (site_packages / "cartrial").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    differing = sorted(set(expected) ^ set(found))
    for name, path in found.items():
        if name in expected:
            sha = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
            if expected[name] != f"sha256={sha}":
                differing.append(name)
    return differing


def test_build_makes_sdist_and_wheel_that_pass_twine_and_the_sdist_builds_the_same_wheel(
    release: Release,
) -> None:
    sdists, wheels = sorted(release.dist.glob("*.tar.gz")), sorted(release.dist.glob("*.whl"))
    assert [p.name for p in sdists] == [f"cartrial-{cartrial.__version__}.tar.gz"]
    assert [p.name for p in wheels] == [f"cartrial-{cartrial.__version__}-py3-none-any.whl"]
    _run([sys.executable, "-m", "twine", "check", "--strict", *sdists, *wheels])
    assert _record(wheels[0]) == _record(release.direct_wheel)
    names = {line.split(",")[0] for line in _record(wheels[0])}
    shipped = {
        "cartrial/examples/ct103a-nmosd/protocol.yaml",
        "cartrial/examples/ct103a-nmosd/study/README.md",
        "cartrial/examples/ct103a-nmosd/redcap/mapping.yaml",
        "cartrial/examples/ct103a-nmosd/candidates/cand-01-eligible.yaml",
        "cartrial/templates/FIELDS.md",
        "cartrial/templates/README.md",
        "cartrial/templates/labs.csv",
        "cartrial/py.typed",
    }
    assert shipped <= names, shipped - names
    # the Unicode licence attribution of the Joining_Type table (D-19.527) ships in both
    assert f"cartrial-{cartrial.__version__}.dist-info/licenses/NOTICE" in names
    with tarfile.open(sdists[0]) as archive:
        assert f"cartrial-{cartrial.__version__}/NOTICE" in archive.getnames()


def test_metadata_has_one_version_and_classifiers(release: Release) -> None:
    (wheel,) = release.dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    assert f"\nVersion: {cartrial.__version__}\n" in metadata
    # no Project-URL yet: the project has no public address, and an invented one would mislead
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "License-Expression: Apache-2.0" in metadata


@pytest.mark.nightly  # a long study: `make nightly` (suite time, stop 47)
def test_the_installed_wheel_runs_the_newcomer_path_reading_nothing_from_the_checkout(
    release: Release, tmp_path: Path
) -> None:
    work = tmp_path / "empty"
    work.mkdir()
    opened_log = tmp_path / "opened.txt"
    wrapper = tmp_path / "audited_cartrial.py"
    wrapper.write_text(AUDITED_MAIN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["CARTRIAL_OPENED_LOG"] = str(opened_log)

    def cartrial_cli(*args: str) -> str:
        return _run([release.python, "-I", wrapper, *args], cwd=work, env=env)

    # the real console script of the wheel, and the package it imports
    assert (
        _run([release.script, "--version"], cwd=work, env=env).strip() == f"cartrial {cartrial.__version__}"
    )
    located = _run(
        [release.python, "-I", "-c", "import cartrial; print(cartrial.__file__)"], cwd=work, env=env
    )
    assert Path(located.strip()).resolve().is_relative_to(release.site_packages.resolve())

    assert "demo complete" in cartrial_cli("demo")
    assert (work / "demo-output" / "study.db").is_file()
    assert "ct103a-nmosd" in cartrial_cli("examples", "list")
    cartrial_cli("examples", "copy", "ct103a-nmosd", "my-study")
    assert "is a valid protocol" in cartrial_cli("protocol", "check", "my-study/protocol.yaml")
    url = f"sqlite:///{work / 'my-study.db'}"
    cartrial_cli("db", "init", "--url", url, "--protocol", "my-study/protocol.yaml", "--admin", "admin")
    cartrial_cli("import", "templates", "my-study/study", "--user", "admin", "--url", url, "--dry-run")
    cartrial_cli("templates", "write", "blank-templates")
    assert (work / "blank-templates" / "FIELDS.md").is_file()

    opened = [Path(line) for line in opened_log.read_text().splitlines()]
    installed = release.site_packages.resolve() / "cartrial"
    parent_prefix = Path(sys.prefix).resolve()
    from_checkout = [p for p in opened if p.is_relative_to(REPO_ROOT) and not p.is_relative_to(parent_prefix)]
    assert not from_checkout, f"read from the source checkout: {from_checkout[:10]}"
    package_files = [
        p for p in opened if "cartrial" in p.parts and p.suffix in {".py", ".yaml", ".csv", ".md"}
    ]
    outside = [p for p in package_files if not (p.is_relative_to(installed) or p.is_relative_to(work))]
    assert not outside, f"cartrial files read from outside the installed package: {outside[:10]}"
    assert installed / "examples" / "ct103a-nmosd" / "protocol.yaml" in opened
    assert _installed_files_unchanged(release.site_packages) == []
    assert installed / "templates" / "FIELDS.md" in opened or installed / "templates" / "labs.csv" in opened
