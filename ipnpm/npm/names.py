"""How package names appear in registry URLs."""

from __future__ import annotations


def escape_name(name: str) -> str:
    """The form registries expect in a packument URL: ``@scope%2fname``."""
    return name.replace("/", "%2f") if name.startswith("@") else name


def registry_name(spec: str) -> str | None:
    """The registry package a command-line spec names (``left-pad``, ``@a/b@^1``,
    ``x@npm:y@2`` → ``y``); None for what no registry serves (paths, URLs, git, tarballs)."""
    if spec.startswith((".", "/", "~")) or spec.endswith((".tgz", ".tar.gz", ".tar")):
        return None
    head, at, rest = spec[1:].partition("@") if spec.startswith("@") else spec.partition("@")
    name = ("@" + head) if spec.startswith("@") else head
    if at and rest.startswith("npm:"):
        return registry_name(rest[4:])
    if ":" in name or (at and ":" in rest) or (not spec.startswith("@") and "/" in name):
        return None  # git+ssh:, github:, file:, http:, user/repo
    return name or None


def registry_tarball(registry: str, name: str, version: str) -> str:
    """Where a registry keeps a tarball by convention: ``<registry><name>/-/<base>-<v>.tgz``
    (what npm takes for a lockfile entry that has no ``resolved``)."""
    return f"{registry}{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
