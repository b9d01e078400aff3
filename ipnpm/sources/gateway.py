"""IPFS HTTP gateways as a source, over the trustless gateway protocol (ipfs/specs
``http-gateways/trustless-gateway``): a gateway is never trusted, every block it sends is hashed
against its CID, and nothing is handed on until the whole file has been verified.

Several gateways are raced, at most ``parallel`` at a time; the first verified answer wins. A
gateway caught serving a block that does not match its CID is dropped for the rest of the run.
"""

from __future__ import annotations

import contextlib
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, BinaryIO, cast

from ipnpm.clients.lazy import requests
from ipnpm.errors import reason
from ipnpm.ipfs.car import CarReader
from ipnpm.ipfs.cid import DAG_PB, RAW, Cid
from ipnpm.ipfs.errors import BlockHashError, IpfsFormatError
from ipnpm.sources import SourceError, Want
from ipnpm.sources.streamed import StreamedBlocks, file_chunks

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
_MAX_BLOCK = 2 * 1024 * 1024 + 1024  # Kubo's block limit: a bigger "block" is an attack
_MAX_CAR = 512 * 1024 * 1024  # far beyond any npm tarball; bounds memory against a hostile gateway
_CHUNK = 1 << 16
_IN_MEMORY = 1 << 20  # a verified multi-block file beyond this waits on disk, not in memory

_File = list[bytes] | IO[bytes]  # a verified file: one block, or spooled
_Answers = queue.SimpleQueue[tuple[str, _File | Exception]]  # per gateway: file or failure


class _NotFound(Exception):
    """The gateway answered 404 or 410: a plain miss."""


class _Failed(Exception):
    """The gateway failed; the message says how, for the aggregated SourceError."""


class _TimedOut(_Failed):
    """The gateway hung. Like a lying one it is dropped for the run: waiting on it again for
    every package would stall npm."""


