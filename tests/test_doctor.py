"""`ipnpm ipfs doctor` names each broken part, one at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.kubo import kubo_node
from tests.support.npm_env import NpmEnv, describe


def _doctor(npm_env: NpmEnv, cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    result = npm_env.run_ipnpm([*args, "ipfs", "doctor", "--json"], cwd, env=env)
    assert "Traceback" not in result.stderr, describe(result)
    document = json.loads(result.stdout)
    assert (result.returncode == 0) is document["ok"]
    return {check["part"]: check for check in document["checks"]}


def test_all_parts_healthy(npm_env: NpmEnv, tmp_path: Path) -> None:
    with kubo_node(tmp_path / "kubo") as node:
        checks = _doctor(
            npm_env, tmp_path, "--ipnpm-kubo", node.api_url, "--ipnpm-gateway", node.gateway_url
        )
    assert all(check["ok"] for check in checks.values()), checks
    assert "Kubo 0.43.1" in checks["kubo"]["detail"]
    assert npm_env.registry in checks["registry"]["detail"]


@pytest.mark.parametrize("broken", ["npm", "kubo", "gateway", "index", "store"])
def test_each_broken_part_is_named(npm_env: NpmEnv, tmp_path: Path, broken: str) -> None:
    args: list[str] = []
    env: dict[str, str] = {}
    if broken == "npm":
        env["IPNPM_NPM"] = str(tmp_path / "no-such-npm")
    elif broken == "kubo":
        args += ["--ipnpm-kubo", "http://127.0.0.1:9"]
    elif broken == "gateway":
        args += ["--ipnpm-gateway", "http://127.0.0.1:9"]
    elif broken == "index":
        never_published = "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8"
        args += ["--ipnpm-kubo", "off", "--ipnpm-index", never_published]
    else:
        (tmp_path / "store-file").write_text("not a directory")
        args += ["--ipnpm-store", str(tmp_path / "store-file")]
    checks = _doctor(npm_env, tmp_path, *args, env=env)
    bad = [part for part, check in checks.items() if not check["ok"]]
    assert len(bad) == 1, checks
    assert bad[0].startswith(broken)
    assert checks[bad[0]]["fix"]
