"""Hostile input: parsers fail only with their own error, and the proxy answers every bad request.

Property tests (hypothesis) feed arbitrary and mutated input to the lockfile reader, the CID,
CAR, dag-pb and UnixFS decoders, reassembly and the proxy's path parsing; each may fail only
with its documented exception. Then a real proxy (a session over the test Verdaccio, as
``ipnpm install`` opens it) gets malicious requests over raw sockets: each one a 4xx, never a
5xx or a hang, the proxy still serving afterwards, and nothing written outside the store.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from ipnpm.errors import LockfileError
from ipnpm.ipfs.car import CarReader, read_car, write_car
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid, block_cid
from ipnpm.ipfs.dagpb import PBLink, PBNode, decode_node, encode_node
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.unixfs import build_file_dag, reassemble
from ipnpm.ipfs.unixfs_data import DataType, UnixFSData, decode_unixfs, encode_unixfs
from ipnpm.npm.lockfile import read_lockfile
from ipnpm.npm.names import escape_name
from ipnpm.proxy.paths import packument_name, tarball_ref
from tests.support.npm_env import NpmEnv, make_project
from tests.support.verdaccio import Verdaccio, tools_dir

# hypothesis keeps its files (constants, patches for failures) under .hypothesis/ in the working
# directory, i.e. in the checkout: keep them with the other test tools instead.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(tools_dir() / "hypothesis"))

# Modest example counts: these run on every CI build. No example database in the checkout.
FAST = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no explain: slow
)

# -- the lockfile reader --------------------------------------------------------------------

_LOCK_KEYS = (
    "lockfileVersion",
    "packages",
    "dependencies",
    "name",
    "version",
    "resolved",
    "integrity",
    "requires",
    "link",
    "inBundle",
    "bundled",
    "optional",
    "devOptional",
    "os",
    "cpu",
    "",
    "node_modules/a",
    "node_modules/@s/b",
    "node_modules/a/node_modules/c",
)
_LOCK_TEXT = st.sampled_from(
    [
        "1.0.0",
        "npm:real@1.0.0",
        "npm:@s/r@2.0.0",
        "http://r.test/a/-/a-1.0.0.tgz",
        "http://[::1/a/-/a-1.tgz",
        "https://r.test:99999/a/-/a-1.tgz",
        "git+https://x.test/r.git",
        "file:../x",
        "sha512-" + "A" * 86 + "==",
        "linux",
        "!linux",
        "",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | _LOCK_TEXT
)
_JSONISH = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_LOCK_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
_LOCKFILE_LIKE = st.dictionaries(st.sampled_from(_LOCK_KEYS), _JSONISH, max_size=4)

# Found by these properties, kept as fixed examples so that a regression shows at once.
_KNOWN_BAD_LOCKFILES = [
    '{"lockfileVersion": "x"}',
    '{"lockfileVersion": [1]}',
    '{"lockfileVersion": 1e999}',
    '{"dependencies": [1]}',
    '{"dependencies": "abc"}',
    '{"dependencies": {"a": {"version": "1.0.0", "dependencies": [1]}}}',
    '{"dependencies": {"a": {"version": "1.0.0", "integrity": [1]}}}',
    '{"packages": {"node_modules/a": {"resolved": "http://r.test/a/-/a-1.0.0.tgz"}}}',
    '{"packages": {"node_modules/a": {"resolved": "http://[::1/a/-/a-1.tgz", "version": "1"}}}',
    '{"packages": {"node_modules/a": {"version": "1.0.0", "name": 5}}}',
    "[" * 100_000,
]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    # hypothesis reruns a test body many times; a function-scoped tmp_path would be shared.
    with tempfile.TemporaryDirectory(prefix="ipnpm-hostile-") as directory:
        yield Path(directory)


def _read_lockfile_bytes(directory: Path, raw: bytes) -> None:
    path = directory / "package-lock.json"
    path.write_bytes(raw)
    try:
        lockfile = read_lockfile(path)
    except LockfileError:
        return
    # What it returns is what the rest of ipnpm relies on: strings where strings are expected.
    for tarball in lockfile.tarballs:
        assert isinstance(tarball.name, str) and tarball.name, tarball
        assert isinstance(tarball.version, str), tarball
        assert tarball.integrity is None or isinstance(tarball.integrity, str), tarball
        assert tarball.resolved is None or isinstance(tarball.resolved, str), tarball
    lockfile.resolved_hosts()


@pytest.mark.parametrize("text", _KNOWN_BAD_LOCKFILES, ids=lambda t: t[:40])
def test_known_hostile_lockfiles_raise_only_lockfile_error(scratch: Path, text: str) -> None:
    _read_lockfile_bytes(scratch, text.encode())


@FAST
@given(document=_LOCKFILE_LIKE | _JSONISH)
def test_lockfile_reader_on_json_structures(scratch: Path, document: Any) -> None:
    _read_lockfile_bytes(scratch, json.dumps(document).encode())


@FAST
@given(raw=st.binary(max_size=200))
@example(raw=b"\xff\xfe{")
@example(raw=b'{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "\xff"}}}')
def test_lockfile_reader_on_random_bytes(scratch: Path, raw: bytes) -> None:
    _read_lockfile_bytes(scratch, raw)


# -- CIDs --------------------------------------------------------------------------------------

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_CID_TEXT = (
    st.text(max_size=70)
    | st.text(_B32, max_size=70).map("b".__add__)
    | st.text(_B32 + "é=", max_size=70).map("b".__add__)
    | st.text(_B58, max_size=60).map("z".__add__)
    | st.text(_B58, min_size=44, max_size=44).map("Qm".__add__)
    | st.text("0123456789abcdefghijklmnopqrstuvwxyz", max_size=70).map("k".__add__)
)
_CID_PREFIXES = st.sampled_from([b"", b"\x01\x55", b"\x01\x70", b"\x01\x70\x12\x20", b"\x12\x20"])


def _only_ipfs_errors(action: Callable[[], object]) -> None:
    with contextlib.suppress(IpfsFormatError):
        action()


@FAST
@given(text=_CID_TEXT)
@example(text="bé")
@example(text="Qm" + "1" * 44)
def test_cid_parse(text: str) -> None:
    try:
        cid = Cid.parse(text)
    except IpfsFormatError:
        return
    assert Cid.parse(str(cid)) == cid


@FAST
@given(prefix=_CID_PREFIXES, body=st.binary(max_size=60), pos=st.integers(0, 3))
def test_cid_from_bytes(prefix: bytes, body: bytes, pos: int) -> None:
    raw = prefix + body
    try:
        cid, used = Cid.from_bytes(raw, min(pos, len(raw)))
    except IpfsFormatError:
        return
    assert 0 < used <= len(raw)
    assert Cid.from_bytes(cid.bytes) == (cid, len(cid.bytes))


# -- CAR, dag-pb, UnixFS -----------------------------------------------------------------------


def _valid_car(data: bytes) -> bytes:
    root, blocks = build_file_dag(data, chunk_size=16, max_links=3)
    return write_car([root], blocks)


def _mutated(raw: bytes, data: st.DataObject) -> bytes:
    """raw with a few bytes flipped, cut short, or with bytes spliced in."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "splice"]))
        at = data.draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del out[at:]
        else:
            out[at:at] = data.draw(st.binary(min_size=1, max_size=10))
    return bytes(out)


