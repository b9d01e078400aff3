"""The configuration read's Node becoming npm (npm/waiting.py), against the real npm: one Node
start per run, and an npm that sees exactly what a freshly started npm sees."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import certifi
import pytest

from ipnpm.npm import config_ls
from ipnpm.npm.waiting import WaitingNpm
from tests.support.npm_env import REPO_ROOT, NpmEnv, clean_environ, make_project
from tests.support.recording_node import recording_node

# A script that writes what npm handed it: the environment and its own arguments.
_DUMP = (
    "node -e \"require('fs').writeFileSync(process.argv[1], JSON.stringify("
    '{env: process.env, argv: process.argv.slice(2)}))"'
)


@pytest.fixture
def npm() -> str:
    found = shutil.which("npm")
    assert found is not None, "these tests drive the real npm"
    return found


def _waiting(npm: str, cwd: Path, env: dict[str, str]) -> WaitingNpm:
    read = config_ls._ConfigLs(npm, cwd, env, may_become_npm=True)
    assert read.loader is not None and read.waiting is not None
    values = read.values()
    assert values["registry"] == env["npm_config_registry"]
    return read.waiting


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    project = tmp_path / "project"
    project.mkdir()
    scripts = {"dump": _DUMP, "fail": "exit 7"}
    manifest = {"name": "p", "version": "1.0.0", "scripts": scripts}
    (project / "package.json").write_text(json.dumps(manifest))
    (tmp_path / "home").mkdir()
    env = {
        **clean_environ(),
        "HOME": str(tmp_path / "home"),
        "npm_config_registry": "http://127.0.0.1:9/",
    }
    return project, env


def test_npm_become_is_what_a_fresh_npm_is(tmp_path: Path, npm: str) -> None:
    """The loader exported its own configuration to its environment (npm's config sets
    ``npm_config_json`` and more): none of it may reach npm or npm's scripts, and the
    arguments npm passes on are a fresh npm's."""
    project, env = _project(tmp_path)
    # As a run does: npm's environment differs from the read's in npm_config_* only.
    npm_env = {**env, "npm_config_userconfig": str(tmp_path / "run-npmrc")}
    dumps = []
    for name in ("became", "fresh"):
        out = tmp_path / f"{name}.json"
        argv = [npm, "run", "dump", "--", str(out), "two words"]
        if name == "became":
            process = _waiting(npm, project, env).become(argv, npm_env, project)
            assert process is not None
            assert process.wait(timeout=60) == 0
        else:
            subprocess.run(argv, cwd=project, env=npm_env, timeout=60, check=True)
        dumps.append(json.loads(out.read_text()))
    became, fresh = dumps
    assert became["argv"] == fresh["argv"] == ["two words"]
    assert became["env"] == fresh["env"]
    assert "npm_config_json" not in became["env"]


# Becomes npm in a process of its own, whose stdout and exit code the test captures.
_BECOME = """
import json, sys
from pathlib import Path
from ipnpm.npm import config_ls
npm, cwd, env, argv = json.loads(sys.argv[1])
read = config_ls._ConfigLs(npm, Path(cwd), env, may_become_npm=True)
read.values()
process = read.waiting.become(argv, env, Path(cwd))
sys.exit(process.wait())
"""


@pytest.mark.parametrize(
    "args",
    [["run", "fail"], ["pkg", "get", "name", "scripts.fail"], ["-s", "pkg", "get", "version"]],
)
def test_npms_stdout_and_exit_code_through_a_waiting_node(
    tmp_path: Path, npm: str, args: list[str]
) -> None:
    project, env = _project(tmp_path)
    argv = [npm, *args, "--", str(tmp_path / "dump.json")]
    fresh = subprocess.run(argv, cwd=project, env=env, capture_output=True, check=False)
    became = subprocess.run(
        [sys.executable, "-c", _BECOME, json.dumps([npm, str(project), env, argv])],
        cwd=project,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        check=False,
    )
    assert (became.returncode, became.stdout) == (fresh.returncode, fresh.stdout)
    assert fresh.stdout  # npm printed something to compare


def test_a_waiting_node_that_cannot_be_that_npm_is_sent_away(tmp_path: Path, npm: str) -> None:
    """Node reads NODE_OPTIONS (and the like) as it starts: a different value, another
    directory or another program means a fresh start, and the waiting Node exits by itself."""
    project, env = _project(tmp_path)
    other = tmp_path / "elsewhere"
    other.mkdir()
    refusals = [
        ([npm, "run", "fail"], {**env, "NODE_OPTIONS": "--no-warnings"}, project),
        ([npm, "run", "fail"], env, other),
        ([str(Path(npm).with_name("npx")), "--version"], env, project),
    ]
    for argv, npm_env, cwd in refusals:
        waiting = _waiting(npm, project, env)
        assert waiting.become(argv, npm_env, cwd) is None
        assert waiting.process.returncode == 0  # it left when told, not killed
    unused = _waiting(npm, project, env)
    unused.dismiss()
    assert unused.process.returncode == 0


