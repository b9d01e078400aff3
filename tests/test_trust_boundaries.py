"""Attacks on ipnpm's trust boundaries (issue 13): each test is an attack that succeeded before
the boundary was drawn. A project file names no destination; `serve` is read-only for its
clients; private tarballs stay private; CIDs stay tied to integrity."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bad_servers import recording_server
from tests.support.npm_env import NpmEnv, describe, make_project


def _with_ipnpm_key(project: Path, values: dict[str, object]) -> None:
    manifest = json.loads((project / "package.json").read_text())
    manifest["ipnpm"] = values
    (project / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")


def test_a_kubo_named_in_package_json_receives_nothing(npm_env: NpmEnv, tmp_path: Path) -> None:
    """A pull request adds `"ipnpm": {"kubo": URL}`; the private @acme tarball, fetched with
    the user's token, used to be POSTed to URL/api/v0/add (seeding is on by default)."""
    project = make_project(tmp_path / "project", {"@acme/secret": "1.0.0"})
    with recording_server() as hostile:
        _with_ipnpm_key(project, {"kubo": hostile.url, "store": str(tmp_path / "theirs")})
        result = npm_env.run_ipnpm(["install", "--ignore-scripts"], project)
        assert result.returncode == 0, describe(result)
        assert hostile.paths == []
    assert (project / "node_modules" / "@acme" / "secret" / "package.json").is_file()
    assert not (tmp_path / "theirs").exists()
    assert "ignoring 'kubo'" in result.stderr and str(project / "package.json") in result.stderr
    assert "ignoring 'store'" in result.stderr