@pytest.mark.parametrize(
    "raw",
    [
        # A CARv2 whose data offset does not fit an index-sized integer.
        bytes.fromhex("0aa16776657273696f6e02")
        + bytes(16)
        + (2**64 - 1).to_bytes(8, "little")
        + bytes(16),
    ],
    ids=["carv2-huge-offset"],
)
def test_known_hostile_cars(raw: bytes) -> None:
    _only_ipfs_errors(lambda: read_car(raw))


@FAST
@given(raw=st.binary(max_size=300))
def test_car_reader_on_random_bytes(raw: bytes) -> None:
    _only_ipfs_errors(lambda: read_car(raw))
    _only_ipfs_errors(lambda: list(CarReader(io.BytesIO(raw))))


@FAST
@given(content=st.binary(max_size=100), data=st.data())
def test_car_reader_on_mutated_cars(content: bytes, data: st.DataObject) -> None:
    raw = _mutated(_valid_car(content), data)
    try:
        _, blocks = read_car(raw)
    except IpfsFormatError:
        return
    assert all(cid.verify(block) for cid, block in blocks.items())  # nothing unverified out


@FAST
@given(raw=st.binary(max_size=200))
def test_dagpb_and_unixfs_decoders_on_random_bytes(raw: bytes) -> None:
    _only_ipfs_errors(lambda: decode_node(raw))
    _only_ipfs_errors(lambda: decode_unixfs(raw))


