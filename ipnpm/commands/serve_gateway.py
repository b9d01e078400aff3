"""A trustless gateway over ipnpm's store (ipfs/specs ``http-gateways/trustless-gateway``), the
public ``/ipfs/`` route of ``ipnpm ipfs serve``: another machine's ipnpm can use this server as
``--ipnpm-gateway`` with no Kubo anywhere.

The store keeps whole files under their root CID. A file of at most one chunk is one raw block;
a larger one is a dag-pb tree over raw leaves that exists only as the stored bytes. So the
blocks are found through an index, built with ``build_file_dag`` the first time a file is
asked for: its dag-pb nodes (links only, a few dozen bytes per MiB) stay in memory, its leaves
are byte ranges of the stored file, read and hashed against their CID at every request. The
page cache holds the bytes, so memory stays flat however many files are served.

Nothing unverified goes out: a leaf that does not hash to its CID is never sent, and
``Store.verified_path`` then re-hashes the whole object and quarantines it.

Nothing private goes out to anyone without the server's token: a block of a file the store
marks private (fetched with a credential, see ``Store.mark_private``) answers 401 then, so
knowing a CID from someone's ``ipnpm-lock.json`` is not enough to read a private package.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ipnpm.ipfs.car import write_car
from ipnpm.ipfs.cid import DAG_PB, IDENTITY, RAW, Cid
from ipnpm.ipfs.dagpb import decode_node
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.unixfs import CHUNK_SIZE, build_file_dag
from ipnpm.ipfs.varint import encode_varint
from ipnpm.store.objects import Store
from ipnpm.store.runlog import RunLog

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
IMMUTABLE = "public, max-age=29030400, immutable"  # a CID's bytes never change

_RESCAN_EVERY = 10.0  # seconds between store listings caused by unknown CIDs
_MULTI_BLOCK_PREFIX = "bafybei"  # how a CIDv1 dag-pb sha2-256 root reads in base32


@dataclass(frozen=True, slots=True)
class Leaf:
    """Where a raw block's bytes lie: a range of the stored file ``root``."""

    root: Cid
    offset: int
    size: int


Located = bytes | Leaf  # a dag-pb node's bytes (small, kept), or where to read a leaf


def size_of(found: Located) -> int:
    return found.size if isinstance(found, Leaf) else len(found)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk


def _leaf_ranges(root: Cid, blocks: dict[Cid, bytes]) -> dict[Cid, Leaf]:
    # The chunker cuts fixed-size pieces, so walking the links depth-first, repeats included,
    # meets the leaves in file order; a repeated leaf keeps its first range.
    ranges: dict[Cid, Leaf] = {}
    offset, stack = 0, [root]
    while stack:
        cid = stack.pop()
        if cid.codec == RAW:
            ranges.setdefault(cid, Leaf(root, offset, len(blocks[cid])))
            offset += len(blocks[cid])
        else:
            stack.extend(link.hash for link in reversed(decode_node(blocks[cid]).links))
    return ranges


