from __future__ import annotations

from pathlib import Path

import pytest

from ipnpm.clients.kubo import discover, multiaddr_to_url
from ipnpm.errors import UsageError
from ipnpm.settings import resolve


def test_multiaddr_forms() -> None:
    assert multiaddr_to_url("/ip4/127.0.0.1/tcp/5001\n") == "http://127.0.0.1:5001"
    assert multiaddr_to_url("/ip6/::1/tcp/5001") == "http://[::1]:5001"
    with pytest.raises(UsageError):
        multiaddr_to_url("/unix/run/ipfs.sock")


def test_discovery_order(tmp_path: Path) -> None:
    home, custom = tmp_path / "home", tmp_path / "custom"
    (home / ".ipfs").mkdir(parents=True)
    (home / ".ipfs" / "api").write_text("/ip4/127.0.0.1/tcp/1111")
    custom.mkdir()
    (custom / "api").write_text("/ip4/127.0.0.1/tcp/2222")
    assert discover("auto", {"HOME": str(home)}) == "http://127.0.0.1:1111"
    assert (
        discover("auto", {"HOME": str(home), "IPFS_PATH": str(custom)}) == "http://127.0.0.1:2222"
    )
    assert discover("auto", {"HOME": str(tmp_path)}) is None  # no daemon announced
    assert discover("off", {"HOME": str(home)}) is None
    assert discover("http://127.0.0.1:3333", {}) == "http://127.0.0.1:3333"


def test_settings_from_the_environment() -> None:
    env = {
        "IPNPM_KUBO_API": "http://127.0.0.1:9/",
        "IPNPM_GATEWAYS": "http://a:1, http://b:2",
        "IPNPM_SEED": "0",
        "IPNPM_JOBS": "3",
        "HOME": "/h",
    }
    settings = resolve(env=env)
    assert settings.kubo == "http://127.0.0.1:9"
    assert settings.gateways == ("http://a:1", "http://b:2")
    assert settings.seed is False
    assert settings.jobs == 3
    assert resolve(kubo="off", jobs=1, env=env).kubo == "off"
    assert settings.origins["kubo"] == "environment (IPNPM_KUBO_API)"
    with pytest.raises(UsageError, match="--ipnpm-gateway"):
        resolve(gateways=("localhost:8080",), env={})
    with pytest.raises(UsageError, match="IPNPM_JOBS"):
        resolve(env={"IPNPM_JOBS": "zero"})
