"""Request body framing (proxy/bodies.py): what is read, what is refused, and when it ends."""

from __future__ import annotations

import io
from email.message import Message

import pytest

from ipnpm.proxy.bodies import BadRequest, Body, open_body


def _open(raw: bytes, **headers: str) -> tuple[Body | None, list[str]]:
    message: Message[str, str] = Message()
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    ended: list[str] = []
    return open_body(message, io.BytesIO(raw), lambda: ended.append("end")), ended


def _read_all(body: Body | None) -> bytes:
    assert body is not None
    return b"".join(body.pieces())


def test_a_chunked_body_with_extensions_and_trailers() -> None:
    raw = b"3;name=x\r\nabc\r\n1\r\nd\r\n0\r\nX-Trailer: y\r\n\r\nNEXT REQUEST"
    body, ended = _open(raw, Transfer_Encoding="chunked")
    assert _read_all(body) == b"abcd"
    assert body is not None and body.done and ended == ["end"]


def test_a_sized_body_ends_at_its_length() -> None:
    body, ended = _open(b"hello, and the next request", Content_Length="5")
    assert _read_all(body) == b"hello" and ended == ["end"]


def test_no_body_ends_at_once() -> None:
    body, ended = _open(b"", Content_Length="0")
    assert body is None and ended == ["end"]


@pytest.mark.parametrize("size", [b"0x3", b"+3", b"-1", b"3_0", b"zz", b""])
def test_chunk_sizes_int_would_take_are_refused(size: bytes) -> None:
    body, _ = _open(size + b"\r\nabc\r\n0\r\n\r\n", Transfer_Encoding="chunked")
    with pytest.raises(BadRequest) as refused:
        _read_all(body)
    assert refused.value.status == 400


def test_a_chunk_longer_than_its_size_is_refused() -> None:
    body, _ = _open(b"2\r\nabc\r\n0\r\n\r\n", Transfer_Encoding="chunked")
    with pytest.raises(BadRequest, match="longer than its size"):
        _read_all(body)


@pytest.mark.parametrize(
    ("length", "status"), [("\u00b2", 400), ("-1", 400), ("1e3", 400), ("9" * 5000, 413)]
)
def test_bad_content_lengths(length: str, status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        _open(b"", Content_Length=length)
    assert refused.value.status == status


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_cut_short_is_a_400(chunked: bool) -> None:
    raw, headers = (b"10\r\nabc", {"Transfer_Encoding": "chunked"}) if chunked else (b"abc", {})
    body, ended = _open(raw, **({"Content_Length": "16"} | headers))
    with pytest.raises(BadRequest, match="ended early") as refused:
        _read_all(body)
    assert refused.value.status == 400 and ended == []
