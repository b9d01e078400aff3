"""The corpus registry, proven with plain npm: `npm ci` of real-world lockfiles against it, with
a fresh npm cache and no uplink, installs the whole tree and fetches every tarball with a 200;
stopped, it really is gone; and serving never changes the shared cache."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.corpus import (
    CORPUS_PROJECTS,
    CORPUS_TIMEOUT,
    PLACEHOLDER,
    CorpusRegistry,
    _link_over,
    check_tree,
    corpus_manifest,
    corpus_project,
    ensure_corpus_storage,
    expected_tree,
    locked_package_names,
    locked_tarballs,
)
from tests.support.npm_env import NpmEnv, describe
from tests.support.verdaccio import Verdaccio

# Whichever test runs first may fill the corpus cache from the real registry.
pytestmark = pytest.mark.timeout(CORPUS_TIMEOUT)

TINY = "tiny-actions-github"


def _is_tarball(path: str) -> bool:
    return path.split("?", maxsplit=1)[0].endswith(".tgz")


def test_corpus_project_sets_or_strips_the_registry(tmp_path: Path) -> None:
    base = "http://127.0.0.1:9"  # never contacted: only written into the lockfile
    project = corpus_project("xl-lerna-workspaces", tmp_path / "set", base + "/")
    stripped = corpus_project("xl-lerna-workspaces", tmp_path / "strip", base, strip_resolved=True)

    for root in (project, stripped):
        assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == {
            "package.json",
            "package-lock.json",
            "packages/lerna/package.json",
            "website/package.json",
        }
    text = (project / "package-lock.json").read_text()
    assert PLACEHOLDER not in text
    resolved = [e.get("resolved") for e in json.loads(text)["packages"].values()]
    assert f'"resolved": "{base}/@algolia/abtesting/-/abtesting-1.21.2.tgz"' in text
    assert not any(r.startswith(f"{base}//") for r in resolved if r)  # trailing slash dropped
    entries = json.loads((stripped / "package-lock.json").read_text())["packages"]
    # Only registry URLs go; workspace links keep theirs, as npm's own option does.
    assert {k: e["resolved"] for k, e in entries.items() if "resolved" in e} == {
        "node_modules/lerna": "packages/lerna",
        "node_modules/website": "website",
    }


def test_cache_holds_every_tarball_npm_installs_and_every_packument() -> None:
    storage = ensure_corpus_storage()
    for name in CORPUS_PROJECTS:
        absent = [t for t in locked_tarballs(name) if not (storage / t.storage_path).exists()]
        # What is missing is what npm ci skips on this machine: optional packages only.
        assert [t.key for t in absent if not t.optional] == [], name
        packuments = [storage / n / "package.json" for n in locked_package_names(name)]
        assert [p for p in packuments if not p.exists()] == [], name
    assert corpus_manifest()["tarballs"] == sum(1 for _ in storage.rglob("*.tgz"))
    # Nothing in the cache can send a served registry online (see corpus.py).
    esbuild = json.loads((storage / "esbuild" / "package.json").read_text())
    assert esbuild["_distfiles"] == {}
    assert esbuild["_uplinks"] == {}
    assert not (storage / ".verdaccio-db.json").exists()


@pytest.mark.parametrize(
    ("name", "strip_resolved"),
    [
        (TINY, False),
        ("large-semantic-release", False),  # 980 tarballs, bundled deps, aliases
        ("medium-vscode-esbuild", True),  # every package through its packument
    ],
)
def test_npm_ci_installs_the_full_tree_from_the_corpus(
    corpus_registry: Verdaccio, tmp_path: Path, name: str, strip_resolved: bool
) -> None:
    project = corpus_project(
        name, tmp_path / "project", corpus_registry.url, strip_resolved=strip_resolved
    )
    npm = NpmEnv(tmp_path / "npm", registry=corpus_registry.url)  # fresh, empty npm cache
    mark = corpus_registry.mark()

    result = npm.run_npm(["ci", "--ignore-scripts"], project)

    assert result.returncode == 0, describe(result)
    check = check_tree(name, project)
    assert (check.installed, check.optional_skipped) == expected_tree(name)
    assert (check.missing, check.version_mismatch) == ((), ())
    seen = corpus_registry.requests(since=mark)
    assert [r for r in seen if r.status != 200] == []
    tarball_gets = [urllib.parse.unquote(r.path) for r in seen if _is_tarball(r.path)]
    # One GET per installed tree node: npm does not merge two nodes that share a tarball.
    wanted = [t.path for t in locked_tarballs(name) if (project / t.key / "package.json").exists()]
    assert sorted(tarball_gets) == sorted(wanted)
    packument_gets = [r for r in seen if not _is_tarball(r.path)]
    if strip_resolved:
        assert packument_gets
    elif name == TINY:
        assert packument_gets == []  # a lockfile with every `resolved` needs no packument


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Each file's inode, size and mtime: an in-place write through a hard link changes them."""
    snapshot = {}
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.lstat()
            key = path.relative_to(root).as_posix()
            snapshot[key] = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    return snapshot


