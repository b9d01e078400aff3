"""Attacks on ipnpm's trust boundaries (issue 13): each test is an attack that succeeded before
the boundary was drawn. A project file names no destination; `serve` is read-only for its
clients; private tarballs stay private; CIDs stay tied to integrity."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import requests

from tests.support.bad_servers import recording_server
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.verdaccio import Verdaccio
from tests.test_serve import npm_client, running_server


def _with_ipnpm_key(project: Path, values: dict[str, object]) -> None:
    manifest = json.loads((project / "package.json").read_text())
    manifest["ipnpm"] = values
    (project / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")


def test_a_kubo_named_in_package_json_receives_nothing(npm_env: NpmEnv, tmp_path: Path) -> None:
    """A pull request adds `"ipnpm": {"kubo": URL}`; the private @acme tarball, fetched with
    the user's token, used to be POSTed to URL/api/v0/add (seeding is on by default)."""
    project = make_project(tmp_path / "project", {"@acme/secret": "1.0.0"})
    with recording_server() as hostile:
        _with_ipnpm_key(project, {"kubo": hostile.url, "store": str(tmp_path / "theirs")})
        result = npm_env.run_ipnpm(["install", "--ignore-scripts"], project)
        assert result.returncode == 0, describe(result)
        assert hostile.paths == []
    assert (project / "node_modules" / "@acme" / "secret" / "package.json").is_file()
    assert not (tmp_path / "theirs").exists()
    assert "ignoring 'kubo'" in result.stderr and str(project / "package.json") in result.stderr
    assert "ignoring 'store'" in result.stderr


# -- serve is read-only for its clients ----------------------------------------------------------


def _operator(root: Path, verdaccio: Verdaccio) -> tuple[NpmEnv, str]:
    """A serve operator whose npmrc holds their own upstream token."""
    name = f"operator-{secrets.token_hex(3)}"
    token = verdaccio.add_user(name, "operator-password")
    world = NpmEnv(
        root, registry=verdaccio.url, extra_config=[f"//{verdaccio.host}/:_authToken={token}"]
    )
    return world, name


def test_a_serve_client_cannot_act_as_the_operator(tmp_path: Path, verdaccio: Verdaccio) -> None:
    """Holding only the serve token, a client used to learn the operator's user name, list
    their tokens and publish upstream as them."""
    operator, name = _operator(tmp_path / "operator", verdaccio)
    project = make_project(tmp_path / "project", {})
    with running_server(operator, project) as server:
        client = npm_client(tmp_path / "client", server)
        package = make_project(tmp_path / "attack", {}, name=f"ipnpm-attack-{secrets.token_hex(3)}")
        manifest = json.loads((package / "package.json").read_text())
        del manifest["private"]
        (package / "package.json").write_text(json.dumps(manifest))
        mark = verdaccio.mark()

        read = client.run_npm(["view", "ipnpm-fixture-c", "version"], project)
        whoami = client.run_npm(["whoami"], project)
        tokens = client.run_npm(["token", "list"], project)
        publish = client.run_npm(["publish"], package)

        seen = verdaccio.requests(since=mark)
    assert read.returncode == 0 and read.stdout.strip() == "2.0.0", describe(read)
    for result in (whoami, tokens, publish):
        assert result.returncode != 0, describe(result)
        assert name not in result.stdout, describe(result)
    assert "read-only" in publish.stderr, describe(publish)
    assert [r for r in seen if r.method not in ("GET", "HEAD")] == []
    assert not any("/-/" in r.path for r in seen), seen
    gone = requests.get(verdaccio.url + manifest["name"], timeout=30)
    assert gone.status_code == 404


def test_a_no_auth_server_answers_only_its_own_host(tmp_path: Path, verdaccio: Verdaccio) -> None:
    """DNS rebinding: a web page whose name now resolves to 127.0.0.1 sends its own name."""
    world = NpmEnv(tmp_path / "operator", registry=verdaccio.url)
    project = make_project(tmp_path / "project", {})
    with running_server(world, project, "--no-auth") as server:
        port = server.netloc.rsplit(":", 1)[1]
        own = requests.get(server.url + "ipnpm-fixture-c", timeout=30)
        foreign = requests.get(
            server.url + "ipnpm-fixture-c", headers={"Host": f"attacker.test:{port}"}, timeout=30
        )
        probe = requests.get(
            server.url + "ipfs/bafkqaaa?format=raw", headers={"Host": "attacker.test"}, timeout=30
        )
    assert own.status_code == 200
    assert foreign.status_code == 403 and "attacker.test" in foreign.text
    assert probe.status_code == 403
