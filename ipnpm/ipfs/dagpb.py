"""The dag-pb codec (0x70): PBNode {Links=2, Data=1}, PBLink {Hash=1, Name=2, Tsize=3}."""

from __future__ import annotations

from dataclasses import dataclass

from ipnpm.ipfs.cid import Cid
from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.protobuf import bytes_field, iter_fields, varint_field


@dataclass(frozen=True, slots=True)
class PBLink:
    hash: Cid
    # None means "field absent". Kubo writes an empty Name on every link of a file node, and
    # the block's bytes (so its CID) depend on it, so the builder passes "" explicitly.
    name: str | None = None
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...] = ()
    data: bytes | None = None


def encode_link(link: PBLink) -> bytes:
    out = bytes_field(1, link.hash.bytes)
    if link.name is not None:
        out += bytes_field(2, link.name.encode("utf-8"))
    if link.tsize is not None:
        out += varint_field(3, link.tsize)
    return out


def encode_node(node: PBNode) -> bytes:
    # Canonical dag-pb puts every Link (field 2) before Data (field 1): a plain protobuf
    # encoder would write field 1 first and give different bytes, hence a different CID.
    parts = [bytes_field(2, encode_link(link)) for link in node.links]
    if node.data is not None:
        parts.append(bytes_field(1, node.data))
    return b"".join(parts)


def decode_link(buf: bytes) -> PBLink:
    fields = list(iter_fields(buf))
    numbers = [number for number, _ in fields]
    # Fields must appear once each, in order, and Hash is mandatory (dag-pb spec, strictness).
    if not numbers or numbers[0] != 1 or numbers != sorted(set(numbers)) or numbers[-1] > 3:
        raise IpfsFormatError(f"malformed dag-pb link (fields {numbers})")
    values = dict(fields)
    raw_hash, name, tsize = values[1], values.get(2), values.get(3)
    if not isinstance(raw_hash, bytes) or isinstance(name, int) or isinstance(tsize, bytes):
        raise IpfsFormatError("dag-pb link field has the wrong wire type")
    cid, used = Cid.from_bytes(raw_hash)
    if used != len(raw_hash):
        raise IpfsFormatError("trailing bytes after a dag-pb link's CID")
    try:
        text = None if name is None else name.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IpfsFormatError("dag-pb link name is not UTF-8") from exc
    return PBLink(cid, text, tsize)


def decode_node(buf: bytes) -> PBNode:
    links: list[PBLink] = []
    data: bytes | None = None
    for number, value in iter_fields(buf):
        if number == 2 and isinstance(value, bytes):
            links.append(decode_link(value))
        elif number == 1 and isinstance(value, bytes) and data is None:
            data = value
        else:
            raise IpfsFormatError(f"unexpected or repeated field {number} in a dag-pb node")
    return PBNode(tuple(links), data)
