"""ipnpm.npm.network: npm's trust layering, proxy choice and client-certificate lookup, and
ipnpm.clients.failures' reasons. The rules are the ones verified against npm 11 (see the
module docstring); the integration tests in tests/test_tls_and_proxies.py run npm itself."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from ipnpm.clients.failures import describe_failure
from ipnpm.clients.http import proxies_for, session_for
from ipnpm.npm.network import NetworkSettings, is_no_proxy, network_from

PEM_A = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
PEM_B = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----"


def _rc(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_user_ca_beats_global_cafile(tmp_path: Path) -> None:
    bundle = _rc(tmp_path, "bundle.pem", PEM_B)
    files = [_rc(tmp_path, "global", f"cafile={bundle}"), _rc(tmp_path, "user", "ca=x")]
    trust = network_from({"ca": [PEM_A], "cafile": str(bundle)}, {}, files, tmp_path).trust
    assert trust.ca == (PEM_A,) and trust.ca_setting == "ca"


def test_ca_null_in_user_brings_back_default_roots_and_extra_certs(tmp_path: Path) -> None:
    bundle = _rc(tmp_path, "bundle.pem", PEM_B)
    files = [_rc(tmp_path, "global", f"cafile={bundle}"), _rc(tmp_path, "user", "ca=null")]
    env = {"NODE_EXTRA_CA_CERTS": "/extra.pem"}
    trust = network_from({"ca": None, "cafile": str(bundle)}, env, files, tmp_path).trust
    assert trust.ca is None and trust.extra_ca_file == "/extra.pem"


def test_cafile_replaces_and_extra_certs_are_ignored(tmp_path: Path) -> None:
    bundle = _rc(tmp_path, "bundle.pem", PEM_A, PEM_B)
    files = [_rc(tmp_path, "user", f"cafile={bundle}")]
    env = {"NODE_EXTRA_CA_CERTS": "/extra.pem"}
    trust = network_from({"cafile": str(bundle)}, env, files, tmp_path).trust
    assert trust.ca == (PEM_A, PEM_B) and trust.extra_ca_file is None
    assert trust.ca_setting == f"cafile={bundle}"


def test_missing_cafile_keeps_the_lower_layers_trust(tmp_path: Path) -> None:
    bundle = _rc(tmp_path, "bundle.pem", PEM_B)
    files = [
        _rc(tmp_path, "global", f"cafile={bundle}"),
        _rc(tmp_path, "user", f"cafile={tmp_path / 'missing.pem'}"),
    ]
    trust = network_from({"cafile": str(tmp_path / "missing.pem")}, {}, files, tmp_path).trust
    assert trust.ca == (PEM_B,)


def test_a_ca_without_certificates_trusts_nothing(tmp_path: Path) -> None:
    trust = network_from({"ca": ["null"]}, {"npm_config_ca": "null"}, [], tmp_path).trust
    assert trust.ca == ()


def test_strict_ssl_false_turns_verification_off(tmp_path: Path) -> None:
    assert network_from({"strict-ssl": False}, {}, [], tmp_path).trust.verify is False


def test_https_proxy_then_proxy_for_every_scheme(tmp_path: Path) -> None:
    values = {"https-proxy": "http://hp:1", "proxy": "http://p:2"}
    network = network_from(values, {"HTTPS_PROXY": "http://env:3"}, [], tmp_path)
    for url in ("https://r.example/x", "http://r.example/x"):
        choice = network.proxy_for(url)
        assert choice is not None and (choice.url, choice.setting) == ("http://hp:1", "https-proxy")
    only_proxy = network_from({"proxy": "http://p:2"}, {}, [], tmp_path)
    assert only_proxy.proxy_for("https://r.example/") is not None


def test_environment_proxies_as_npmcli_agent(tmp_path: Path) -> None:
    env = {"http_proxy": "http://h:1", "PROXY": "http://p:2"}
    network = network_from({"proxy": False}, env, [], tmp_path)  # proxy=false: env still applies
    assert network.proxy_for("https://r.example/") is None  # https only looks at https_proxy
    http = network.proxy_for("http://r.example/")
    assert http is not None and http.url == "http://h:1"
    both = network_from(
        {}, {"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2"}, [], tmp_path
    )
    later = both.proxy_for("https://r.example/")
    assert later is not None and later.url == "http://b:2"  # the later spelling wins


@pytest.mark.parametrize(
    ("host", "entries", "expected"),
    [
        ("a.example.com", ["example.com"], True),
        ("example.com", [".example.com"], True),
        ("badexample.com", ["example.com"], False),
        ("127.0.0.1", ["localhost"], False),
        ("anything", ["*"], False),
        ("r.example.com", ["example.com:8080"], False),
    ],
)
def test_noproxy_matches_trailing_labels(host: str, entries: list[str], expected: bool) -> None:
    assert is_no_proxy(host, entries) is expected


def test_config_noproxy_replaces_no_proxy(tmp_path: Path) -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"}
    assert network_from({}, env, [], tmp_path).proxy_for("https://r.example.com/") is None
    network = network_from({"noproxy": ["other.org"]}, env, [], tmp_path)
    assert network.proxy_for("https://r.example.com/") is not None


def test_loopback_is_direct_whatever_npm_would_do(tmp_path: Path) -> None:
    network = network_from({"https-proxy": "http://corp.example:3128"}, {}, [], tmp_path)
    assert network.proxy_for("https://127.0.0.1:4873/x") is not None  # npm would use it
    assert proxies_for(network, "https://127.0.0.1:4873/x") == {}
    assert proxies_for(network, "https://r.example/x") == {"https": "http://corp.example:3128"}
    tunnelled = proxies_for(network, "https://127.0.0.1:4873/x", loopback_direct=False)
    assert tunnelled == {"https": "http://corp.example:3128"}


def test_client_cert_by_longest_dart_hidden_by_a_longer_token(tmp_path: Path) -> None:
    cert, key = _rc(tmp_path, "c.pem", "CERT"), _rc(tmp_path, "k.pem", "KEY")
    files = [
        _rc(
            tmp_path,
            "user",
            f"//r.example/:certfile={cert}",
            f"//r.example/:keyfile={key}",
            "//r.example/private/:_authToken=secret",
        )
    ]
    values = {"registry": "https://r.example/", "cert": "GLOBAL", "key": "GLOBALKEY"}
    network = network_from(values, {}, files, tmp_path)
    found = network.client_cert_for("https://r.example/pkg/-/pkg-1.0.0.tgz")
    assert found is not None and (found.cert, found.key) == ("CERT\n", "KEY\n")
    assert network.client_cert_for("https://r.example/private/pkg") is None
    other = network.client_cert_for("https://elsewhere.example/pkg")
    assert other is not None and other.setting == "cert/key"
    assert "KEY\n" not in repr(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_describe_connection_refused() -> None:
    url = f"http://127.0.0.1:{_free_port()}/pkg"
    with pytest.raises(requests.RequestException) as failure:
        session_for(NetworkSettings()).get(url, timeout=5)
    assert (
        describe_failure(failure.value, url) == f"upstream unreachable: {url}: connection refused"
    )


def test_describe_refused_proxy_names_the_setting(tmp_path: Path) -> None:
    proxy = f"http://127.0.0.1:{_free_port()}"
    network = network_from({"https-proxy": proxy}, {}, [], tmp_path)
    url = "https://r.example/pkg"  # never reached: the proxy refuses first
    with pytest.raises(requests.RequestException) as failure:
        session_for(network).get(url, timeout=5)
    reason = describe_failure(failure.value, url, network)
    assert reason == f"upstream {url}: proxy {proxy} (npm's https-proxy): connection refused"


def test_describe_http_status_and_hides_credentials() -> None:
    response = requests.Response()
    response.status_code, response.reason = 503, "Service Unavailable"
    error = requests.HTTPError(response=response)
    reason = describe_failure(error, "https://u:pw@r.example/pkg?x=1")
    assert reason == "upstream https://r.example/pkg: HTTP 503 Service Unavailable"


def test_describe_timeouts() -> None:
    url = "https://r.example/pkg"
    assert describe_failure(requests.ConnectTimeout(), url).endswith("timed out connecting")
    assert describe_failure(requests.ReadTimeout(), url).endswith("waiting for the answer")
