"""Acceptance: publish goes through to the upstream; a dead HTTP(S) proxy does not matter."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.verdaccio import Verdaccio


def test_publish_reaches_the_upstream(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio
) -> None:
    name = f"ipnpm-published-{uuid.uuid4().hex[:8]}"
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0"}))
    (package / "index.js").write_text("module.exports = 1\n")
    # Verdaccio lets anyone publish, but npm refuses to publish without some credential.
    with npm_env.npmrc.open("a") as rc:
        rc.write(f"//{verdaccio.host}/:_authToken=publisher-token\n")
    mark = verdaccio.mark()

    result = npm_env.run_ipnpm(["publish"], package)

    assert result.returncode == 0, describe(result)
    assert any(r.method == "PUT" for r in verdaccio.requests(mark))
    view = npm_env.run_npm(["view", name, "version"], tmp_path)
    assert view.stdout.strip() == "1.0.0", describe(view)


def test_dead_http_proxy_does_not_break_ci(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", {"ipnpm-fixture-c": "2.0.0"})
    assert npm_env.run_npm(["install", "--package-lock-only"], project).returncode == 0
    dead = "http://127.0.0.1:9"  # the discard port: nothing listens there
    proxies = {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "http_proxy": dead, "https_proxy": dead}

    plain = npm_env.run_npm(["ci", "--fetch-retries=0"], project, env=proxies)
    assert plain.returncode != 0  # the proxy really is dead: npm alone cannot get through
    result = npm_env.run_ipnpm(["ci"], project, env=proxies)

    assert result.returncode == 0, describe(result)
    assert (project / "node_modules" / "ipnpm-fixture-c" / "package.json").is_file()
