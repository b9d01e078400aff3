"""The README's exit-code table is the contract: every code in it is produced here, through the
real command line, by the failure it names; and the failures that used to crash (exit 70)
end in their own code."""

from __future__ import annotations

import base64
import http.server
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ipnpm.cli.boundary import guarded
from ipnpm.errors import ExitCode
from tests.support.npm_env import REPO_ROOT, NpmEnv, describe, make_project

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "ipfs" / "ipns"
_LOCKFILE = {
    "name": "p",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "p", "version": "1.0.0", "dependencies": {"ipnpm-fixture-a": "1.0.0"}},
        "node_modules/ipnpm-fixture-a": {
            "version": "1.0.0",
            "resolved": "http://127.0.0.1:9/ipnpm-fixture-a/-/ipnpm-fixture-a-1.0.0.tgz",
            "integrity": "sha512-" + base64.b64encode(b"\x01" * 64).decode(),
        },
    },
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _record_gateway(record: bytes) -> Iterator[str]:
    """A gateway that answers every /ipns/ request with ``record``: a real Kubo cannot be made
    to serve a record with a broken signature, so this is the one place a fake is needed."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipfs.ipns-record")
            self.send_header("Content-Length", str(len(record)))
            self.end_headers()
            self.wfile.write(record)

        def log_message(self, *_args: object) -> None:
            pass  # the test asserts on ipnpm's output, not the server's

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _project(tmp_path: Path, lockfile: object | None = None) -> Path:
    project = make_project(tmp_path / "p", {"ipnpm-fixture-a": "1.0.0"}, name="p")
    if lockfile is not None:
        text = lockfile if isinstance(lockfile, str) else json.dumps(lockfile)
        (project / "package-lock.json").write_text(text)
    return project


def _usage(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    return ["install"], _project(tmp_path), {"IPNPM_JOBS": "many"}


def _usage_config_type(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    config = env.home / ".config" / "ipnpm" / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"indexes": [{"name": "k51x", "scopes": 5}]}))
    return ["install"], _project(tmp_path), {}


def _npm_not_found(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    return ["install"], _project(tmp_path), {"IPNPM_NPM": str(tmp_path / "no-such-npm")}


def _npm_config(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    # A userconfig that is a directory: npm cannot read it, so ipnpm cannot either.
    return ["install"], _project(tmp_path), {"NPM_CONFIG_USERCONFIG": str(tmp_path)}


def _store(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return ["install"], _project(tmp_path), {"IPNPM_STORE": str(blocker / "store")}


def _missing(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    return ["--offline", "ci"], _project(tmp_path, _LOCKFILE), {"IPNPM_KUBO_API": "off"}


def _integrity(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    objects = env.store_dir / "objects" / "ba"
    objects.mkdir(parents=True)
    # A CID of some other bytes: verification must catch it.
    (objects / "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku").write_text("x")
    return ["ipfs", "store", "verify"], tmp_path, {}


def _lockfile(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    malformed = {**_LOCKFILE, "packages": "not an object"}
    return ["ipfs", "fetch"], _project(tmp_path, malformed), {"IPNPM_KUBO_API": "off"}


def _kubo(env: NpmEnv, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    url = f"http://127.0.0.1:{_closed_port()}"
    return ["ipfs", "index", "publish", "--key", "k"], tmp_path, {"IPNPM_KUBO_API": url}


Case = Callable[[NpmEnv, Path], tuple[list[str], Path, dict[str, str]]]
CASES: dict[ExitCode, list[Case]] = {
    ExitCode.USAGE: [_usage, _usage_config_type],
    ExitCode.NPM_NOT_FOUND: [_npm_not_found],
    ExitCode.CONFIG: [_npm_config],
    ExitCode.STORE: [_store],
    ExitCode.MISSING: [_missing],
    ExitCode.INTEGRITY: [_integrity],
    ExitCode.LOCKFILE: [_lockfile],
    ExitCode.KUBO: [_kubo],
}
_ELSEWHERE = {
    ExitCode.INDEX: "test_bad_ipns_record_is_exit_9 (here)",
    ExitCode.INTERNAL: "test_unexpected_error_is_exit_70 (here)",
    ExitCode.INTERRUPTED: "test_passthrough_and_signals.py::test_ctrl_c_*",
}


def test_every_readme_exit_code_is_produced_by_a_test() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert documented == {int(code) for code in [*CASES, *_ELSEWHERE]}
    assert documented == {int(code) for code in ExitCode} - {0, 1}


@pytest.mark.parametrize(
    ("code", "case"),
    [(code, case) for code, cases in CASES.items() for case in cases],
    ids=lambda value: getattr(value, "name", getattr(value, "__name__", str(value))),
)
def test_exit_code(npm_env: NpmEnv, tmp_path: Path, code: ExitCode, case: Case) -> None:
    args, cwd, env = case(npm_env, tmp_path)
    result = npm_env.run_ipnpm(args, cwd, env=env)
    assert result.returncode == int(code), describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    if code == ExitCode.INTEGRITY:  # a report, not an error: each bad object is named
        assert "(quarantined)" in result.stderr, describe(result)
    else:
        assert "ipnpm: error:" in result.stderr, describe(result)
        assert "hint:" in result.stderr, describe(result)


@pytest.mark.parametrize(
    "record",
    [*sorted(p.name for p in FIXTURES.glob("*broken*") if "signature-v1" not in p.name), "garbled"],
)
def test_bad_ipns_record_is_exit_9(npm_env: NpmEnv, tmp_path: Path, record: str) -> None:
    if record == "garbled":
        name, data = "k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f", b"\x0a\xff"
    else:
        name, data = record.split("_", 1)[0], (FIXTURES / record).read_bytes()
    with _record_gateway(data) as gateway:
        result = npm_env.run_ipnpm(
            ["ipfs", "index", "resolve", name],
            tmp_path,
            env={"IPNPM_GATEWAYS": gateway, "IPNPM_KUBO_API": "off"},
        )
    assert result.returncode == int(ExitCode.INDEX), describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    assert name in result.stderr, describe(result)


def test_unexpected_error_is_exit_70(capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> int:
        raise ZeroDivisionError("a bug")

    assert guarded(broken, debug=False) == int(ExitCode.INTERNAL)
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: a bug" in err
    saved = re.search(r"traceback in (\S+)\)", err)
    assert saved is not None and "ZeroDivisionError" in Path(saved.group(1)).read_text()
