"""The UnixFS `Data` message carried in a dag-pb node's Data field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ipnpm.ipfs.errors import IpfsFormatError
from ipnpm.ipfs.protobuf import bytes_field, iter_fields, varint_field
from ipnpm.ipfs.varint import decode_varint


class DataType(IntEnum):
    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


_TYPES = frozenset(DataType)


@dataclass(frozen=True, slots=True)
class UnixFSData:
    type: DataType
    data: bytes | None = None
    filesize: int | None = None
    blocksizes: tuple[int, ...] = ()
    hash_type: int | None = None
    fanout: int | None = None


def encode_unixfs(msg: UnixFSData) -> bytes:
    out = [varint_field(1, msg.type)]
    if msg.data is not None:
        out.append(bytes_field(2, msg.data))
    if msg.filesize is not None:
        out.append(varint_field(3, msg.filesize))
    # Go writes `repeated uint64 blocksizes` unpacked (proto2): one key per value.
    out.extend(varint_field(4, size) for size in msg.blocksizes)
    if msg.hash_type is not None:
        out.append(varint_field(5, msg.hash_type))
    if msg.fanout is not None:
        out.append(varint_field(6, msg.fanout))
    return b"".join(out)


def _unpack_varints(buf: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(buf):
        value, pos = decode_varint(buf, pos)
        values.append(value)
    return values


def decode_unixfs(buf: bytes) -> UnixFSData:
    fields: dict[int, int | bytes] = {}
    blocksizes: list[int] = []
    for number, value in iter_fields(buf):
        if number == 4:
            # Accept the packed form too: other encoders (and proto3 tooling) write it.
            blocksizes.extend([value] if isinstance(value, int) else _unpack_varints(value))
        elif number in fields or number > 8:
            raise IpfsFormatError(f"unexpected or repeated field {number} in UnixFS data")
        else:
            fields[number] = value  # 7 (mode) and 8 (mtime) are kept but not interpreted
    kind, data = fields.get(1), fields.get(2)
    filesize, hash_type, fanout = fields.get(3), fields.get(5), fields.get(6)
    if not isinstance(kind, int) or kind not in _TYPES:
        raise IpfsFormatError(f"UnixFS data has an invalid Type {kind!r}")
    if isinstance(data, int) or any(isinstance(v, bytes) for v in (filesize, hash_type, fanout)):
        raise IpfsFormatError("UnixFS data field has the wrong wire type")
    return UnixFSData(
        DataType(kind),
        data,
        filesize if isinstance(filesize, int) else None,
        tuple(blocksizes),
        hash_type if isinstance(hash_type, int) else None,
        fanout if isinstance(fanout, int) else None,
    )