def test_served_corpus_is_offline_survives_a_restart_and_leaves_the_cache_alone(
    corpus_registry: Verdaccio, tmp_path: Path
) -> None:
    cache = _snapshot(ensure_corpus_storage())
    port = corpus_registry.port
    npm = NpmEnv(tmp_path / "npm", registry=corpus_registry.url)
    # No retries: a refused connection must fail now, not after npm's 70 s of back-off.
    ci = ["ci", "--ignore-scripts", "--fetch-retries=0"]

    with corpus_registry.stopped():
        down = npm.run_npm(ci, corpus_project(TINY, tmp_path / "down", corpus_registry.url))
    up = npm.run_npm(ci, corpus_project(TINY, tmp_path / "up", corpus_registry.url))

    assert down.returncode != 0, describe(down)  # nothing else answers for it
    assert up.returncode == 0, describe(up)
    assert corpus_registry.port == port
    # A tarball the cache lacks (another platform's) is a 404, not a download from upstream;
    # its packument is there.
    darwin = next(t for t in locked_tarballs("medium-vscode-esbuild") if "darwin" in t.name)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(corpus_registry.url.rstrip("/") + darwin.path, timeout=30)
    assert missing.value.code == 404
    packument_url = corpus_registry.url + urllib.parse.quote(darwin.name, safe="@")
    with urllib.request.urlopen(packument_url, timeout=30) as response:
        assert json.load(response)["name"] == darwin.name
    # Serving and restarting wrote nothing into the cache files the served copy links to.
    assert _snapshot(ensure_corpus_storage()) == cache
    assert isinstance(corpus_registry, CorpusRegistry)
    if corpus_registry.copy_mode == "hardlink":
        tarball = Path("esbuild") / "esbuild-0.25.0.tgz"
        served = corpus_registry.workdir / "storage" / tarball
        assert served.stat().st_ino == (ensure_corpus_storage() / tarball).stat().st_ino


def test_an_overlay_replaces_links_in_the_copy_and_leaves_its_source_alone(tmp_path: Path) -> None:
    cache, overlay, copy = tmp_path / "cache", tmp_path / "overlay", tmp_path / "copy"
    for root, text in ((cache, "corpus"), (overlay, "extras")):
        (root / "a").mkdir(parents=True)
        (root / "a" / "package.json").write_text(text)
    (overlay / "b").mkdir()
    (overlay / "b" / "b-1.0.0.tgz").write_text("tarball")
    (copy / "a").mkdir(parents=True)
    (copy / "a" / "package.json").hardlink_to(cache / "a" / "package.json")
    _link_over(overlay, copy)
    assert (copy / "a" / "package.json").read_text() == "extras"
    assert (copy / "b" / "b-1.0.0.tgz").read_text() == "tarball"
    assert (cache / "a" / "package.json").read_text() == "corpus"  # only the link was replaced
    assert (overlay / "a" / "package.json").stat().st_nlink == 2
