"""The publisher's working copy of an index: a directory in Kubo's MFS (``/ipnpm-index``).

MFS keeps it across runs and out of the garbage collector's way; its root CID is what gets
published under the IPNS name.
"""

from __future__ import annotations

import json
from typing import Any

from ipnpm.clients.kubo import KuboClient, KuboError

# The unixfs-v1-2025 profile for every file and directory ipnpm writes.
_PROFILE = {"cid-version": "1", "raw-leaves": "true"}


class MfsIndex:
    def __init__(self, client: KuboClient, directory: str = "/ipnpm-index") -> None:
        self.client = client
        self.directory = directory.rstrip("/")

    def ensure(self) -> None:
        for sub in ("", "/packages", "/integrity"):
            self.client.call(
                "files/mkdir",
                f"{self.directory}{sub}",
                options={"parents": "true", "cid-version": "1"},
            )

    def read_json(self, path: str) -> Any:
        try:
            data = self.client.call("files/read", f"{self.directory}/{path}").content
        except KuboError as exc:
            if "does not exist" in str(exc) or "not found" in str(exc).lower():
                return None
            raise
        return json.loads(data)

    def write_json(self, path: str, value: Any) -> None:
        body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        options = {**_PROFILE, "create": "true", "truncate": "true", "parents": "true"}
        self.client.call(
            "files/write", f"{self.directory}/{path}", options=options, files={"file": body}
        )

    def root(self) -> str:
        stat = self.client.call("files/stat", self.directory, options={"hash": "true"}).json()
        return str(stat["Hash"])