_UNIXFS = st.builds(
    UnixFSData,
    st.sampled_from(list(DataType)),
    st.none() | st.binary(max_size=20),
    st.none() | st.integers(0, 2**64 - 1),
    st.lists(st.integers(0, 2**40), max_size=4).map(tuple),
    st.none() | st.integers(0, 2**20),
    st.none() | st.integers(0, 2**20),
)


@FAST
@given(message=_UNIXFS, data=st.data())
def test_dagpb_and_unixfs_decoders_on_mutated_nodes(
    message: UnixFSData, data: st.DataObject
) -> None:
    link = PBLink(block_cid(RAW, b"x"), data.draw(st.none() | st.text(max_size=5)), 1)
    raw = encode_node(PBNode((link,), encode_unixfs(message)))
    assert decode_unixfs(decode_node(raw).data or b"") == message  # the unmutated round trip
    mutated = _mutated(raw, data)
    _only_ipfs_errors(lambda: decode_unixfs(decode_node(mutated).data or b""))


# -- reassembly with lying blocks -------------------------------------------------------------


def _lying_node(data: st.DataObject, children: list[Cid]) -> tuple[Cid, bytes]:
    """A well-formed dag-pb block (its CID is right) whose UnixFS claims may be false."""
    picked = data.draw(st.lists(st.sampled_from(children), max_size=4)) if children else []
    sizes = data.draw(st.lists(st.integers(0, 64), min_size=len(picked), max_size=len(picked)))
    if data.draw(st.booleans()):
        sizes = [*sizes, 1]  # more sizes than links
    kind = data.draw(st.sampled_from([DataType.FILE, DataType.RAW, DataType.DIRECTORY]))
    filesize = data.draw(st.none() | st.integers(0, 256))
    inline = data.draw(st.none() | st.binary(max_size=8))
    names = data.draw(st.sampled_from(["", None, "x"]))
    links = tuple(PBLink(cid, names, size) for cid, size in zip(picked, sizes, strict=False))
    meta = UnixFSData(kind, inline, filesize, tuple(sizes))
    block = encode_node(PBNode(links, encode_unixfs(meta)))
    return block_cid(DAG_PB, block), block


@FAST
@given(content=st.binary(max_size=120), data=st.data())
def test_reassemble_with_damaged_dags(content: bytes, data: st.DataObject) -> None:
    root, ordered = build_file_dag(content, chunk_size=8, max_links=3)
    blocks = dict(ordered)
    damage = data.draw(st.sampled_from(["none", "drop", "corrupt", "swap"]))
    victims = data.draw(st.lists(st.sampled_from(list(blocks)), min_size=1, max_size=3))
    for victim in victims:
        if damage == "drop":
            blocks.pop(victim, None)
        elif damage == "corrupt":
            blocks[victim] = _mutated(blocks[victim], data)
        elif damage == "swap":
            blocks[victim] = data.draw(st.sampled_from(list(dict(ordered).values())))
    try:
        got = b"".join(reassemble(root, blocks.__getitem__))
    except IpfsFormatError:
        assert damage != "none"
        return
    assert got == content  # whatever was damaged was not needed, or was equal bytes


@FAST
@given(leaves=st.lists(st.binary(max_size=16), min_size=1, max_size=4), data=st.data())
def test_reassemble_with_well_formed_lying_nodes(leaves: list[bytes], data: st.DataObject) -> None:
    blocks = {block_cid(RAW, leaf): leaf for leaf in leaves}
    for _ in range(data.draw(st.integers(1, 4))):
        cid, block = _lying_node(data, list(blocks))
        blocks[cid] = block
    root = data.draw(st.sampled_from(list(blocks)))
    with contextlib.suppress(IpfsFormatError):
        out = b"".join(reassemble(root, blocks.__getitem__))
        assert isinstance(out, bytes)