def test_a_run_starts_node_once(npm_env: NpmEnv, tmp_path: Path) -> None:
    """``ipnpm install``: the configuration read and npm are one Node process (two before)."""
    bin_dir, starts = recording_node(tmp_path)
    env = npm_env.env(PATH=f"{bin_dir}:{clean_environ()['PATH']}")
    env.pop("NODE_EXTRA_CA_CERTS", None)
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    done = npm_env.run_ipnpm(["install", "--no-audit", "--no-fund"], project, env=env)
    assert done.returncode == 0, done.stderr
    assert (project / "node_modules" / "ipnpm-fixture-a" / "package.json").is_file()
    lines = starts.read_text().splitlines()
    assert len(lines) == 1 and "config_ls.js" in lines[0] and "--wait" in lines[0], lines


@pytest.mark.parametrize("ca_in_force", [True, False])
def test_the_extra_ca_bundle_is_skipped_only_where_npm_ignores_it(
    npm_env: NpmEnv, tmp_path: Path, ca_in_force: bool
) -> None:
    """With NODE_EXTRA_CA_CERTS set, an install's waiting Node starts without that bundle. It
    becomes npm only where ``cafile`` is in force (Node then ignores the bundle in npm's own
    connections); without one, npm starts afresh with the bundle, as without ipnpm. npm's
    scripts see the variable either way."""
    bin_dir, starts = recording_node(tmp_path)
    bundle = certifi.where()
    empty_global = tmp_path / "global-npmrc"
    empty_global.write_text("")
    env = npm_env.env(
        PATH=f"{bin_dir}:{clean_environ()['PATH']}",
        NODE_EXTRA_CA_CERTS=bundle,
        npm_config_globalconfig=str(empty_global),  # no machine-wide cafile
        **({"npm_config_cafile": bundle} if ca_in_force else {}),
    )
    seen = tmp_path / "script-env.json"
    script = f"node -e \"require('fs').writeFileSync('{seen}', JSON.stringify(process.env))\""
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    manifest = json.loads((project / "package.json").read_text())
    manifest["scripts"] = {"postinstall": script}
    (project / "package.json").write_text(json.dumps(manifest))
    done = npm_env.run_ipnpm(["install", "--no-audit", "--no-fund"], project, env=env)
    assert done.returncode == 0, done.stderr
    npm_starts = [line for line in starts.read_text().splitlines() if seen.name not in line]
    assert npm_starts[0].startswith("unset ") and "config_ls.js" in npm_starts[0]
    assert f"--ca {bundle}" in npm_starts[0]
    if ca_in_force:
        assert len(npm_starts) == 1, npm_starts
    else:
        assert len(npm_starts) == 2 and npm_starts[1].startswith(f"{bundle} "), npm_starts
        assert "npm-cli.js" in npm_starts[1] or "/npm " in npm_starts[1]
    assert json.loads(seen.read_text())["NODE_EXTRA_CA_CERTS"] == bundle


def test_an_npm_laid_out_otherwise_is_asked_itself_without_noise(
    tmp_path: Path, npm: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """A waiting loader's stderr is the user's: an npm 11 whose configuration code is not
    where the loader looks makes it step aside silently, and npm's own answer is read."""
    other = tmp_path / "npm11"
    (other / "bin").mkdir(parents=True)
    (other / "package.json").write_text('{"name": "npm", "version": "11.0.0"}')
    cli = other / "bin" / "npm-cli.js"
    real = Path(npm).resolve().parents[1]
    cli.write_text(
        f"#!/usr/bin/env node\nrequire({json.dumps(str(real / 'lib' / 'cli.js'))})(process)\n"
    )
    cli.chmod(0o755)
    project, env = _project(tmp_path)
    read = config_ls._ConfigLs(str(cli), project, env, may_become_npm=True)
    assert read.waiting is not None
    assert read.values()["registry"] == env["npm_config_registry"]  # npm's own `config ls`
    assert read.waiting.process.returncode == 3
    assert capfd.readouterr().err == ""


def test_a_run_that_fails_before_reading_the_configuration_says_only_its_error(
    npm_env: NpmEnv, tmp_path: Path
) -> None:
    """The Node started for the read is stopped unheard when ipnpm fails first (here on its
    own settings): stderr carries ipnpm's error alone, and no Node is left."""
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"})
    (project / ".npmrc").write_text("fund=false\n")  # gives npm's loader a little to read
    marker = f"IPNPM_TEST_MARKER_{uuid.uuid4().hex}"
    for _ in range(3):
        env = {"IPNPM_JOBS": "many", marker: "1"}
        done = npm_env.run_ipnpm(["install"], project, env=env)
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert lines[0].startswith("ipnpm: error: IPNPM_JOBS") and lines[1].startswith("hint:")
        assert len(lines) == 2, done.stderr
    assert not [p for p in Path("/proc").glob("[0-9]*") if _has(p / "environ", marker)]


def _has(environ: Path, marker: str) -> bool:
    try:
        return marker.encode() in environ.read_bytes()
    except OSError:
        return False
