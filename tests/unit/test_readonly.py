"""Serve mode's read-only policy and Host check (proxy/readonly.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipnpm.commands.serve import ServeOptions, serve
from ipnpm.errors import UsageError
from ipnpm.proxy.readonly import host_allowed, refusal
from ipnpm.settings import Settings

READS = [
    ("GET", "/ipnpm-fixture-a"),
    ("GET", "/@acme%2fsecret"),
    ("HEAD", "/a/-/a-1.0.0.tgz"),
    ("GET", "/a?write=true"),
    ("GET", "/-/v1/search?text=a"),
    ("GET", "/-/package/@acme%2fsecret/dist-tags"),
    ("GET", "/-/ping?write=true"),
    ("POST", "/-/npm/v1/security/advisories/bulk"),
    ("POST", "/-/npm/v1/security/audits/quick"),
]
WRITES = [
    ("PUT", "/ipnpm-fixture-a"),  # publish
    ("DELETE", "/a/-rev/1-x"),  # unpublish
    ("GET", "/-/whoami"),
    ("GET", "/-/npm/v1/tokens"),
    ("POST", "/-/npm/v1/tokens"),
    ("PUT", "/-/user/org.couchdb.user:someone"),
    ("GET", "/-/npm/v1/user"),
    ("GET", "/-/org/acme/user"),
    ("PUT", "/-/package/a/dist-tags/latest"),
    ("GET", "/-/package/a/access"),
    ("POST", "/-/v1/login"),
    ("GET", "/%2D/whoami"),  # escaped, still the account route
    ("PATCH", "/a"),
]


@pytest.mark.parametrize(("method", "path"), READS)
def test_reads_pass(method: str, path: str) -> None:
    assert refusal(method, path) is None


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_writes_and_account_routes_are_refused(method: str, path: str) -> None:
    why = refusal(method, path)
    assert why is not None and "read-only" in why and "--allow-writes-as-operator" in why


@pytest.mark.parametrize(
    ("header", "bound", "names", "ok"),
    [
        ("127.0.0.1:4880", "127.0.0.1", (), True),
        ("localhost:4880", "127.0.0.1", (), True),
        ("attacker.test:4880", "127.0.0.1", (), False),
        ("127.0.0.1:9999", "127.0.0.1", (), False),
        ("127.0.0.1", "127.0.0.1", (), False),  # port 80 implied
        (None, "127.0.0.1", (), False),
        ("[::1:4880", "127.0.0.1", (), False),
        ("192.168.1.5:4880", "0.0.0.0", (), True),  # an IP literal cannot be rebound
        ("cache.lan:4880", "0.0.0.0", (), False),
        ("Cache.LAN:4880", "0.0.0.0", ("cache.lan",), True),
        ("10.0.0.1:4880", "10.0.0.2", (), False),
    ],
)
def test_host_check(header: str | None, bound: str, names: tuple[str, ...], ok: bool) -> None:
    assert host_allowed(header, bound, 4880, names) is ok


def test_an_empty_host_does_not_bind_every_interface(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="every interface"):
        serve(Settings(store=tmp_path), ServeOptions(host=""))
