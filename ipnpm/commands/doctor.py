"""``ipnpm ipfs doctor``: check every part ipnpm depends on and say what to fix."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import requests

from ipnpm.clients.kubo import KuboClient, KuboError, KuboUnreachableError, discover
from ipnpm.errors import IpnpmError, reason
from ipnpm.index import IndexRef
from ipnpm.npm.config import NpmConfig, read_npm_config
from ipnpm.npm.locate import find_npm
from ipnpm.settings import Settings


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str
    fix: str = ""


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
    scopes = ", ".join(f"{s} → {url}" for s, url in sorted(config.scopes.items()))
    checks.append(
        Check("registry", True, config.registry + (f"; scopes: {scopes}" if scopes else ""))
    )
    return checks, config


def check_kubo(settings: Settings) -> Check:
    url = discover(settings.kubo, os.environ)
    if url is None:
        detail = "off" if settings.kubo == "off" else "no running daemon found ($IPFS_PATH/api)"
        return Check("kubo", True, f"{detail}; the store and other sources are used")
    client = KuboClient(url, timeout=10.0)
    try:
        version = client.version()
        # Writable: a tiny unpinned block that any daemon may collect again.
        client.call("block/put", options={"pin": "false"}, files={"data": b"ipnpm doctor"})
    except (KuboError, requests.RequestException) as exc:
        unreachable = isinstance(exc, (KuboUnreachableError, requests.ConnectionError))
        why = f"not reachable ({reason(exc)})" if unreachable else reason(exc)
        return Check(
            "kubo",
            False,
            f"{url}: {why}",
            "start `ipfs daemon`, or fix/remove --ipnpm-kubo / IPNPM_KUBO_API",
        )
    return Check("kubo", True, f"Kubo {version} at {url}, writable")


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


def check_index(settings: Settings, ref: IndexRef) -> Check:
    from ipnpm.index.records import RecordCache, RecordResolver
    from ipnpm.store.objects import Store

    url = discover(settings.kubo, os.environ)
    part = f"index {ref}"
    try:
        resolver = RecordResolver(
            RecordCache(Store(settings.store).open().root),
            kubo=KuboClient(url) if url else None,
            gateways=settings.gateways,
            offline=settings.offline,
        )
        resolved = resolver.resolve(ref.name, refresh=not settings.offline)
    except IpnpmError as exc:
        return Check(part, False, exc.message, exc.hint or "check the name and your IPFS sources")
    until = resolved.record.validity.strftime("%Y-%m-%d %H:%M UTC")
    origin = "cached" if resolved.cached else "fresh"
    return Check(
        part,
        True,
        f"root {resolved.root}, sequence {resolved.record.sequence}, "
        f"{origin} record valid until {until}",
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
    steps: list[Callable[[], Check]] = [lambda: check_kubo(settings)]
    steps += [lambda url=url: check_gateway(url) for url in settings.gateways]  # type: ignore[misc]
    steps += [lambda ref=ref: check_index(settings, ref) for ref in settings.indexes]  # type: ignore[misc]
    steps.append(lambda: check_store(settings))
    checks += [step() for step in steps]
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
