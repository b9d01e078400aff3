"""TLS and proxies exactly as npm uses them, with npm as the oracle.

An HTTPS Verdaccio signed by a throwaway CA: for each way of configuring trust (or a proxy),
the real npm and ipnpm install the same package; both succeed or both fail, and when ipnpm
fails it names the certificate problem and the npm setting to change. The client-certificate
case uses a small Python ssl server (Verdaccio cannot demand client certificates).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import certifi
import pytest
import requests

from ipnpm.clients.failures import describe_failure
from ipnpm.clients.http import session_for
from ipnpm.npm.network import network_from
from tests.support.forward_proxy import running_tinyproxy
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.packages import fixture_packages, publish_all
from tests.support.tls import Pki, make_pki
from tests.support.verdaccio import Verdaccio, free_port, running_verdaccio

PACKAGE = "ipnpm-fixture-a"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def https_verdaccio(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Verdaccio]:
    with running_verdaccio(tmp_path_factory.mktemp("verdaccio-https"), https=pki) as server:
        wanted = {PACKAGE, "ipnpm-fixture-b"}
        publish_all(server, [p for p in fixture_packages() if p.name in wanted])
        yield server


def _first_cert(bundle: str) -> str:
    end = "-----END CERTIFICATE-----"
    return Path(bundle).read_text().split(end)[0] + end


def _ini_pem(pem: str) -> str:
    # npm's ini reads a double-quoted value as JSON: "\n" escapes become newlines.
    return json.dumps(pem.strip())


@dataclass(frozen=True)
class Case:
    config: Sequence[str] = ()
    env: dict[str, str] = field(default_factory=dict)
    ok: bool = True


def _cases(pki: Pki) -> dict[str, Case]:
    other_roots = certifi.where()  # real CAs, none of which signed the test registry
    return {
        "cafile": Case([f"cafile={pki.ca_cert}"]),
        "inline-ca": Case([f"ca={_ini_pem(pki.ca_pem)}"]),
        "ca-list": Case(
            [f"ca[]={_ini_pem(_first_cert(other_roots))}", f"ca[]={_ini_pem(pki.ca_pem)}"]
        ),
        # ca=null undoes a global cafile (this machine's has one) so the default roots apply,
        # which NODE_EXTRA_CA_CERTS extends.
        "node-extra-ca-certs": Case(["ca=null"], {"NODE_EXTRA_CA_CERTS": str(pki.ca_cert)}),
        # Node ignores NODE_EXTRA_CA_CERTS once npm passes a `ca` (from cafile here).
        "extra-ignored-under-cafile": Case(
            [f"cafile={other_roots}"], {"NODE_EXTRA_CA_CERTS": str(pki.ca_cert)}, ok=False
        ),
        "strict-ssl-false": Case(["strict-ssl=false"]),
        "nothing": Case([], ok=False),
    }


CASE_NAMES = [
    "cafile",
    "inline-ca",
    "ca-list",
    "node-extra-ca-certs",
    "extra-ignored-under-cafile",
    "strict-ssl-false",
    "nothing",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_trust_settings_agree_with_npm(
    tmp_path: Path, https_verdaccio: Verdaccio, pki: Pki, name: str
) -> None:
    case = _cases(pki)[name]
    npm_env = NpmEnv(
        tmp_path / "npm-env",
        registry=https_verdaccio.url,
        extra_config=case.config,
        extra_env=case.env,
    )
    plain = make_project(tmp_path / "plain", {})
    ours = make_project(tmp_path / "ours", {})
    expected = npm_env.run_npm(
        ["install", PACKAGE], plain, env={"npm_config_cache": str(tmp_path / "cache-a")}
    )
    got = npm_env.run_ipnpm(
        ["install", PACKAGE], ours, env={"npm_config_cache": str(tmp_path / "cache-b")}
    )

    assert (expected.returncode == 0) is case.ok, describe(expected)
    assert (got.returncode == 0) is case.ok, describe(got)
    if case.ok:
        assert (ours / "node_modules" / PACKAGE / "package.json").is_file()
        lock = (ours / "package-lock.json").read_bytes()
        assert lock == (plain / "package-lock.json").read_bytes()
    else:
        said = got.stdout + got.stderr
        assert "certificate verify failed" in said, describe(got)
        assert "cafile=" in said, describe(got)


def test_https_proxy_tunnels_like_npm(tmp_path: Path, https_verdaccio: Verdaccio, pki: Pki) -> None:
    config = [f"cafile={pki.ca_cert}"]
    with running_tinyproxy(tmp_path / "proxy", connect_ports=(https_verdaccio.port,)) as proxy:
        npm_env = NpmEnv(
            tmp_path / "npm-env",
            registry=https_verdaccio.url,
            extra_config=[*config, f"https-proxy={proxy.url}"],
        )
        plain = make_project(tmp_path / "plain", {})
        ours = make_project(tmp_path / "ours", {})
        expected = npm_env.run_npm(
            ["install", PACKAGE], plain, env={"npm_config_cache": str(tmp_path / "cache-a")}
        )
        assert expected.returncode == 0, describe(expected)
        by_npm = proxy.connects()
        got = npm_env.run_ipnpm(
            ["install", PACKAGE], ours, env={"npm_config_cache": str(tmp_path / "cache-b")}
        )
        assert got.returncode == 0, describe(got)
        assert by_npm and set(by_npm) == {https_verdaccio.host}
        # ipnpm goes to a loopback upstream directly (a corporate proxy cannot reach this
        # machine's loopback), and npm's requests to ipnpm's proxy are exempt by --noproxy.
        assert proxy.connects() == by_npm
        lock = (ours / "package-lock.json").read_bytes()
        assert lock == (plain / "package-lock.json").read_bytes()

        # The tunnel itself, with npm's settings, when loopback is not exempt.
        npmrc = tmp_path / "npmrc"
        npmrc.write_text(f"{config[0]}\nhttps-proxy={proxy.url}\n")
        values = {"registry": https_verdaccio.url, "https-proxy": proxy.url}
        network = network_from(values, {}, [npmrc], tmp_path)
        session = session_for(network, loopback_direct=False)
        response = session.get(https_verdaccio.url + PACKAGE, timeout=30)
        assert response.status_code == 200 and response.json()["name"] == PACKAGE
        assert proxy.connects()[len(by_npm) :] == [https_verdaccio.host]


def test_dead_proxy_is_named_in_the_reason(
    tmp_path: Path, https_verdaccio: Verdaccio, pki: Pki
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    npmrc = tmp_path / "npmrc"
    npmrc.write_text(f"cafile={pki.ca_cert}\nhttps-proxy={dead}\n")
    values = {"registry": https_verdaccio.url, "https-proxy": dead}
    network = network_from(values, {}, [npmrc], tmp_path)
    url = https_verdaccio.url + PACKAGE
    with pytest.raises(requests.RequestException) as failure:
        session_for(network, loopback_direct=False).get(url, timeout=10)
    reason = describe_failure(failure.value, url, network)
    assert reason == f"upstream {url}: proxy {dead} (npm's https-proxy): connection refused"


# -- client certificates: a small ssl server that demands one --------------------------------


class _Packument(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        name = self.path.strip("/").split("/")[0] or "x"
        manifest = {"name": name, "version": "1.0.0"}
        body = json.dumps(
            {"name": name, "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": manifest}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet test output; the assertions say what happened


@contextlib.contextmanager
def _mutual_tls_server(pki: Pki) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.load_verify_locations(cafile=pki.ca_cert)
    context.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Packument)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _npm_view(tmp_path: Path, registry: str, lines: Sequence[str]) -> bool:
    npm_env = NpmEnv(tmp_path / "npm-env", registry=registry, extra_config=lines)
    result = npm_env.run_npm(["view", "some-package", "version", "--fetch-retries=0"], tmp_path)
    return result.returncode == 0 and result.stdout.strip() == "1.0.0"


def test_nerf_darted_client_certificate_like_npm(tmp_path: Path, pki: Pki) -> None:
    with _mutual_tls_server(pki) as registry:
        dart = "//" + registry.split("://", 1)[1]
        trust = f"cafile={pki.ca_cert}"
        cert_lines = [f"{dart}:certfile={pki.client_cert}", f"{dart}:keyfile={pki.client_key}"]
        with_cert = [trust, *cert_lines]
        npmrc = tmp_path / "npmrc"
        values: dict[str, object] = {"registry": registry, "cafile": str(pki.ca_cert)}

        assert _npm_view(tmp_path / "npm-with", registry, with_cert)
        assert not _npm_view(tmp_path / "npm-without", registry, [trust])

        npmrc.write_text("\n".join(with_cert) + "\n")
        network = network_from(values, {}, [npmrc], tmp_path)
        url = registry + "some-package"
        assert session_for(network).get(url, timeout=10).json()["name"] == "some-package"

        npmrc.write_text(trust + "\n")
        bare = network_from(values, {}, [npmrc], tmp_path)
        with pytest.raises(requests.RequestException) as failure:
            session_for(bare).get(url, timeout=10)
        reason = describe_failure(failure.value, url, bare)
        assert "client certificate" in reason and f"{dart}:certfile=" in reason, reason


@pytest.mark.parametrize("setting", ["good", "untrusted", "unreachable"])
def test_doctor_requests_the_registry(
    tmp_path: Path, https_verdaccio: Verdaccio, pki: Pki, setting: str
) -> None:
    registry = https_verdaccio.url
    if setting == "unreachable":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            registry = f"https://127.0.0.1:{sock.getsockname()[1]}/"
    config = [f"cafile={pki.ca_cert}"] if setting != "untrusted" else []
    world = NpmEnv(tmp_path / "w", registry=registry, extra_config=config)
    result = world.run_ipnpm(["--ipnpm-kubo=off", "ipfs", "doctor", "--json"], tmp_path)
    checks = {c["part"]: c for c in json.loads(result.stdout)["checks"]}
    assert (result.returncode == 0) is (setting == "good"), describe(result)
    assert checks["registry"]["ok"] is (setting == "good"), checks
    if setting == "untrusted":
        assert "certificate verify failed" in checks["registry"]["detail"]
        assert "cafile=" in checks["registry"]["fix"]
    if setting == "unreachable":
        assert "unreachable" in checks["registry"]["detail"]