class StoreBlocks:
    """Every block of every stored file, by CID (v1). Thread-safe.

    The index only ever records facts about content (a CID's bytes never change), so it is never
    invalidated; whether the stored file is still there is checked when bytes are read.
    """

    def __init__(self, store: Store, *, rescan_every: float = _RESCAN_EVERY) -> None:
        self._store = store
        self._rescan_every = rescan_every
        self._lock = threading.Lock()  # guards the three maps and the scan clock
        self._build = threading.Lock()  # one file at a time: building holds it all in memory
        self._nodes: dict[Cid, bytes] = {}
        self._leaves: dict[Cid, Leaf] = {}
        self._indexed: set[Cid] = set()  # roots of the multi-block files in the maps
        self._node_roots: dict[Cid, Cid] = {}  # dag-pb node -> the file it was indexed for
        self._next_scan = 0.0

    def block(self, cid: Cid) -> bytes | None:
        """The block's verified bytes, or ``None`` when the store cannot give them."""
        if cid.hash_code == IDENTITY:
            return cid.digest  # the content is inside the CID itself
        found = self.locate(cid)
        return self.read(cid, found) if isinstance(found, Leaf) else found

    def locate(self, cid: Cid) -> Located | None:
        found = self._locate(cid)
        if found is None and self._rescan():
            found = self._locate(cid)
        return found

    def read(self, cid: Cid, leaf: Leaf) -> bytes | None:
        """The leaf's bytes from the stored file, after hashing them against ``cid``."""
        try:
            with self._store.object_path(str(leaf.root)).open("rb") as handle:
                handle.seek(leaf.offset)
                data = handle.read(leaf.size)
        except OSError:
            return None  # quarantined or never fetched on this machine
        if len(data) == leaf.size and cid.verify(data):
            return data
        self._store.verified_path(str(leaf.root))  # re-hash the object; quarantines it if bad
        return None

    def _locate(self, cid: Cid) -> Located | None:
        with self._lock:
            known = self._nodes.get(cid)
            found: Located | None = self._leaves.get(cid) if known is None else known
        if found is not None:
            return found
        path = self._store.object_path(str(cid))
        if cid.codec == RAW:  # a file of one chunk: the stored object is the block
            try:
                size = path.stat().st_size
            except OSError:
                return None  # not in this store: a plain miss
            return Leaf(cid, 0, size) if size <= CHUNK_SIZE else None
        if cid.codec == DAG_PB and self._index(cid):
            with self._lock:
                return self._nodes.get(cid)
        return None

    def _index(self, root: Cid) -> bool:
        """Add the blocks of the stored multi-block file ``root``; False when it is not here."""
        with self._build:
            with self._lock:
                if root in self._indexed:
                    return True
            path = self._store.object_path(str(root))
            try:
                built, blocks = build_file_dag(_file_chunks(path))
            except OSError:
                return False
            if built != root:
                self._store.verified_path(str(root))  # quarantines the corrupt object
                return False
            by_cid = dict(blocks)
            nodes = {cid: block for cid, block in blocks if cid.codec == DAG_PB}
            leaves = _leaf_ranges(root, by_cid)
            with self._lock:
                self._nodes.update(nodes)
                self._leaves.update(leaves)
                for node in nodes:
                    self._node_roots.setdefault(node, root)
                self._indexed.add(root)
            return True

    def is_private(self, cid: Cid) -> bool:
        """Whether ``cid`` is (a block of) a file the store marks private."""
        found = self.locate(cid)
        if found is None:
            return False
        with self._lock:
            root = found.root if isinstance(found, Leaf) else self._node_roots.get(cid, cid)
        return self._store.is_private(str(root))

    def _rescan(self) -> bool:
        """Index stored multi-block files not seen yet (a client may ask for a leaf before its
        root, e.g. after a restart). Throttled: a stream of unknown CIDs must not make every
        request list the store."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_scan:
                return False
            self._next_scan = now + self._rescan_every
            known = {str(root) for root in self._indexed}
        added = False
        for path in (self._store.root / "objects").glob(f"*/{_MULTI_BLOCK_PREFIX}*"):
            if path.name not in known:
                added = self._index_named(path.name) or added
        return added

    def _index_named(self, name: str) -> bool:
        try:
            root = Cid.parse(name)
        except IpfsFormatError:
            return False  # not an object of the store's making
        return self._index(root)

    def plan(self, root: Cid, *, dups: bool) -> list[tuple[Cid, Located]] | None:
        """The blocks under ``root`` in depth-first order (a CAR's content), or ``None`` when
        any of them is not here. Identity blocks are left out, as the spec requires."""
        order: list[tuple[Cid, Located]] = []
        seen: set[Cid] = set()
        files: set[Cid] = set()
        stack = [root]
        while stack:
            cid = stack.pop()
            if cid.hash_code == IDENTITY or (cid in seen and not dups):
                continue
            seen.add(cid)
            found = self.locate(cid)
            if found is None:
                return None
            order.append((cid, found))
            if isinstance(found, Leaf):
                files.add(found.root)
            else:
                stack.extend(link.hash for link in reversed(decode_node(found).links))
        # A file quarantined since it was indexed: answer 404 now rather than cut a CAR short.
        return order if all(self._store.object_path(str(f)).is_file() for f in files) else None


# -- HTTP -----------------------------------------------------------------------------------


class Refused(Exception):
    """A request answered with an error status (never 5xx for content that is not here)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Ask:
    """What a request asks for: one raw block, or a CAR of the DAG under ``cid``."""

    cid: Cid
    car: bool
    whole: bool = True  # dag-scope=entity|all (for a file they are the same); False: block
    dups: bool = False


def _media_range(item: str) -> tuple[str, dict[str, str]]:
    media, *params = (part.strip() for part in item.split(";"))
    pairs = (param.partition("=") for param in params)
    return media.lower(), {key.strip().lower(): value.strip('" ') for key, _, value in pairs}


def _negotiate(fmt: str | None, accept: str) -> tuple[str, dict[str, str]]:
    """The response type (``?format=`` wins over ``Accept``) and the client's type parameters."""
    offered = [_media_range(item) for item in accept.split(",") if item.strip()]
    if fmt is not None:
        media = {"raw": RAW_TYPE, "car": CAR_TYPE}.get(fmt)
        if media is None:
            raise Refused(400, f"format={fmt[:40]} is not served here: raw or car")
        return media, next((params for m, params in offered if m == media), {})
    for media, params in offered:
        if media in (RAW_TYPE, CAR_TYPE):
            return media, params
    # A trustless gateway never deserialises: a request that names no verifiable type is 400.
    raise Refused(400, "ask for ?format=raw or ?format=car: this is a trustless gateway")


def _car_options(query: Mapping[str, str], params: Mapping[str, str]) -> tuple[bool, bool]:
    """``(whole, dups)`` for a CAR request; query parameters win over ``Accept`` parameters."""
    chosen = {
        "version": (query.get("car-version", params.get("version", "1")), ("1",)),
        "order": (query.get("car-order", params.get("order", "dfs")), ("dfs", "unk")),
        "dups": (query.get("car-dups", params.get("dups", "n")), ("y", "n")),
        "dag-scope": (query.get("dag-scope", "all"), ("block", "entity", "all")),
        "entity-bytes": (query.get("entity-bytes", "0:*"), ("0:*",)),  # the whole entity only
    }
    for name, (value, served) in chosen.items():
        if value not in served:
            raise Refused(400, f"{name}={value[:40]} is not served here: {' or '.join(served)}")
    return chosen["dag-scope"][0] != "block", chosen["dups"][0] == "y"


def parse_request(raw_path: str, accept: str) -> Ask:
    """``/ipfs/{cid}[?format=raw|car&dag-scope=…]`` plus the ``Accept`` header."""
    parts = urlsplit(raw_path)
    text, _, rest = parts.path.removeprefix("/ipfs/").partition("/")
    try:
        cid = Cid.parse(text)
    except (IpfsFormatError, ValueError) as exc:
        raise Refused(400, f"{text[:80]!r} is not a CID: {exc}") from None
    query = dict(parse_qsl(parts.query))
    media, params = _negotiate(query.get("format"), accept)
    if rest.strip("/"):
        if media == RAW_TYPE:
            raise Refused(400, "a block is asked for by its CID alone: /ipfs/{cid}")
        raise Refused(404, f"{cid} is a file: no path lies beneath it")
    if media == RAW_TYPE:
        return Ask(cid, car=False)
    whole, dups = _car_options(query, params)
    return Ask(cid, car=True, whole=whole, dups=dups)


def _section_prefix(cid: Cid, size: int) -> bytes:
    # A CARv1 section: varint(len(CID) + len(block)), the binary CID, then the block.
    raw = cid.bytes
    return encode_varint(len(raw) + size) + raw


def _send_head(handler: BaseHTTPRequestHandler, status: int, headers: Mapping[str, str]) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()


def _content_headers(content_type: str, length: int, etag: str, filename: str) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Length": str(length),
        "Cache-Control": IMMUTABLE,
        "ETag": etag,
        "Vary": "Accept",  # the format may come from Accept instead of ?format=
        "X-Content-Type-Options": "nosniff",
        # The spec asks for attachment so that no browser renders bytes from anyone's store.
        "Content-Disposition": f'attachment; filename="{filename}"',
    }


