"""The publisher's working copy of an index: a directory in Kubo's MFS, one per signing key
(``/ipnpm-indexes/<key>``), so that one Kubo node publishes several indexes.

MFS keeps it across runs and out of the garbage collector's way; its root CID is what gets
published under the key's IPNS name.

Every file is written by ``add`` (a complete DAG in the blockstore, provided like any added
content) and linked into the directory with ``files cp``. Never ``files write --truncate``
over an existing file: Kubo 0.43 then leaves a link to the empty raw block
(:data:`EMPTY_RAW_BLOCK`) in the new file node, which the publisher itself reads fine but no
peer can fetch, so every reader of an updated file waits for a block that never comes.
"""

from __future__ import annotations

import json
from typing import Any

from ipnpm.clients.kubo import KuboClient, KuboError
from ipnpm.errors import KuboUnavailableError
from ipnpm.index import ROOT_FILE

# The unixfs-v1-2025 profile for every file and directory ipnpm writes.
_PROFILE = {"cid-version": "1", "raw-leaves": "true", "chunker": "size-1048576"}

ROOT = "/ipnpm-indexes"
LEGACY_DIRECTORY = "/ipnpm-index"  # before several indexes per node: one fixed directory
# Publisher-side state that is not part of any index (the last published root, lifetime, ttl).
STATE = "/ipnpm-publish"
# sha2-256 of zero bytes as a CIDv1 raw block: what `files write --truncate` leaves behind.
EMPTY_RAW_BLOCK = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
_SUBDIRECTORIES = ("packages", "integrity")


def _missing(exc: KuboError) -> bool:
    text = str(exc).lower()
    return "does not exist" in text or "not found" in text or "no link named" in text


def valid_key(key: str) -> str:
    if not key or "/" in key or key.startswith(".") or key in ("self",):
        raise KuboUnavailableError(
            f"{key!r} cannot name an index key", hint="use a plain name such as `acme-index`"
        )
    return key


