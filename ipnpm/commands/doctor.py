"""``ipnpm ipfs doctor``: check every part ipnpm depends on and say what to fix."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import click

from ipnpm.commands.doctor_ipfs import (
    Check,
    check_index,
    check_kubo,
    check_peers,
    check_provided,
)
from ipnpm.errors import IpnpmError
from ipnpm.npm.config import NpmConfig, project_root, read_npm_config
from ipnpm.npm.locate import find_npm
from ipnpm.settings import Settings


def _run_version(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise IpnpmError(f"`{' '.join(argv)}` failed: {result.stderr.strip()[:200]}")
    return result.stdout.strip()


def check_npm(settings: Settings) -> tuple[list[Check], NpmConfig | None]:
    try:
        npm = find_npm(settings.npm, os.environ)
        npm_version = _run_version([npm, "--version"])
        node_version = _run_version(["node", "--version"])
        config = read_npm_config(npm, Path.cwd(), dict(os.environ))
    except (IpnpmError, OSError, subprocess.TimeoutExpired) as exc:
        message = getattr(exc, "message", str(exc))
        fix = getattr(exc, "hint", None) or "install Node.js with npm, or pass --ipnpm-npm=PATH"
        return [Check("npm", False, message, fix)], None
    checks = [Check("npm", True, f"npm {npm_version} at {npm}, node {node_version}")]
    for label, url in [("registry", config.registry), *sorted(config.scopes.items())]:
        checks.append(check_registry(settings, config, label, url))
    return checks, config


def check_registry(settings: Settings, config: NpmConfig, label: str, url: str) -> Check:
    """A real request (``/-/ping``) through the client every install uses: npm's TLS, proxy
    and credential settings included, so a failure here is the one an install would meet."""
    part = "registry" if label == "registry" else f"registry {label}"
    if settings.offline:
        return Check(part, True, f"{url} (offline: not contacted)")
    import requests

    from ipnpm.clients.upstream import Upstream

    upstream = Upstream(config, os.environ)
    try:
        response = upstream.request("GET", f"{url}-/ping", quiet=True)
    except requests.RequestException as exc:
        why = upstream.describe_failure(exc, f"{url}-/ping")
        fix = (
            "set npm's cafile= (or ca=) to the CA bundle that signs the registry's certificate"
            if "TLS" in why
            else "check the registry URL (npm config get registry) and your network or proxy"
        )
        return Check(part, False, why, fix)
    if response.status_code >= 500:
        return Check(part, False, f"{url}: HTTP {response.status_code}", "try again later")
    return Check(part, True, f"{url} answers (HTTP {response.status_code})")


def check_gateway(url: str) -> Check:
    from ipnpm.sources.gateway import probe_failure

    why = probe_failure(url)
    if why is None:
        return Check(f"gateway {url}", True, "answers the trustless gateway probe")
    return Check(
        f"gateway {url}",
        False,
        f"no valid answer to GET /ipfs/bafkqaaa?format=raw: {why}",
        "check the URL, or remove it from --ipnpm-gateway / IPNPM_GATEWAYS",
    )


def check_store(settings: Settings) -> Check:
    from ipnpm.store.objects import Store

    try:
        store = Store(settings.store).open()
    except IpnpmError as exc:
        return Check("store", False, exc.message, exc.hint or "")
    objects = [p for p in (store.root / "objects").glob("*/*") if p.is_file()]
    size = sum(p.stat().st_size for p in objects)
    quarantined = len(list((store.root / "quarantine").iterdir()))
    detail = f"{store.root}: {len(objects)} objects, {size / 1e6:.1f} MB"
    if quarantined:
        return Check(
            "store",
            False,
            f"{detail}, {quarantined} quarantined",
            f"inspect and empty {store.root / 'quarantine'}",
        )
    return Check("store", True, f"{detail} (`ipnpm ipfs store verify` re-hashes them)")


def run_doctor(settings: Settings, *, as_json: bool) -> int:
    checks, _config = check_npm(settings)
    kubo, client = check_kubo(settings)
    checks.append(kubo)
    if client is not None:
        checks.append(check_peers(client, settings.indexes))
    steps: list[Callable[[], Check | None]] = []
    steps += [lambda url=url: check_gateway(url) for url in settings.gateways]  # type: ignore[misc]
    steps += [lambda ref=ref: check_index(settings, ref, client) for ref in settings.indexes]  # type: ignore[misc]
    steps.append(lambda: check_store(settings))
    if client is not None:
        steps.append(lambda: check_provided(client, project_root(Path.cwd())))
    checks += [check for check in (step() for step in steps) if check is not None]
    if as_json:
        click.echo(
            json.dumps(
                {"ok": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}, indent=2
            )
        )
    else:
        for check in checks:
            click.echo(f"{'ok ' if check.ok else 'BAD'}  {check.part}: {check.detail}")
            if not check.ok and check.fix:
                click.echo(f"     fix: {check.fix}")
    return 0 if all(c.ok for c in checks) else 1
