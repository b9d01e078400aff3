"""Helpers for the index tests: publishing throwaway packages upstream, building and
publishing an index on a Kubo node, all through ipnpm's IPNPM_* environment (not its flags,
which may be renamed)."""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.support.kubo import KuboNode
from tests.support.npm_env import NpmEnv, describe
from tests.support.verdaccio import Verdaccio


def unique_name(prefix: str = "ipnpm-idx") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def publish_upstream(
    registry: Verdaccio,
    name: str,
    version: str,
    dependencies: Mapping[str, str] | None = None,
) -> None:
    """`npm publish` a tiny generated package name@version to the Verdaccio."""
    with tempfile.TemporaryDirectory(prefix="ipnpm-pkg-") as tmp:
        directory = Path(tmp)
        manifest = {"name": name, "version": version, "dependencies": dict(dependencies or {})}
        (directory / "package.json").write_text(json.dumps(manifest))
        (directory / "index.js").write_text(f"module.exports = {json.dumps(version)};\n")
        registry.publish(directory)


def kubo_env(node: KuboNode, **more: str) -> dict[str, str]:
    return {"IPNPM_KUBO_API": node.api_url, **more}


def ipnpm_ok(
    env: NpmEnv, args: Sequence[str], cwd: Path, extra: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    result = env.run_ipnpm(list(args), cwd, env=dict(extra))
    assert result.returncode == 0, describe(result)
    return result


def index_add(env: NpmEnv, node: KuboNode, key: str, specs: Sequence[str], cwd: Path) -> str:
    added = ipnpm_ok(env, ["ipfs", "index", "add", "--key", key, *specs], cwd, kubo_env(node))
    return added.stdout.strip().splitlines()[-1]


def index_publish(
    env: NpmEnv, node: KuboNode, key: str, cwd: Path, *, ttl: str = "1s", lifetime: str = "1h"
) -> str:
    args = ["ipfs", "index", "publish", "--key", key, "--ttl", ttl, "--lifetime", lifetime]
    name = ipnpm_ok(env, args, cwd, kubo_env(node)).stdout.strip()
    assert name.startswith("k51"), name
    return name


def installed_version(project: Path, name: str) -> str:
    manifest = project / "node_modules" / name / "package.json"
    return str(json.loads(manifest.read_text())["version"])


def dead_registry() -> str:
    """A registry URL nothing listens on: a client that reaches it has left the index."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
