"""Find the real npm executable, skipping ipnpm itself so that ``alias npm=ipnpm`` and a
``npm`` symlink to ipnpm early on PATH cannot make ipnpm run itself."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from ipnpm.errors import NpmNotFoundError

_FIX = "install Node.js with npm, or pass --ipnpm-npm=PATH (or set IPNPM_NPM)"


def _is_ipnpm(candidate: Path) -> bool:
    try:
        resolved = candidate.resolve()
    except OSError:
        return False
    own = {Path(sys.argv[0]).resolve(), Path(__file__).resolve().parents[2] / "bin" / "ipnpm"}
    if resolved in own:
        return True
    try:
        with resolved.open("rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    # A console-script wrapper or the bin/ipnpm launcher both import ipnpm.
    return b"ipnpm" in head and (b"python" in head or b"import" in head)


def find_npm(explicit: str | None, env: Mapping[str, str], program: str = "npm") -> str:
    """The npm to run: ``explicit`` if given, else the first real npm on PATH. With
    ``program="npx"``: the npx that belongs to that npm (beside it, as npm installs it)."""
    if explicit:
        found = shutil.which(explicit, path=env.get("PATH"))
        if found is None:
            raise NpmNotFoundError(f"npm not found at {explicit!r}", hint=_FIX)
        return found if program == "npm" else _beside(found, program)
    for directory in env.get("PATH", os.defpath).split(os.pathsep):
        candidate = shutil.which(program, path=directory or ".")
        if candidate and not _is_ipnpm(Path(candidate)):
            return candidate
    raise NpmNotFoundError(f"{program} not found on PATH", hint=_FIX)


def _beside(npm: str, program: str) -> str:
    found = shutil.which(program, path=str(Path(npm).parent))
    if found is None:
        raise NpmNotFoundError(f"no {program} beside {npm}", hint=_FIX)
    return found