@FAST
@given(blocks=st.lists(st.binary(max_size=40), min_size=1, max_size=4), data=st.data())
def test_reassemble_with_random_dagpb_blocks(blocks: list[bytes], data: st.DataObject) -> None:
    store = {block_cid(DAG_PB, block): block for block in blocks}
    root = data.draw(st.sampled_from(list(store)))
    _only_ipfs_errors(lambda: b"".join(reassemble(root, store.__getitem__)))


# -- request paths -----------------------------------------------------------------------------

_PATH_PIECES = st.sampled_from(
    [
        *("/", "-", "/-/", ".tgz", "..", ".", "%2e", "%2E", "%2f", "%2F", "%00", "%", "%zz"),
        *("@", "a", "%c0%ae", "%ff", "\x00", "\\", "?", "#", "-1.0.0", "x-", "//"),
    ]
)
_HOSTILE_PATHS = st.lists(_PATH_PIECES | st.text(max_size=4), max_size=12).map("".join)
_NAME_PART = r"[a-z0-9][a-z0-9._~-]{0,20}"
_NAMES = st.from_regex(rf"\A(@{_NAME_PART}/)?{_NAME_PART}\Z")
_VERSIONS = st.from_regex(
    r"\A(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})"
    r"(-[0-9A-Za-z.-]{1,10})?\Z"
)


def _safe_path_part(text: str) -> bool:
    """Usable as (part of) a file path: no NUL, no empty, "." or ".." segment."""
    return "\x00" not in text and all(seg not in ("", ".", "..") for seg in text.split("/"))


@pytest.mark.parametrize(
    "path",
    ["/%2e%2e/-/..-1.0.0.tgz", "/a%00/-/a%00-1.0.0.tgz", "/x/-/x-...tgz", "/x/-/x-.tgz"],
)
def test_known_hostile_tarball_paths(path: str) -> None:
    ref = tarball_ref(path)
    assert ref is None or all(map(_safe_path_part, ref)), ref


@pytest.mark.parametrize("path", ["/a%00", "/%00"])
def test_known_hostile_packument_paths(path: str) -> None:
    name = packument_name(path)
    assert name is None or _safe_path_part(name), name


@FAST
@given(path=_HOSTILE_PATHS)
@example(path="/%2e%2e/-/..-1.0.0.tgz")
@example(path="/../../etc/passwd")
def test_path_parsers_never_raise_nor_return_traversal(path: str) -> None:
    ref = tarball_ref(path)
    assert ref is None or all(map(_safe_path_part, ref)), ref
    name = packument_name(path)
    assert name is None or _safe_path_part(name), name


@FAST
@given(name=_NAMES, version=_VERSIONS, prefix=st.sampled_from(["", "/api/npm/remote"]))
def test_path_parsers_round_trip_valid_names(name: str, version: str, prefix: str) -> None:
    basename = name.rsplit("/", 1)[-1]
    assert tarball_ref(f"{prefix}/{name}/-/{basename}-{version}.tgz") == (name, version)
    assert tarball_ref(f"{prefix}/{escape_name(name)}/-/{basename}-{version}.tgz") == (
        name,
        version,
    )
    assert packument_name("/" + escape_name(name)) == name


# -- a real proxy, hostile requests -------------------------------------------------------------

ANSWER_TIMEOUT = 10.0  # per request: anything longer is a hang
BIG_BODY = 50 * 1024 * 1024
_STORE_DIRS = {"objects", "integrity", "specs", "packuments", "quarantine", "tmp", "logs"}


@dataclass(frozen=True)
class Proxy:
    url: str
    host: str
    port: int
    secret: str
    env: NpmEnv