class GatewaySource:
    name = "gateway"
    by_cid = True

    def __init__(
        self,
        urls: Sequence[str],
        *,
        parallel: int = 2,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        deadline: float | None = None,
        on_drop: Callable[[str, str], None] | None = None,
    ) -> None:
        self.urls = tuple(dict.fromkeys(url.rstrip("/") for url in urls))
        if not self.urls:
            raise ValueError("GatewaySource needs at least one gateway URL")
        self.parallel = max(1, parallel)
        self._timeout = (connect_timeout, read_timeout)
        # A gateway can drip bytes just fast enough to dodge the read timeout: the deadline caps
        # one whole request, so no gateway holds npm up for long.
        self.deadline = connect_timeout + 2 * read_timeout if deadline is None else deadline
        self._lock = threading.Lock()
        self._dropped: dict[str, str] = {}  # gateway -> why it is no longer asked
        self._on_drop = on_drop  # told (url, reason) once per dropped gateway, for the run log
        # requests' Session is not thread-safe: each is used by one thread at a time, and is
        # kept between requests so a remote gateway's connection (TLS) is reused.
        self._idle: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()

    @property
    def dropped(self) -> frozenset[str]:
        """Gateways caught serving bad blocks; they are not asked again by this instance."""
        with self._lock:
            return frozenset(self._dropped)

    def open(self, want: Want) -> Iterator[bytes] | None:
        if want.cid is None:
            return None
        try:
            cid = Cid.parse(want.cid)
        except IpfsFormatError as exc:
            raise SourceError(f"cannot ask gateways for {want.cid!r}: {exc}") from exc
        if cid.codec not in (RAW, DAG_PB):
            raise SourceError(f"{cid} is neither raw nor dag-pb: not a UnixFS file")
        dropped = self.dropped
        failures: list[tuple[str, str | None]] = [
            (url, f"dropped earlier in this run ({self._why(url)})") for url in dropped
        ]
        chunks = self._race([url for url in self.urls if url not in dropped], cid, failures)
        if chunks is not None:
            return _read(chunks)
        if all(reason is None for _, reason in failures):
            return None
        failures.sort(key=lambda failure: self.urls.index(failure[0]))
        raise SourceError("; ".join(f"{url}: {reason or 'not found'}" for url, reason in failures))

    def _race(
        self, urls: list[str], cid: Cid, failures: list[tuple[str, str | None]]
    ) -> _File | None:
        """Ask ``urls`` in order, ``parallel`` at a time; the first verified file wins."""
        waiting = urls[::-1]  # pop() from the end keeps the configured order
        running: dict[str, float] = {}  # gateway -> the deadline of its request
        answers: _Answers = queue.SimpleQueue()
        while waiting or running:
            while waiting and len(running) < self.parallel:
                url = waiting.pop()
                running[url] = time.monotonic() + self.deadline
                # Daemon threads: a loser still waiting on a slow gateway must not delay the
                # next gateway, nor ipnpm's exit (executor threads are joined at exit).
                args = (url, cid, running[url], answers)
                threading.Thread(target=self._answer, args=args, daemon=True).start()
            try:
                url, answer = answers.get(
                    timeout=max(0.0, min(running.values()) - time.monotonic())
                )
            except queue.Empty:
                self._expire(running, failures)
                continue
            if running.pop(url, None) is None:
                continue  # it already counted as overdue
            if not isinstance(answer, Exception):
                return answer
            failures.append((url, None if isinstance(answer, _NotFound) else str(answer)))
        return None

    def _expire(self, running: dict[str, float], failures: list[tuple[str, str | None]]) -> None:
        for url, ends in list(running.items()):
            if ends <= time.monotonic():  # the worker gives up on the same deadline
                del running[url]
                reason = f"no complete answer within {self.deadline:g} s"
                self._drop(url, reason)
                failures.append((url, f"{reason}; dropped for this run"))

    def _answer(self, url: str, cid: Cid, ends: float, answers: _Answers) -> None:
        try:
            answers.put((url, self._fetch(url, cid, ends)))
        except _TimedOut as exc:
            self._drop(url, str(exc))
            answers.put((url, _Failed(f"{exc}; dropped for this run")))
        except (_NotFound, _Failed) as exc:
            answers.put((url, exc))
        except Exception as exc:  # a bug here must fail this gateway, not hang the race
            answers.put((url, _Failed(reason(exc))))

    def _fetch(self, url: str, cid: Cid, ends: float) -> _File:
        """The verified file from one gateway: a block in memory, a larger file spooled (block
        by block: at most about one block in memory, whatever the file's size)."""
        try:
            session = self._idle.get_nowait()
        except queue.Empty:
            session = requests.Session()
            session.trust_env = False  # gateways are given explicitly; loopback ones never proxied
        try:
            if cid.codec == RAW:
                block = self._get(session, f"{url}/ipfs/{cid}?format=raw", RAW_TYPE, ends)
                if not cid.verify(block):
                    raise BlockHashError(f"block {cid} does not match its hash")
                return [block]
            return self._spooled(session, url, cid, ends)
        except BlockHashError as exc:
            # Only a block that lies about its hash gets a gateway dropped: a CAR cut short
            # (boxo appends an in-band error when it cannot find a block) is an honest failure.
            self._drop(url, str(exc))
            raise _Failed(f"served a bad block ({exc}); dropped for this run") from exc
        except IpfsFormatError as exc:
            raise _Failed(f"incomplete or invalid answer: {exc}") from exc
        finally:
            self._idle.put(session)

    def _spooled(self, session: requests.Session, url: str, cid: Cid, ends: float) -> IO[bytes]:
        # Walk from the CID we asked for, not the roots the CAR claims: every block is hashed
        # as it is read, and a block missing from the DAG fails.
        query = "format=car&dag-scope=entity"
        headers = {"Accept": CAR_TYPE}
        spool = tempfile.SpooledTemporaryFile(_IN_MEMORY)  # noqa: SIM115 (handed to _read)
        try:
            with self._request(session, f"{url}/ipfs/{cid}?{query}", headers) as response:
                reader = CarReader(cast(BinaryIO, _Bounded(response.raw, _MAX_CAR, ends)))

                def one(missing: Cid) -> bytes:  # a repeated block, sent once
                    return self._get(session, f"{url}/ipfs/{missing}?format=raw", RAW_TYPE, ends)

                for chunk in file_chunks(cid, StreamedBlocks(reader, one), f"the file {cid}"):
                    spool.write(chunk)
        except SourceError as exc:
            spool.close()
            cause = exc.__cause__
            if isinstance(cause, BlockHashError):
                raise cause from None
            if isinstance(cause, (_Failed, _NotFound)):
                raise cause from None
            raise _Failed(exc.message) from exc
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def _get(self, session: requests.Session, url: str, accept: str, ends: float) -> bytes:
        limit = _MAX_BLOCK if accept == RAW_TYPE else _MAX_CAR
        with self._request(session, url, {"Accept": accept}) as response:
            try:
                return _body(response, limit, ends)
            except requests.RequestException as exc:
                raise _failure(exc, self._timeout) from exc

    @contextlib.contextmanager
    def _request(
        self, session: requests.Session, url: str, headers: dict[str, str]
    ) -> Iterator[requests.Response]:
        try:
            response = session.get(url, headers=headers, timeout=self._timeout, stream=True)
        except requests.RequestException as exc:
            raise _failure(exc, self._timeout) from exc
        with response:
            if response.status_code in (404, 410):
                raise _NotFound
            if response.status_code != 200:
                raise _Failed(f"HTTP {response.status_code}")
            yield response

    def _drop(self, url: str, reason: str) -> None:
        with self._lock:
            first = url not in self._dropped
            self._dropped.setdefault(url, reason)
        if first and self._on_drop is not None:
            self._on_drop(url, reason)

    def _why(self, url: str) -> str:
        with self._lock:
            return self._dropped.get(url, "")


