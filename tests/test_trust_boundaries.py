"""Attacks on ipnpm's trust boundaries (issue 13): each test is an attack that succeeded before
the boundary was drawn. A project file names no destination; `serve` is read-only for its
clients; private tarballs stay private; CIDs stay tied to integrity."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ipnpm.errors import StoreError
from ipnpm.store.objects import Store
from tests.support.bad_servers import recording_server
from tests.support.kubo import KuboNode, kubo_node, new_swarm_key
from tests.support.npm_env import NpmEnv, describe, make_project
from tests.support.packages import ACME_USER
from tests.support.runlog import tarball_events
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


def test_serve_never_takes_an_empty_host_for_every_interface(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """`serve --host ''` bound every interface (to Python, '' is INADDR_ANY): a typo or an
    empty variable must not put the operator's credentials on the network."""
    argv = [sys.executable, "-m", "ipnpm", "ipfs", "serve", "--host", "", "--port", "0"]
    # Bounded: a server that started would never return by itself.
    result = subprocess.run(
        argv,
        cwd=tmp_path,
        env=npm_env.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, describe(result)
    assert "--host '' would listen on every interface" in result.stderr
    assert "--host 0.0.0.0" in result.stderr and "Traceback" not in result.stderr


# -- private stays private --------------------------------------------------------------------

PRIVATE = {"@acme/secret": "1.0.0", "ipnpm-fixture-a": "1.0.0"}


def _pins(node: KuboNode) -> set[str]:
    return set(node.rpc("pin/ls", type="recursive").json()["Keys"])


def _summary(result: subprocess.CompletedProcess[str]) -> str:
    """The run's one summary line (``ipnpm: 2 packages · … · 1.2 s``) from its stderr."""
    lines = [
        line for line in result.stderr.splitlines() if re.match(r"ipnpm: \d+ packages? · ", line)
    ]
    assert len(lines) == 1, describe(result)
    return lines[0]


def _store_cids(store: Path) -> dict[str, str]:
    """spec -> CID of every tarball the last run obtained."""
    return {e["spec"]: e["cid"] for e in tarball_events(store)}


def test_private_tarballs_are_not_seeded_into_a_public_kubo(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project", PRIVATE)
    with kubo_node(tmp_path / "kubo") as node:
        result = npm_env.run_ipnpm(["install"], project, env={"IPNPM_KUBO_API": node.api_url})
        assert result.returncode == 0, describe(result)
        cids = _store_cids(npm_env.store_dir)
        time.sleep(0.5)  # seeding is asynchronous; it is done when ipnpm exits, but be fair
        pins = _pins(node)
    assert cids["ipnpm-fixture-a@1.0.0"] in pins  # the public one is seeded, as before
    assert cids["@acme/secret@1.0.0"] not in pins
    assert " · 1 private kept local (not seeded) · " in _summary(result)
    assert "private seeded" not in _summary(result)
    assert (npm_env.store_dir / "private").is_dir()


def test_private_tarballs_are_seeded_when_the_user_opts_in(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PRIVATE)
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        result = npm_env.run_ipnpm(["install", "--ipnpm-seed-private=@acme"], project, env=env)
        assert result.returncode == 0, describe(result)
        pins = _pins(node)
    assert _store_cids(npm_env.store_dir)["@acme/secret@1.0.0"] in pins
    assert " · 1 private seeded (opted in) · " in _summary(result)
    assert "kept local" not in _summary(result)


def test_private_tarballs_are_seeded_into_the_users_private_network_kubo(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """The user's own daemon (found through IPFS_PATH) has a swarm.key: only peers with the key
    can reach it, so private tarballs may be seeded there."""
    project = make_project(tmp_path / "project", PRIVATE)
    with kubo_node(tmp_path / "kubo", swarm_key=new_swarm_key()) as node:
        env = {"IPFS_PATH": str(node.ipfs_path), "LIBP2P_FORCE_PNET": "1"}
        result = npm_env.run_ipnpm(["install"], project, env=env)
        assert result.returncode == 0, describe(result)
        pins = _pins(node)
    assert _store_cids(npm_env.store_dir)["@acme/secret@1.0.0"] in pins
    assert " · 1 private seeded (private network) · " in _summary(result)
    assert "kept local" not in _summary(result)


def test_serve_gives_a_private_cid_only_with_its_token(npm_env: NpmEnv, tmp_path: Path) -> None:
    """Every CID of a private project is in its ipnpm-lock.json: knowing one must not be enough."""
    project = make_project(tmp_path / "project", PRIVATE)
    installed = npm_env.run_ipnpm(["install"], project, env={"IPNPM_KUBO_API": "off"})
    assert installed.returncode == 0, describe(installed)
    cids = _store_cids(npm_env.store_dir)
    with running_server(npm_env, project) as server:
        secret, public = cids["@acme/secret@1.0.0"], cids["ipnpm-fixture-a@1.0.0"]
        anonymous = server.get(f"ipfs/{secret}?format=raw")
        car = server.get(f"ipfs/{secret}?format=car")
        with_token = server.get(
            f"ipfs/{secret}?format=raw", headers={"Authorization": f"Bearer {server.token}"}
        )
        open_one = server.get(f"ipfs/{public}?format=raw")
    assert anonymous.status_code == 401 and car.status_code == 401
    assert with_token.status_code == 200
    assert open_one.status_code == 200


def test_the_store_is_its_owners_alone(npm_env: NpmEnv, tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", PRIVATE)
    env = {"IPNPM_KUBO_API": "off"}
    result = npm_env.run_ipnpm(["install"], project, env=env)
    assert result.returncode == 0, describe(result)
    store = npm_env.store_dir  # made by the test before ipnpm ran: ipnpm leaves its mode alone
    for path in store.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir() or path.is_file():
            assert mode & 0o077 == 0, f"{path} is {mode:o}"


# -- CIDs stay tied to integrity -------------------------------------------------------------


def _drop_integrity(project: Path, name: str, *, cid_of: str | None = None) -> None:
    """package-lock.json loses ``name``'s integrity (npm omits it at times); with ``cid_of``
    (a spec), ipnpm-lock.json pairs ``name``'s spec with that package's CID instead of its
    own, as a poisoned pull request would."""
    lock_path, cid_path = project / "package-lock.json", project / "ipnpm-lock.json"
    lock = json.loads(lock_path.read_text())
    entry = lock["packages"][f"node_modules/{name}"]
    del entry["integrity"]
    lock_path.write_text(json.dumps(lock, indent=2))
    if cid_of is None:
        return
    cidlock = json.loads(cid_path.read_text())
    by_spec = {e["spec"]: (k, e) for k, e in cidlock["tarballs"].items()}
    spec = f"{name}@{entry['version']}"
    del cidlock["tarballs"][by_spec[spec][0]]
    cidlock["tarballs"]["sha512-poison"] = {"cid": by_spec[cid_of][1]["cid"], "spec": spec}
    cid_path.write_text(json.dumps(cidlock, indent=2))


def _forget(npm_env: NpmEnv, project: Path, *, store: bool = True) -> None:
    """A fresh checkout on a fresh machine: no node_modules, no npm cache (no store)."""
    for gone in (project / "node_modules", npm_env.cache_dir, *([npm_env.store_dir] * store)):
        if gone.exists():
            shutil.rmtree(gone)


def _installed_name(project: Path, name: str) -> str:
    return str(json.loads((project / "node_modules" / name / "package.json").read_text())["name"])


def test_a_poisoned_cidlock_entry_cannot_install_another_package(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """A lockfile entry without integrity used to take its CID from any ipnpm-lock.json entry
    whose spec matched: a pull request pairing a's name with c's CID put c into
    node_modules/ipnpm-fixture-a."""
    project = make_project(
        tmp_path / "project", {"ipnpm-fixture-a": "1.0.0", "ipnpm-fixture-c": "2.0.0"}
    )
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        installed = npm_env.run_ipnpm(["install"], project, env=env)
        assert installed.returncode == 0, describe(installed)
        _drop_integrity(project, "ipnpm-fixture-a", cid_of="ipnpm-fixture-c@2.0.0")
        _forget(npm_env, project)

        result = npm_env.run_ipnpm(["ci"], project, env=env)

    assert result.returncode == 0, describe(result)
    assert _installed_name(project, "ipnpm-fixture-a") == "ipnpm-fixture-a"


def _poisoned_with_b(npm_env: NpmEnv, project: Path, env: dict[str, str]) -> None:
    """a@1.0.0 (which depends on b) installed, then a's entries poisoned with b's CID."""
    installed = npm_env.run_ipnpm(["install"], project, env=env)
    assert installed.returncode == 0, describe(installed)
    _drop_integrity(project, "ipnpm-fixture-a", cid_of="ipnpm-fixture-b@1.1.0")
    _forget(npm_env, project)


def test_a_poisoned_cid_already_in_the_store_is_not_served_for_another_package(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """The store answered a CID from ipnpm-lock.json without asking whose bytes it holds: with
    b in a shared store (another project put it there), the poisoned entry installed b as a."""
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        _poisoned_with_b(npm_env, project, env)
        other = make_project(tmp_path / "other", {"ipnpm-fixture-b": "1.1.0"})
        assert npm_env.run_ipnpm(["install"], other, env=env).returncode == 0

        result = npm_env.run_ipnpm(["ci"], project, env=env)

    assert result.returncode == 0, describe(result)
    assert _installed_name(project, "ipnpm-fixture-a") == "ipnpm-fixture-a"


def test_bytes_only_a_poisoned_cid_vouched_for_are_never_vouched_for_by_the_store(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """Bytes fetched by a poisoned CID went into the store's name@version map before they
    were found to be another package's; npm's request for a then took b's integrity from that
    map and got b. Offline, with only b's bytes to be had, the run must fail naming a; online,
    a comes from the upstream."""
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        _poisoned_with_b(npm_env, project, env)
        offline = npm_env.run_ipnpm(["ci", "--offline"], project, env=env)
        assert offline.returncode != 0, describe(offline)  # only b's bytes were to be had
        assert "ipnpm-fixture-a@1.0.0" in offline.stderr, describe(offline)
        _forget(npm_env, project, store=False)

        result = npm_env.run_ipnpm(["ci"], project, env=env)

    assert result.returncode == 0, describe(result)
    assert _installed_name(project, "ipnpm-fixture-a") == "ipnpm-fixture-a"


def test_packages_verified_by_cid_alone_are_named_loudly(npm_env: NpmEnv, tmp_path: Path) -> None:
    """ipnpm-lock.json may give the CID of an entry without integrity; the bytes are then
    checked by that CID and their package.json only, and the install must say so."""
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        installed = npm_env.run_ipnpm(["install"], project, env=env)
        assert installed.returncode == 0, describe(installed)
        assert "CID alone" not in installed.stderr  # every entry had its integrity
        _drop_integrity(project, "ipnpm-fixture-a")
        _forget(npm_env, project)

        result = npm_env.run_ipnpm(["ci"], project, env=env)
        again = npm_env.run_ipnpm(["ci"], project, env=env)  # from the store: still CID alone

    assert result.returncode == 0, describe(result)
    assert _installed_name(project, "ipnpm-fixture-a") == "ipnpm-fixture-a"
    warning = [line for line in result.stderr.splitlines() if "CID alone" in line]
    assert warning == [
        "ipnpm: warning: 1 package(s) verified by CID alone, with no integrity in "
        "package-lock.json: ipnpm-fixture-a@1.0.0. Only the CID in ipnpm-lock.json and the "
        "tarball's own package.json vouched for the bytes."
    ], describe(result)
    assert "npm install --package-lock-only" in result.stderr
    assert "ipnpm" not in result.stdout and "added 2 packages" in result.stdout
    assert "verified by CID alone" in again.stderr and "ipnpm-fixture-a@1.0.0" in again.stderr


def test_a_malformed_cid_in_the_cidlock_is_ignored_with_a_warning(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """One bad CID string (a merge conflict, a hand edit) used to end every Kubo-enabled
    `ipfs fetch` in exit 70 and fail `ci`; now that package comes from the next source."""
    project = make_project(tmp_path / "project", {"ipnpm-fixture-a": "1.0.0"})
    with kubo_node(tmp_path / "kubo") as node:
        env = {"IPNPM_KUBO_API": node.api_url}
        installed = npm_env.run_ipnpm(["install"], project, env=env)
        assert installed.returncode == 0, describe(installed)
        cid_path = project / "ipnpm-lock.json"
        cidlock = json.loads(cid_path.read_text())
        for entry in cidlock["tarballs"].values():
            if entry["spec"] == "ipnpm-fixture-a@1.0.0":
                entry["cid"] = "bafy<<<<<<< HEAD"
        cid_path.write_text(json.dumps(cidlock, indent=2))
        _forget(npm_env, project)
        fetched = npm_env.run_ipnpm(["ipfs", "fetch"], project, env=env)
        _forget(npm_env, project)
        result = npm_env.run_ipnpm(["ci"], project, env=env)

    for run in (fetched, result):
        assert run.returncode == 0, describe(run)
        assert "ipnpm-fixture-a@1.0.0: ignoring its CID" in run.stderr, describe(run)
        assert "Traceback" not in run.stderr
    assert _installed_name(project, "ipnpm-fixture-a") == "ipnpm-fixture-a"


def _publish_twin(registry: Verdaccio, root: Path, name: str, says: str) -> None:
    package = make_project(root, {}, name=name)
    manifest = json.loads((package / "package.json").read_text())
    del manifest["private"]
    (package / "package.json").write_text(json.dumps(manifest))
    (package / "index.js").write_text(f"module.exports = {says!r};\n")
    registry.publish(package, registry.tokens.get(ACME_USER))


def test_one_registrys_download_is_never_served_for_another_registrys_package(
    npm_env: NpmEnv, tmp_path: Path, verdaccio: Verdaccio, private_verdaccio: Verdaccio
) -> None:
    """The store's name@version map was first-write-wins across registries: with a shared
    store, a project on registry B whose lockfile has no integrity got the bytes registry A
    had served under the same name@version to another project."""
    twin = f"ipnpm-twin-{secrets.token_hex(3)}"
    _publish_twin(verdaccio, tmp_path / "twin-a", twin, "from registry A")
    _publish_twin(private_verdaccio, tmp_path / "twin-b", twin, "from registry B")
    shared = {"IPNPM_STORE": str(tmp_path / "shared-store"), "IPNPM_KUBO_API": "off"}
    first = make_project(tmp_path / "on-a", {twin: "1.0.0"})
    assert npm_env.run_ipnpm(["install"], first, env=shared).returncode == 0
    on_b = NpmEnv(tmp_path / "b-env", registry=private_verdaccio.url)
    project = make_project(tmp_path / "on-b", {twin: "1.0.0"})
    locked = on_b.run_npm(["install", "--package-lock-only"], project)
    assert locked.returncode == 0, describe(locked)
    _drop_integrity(project, twin)

    result = on_b.run_ipnpm(["ci"], project, env=shared)

    assert result.returncode == 0, describe(result)
    code = (project / "node_modules" / twin / "index.js").read_text()
    assert "from registry B" in code, code


def test_a_good_object_under_the_wrong_integrity_is_a_miss_not_corrupt(tmp_path: Path) -> None:
    """Asked for integrity X with the CID of other, good bytes: the object must stay."""
    store = Store(tmp_path / "store").open()
    stored = store.ingest([b"package b"], expected=None, source="test")
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"package a").digest()).decode()
    assert store.verified_path(stored.cid, wrong) is None
    assert store.object_path(stored.cid).is_file()
    assert store.verified_path(stored.cid) == store.object_path(stored.cid)


# -- the store: its own files only, never through a link -------------------------------------


def test_store_verify_skips_and_reports_what_is_not_a_regular_file(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """A FIFO in objects/ used to hang `store verify` forever."""
    store = Store(npm_env.store_dir).open()
    good = store.ingest([b"a tarball"], expected=None, source="test")
    fifo = store.object_path("bafkreifakefifo").parent / "bafkreifakefifo"
    fifo.parent.mkdir(mode=0o700, exist_ok=True)
    os.mkfifo(fifo)
    link = good.path.parent / "bafkreifakelink"
    link.symlink_to("/etc/passwd")
    result = npm_env.run_ipnpm(["ipfs", "store", "verify"], tmp_path)
    assert result.returncode == 7, describe(result)
    assert "bafkreifakefifo: skipped" in result.stderr and "a FIFO" in result.stderr
    assert "bafkreifakelink: skipped" in result.stderr and "symbolic link" in result.stderr
    assert "3 objects checked, 2 bad" in result.stdout
    assert fifo.exists() and good.path.is_file()


def test_no_write_follows_a_symlinked_shard_out_of_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "store").open()
    outside = tmp_path / "outside"
    outside.mkdir()
    data = b"bytes that must stay in the store"
    cid = store.ingest([data], expected=None, source="test").cid
    shard = store.object_path(cid).parent
    shutil.rmtree(shard)
    shard.symlink_to(outside)
    with pytest.raises(StoreError, match="symbolic link"):
        Store(tmp_path / "store").open().ingest([data], expected=None, source="test")
    assert list(outside.iterdir()) == []


# -- a second local user ------------------------------------------------------------------------

OTHER_USER = "ipnpm-other"
# Run by the second user while npm runs: read a stored object and the run's userconfig (which
# holds the per-run secret), then ask the proxy for a packument with whatever it could read.
_PROBE = r"""
import os, sys, urllib.request
store, userconfig, registry = sys.argv[1:4]
def attempt(what, action):
    try:
        action()
        print(what, "READ")
    except OSError as exc:
        print(what, "refused", type(exc).__name__)
attempt("objects", lambda: os.listdir(os.path.join(store, "objects")))
attempt("userconfig", lambda: open(userconfig).read())
try:
    urllib.request.urlopen(registry + "ipnpm-fixture-a", timeout=10)
    print("proxy READ")
except urllib.error.HTTPError as exc:
    print("proxy", exc.code)
"""


def _other_user() -> str:
    if subprocess.run(["id", OTHER_USER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", OTHER_USER], check=True)
    return OTHER_USER


def test_a_second_local_user_can_read_neither_the_store_nor_use_the_proxy(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    other = _other_user()
    for directory in (tmp_path, *tmp_path.parents):  # pytest's tmp dirs are 0700: open them
        if directory != Path("/"):
            directory.chmod(directory.stat().st_mode | 0o055)
    npm_env.store_dir.chmod(0o755)  # as an older ipnpm left it
    probe = tmp_path / "probe.py"
    probe.write_text(_PROBE)
    probe.chmod(0o644)
    project = make_project(tmp_path / "project", PRIVATE)
    assert npm_env.run_ipnpm(["install"], project, env={"IPNPM_KUBO_API": "off"}).returncode == 0
    script = (
        "const r=require('child_process').spawnSync('runuser',['-u',process.argv[1],'--',"
        "'python3',process.argv[2],process.argv[3],process.env.npm_config_userconfig,"
        "process.env.npm_config_registry]);process.stdout.write(r.stdout);"
        "process.stdout.write(r.stderr)"
    )
    argv = ["exec", "--", "node", "-e", script, other, str(probe), str(npm_env.store_dir)]
    result = npm_env.run_ipnpm(argv, project, env={"IPNPM_KUBO_API": "off"})
    assert result.returncode == 0, describe(result)
    assert "objects refused PermissionError" in result.stdout, describe(result)
    assert "userconfig refused PermissionError" in result.stdout, describe(result)
    assert "proxy 401" in result.stdout, describe(result)


# -- the proxy's own limits ---------------------------------------------------------------------


@contextlib.contextmanager
def _proxy(npm_env: NpmEnv, project: Path) -> Iterator[tuple[str, int, str]]:
    """An in-process ephemeral proxy: (host, port, secret)."""
    from ipnpm.proxy.server import registry_proxy
    from ipnpm.run.assemble import open_run
    from ipnpm.settings import resolve

    env = npm_env.env(IPNPM_KUBO_API="off", IPNPM_SEED="0")
    npm = shutil.which("npm", path=env["PATH"])
    assert npm is not None
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        with (
            open_run(resolve(env=env, cwd=project), npm, project, command="install") as context,
            registry_proxy(context) as url,
        ):
            host, port = url.split("//", 1)[1].rstrip("/").split(":")
            yield host, int(port), context.secret
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_a_slowloris_client_is_cut_after_the_request_time(
    npm_env: NpmEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idle timeout restarted with every byte: one header byte a second held a thread
    for ever."""
    monkeypatch.setattr("ipnpm.proxy.server.REQUEST_TIME", 2.0)
    project = make_project(tmp_path / "project", {})
    with (
        _proxy(npm_env, project) as (host, port, _secret),
        socket.create_connection((host, port)) as slow,
    ):
        slow.sendall(f"GET /ipnpm-fixture-a HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode())
        began = time.monotonic()
        cut = False
        while time.monotonic() - began < 15:
            try:
                slow.sendall(b"x")
                slow.settimeout(1.0)
                if slow.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        assert cut and time.monotonic() - began < 6


def test_connections_past_the_cap_are_closed_at_once(
    npm_env: NpmEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ipnpm.proxy.server.MAX_CONNECTIONS", 4)
    project = make_project(tmp_path / "project", {})
    with _proxy(npm_env, project) as (host, port, secret):
        held = [socket.create_connection((host, port)) for _ in range(4)]
        try:
            time.sleep(0.3)
            with socket.create_connection((host, port), timeout=5) as extra:
                assert extra.recv(1) == b""  # closed without a thread
        finally:
            for connection in held:
                connection.close()
        time.sleep(0.3)
        answer = requests.get(
            f"http://{host}:{port}/ipnpm-fixture-a",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        assert answer.status_code == 200  # the slots came back
