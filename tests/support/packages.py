"""The fixture packages under tests/fixtures/packages/, and publishing them.

Layout: one folder per name@version, scoped ones under their scope as in node_modules
(`ipnpm-fixture-b@1.1.0/`, `@acme/secret@1.0.0/`). Files too large to commit are generated
when a package is staged for publishing, deterministically, so every run publishes the same
tarball with the same integrity.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.verdaccio import Verdaccio

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "packages"

# The private scope: its packages live only on the private registry, readable with a token
# that the npmrc takes from ${ACME_TOKEN}.
ACME_SCOPE = "@acme"
ACME_USER = "acme-dev"
ACME_TOKEN_VARIABLE = "ACME_TOKEN"
BIG_BLOB_SIZE = 1_600_000


def _big_blob() -> dict[str, bytes]:
    # Incompressible, so the gzipped tarball stays above 1 MiB: more than one UnixFS chunk.
    return {"blob.bin": random.Random(42).randbytes(BIG_BLOB_SIZE)}


# name@version -> files written into the staged copy before publishing.
def _bundled() -> dict[str, bytes]:
    # Bundled dependencies live inside their parent's tarball and on no registry; generated at
    # staging time so that fixture_packages() does not take them for packages of their own.
    files: dict[str, bytes] = {}
    for name in ("ipnpm-bundled-x", "ipnpm-bundled-y"):
        manifest = {"name": name, "version": "1.0.0", "main": "index.js", "license": "MIT"}
        files[f"node_modules/{name}/package.json"] = json.dumps(manifest).encode()
        files[f"node_modules/{name}/index.js"] = f"module.exports = {name!r}\n".encode()
    return files


_GENERATED: dict[str, Callable[[], dict[str, bytes]]] = {
    "ipnpm-fixture-big@1.0.0": _big_blob,
    "ipnpm-fixture-bundler-darwin@1.0.0": _bundled,
}


@dataclass(frozen=True)
class FixturePackage:
    name: str
    version: str
    source: Path

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def scope(self) -> str | None:
        return self.name.split("/")[0] if self.name.startswith("@") else None


def fixture_packages() -> list[FixturePackage]:
    """Every fixture package, each name's versions in ascending order (publish order)."""
    found = []
    for manifest_path in FIXTURES_DIR.glob("**/package.json"):
        manifest = json.loads(manifest_path.read_text())
        found.append(FixturePackage(manifest["name"], manifest["version"], manifest_path.parent))
    return sorted(found, key=lambda p: (p.name, _version_key(p.version)))


def fixture(spec: str) -> FixturePackage:
    """One fixture package by name@version."""
    for package in fixture_packages():
        if package.spec == spec:
            return package
    raise KeyError(spec)


@contextmanager
def staged(package: FixturePackage) -> Iterator[Path]:
    """A temporary copy of the package, generated files included, ready for `npm publish`."""
    with tempfile.TemporaryDirectory(prefix="ipnpm-fixture-") as tmp:
        target = Path(tmp) / "package"
        shutil.copytree(package.source, target)
        for relative, content in _GENERATED.get(package.spec, dict)().items():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_bytes(content)
        yield target


def publish_all(
    registry: Verdaccio, packages: Iterable[FixturePackage], token: str | None = None
) -> None:
    """Publish in the order given (a name's versions must go oldest first)."""
    for package in packages:
        with staged(package) as directory:
            registry.publish(directory, token)


def _version_key(version: str) -> tuple[int, ...]:
    # Fixture versions are plain x.y.z; no prerelease ordering is needed.
    return tuple(int(part) for part in version.split("."))