def _failure(exc: requests.RequestException, timeout: tuple[float, float]) -> _Failed:
    if isinstance(exc, requests.ConnectTimeout):
        return _TimedOut(f"no connection within {timeout[0]:g} s")
    # requests reports a read timeout in mid-body as a ConnectionError, hence the text test.
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc):
        return _TimedOut(f"no answer within {timeout[1]:g} s")
    return _Failed(f"unreachable or cut off: {reason(exc)}")


class _Bounded:
    """A response body read for CarReader, within a size limit and the request's deadline."""

    def __init__(self, raw: object, limit: int, ends: float) -> None:
        self._raw = cast(BinaryIO, raw)
        self._left = limit
        self._ends = ends

    def read(self, size: int) -> bytes:
        if time.monotonic() > self._ends:
            raise _TimedOut("answer too slow: past the deadline")
        try:
            data = self._raw.read(size)
        except (OSError, requests.RequestException, ValueError) as exc:
            if "timed out" in str(exc):
                raise _TimedOut(f"no answer within the read timeout: {reason(exc)}") from exc
            raise _Failed(f"unreachable or cut off: {reason(exc)}") from exc
        self._left -= len(data)
        if self._left < 0:
            raise _Failed(f"answer larger than {_MAX_CAR} bytes")
        return data


def _read(file: _File) -> Iterator[bytes]:
    if isinstance(file, list):
        yield from file
        return
    with file:
        while chunk := file.read(_CHUNK):
            yield chunk


def _body(response: requests.Response, limit: int, ends: float) -> bytes:
    data = bytearray()
    for chunk in response.iter_content(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise _Failed(f"answer larger than {limit} bytes")
        if time.monotonic() > ends:
            raise _TimedOut("answer too slow: past the deadline")
    return bytes(data)


def probe(url: str, *, timeout: float = 5.0) -> bool:
    """True if ``url`` answers like a trustless gateway (see ``probe_failure``)."""
    return probe_failure(url, timeout=timeout) is None


def probe_failure(url: str, *, timeout: float = 5.0) -> str | None:
    """Why ``url`` does not answer like a trustless gateway, or ``None`` when it does:
    ``bafkqaaa`` (the empty block, inlined in its CID, so no gateway has to look for it) must
    come back as an empty 200 ``format=raw`` response."""
    try:
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                f"{url.rstrip('/')}/ipfs/bafkqaaa?format=raw",
                headers={"Accept": RAW_TYPE},
                timeout=(timeout, timeout),
            )
    except requests.RequestException as exc:
        return reason(exc)
    if response.status_code != 200:
        return f"HTTP {response.status_code} for the empty block"
    if response.content != b"":
        return "answered the empty block with content: not a trustless gateway"
    return None