def _send_error(handler: BaseHTTPRequestHandler, refused: Refused) -> None:
    body = f"{refused.message}\n".encode()
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": str(len(body)),
        "X-Content-Type-Options": "nosniff",
    }
    if refused.status == 405:
        headers["Allow"] = "GET, HEAD"
    _send_head(handler, refused.status, headers)
    if handler.command != "HEAD":
        handler.wfile.write(body)


def _not_modified(handler: BaseHTTPRequestHandler, etag: str) -> bool:
    if etag not in handler.headers.get("If-None-Match", ""):
        return False
    _send_head(handler, 304, {"ETag": etag, "Cache-Control": IMMUTABLE, "Vary": "Accept"})
    return True


class TrustlessGateway:
    """The ``ipfs_route`` of ``registry_proxy`` in serve mode: answers ``/ipfs/…`` requests."""

    def __init__(self, store: Store, log: RunLog, token: str | None = None) -> None:
        self.blocks = StoreBlocks(store)
        self.log = log
        self._token = token  # the serve token: what private blocks need; None: no one gets them

    def _may_read(self, handler: BaseHTTPRequestHandler, cid: Cid) -> bool:
        if not self.blocks.is_private(cid.to_v1()):
            return True
        sent = handler.headers.get("Authorization", "")
        return self._token is not None and hmac.compare_digest(sent, f"Bearer {self._token}")

    def __call__(self, handler: BaseHTTPRequestHandler) -> None:
        ask: Ask | None = None
        try:
            if handler.command not in ("GET", "HEAD"):
                raise Refused(405, "a trustless gateway answers GET and HEAD only")
            ask = parse_request(handler.path, handler.headers.get("Accept", ""))
            if not self._may_read(handler, ask.cid):
                raise Refused(401, f"{ask.cid} is private here: send the server's token")
            status = self._car(handler, ask) if ask.car else self._raw(handler, ask)
        except Refused as refused:
            _send_error(handler, refused)
            status = refused.status
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            handler.close_connection = True  # the client went away or stalled; nothing to tell
            status = 499  # nginx's code for it, in the run log only
        self.log.event(
            "gateway",
            cid=str(ask.cid) if ask else None,
            format=None if ask is None else "car" if ask.car else "raw",
            status=status,
        )

    def _missing(self, handler: BaseHTTPRequestHandler, cid: Cid) -> Refused:
        # Nothing here is ever fetched from elsewhere, so only-if-cached changes only the code.
        if "only-if-cached" in handler.headers.get("Cache-Control", ""):
            return Refused(412, f"{cid} is not in this store")
        return Refused(404, f"{cid} is not in this store")

    def _raw(self, handler: BaseHTTPRequestHandler, ask: Ask) -> int:
        block = self.blocks.block(ask.cid.to_v1())
        if block is None:
            raise self._missing(handler, ask.cid)
        etag = f'"{ask.cid}.raw"'
        if _not_modified(handler, etag):
            return 304
        _send_head(handler, 200, _content_headers(RAW_TYPE, len(block), etag, f"{ask.cid}.bin"))
        if handler.command == "GET":
            handler.wfile.write(block)
        return 200

    def _car(self, handler: BaseHTTPRequestHandler, ask: Ask) -> int:
        order = self.blocks.plan(ask.cid.to_v1(), dups=ask.dups)
        if order is None:
            raise self._missing(handler, ask.cid)
        order = order if ask.whole else order[:1]
        if order and ask.cid.version == 0:
            order[0] = (ask.cid, order[0][1])  # the root under the CID that was asked for
        header = write_car([ask.cid], ())  # a CAR of no blocks is exactly the header
        length = len(header) + sum(
            len(_section_prefix(cid, size_of(found))) + size_of(found) for cid, found in order
        )
        dups = "y" if ask.dups else "n"
        etag = f'"{ask.cid}.car.{"all" if ask.whole else "block"}.{dups}"'
        if _not_modified(handler, etag):
            return 304
        content_type = f"{CAR_TYPE}; version=1; order=dfs; dups={dups}"
        _send_head(handler, 200, _content_headers(content_type, length, etag, f"{ask.cid}.car"))
        if handler.command == "GET":
            handler.wfile.write(header)
            self._stream(handler, order)
        return 200

    def _stream(self, handler: BaseHTTPRequestHandler, order: list[tuple[Cid, Located]]) -> None:
        """Write the sections, each leaf hashed as it is read; memory holds one block at a time."""
        try:
            for cid, found in order:
                block = found if isinstance(found, bytes) else self.blocks.read(cid, found)
                if block is None:
                    raise _Cut(f"{cid} is corrupt (now quarantined) or gone since the plan")
                handler.wfile.write(_section_prefix(cid, len(block)))
                handler.wfile.write(block)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            raise  # the client went away or stalled: the caller's business
        except Exception as exc:
            # The 200 is out, so the one honest signal left is a CAR cut short (the client's
            # verification sees it incomplete, as the spec intends), never a second response.
            handler.close_connection = True
            self.log.event("gateway-cut", error=f"{type(exc).__name__}: {exc}")


class _Cut(Exception):
    """A block could not be read while its CAR was being sent."""