class MfsIndex:
    def __init__(self, client: KuboClient, key: str) -> None:
        self.client = client
        self.key = valid_key(key)
        self.directory = f"{ROOT}/{key}"

    # -- files ------------------------------------------------------------------------------

    def exists(self) -> bool:
        try:
            self.client.call("files/stat", self.directory, options={"hash": "true"})
        except KuboError as exc:
            if _missing(exc):
                return False
            raise
        return True

    def ensure(self) -> bool:
        """Create the directory tree; True when it was adopted from the legacy directory."""
        adopted = False
        if not self.exists() and self.legacy_root() is not None:
            self._mkdir(ROOT)
            self.client.call("files/cp", f"/ipfs/{self.legacy_root()}", self.directory)
            adopted = True
        for sub in ("", *_SUBDIRECTORIES):
            self._mkdir(f"{self.directory}/{sub}".rstrip("/"))
        return adopted

    def _mkdir(self, path: str) -> None:
        self.client.call("files/mkdir", path, options={"parents": "true", "cid-version": "1"})

    def legacy_root(self) -> str | None:
        try:
            stat = self.client.call("files/stat", LEGACY_DIRECTORY, options={"hash": "true"})
        except KuboError as exc:
            if _missing(exc):
                return None
            raise
        return str(stat.json()["Hash"])

    def read_bytes(self, path: str) -> bytes | None:
        try:
            return self.client.call("files/read", f"{self.directory}/{path}").content
        except KuboError as exc:
            if _missing(exc):
                return None
            raise

    def read_json(self, path: str) -> Any:
        data = self.read_bytes(path)
        return None if data is None else json.loads(data)

    def write_json(self, path: str, value: Any) -> str:
        body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        return self.write_bytes(path, body)

    def write_bytes(self, path: str, body: bytes) -> str:
        """Add ``body`` as a file of its own and link it at ``path``; returns its CID."""
        return _add_and_link(self.client, body, f"{self.directory}/{path}")

    def names(self, sub: str) -> list[str]:
        answer = self.client.call("files/ls", f"{self.directory}/{sub}").json()
        return [str(entry["Name"]) for entry in answer.get("Entries") or []]

    def root(self) -> str:
        stat = self.client.call("files/stat", self.directory, options={"hash": "true"}).json()
        return str(stat["Hash"])

    # -- completeness -----------------------------------------------------------------------

    def unfetchable_files(self) -> list[str]:
        """Files of the index whose DAG links the empty raw block (written by an older ipnpm
        with ``files write --truncate``): peers cannot read them."""
        bad: list[str] = []
        for path in [ROOT_FILE, *self._all_files()]:
            cid = self._file_cid(path)
            if cid is not None and EMPTY_RAW_BLOCK in self._refs(cid):
                bad.append(path)
        return bad

    def _all_files(self) -> list[str]:
        return [f"{sub}/{name}" for sub in _SUBDIRECTORIES for name in self.names(sub)]

    def _file_cid(self, path: str) -> str | None:
        try:
            stat = self.client.call(
                "files/stat", f"{self.directory}/{path}", options={"hash": "true"}
            )
        except KuboError as exc:
            if _missing(exc):
                return None
            raise
        return str(stat.json()["Hash"])

    def _refs(self, cid: str) -> set[str]:
        # offline: every block must be here already; a missing one is an error, not a wait.
        answer = self.client.call(
            "refs", cid, options={"recursive": "true", "unique": "true", "offline": "true"}
        )
        refs = {cid}
        for line in answer.text.splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry.get("Err"):
                    raise KuboUnavailableError(f"index file {cid}: {entry['Err']}")
                refs.add(str(entry.get("Ref")))
        return refs

    def repair(self) -> list[str]:
        """Rewrite every unfetchable file as a complete DAG; returns the paths rewritten."""
        bad = self.unfetchable_files()
        for path in bad:
            data = self.read_bytes(path)
            if data is not None:
                self.write_bytes(path, data)
        return bad

    def check_complete(self, root: str) -> int:
        """Every block of ``root`` is held here and none is the empty raw block; returns how
        many blocks the index has. Raises KuboUnavailableError otherwise."""
        refs = self._refs(root)
        if EMPTY_RAW_BLOCK in refs:
            raise KuboUnavailableError(
                f"index root {root} links the empty raw block {EMPTY_RAW_BLOCK}, "
                "which peers cannot fetch",
                hint="`ipnpm ipfs index publish` rewrites such files; run it again",
            )
        return len(refs)

    # -- publisher state --------------------------------------------------------------------

    def state(self) -> dict[str, Any] | None:
        try:
            data = self.client.call("files/read", f"{STATE}/{self.key}.json").content
        except KuboError as exc:
            if _missing(exc):
                return None
            raise
        found: dict[str, Any] = json.loads(data)
        return found

    def save_state(self, state: dict[str, Any]) -> None:
        self._mkdir(STATE)
        body = json.dumps(state, sort_keys=True).encode()
        _add_and_link(self.client, body, f"{STATE}/{self.key}.json")


def _add_and_link(client: KuboClient, body: bytes, target: str) -> str:
    # Unpinned: the MFS link is what keeps it (MFS is a garbage-collection root).
    options = {**_PROFILE, "pin": "false", "quieter": "true"}
    cid = str(client.call("add", options=options, files={"file": body}).json()["Hash"])
    try:
        client.call("files/rm", target)
    except KuboError as exc:
        if not _missing(exc):
            raise
    client.call("files/cp", f"/ipfs/{cid}", target)
    return cid


def published_keys(client: KuboClient) -> list[str]:
    """The keys this node has published an index with (their state files)."""
    try:
        answer = client.call("files/ls", STATE).json()
    except KuboError as exc:
        if _missing(exc):
            return []
        raise
    names = [str(e["Name"]) for e in answer.get("Entries") or []]
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))
