"""An isolated npm world for one test: its own npmrc, cache, HOME and ipnpm store.

Nothing from the developer's machine leaks in (their ~/.npmrc, npm_config_* variables,
proxies, a running IPFS daemon found through HOME), so plain npm and ipnpm see the same
configuration, written the way users write it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 240.0

# Variables that would make npm or ipnpm behave differently from the npmrc a test wrote.
_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def clean_environ() -> dict[str, str]:
    """The current environment without npm configuration or proxy variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.lower().startswith("npm_config_") and key.lower() not in _PROXY_VARIABLES
    }


@dataclass(frozen=True)
class ScopedRegistry:
    """A scope served by its own registry, authenticated with a token from the environment."""

    scope: str  # "@acme"
    url: str  # "http://127.0.0.1:PORT/"
    token_variable: str  # written into the npmrc as ${NAME}: whoever reads it must expand it
    token: str | None  # exported as that variable; None leaves it unset


@dataclass(frozen=True)
class NpmEnv:
    root: Path
    registry: str
    scopes: Sequence[ScopedRegistry] = ()
    # More npmrc lines, e.g. "omit-lockfile-registry-resolved=true" as on the dev machines.
    extra_config: Sequence[str] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for directory in (self.home, self.cache_dir, self.store_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.npmrc.write_text("".join(f"{line}\n" for line in self._npmrc_lines()))

    @property
    def npmrc(self) -> Path:
        return self.root / "npmrc"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def cache_dir(self) -> Path:
        return self.root / "npm-cache"

    @property
    def store_dir(self) -> Path:
        return self.root / "store"

    def _npmrc_lines(self) -> list[str]:
        lines = [f"registry={self.registry}"]
        for scoped in self.scopes:
            host_path = scoped.url.split("://", 1)[1]  # nerf-dart: //host:port/path/
            lines.append(f"{scoped.scope}:registry={scoped.url}")
            lines.append(f"//{host_path}:_authToken=${{{scoped.token_variable}}}")
        lines += [
            f"cache={self.cache_dir}",
            "update-notifier=false",
            "fund=false",
            "audit=false",
            *self.extra_config,
        ]
        return lines

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment for npm and ipnpm; overrides win (pass "" to blank a variable)."""
        env = clean_environ()
        python_path = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        env |= {
            "NPM_CONFIG_USERCONFIG": str(self.npmrc),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "IPNPM_STORE": str(self.store_dir),
            # ipnpm runs from this checkout even when it is not pip-installed.
            "PYTHONPATH": os.pathsep.join(python_path),
        }
        for scoped in self.scopes:
            if scoped.token is None:
                env.pop(scoped.token_variable, None)
            else:
                env[scoped.token_variable] = scoped.token
        return env | dict(self.extra_env) | overrides

    def run_npm(
        self, args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the machine's real npm; `env` overrides single variables."""
        return self._run(["npm", *args], cwd, env)

    def run_ipnpm(
        self, args: Sequence[str], cwd: Path, *, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ipnpm from this checkout as a real child process."""
        return self._run([sys.executable, "-m", "ipnpm", *args], cwd, env)

    def _run(
        self, argv: list[str], cwd: Path, env: Mapping[str, str] | None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=cwd,
            env=self.env(**(env or {})),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )


def make_project(
    directory: Path, dependencies: Mapping[str, str], *, name: str = "ipnpm-test-project"
) -> Path:
    """Write a minimal package.json with these dependencies; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {
        "name": name,
        "version": "1.0.0",
        "private": True,
        "dependencies": dict(dependencies),
    }
    (directory / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return directory


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """Everything about a finished command, for assertion messages."""
    argv = " ".join(map(str, result.args))
    return (
        f"$ {argv}\nexit {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


@dataclass(frozen=True)
class Tree:
    """What an install put into node_modules, comparable with ==."""

    packages: dict[str, str]  # "node_modules/a/node_modules/b" -> "ipnpm-fixture-b@1.0.0"
    files: dict[str, str]  # relative path -> "sha256:<hex>[ +x]" or "symlink:<target>"


def tree_of(project_dir: Path) -> Tree:
    """Summarise node_modules: every package's name@version and every file's content."""
    root = project_dir / "node_modules"
    packages: dict[str, str] = {}
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(project_dir).as_posix()
        if path.is_symlink():
            files[relative] = f"symlink:{os.readlink(path)}"
        elif path.is_file():
            files[relative] = _digest(path)
            if path.name == "package.json" and _is_package_root(path.parent):
                manifest = json.loads(path.read_text())
                packages[path.parent.relative_to(project_dir).as_posix()] = (
                    f"{manifest.get('name')}@{manifest.get('version')}"
                )
    return Tree(packages, files)


def _is_package_root(directory: Path) -> bool:
    # node_modules/<name> or node_modules/@scope/<name>; not a package.json deeper inside.
    parent = directory.parent
    return parent.name == "node_modules" or (
        parent.name.startswith("@") and parent.parent.name == "node_modules"
    )


def _digest(path: Path) -> str:
    executable = " +x" if os.access(path, os.X_OK) else ""
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}{executable}"
