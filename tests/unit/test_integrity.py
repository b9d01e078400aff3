from __future__ import annotations

import base64
import hashlib

from ipnpm.npm.integrity import Integrity, IntegrityHasher


def _sri(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def test_strongest_algorithm_decides() -> None:
    data = b"tarball"
    mixed = f"{_sri('sha1', b'other')} {_sri('sha512', data)}"
    hasher = IntegrityHasher(Integrity.parse(mixed))
    hasher.update(data)
    assert hasher.matches()
    assert hasher.sha512() == _sri("sha512", data)


def test_mismatch_and_legacy_sha1() -> None:
    hasher = IntegrityHasher(Integrity.parse(_sri("sha1", b"a")))
    hasher.update(b"b")
    assert not hasher.matches()
    assert hasher.got() == _sri("sha1", b"b")
    assert Integrity.parse("md5-xyz") is None
