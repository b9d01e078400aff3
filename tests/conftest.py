"""Shared fixtures: two real Verdaccio registries for the session, a fresh npm world per test.

- `verdaccio`: the public upstream, every fixture package published except the @acme scope.
- `private_verdaccio`: a second registry where @acme/* needs a token:
  `private_verdaccio.tokens[ACME_USER]` (names in tests/support/packages.py).
- `npm_env`: an isolated npmrc/cache/HOME/store pointing at both, ACME_TOKEN exported.

Tests that stop a session registry use `with verdaccio.stopped():`, which restarts it on the
same port with the same storage, so later tests still find it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.npm_env import NpmEnv, ScopedRegistry
from tests.support.packages import (
    ACME_SCOPE,
    ACME_TOKEN_VARIABLE,
    ACME_USER,
    fixture_packages,
    publish_all,
)
from tests.support.verdaccio import Verdaccio, running_verdaccio


@pytest.fixture(scope="session")
def verdaccio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    workdir = tmp_path_factory.mktemp("verdaccio-public")
    with running_verdaccio(workdir) as server:
        publish_all(server, [p for p in fixture_packages() if p.scope != ACME_SCOPE])
        yield server


@pytest.fixture(scope="session")
def private_verdaccio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    workdir = tmp_path_factory.mktemp("verdaccio-private")
    with running_verdaccio(workdir, private_scopes=(ACME_SCOPE,)) as server:
        token = server.add_user(ACME_USER, "fixture-password")
        publish_all(server, [p for p in fixture_packages() if p.scope == ACME_SCOPE], token)
        yield server


@pytest.fixture
def npm_env(tmp_path: Path, verdaccio: Verdaccio, private_verdaccio: Verdaccio) -> NpmEnv:
    token = private_verdaccio.tokens[ACME_USER]
    acme = ScopedRegistry(ACME_SCOPE, private_verdaccio.url, ACME_TOKEN_VARIABLE, token)
    return NpmEnv(tmp_path / "npm-env", registry=verdaccio.url, scopes=(acme,))


@pytest.fixture(scope="session")
def corpus_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    """Verdaccio serving the four real-world lockfile projects offline (no uplinks), from a
    hard-linked copy of the corpus cache (tests/support/corpus.py). The first use on a machine
    fills that cache from the real registry, about a minute: mark the tests that may come
    first with @pytest.mark.timeout(CORPUS_TIMEOUT)."""
    from tests.support.corpus import running_corpus_registry

    with running_corpus_registry(tmp_path_factory.mktemp("corpus-registry")) as server:
        yield server
