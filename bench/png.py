"""A tiny RGB canvas with a 5x7 bitmap font, saved as PNG with zlib: enough for a bar chart
without a plotting stack to install."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

Color = tuple[int, int, int]

# Upper-case 5x7 glyphs, one hex byte per row, bit 4 the leftmost pixel.
_FONT_ROWS = """
0 0E 11 13 15 19 11 0E|1 04 0C 04 04 04 04 0E|2 0E 11 01 02 04 08 1F|3 1F 02 04 02 01 11 0E
4 02 06 0A 12 1F 02 02|5 1F 10 1E 01 01 11 0E|6 06 08 10 1E 11 11 0E|7 1F 01 02 04 08 08 08
8 0E 11 11 0E 11 11 0E|9 0E 11 11 0F 01 02 0C|A 0E 11 11 1F 11 11 11|B 1E 11 11 1E 11 11 1E
C 0E 11 10 10 10 11 0E|D 1E 11 11 11 11 11 1E|E 1F 10 10 1E 10 10 1F|F 1F 10 10 1E 10 10 10
G 0E 11 10 17 11 11 0F|H 11 11 11 1F 11 11 11|I 0E 04 04 04 04 04 0E|J 07 02 02 02 02 12 0C
K 11 12 14 18 14 12 11|L 10 10 10 10 10 10 1F|M 11 1B 15 15 11 11 11|N 11 11 19 15 13 11 11
O 0E 11 11 11 11 11 0E|P 1E 11 11 1E 10 10 10|Q 0E 11 11 11 15 12 0D|R 1E 11 11 1E 14 12 11
S 0F 10 10 0E 01 01 1E|T 1F 04 04 04 04 04 04|U 11 11 11 11 11 11 0E|V 11 11 11 11 11 0A 04
W 11 11 11 15 15 15 0A|X 11 11 0A 04 0A 11 11|Y 11 11 0A 04 04 04 04|Z 1F 01 02 04 08 10 1F
. 00 00 00 00 00 0C 0C|, 00 00 00 00 0C 04 08|- 00 00 00 1F 00 00 00|: 00 0C 0C 00 0C 0C 00
( 02 04 08 08 08 04 02|) 08 04 02 02 02 04 08|/ 00 01 02 04 08 10 00|% 18 19 02 04 08 13 03
+ 00 04 04 1F 04 04 00|= 00 00 1F 00 1F 00 00|_ 00 00 00 00 00 00 1F|< 02 04 08 10 08 04 02
> 08 04 02 01 02 04 08|? 0E 11 01 02 04 00 04|; 00 0C 0C 00 0C 04 08
"""
_GLYPHS: dict[str, tuple[int, ...]] = {
    entry[0]: tuple(int(row, 16) for row in entry[2:].split())
    for line in _FONT_ROWS.strip().splitlines()
    for entry in line.split("|")
}
_GLYPHS[" "] = (0,) * 7
GLYPH_WIDTH, GLYPH_HEIGHT, ADVANCE = 5, 7, 6


class Canvas:
    def __init__(self, width: int, height: int, background: Color = (255, 255, 255)) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, width: int, height: int, color: Color) -> None:
        x0, x1 = max(0, x), min(self.width, x + width)
        if x1 <= x0:
            return
        row = bytes(color) * (x1 - x0)
        for line in range(max(0, y), min(self.height, y + height)):
            start = (line * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 2) -> int:
        """Draw upper-cased text with its top-left corner at (x, y); returns the end x."""
        for char in text.upper():
            rows = _GLYPHS.get(char, _GLYPHS["?"])
            for dy, bits in enumerate(rows):
                for dx in range(GLYPH_WIDTH):
                    if bits & (1 << (GLYPH_WIDTH - 1 - dx)):
                        self.rect(x + dx * scale, y + dy * scale, scale, scale, color)
            x += ADVANCE * scale
        return x

    def save(self, path: Path) -> None:
        path.write_bytes(encode_png(self.width, self.height, bytes(self.pixels)))


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * ADVANCE * scale


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """8-bit RGB, no interlace, every row with filter 0."""
    stride = width * 3
    raw = b"".join(b"\x00" + rgb[row * stride : (row + 1) * stride] for row in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
