"""Resolve an index's IPNS name to its root, verifying the record in ipnpm itself.

The record comes from Kubo (``name/get``) or a trustless gateway (``?format=ipns-record``);
either way ipnpm checks the signature, validity and size, refuses a rollback to a lower
sequence, and keeps the record so that an offline run can go on with it until it expires.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from ipnpm.clients.kubo import KuboClient, KuboError
from ipnpm.clients.lazy import requests
from ipnpm.errors import IndexUnavailableError
from ipnpm.ipfs.ipns import (
    IpnsError,
    IpnsExpiredError,
    IpnsRecord,
    SequenceGuard,
    verify_record,
)

# How long one source may take to find a record (Kubo searches the DHT for it): an index that
# resolves nowhere costs this much per source, once per run, never a hang.
RESOLVE_WAIT = 10.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Resolved:
    name: str
    root: str
    record: IpnsRecord
    cached: bool  # True when the record came from ipnpm's cache, not the network
    fetched_at: float = 0.0  # when the record was fetched from the network (time.time())
    # The record's validity is over and no fresh one could be had: its root may still map
    # integrities the user already trusts to CIDs, but never teach new packuments.
    expired: bool = False

    @property
    def age(self) -> float:
        return max(0.0, time.time() - self.fetched_at)

    def describe(self) -> str:
        state = "expired" if self.expired else "valid"
        origin = "cached" if self.cached else "fresh"
        return (
            f"sequence {self.record.sequence}, root {self.root}, {origin} record fetched "
            f"{_ago(self.age)} ago (ttl {_ago(self.record.ttl.total_seconds())}), {state} until "
            f"{self.record.validity.strftime('%Y-%m-%d %H:%M:%S UTC')}"
        )


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}min"
    return f"{seconds / 3600:.1f}h"


def _fetch_kubo(client: KuboClient, name: str) -> bytes:
    # Kubo's own timeout ends its DHT search; ours only guards the connection.
    options = {"timeout": f"{RESOLVE_WAIT:g}s"}
    return client.call("name/get", name, options=options, read_timeout=RESOLVE_WAIT + 5).content


def _fetch_gateway(url: str, name: str) -> bytes:
    response = requests.get(
        f"{url}/ipns/{quote(name)}?format=ipns-record",
        headers={"Accept": "application/vnd.ipfs.ipns-record"},
        timeout=(5.0, RESOLVE_WAIT),
    )
    if response.status_code != 200:
        raise IndexUnavailableError(
            f"gateway {url} answered HTTP {response.status_code} for /ipns/{name}"
        )
    return response.content[: 10 * 1024 + 1]  # verify_record refuses anything larger


class RecordCache:
    """``<store>/indexes/<name>.json``: the last verified record and when it was fetched."""

    def __init__(self, store_root: Path) -> None:
        self.directory = store_root / "indexes"
        self.guard = SequenceGuard(self.directory / "sequences.json")

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def load(self, name: str) -> tuple[bytes, float] | None:
        try:
            data = json.loads(self._path(name).read_text())
            return base64.b64decode(data["record"]), float(data["fetched"])
        except (OSError, ValueError, KeyError):
            return None  # no usable cached record: a cache miss, the network is asked

    def save(self, name: str, raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self._path(name).with_suffix(".partial")
        document = {"record": base64.b64encode(raw).decode(), "fetched": time.time()}
        partial.write_text(json.dumps(document))
        partial.replace(self._path(name))


def _root_of(record: IpnsRecord) -> str:
    cid = record.value_cid()
    if cid is None:
        raise IndexUnavailableError(
            f"index {record.name} points at {record.value!r}, not an /ipfs/ root"
        )
    return str(cid)


class RecordResolver:
    def __init__(
        self,
        cache: RecordCache,
        *,
        kubo: KuboClient | None,
        gateways: Sequence[str],
        offline: bool,
    ) -> None:
        self.cache = cache
        self.kubo = kubo
        self.gateways = tuple(gateways)
        self.offline = offline

    def resolve(self, name: str, *, refresh: bool = False) -> Resolved:
        """The index's current root. Within the record's TTL the cached record is used as is.

        A record that cannot be refreshed is used while it is valid (offline: past its TTL);
        once expired it comes back marked ``expired`` rather than not at all, so that the
        caller can still map trusted integrities to CIDs with it, and nothing else.
        """
        cached = self.cache.load(name)
        if cached is not None and not refresh:
            record = self._verified(name, cached[0], datetime.now(UTC), cached=True)
            within_ttl = time.time() - cached[1] < (record.ttl.total_seconds() if record else 0)
            # Offline, a still-valid record is used past its TTL: better than no index at all.
            if record is not None and (within_ttl or self.offline):
                return Resolved(name, _root_of(record), record, cached=True, fetched_at=cached[1])
        failures: list[str] = []
        if not self.offline or cached is None:
            fresh = self._fresh(name, failures, fallback=cached is not None)
            if fresh is not None:
                return fresh
        if cached is not None:
            return self._from_cache(name, *cached)
        why = "; ".join(failures) or "offline, and it was never resolved on this machine"
        if failures:
            why += f" (each source may take up to {RESOLVE_WAIT:g}s)"
        raise IndexUnavailableError(
            f"cannot resolve index {name}: {why}",
            hint="give a Kubo (--ipnpm-kubo) or a gateway (--ipnpm-gateway) that can reach its "
            "publisher or a peer that holds its record",
        )

    def _fresh(self, name: str, failures: list[str], *, fallback: bool) -> Resolved | None:
        raw = self._fetch(name, failures)
        if raw is None:
            return None
        try:
            record = verify_record(name, raw)  # raises on any defect
        except IpnsExpiredError as exc:
            if not fallback:
                raise
            failures.append(str(exc))  # nothing newer out there: the cached record decides
            return None
        self.cache.guard.check(name, record)
        self.cache.save(name, raw)
        return Resolved(name, _root_of(record), record, cached=False, fetched_at=time.time())

    def _from_cache(self, name: str, raw: bytes, fetched: float) -> Resolved:
        try:
            record = verify_record(name, raw)
        except IpnsExpiredError:
            # Signed by the publisher all the same: checked with the clock turned back.
            old = self._verified(name, raw, _EPOCH, cached=True, fail=True)
            assert old is not None
            return Resolved(name, _root_of(old), old, cached=True, fetched_at=fetched, expired=True)
        except IpnsError as exc:
            raise IndexUnavailableError(
                f"the cached record of index {name} is no longer usable: {exc}",
                hint="connect to a Kubo or gateway that can refresh it",
            ) from exc
        return Resolved(name, _root_of(record), record, cached=True, fetched_at=fetched)

    def _verified(
        self, name: str, raw: bytes, now: datetime, *, cached: bool, fail: bool = False
    ) -> IpnsRecord | None:
        try:
            return verify_record(name, raw, now=now)
        except IpnsError as exc:
            if fail:
                where = "cached " if cached else ""
                raise IndexUnavailableError(
                    f"the {where}record of index {name} is no longer usable: {exc}",
                    hint="connect to a Kubo or gateway that can refresh it",
                ) from exc
            return None

    def _fetch(self, name: str, failures: list[str]) -> bytes | None:
        attempts: list[tuple[str, Callable[[], bytes]]] = []
        kubo = self.kubo
        if kubo is not None:
            attempts.append((f"kubo {kubo.api_url}", lambda: _fetch_kubo(kubo, name)))
        for url in self.gateways:
            attempts.append((f"gateway {url}", lambda url=url: _fetch_gateway(url, name)))  # type: ignore[misc]
        for label, attempt in attempts:
            try:
                return attempt()
            except (KuboError, IndexUnavailableError, requests.RequestException) as exc:
                failures.append(f"{label}: {exc}")
        return None