@contextlib.contextmanager
def _npm_environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ replaced by ``env`` (open_run reads the process environment)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, verdaccio: Verdaccio) -> Iterator[Proxy]:
    from ipnpm.proxy.server import registry_proxy
    from ipnpm.run.assemble import open_run
    from ipnpm.settings import resolve

    root = tmp_path_factory.mktemp("hostile-proxy")
    npm_env = NpmEnv(root / "npm-env", registry=verdaccio.url)
    project = make_project(root / "project", {"ipnpm-fixture-a": "1.0.0"})
    env = npm_env.env(IPNPM_KUBO_API="off", IPNPM_SEED="0")
    npm = shutil.which("npm", path=env["PATH"])
    assert npm is not None
    with _npm_environment(env):
        settings_ = resolve(env=env, cwd=project)
        with (
            open_run(settings_, npm, project, command="install") as context,
            registry_proxy(context) as url,
        ):
            host, port = url.split("//", 1)[1].rstrip("/").split(":")
            yield Proxy(url, host, int(port), context.secret, npm_env)


def _exchange(proxy: Proxy, request: bytes, timeout: float = ANSWER_TIMEOUT) -> int | None:
    """Send raw bytes; return the response's status, or None if the connection closed first.

    Raises TimeoutError when no answer comes in ``timeout`` seconds.
    """
    with socket.create_connection((proxy.host, proxy.port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        received = b""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in received:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except TimeoutError:
                raise TimeoutError(f"no answer in {timeout}s") from None
            if not chunk:
                break
            received += chunk
    if received.startswith(b"HTTP/"):
        return int(received.split(b" ", 2)[1])
    # http.server answers a request line it cannot parse as HTTP/0.9: a bare error page.
    found = re.search(rb"Error code: (\d{3})", received)
    return int(found.group(1)) if found else None


def _get(proxy: Proxy, path: str, *, headers: str = "", body: bytes = b"") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {proxy.host}:{proxy.port}\r\n"
        f"Authorization: Bearer {proxy.secret}\r\n{headers}Connection: close\r\n\r\n"
    ).encode("utf-8", "surrogatepass") + body


def _request(proxy: Proxy, head: bytes, body: bytes = b"") -> bytes:
    auth = f"Authorization: Bearer {proxy.secret}\r\n".encode()
    return head + b"\r\n" + auth + b"Connection: close\r\n\r\n" + body


def _hostile_requests(proxy: Proxy) -> dict[str, bytes]:
    host = f"Host: {proxy.host}:{proxy.port}".encode()
    flood = "".join(f"X-Flood-{i}: {'v' * 20}\r\n" for i in range(2000))
    return {
        "traversal": _get(proxy, "/../../etc/passwd"),
        "encoded traversal tarball": _get(proxy, "/%2e%2e/x/-/x-1.tgz"),
        "traversal as the name": _get(proxy, "/%2e%2e/-/..-1.0.0.tgz"),
        "traversal as the version": _get(proxy, "/ipnpm-fixture-a/-/ipnpm-fixture-a-...tgz"),
        "traversal through a scope": _get(proxy, "/@..%2f..%2fetc%2fpasswd"),
        "overlong utf-8 dots": _get(proxy, "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd"),
        "invalid utf-8": _get(proxy, "/%ff%fe/-/%ff%fe-1.0.0.tgz"),
        "bare percent": _get(proxy, "/%/-/%-1.0.0.tgz"),
        "encoded NUL packument": _get(proxy, "/ipnpm-fixture-a%00"),
        "encoded NUL tarball": _get(proxy, "/a%00b/-/a%00b-1.0.0.tgz"),
        "raw NUL in the path": _get(proxy, "/ipnpm-fixture-a\x00/x"),
        "NUL in a header": _get(proxy, "/ipnpm-fixture-a", headers="Accept: a\x00b\r\n"),
        "absolute-form target": _get(proxy, "http://169.254.169.254/latest/meta-data/"),
        "authority-like path": _get(proxy, "//evil.test/x/-/x-1.0.0.tgz"),
        "query on a tarball": _get(proxy, "/ipnpm-fixture-a/-/x.tgz?../../etc/passwd"),
        "64 KiB path": _get(proxy, "/" + "a" * 70_000),
        "header flood": _get(proxy, "/ipnpm-fixture-a", headers=flood),
        "one huge header": _get(proxy, "/ipnpm-fixture-a", headers=f"X-Big: {'b' * 70_000}\r\n"),
        "garbage request line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        "50 MB body, no secret": b"PUT /ipnpm-fixture-a HTTP/1.1\r\n"
        + host
        + f"\r\nContent-Length: {BIG_BODY}\r\nConnection: close\r\n\r\n".encode()
        + b"x" * BIG_BODY,
        "50 MB body": _request(
            proxy,
            b"PUT /ipnpm-fixture-a HTTP/1.1\r\n"
            + host
            + f"\r\nContent-Length: {BIG_BODY}".encode(),
            b"{" * BIG_BODY,
        ),
        "negative Content-Length": _request(
            proxy, b"PUT /ipnpm-fixture-a HTTP/1.1\r\n" + host + b"\r\nContent-Length: -1"
        ),
        "non-numeric Content-Length": _request(
            proxy, b"PUT /ipnpm-fixture-a HTTP/1.1\r\n" + host + b"\r\nContent-Length: abc"
        ),
        "huge Content-Length": _request(
            proxy, b"PUT /ipnpm-fixture-a HTTP/1.1\r\n" + host + b"\r\nContent-Length: 99999999999"
        ),
        "bad chunk size": _request(
            proxy,
            b"PUT /ipnpm-fixture-a HTTP/1.1\r\n" + host + b"\r\nTransfer-Encoding: chunked",
            b"zz\r\nabc\r\n0\r\n\r\n",
        ),
        "negative chunk size": _request(
            proxy,
            b"PUT /ipnpm-fixture-a HTTP/1.1\r\n" + host + b"\r\nTransfer-Encoding: chunked",
            b"-1\r\nabc\r\n0\r\n\r\n",
        ),
        "wrong secret": _get(proxy, "/ipnpm-fixture-a").replace(
            proxy.secret.encode(), secrets.token_urlsafe(32).encode()
        ),
    }


def _files_under(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def _still_serving(proxy: Proxy) -> int | None:
    return _exchange(proxy, _get(proxy, "/ipnpm-fixture-a"))


def test_the_proxy_answers_hostile_requests_with_4xx(proxy: Proxy) -> None:
    assert _still_serving(proxy) == 200  # the harness works: a good request gets a packument
    store = proxy.env.store_dir
    outside = proxy.env.root
    before = _files_under(outside)
    failures = []
    for name, request in _hostile_requests(proxy).items():
        began = time.monotonic()
        try:
            status: int | str | None = _exchange(proxy, request)
        except TimeoutError as exc:
            status = f"hang ({exc})"
        took = time.monotonic() - began
        if not (isinstance(status, int) and 400 <= status < 500):
            failures.append(f"{name}: {status or 'connection closed without an answer'}")
        if _still_serving(proxy) != 200:
            failures.append(f"{name}: the proxy stopped serving afterwards")
        assert took < ANSWER_TIMEOUT + 5, name
    new = _files_under(outside) - before
    escaped = sorted(
        str(path)
        for path in new
        if not path.is_relative_to(store) or path.relative_to(store).parts[0] not in _STORE_DIRS
    )
    assert not escaped, f"written outside the store's directories: {escaped}"
    assert not failures, "\n".join(failures)


def test_a_stalled_client_does_not_stop_the_proxy(proxy: Proxy) -> None:
    with socket.create_connection((proxy.host, proxy.port)) as stalled:
        stalled.sendall(b"GET /ipnpm-fixture-a HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert _still_serving(proxy) == 200
        assert _exchange(proxy, b"FROB / HTTP/1.1\r\nConnection: close\r\n\r\n") is not None
        assert _still_serving(proxy) == 200


@settings(FAST, max_examples=40)
@given(path=_HOSTILE_PATHS)
def test_the_proxy_never_fails_on_random_paths(proxy: Proxy, path: str) -> None:
    target = "/" + path.lstrip("/").replace(" ", "%20").replace("\r", "").replace("\n", "")
    status = _exchange(proxy, _get(proxy, target))
    assert status is not None and status < 500, (target, status)
