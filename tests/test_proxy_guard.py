"""The proxy binds loopback only and answers nobody without the per-run secret."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import requests

from ipnpm.npm.config import NpmConfig
from ipnpm.proxy.server import registry_proxy
from ipnpm.run.context import RunContext
from ipnpm.sources.fetcher import Fetcher
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_loopback_only_and_secret_required(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    with RunLog(tmp_path / "logs") as log:
        context = RunContext(
            secret="per-run-secret",
            config=NpmConfig(registry="http://127.0.0.1:9/"),
            store=store,
            fetcher=Fetcher(store, [], log),
            log=log,
            upstream=None,
        )
        with registry_proxy(context) as url:
            port = urlsplit(url).port
            assert port is not None
            assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
            anonymous = requests.get(f"{url}left-pad", timeout=5)
            wrong = requests.get(f"{url}left-pad", headers={"Authorization": "Bearer x"}, timeout=5)
            right = requests.get(
                f"{url}left-pad", headers={"Authorization": "Bearer per-run-secret"}, timeout=5
            )
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 404  # offline and unknown: a clear miss, not a refusal
    assert "left-pad" in right.json()["error"]
