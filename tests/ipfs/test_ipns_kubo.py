"""Our IPNS code against a real Kubo: we accept what Kubo publishes, Kubo accepts what we create.

Kubo 0.43.1 hands out a name's raw signed record with `name/get` (application/vnd.ipfs.ipns-
record) and takes one with `name/put`, validating it (signature, size, V1/V2 copies, and a
sequence higher than the one it holds). `routing/get` answers JSON with the record base64'd in
`Extra`; `name/get` is the simpler route. The node keeps the test profile's default routing:
with `Routing.Type=none` there is no value store to publish into.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from ipnpm.ipfs.ipns import (
    IpnsError,
    IpnsRollbackError,
    SequenceGuard,
    create_record,
    name_for_key,
    verify_record,
)
from tests.support.kubo import KuboError, KuboNode, kubo_node

pytestmark = pytest.mark.kubo

FIXTURES = Path("/work/shared/fixtures/ipfs/ipns")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    with kubo_node(tmp_path_factory.mktemp("kubo-ipns")) as running:
        yield running


def _add(node: KuboNode, data: bytes) -> str:
    response = node.rpc("add", files={"file": data}, **{"cid-version": 1, "raw-leaves": True})
    return str(response.json()["Hash"])


def _publish(node: KuboNode, key: str, value: str, *, v1compat: bool = True) -> str:
    result = node.rpc(
        "name/publish",
        value,
        key=key,
        allow_offline=True,  # no peers on a test node; the record still lands in its store
        lifetime="2h",
        ttl="90s",
        v1compat=v1compat,
    ).json()
    assert result["Value"] == value
    return str(result["Name"])


def test_kubo_published_records_verify(node: KuboNode, tmp_path: Path) -> None:
    name = node.rpc("key/gen", "index-v1", type="ed25519").json()["Id"]
    first = f"/ipfs/{_add(node, b'registry index, version 1')}"
    before = datetime.now(UTC)
    assert _publish(node, "index-v1", first) == name

    raw = node.rpc("name/get", name).content
    record = verify_record(name, raw)
    assert (record.name, record.value, record.sequence, record.raw) == (name, first, 0, raw)
    assert record.ttl_ns == 90 * 10**9
    assert before + timedelta(hours=2) <= record.validity
    assert record.validity <= datetime.now(UTC) + timedelta(hours=2)
    assert str(record.value_cid()) == first.removeprefix("/ipfs/")

    # The JSON route serves the same bytes.
    extra = node.rpc("routing/get", f"/ipns/{name}").json()["Extra"]
    assert base64.b64decode(extra) == raw

    # A new value gets a higher sequence (re-publishing the same value keeps it).
    second = f"/ipfs/{_add(node, b'registry index, version 2')}"
    _publish(node, "index-v1", second)
    newer = verify_record(name, node.rpc("name/get", name).content)
    assert (newer.value, newer.sequence) == (second, 1)

    guard = SequenceGuard(tmp_path / "seq.json")
    guard.check(name, record)
    guard.check(name, newer)
    with pytest.raises(IpnsRollbackError, match="sequence 0, older than sequence 1"):
        guard.check(name, record)

    # A record checked against someone else's name is refused.
    other = node.rpc("key/gen", "someone-else", type="ed25519").json()["Id"]
    with pytest.raises(IpnsError, match="does not verify"):
        verify_record(other, raw)


def test_kubo_v2_only_record_verifies(node: KuboNode) -> None:
    name = node.rpc("key/gen", "lean", type="ed25519").json()["Id"]
    value = f"/ipfs/{_add(node, b'lean record')}"
    _publish(node, "lean", value, v1compat=False)
    raw = node.rpc("name/get", name).content
    inspected = node.rpc("name/inspect", files={"file": raw}).json()
    assert inspected["SignatureType"] == "V2"
    assert verify_record(name, raw).value == value


def test_our_records_are_accepted_and_resolved_by_kubo(node: KuboNode) -> None:
    key = Ed25519PrivateKey.generate()
    name = name_for_key(key.public_key())
    value = f"/ipfs/{_add(node, b'published from Python')}"
    validity = datetime.now(UTC) + timedelta(hours=1)
    raw = create_record(key, value, sequence=5, validity=validity, ttl_ns=30 * 10**9)

    inspected = node.rpc("name/inspect", files={"file": raw}, verify=name).json()
    assert inspected["Validation"]["Valid"] is True, inspected
    assert inspected["SignatureType"] == "V1+V2"
    assert inspected["Entry"]["Sequence"] == 5

    node.rpc("name/put", name, files={"file": raw}, allow_offline=True)
    assert node.rpc("name/resolve", name).json()["Path"] == value
    assert node.rpc("name/get", name).content == raw

    # Kubo enforces rollback protection on put too; a V2-only successor is accepted.
    with pytest.raises(KuboError, match="sequence"):
        node.rpc("name/put", name, files={"file": _older(key, value)}, allow_offline=True)
    lean = create_record(key, value, sequence=6, validity=validity, ttl_ns=0, v1_compat=False)
    node.rpc("name/put", name, files={"file": lean}, allow_offline=True)
    assert verify_record(name, node.rpc("name/get", name).content).sequence == 6

    # Kubo derives the same name from the same key.
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    imported = node.rpc("key/import", "ours", files={"file": pem}, format="pem-pkcs8-cleartext")
    assert imported.json()["Id"] == name


def _older(key: Ed25519PrivateKey, value: str) -> bytes:
    return create_record(
        key, value, sequence=4, validity=datetime.now(UTC) + timedelta(hours=1), ttl_ns=0
    )


def test_kubo_agrees_on_the_spec_vectors(node: KuboNode) -> None:
    """name/put accepts exactly the vectors we accept."""
    now = datetime(2024, 1, 1, tzinfo=UTC)
    ours: dict[str, bool] = {}
    kubos: dict[str, bool] = {}
    for path in sorted(FIXTURES.glob("*.ipns-record")):
        name, raw = path.name.split("_")[0], path.read_bytes()
        ours[path.name] = kubos[path.name] = True
        try:
            verify_record(name, raw, now=now)
        except IpnsError:
            ours[path.name] = False
        try:
            node.rpc("name/put", name, files={"file": raw}, allow_offline=True)
        except KuboError:
            kubos[path.name] = False
    assert ours == kubos
    assert sum(ours.values()) == 3
