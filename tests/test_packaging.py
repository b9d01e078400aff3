"""Acceptance: `pip install .` in a fresh virtual environment gives a working `ipnpm`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ipnpm import __version__

REPO = Path(__file__).resolve().parents[1]


def test_pip_install_into_a_fresh_venv(tmp_path: Path) -> None:
    source = tmp_path / "src"
    # A copy without build leftovers, as a clean clone would be.
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "*.egg-info", "__pycache__", ".*_cache", "node_modules"
        ),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    # `--version` is npm's under the alias; ipnpm's own is `ipnpm ipfs --version`.
    for argv in (
        [str(venv / "bin" / "ipnpm"), "ipfs", "--version"],
        [str(venv / "bin" / "python"), "-m", "ipnpm", "ipfs", "--version"],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"ipnpm {__version__}"
    npx = subprocess.run(
        [str(venv / "bin" / "ipnpx"), "--version"], capture_output=True, text=True, check=False
    )
    assert npx.returncode == 0, npx.stderr  # the ipnpx console script is installed and runs
