"""A folder of deliberately difficult image files, with the outcome each one must have."""
from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

from PIL import Image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming huge dimensions: the header is enough to trip a decompression-bomb guard."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


# name -> (file bytes, expected status, expected detail prefix)
def broken_files() -> dict[str, tuple[bytes, str, str]]:
    rgb = Image.new("RGB", (40, 30), (200, 30, 30))
    jpeg = _encoded(rgb, "JPEG")
    return {
        "good.jpg": (jpeg, "ok", ""),
        "cmyk.jpg": (_encoded(rgb.convert("CMYK"), "JPEG"), "converted", "CMYK"),
        "rgba.png": (_encoded(Image.new("RGBA", (40, 30), (0, 0, 255, 128)), "PNG"), "converted", "RGBA"),
        "gray.png": (_encoded(rgb.convert("L"), "PNG"), "converted", "L"),
        "palette.png": (_encoded(rgb.convert("P"), "PNG"), "converted", "P"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "skipped", "truncated_or_corrupt"),
        "zero.jpg": (b"", "skipped", "empty"),
        "text.jpg": (b"this is not an image at all", "skipped", "not_an_image"),
        "tiny.png": (_encoded(Image.new("RGB", (4, 4)), "PNG"), "skipped", "too_small"),
        "bomb.png": (_png_header_only(30000, 30000), "skipped", "decompression_bomb"),
        "large.png": (_png_header_only(9000, 9000), "skipped", "too_large"),
    }


def write_broken_folder(folder: Path) -> Path:
    """Images plus a JSONL captioning source listing them (and one row whose file is missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, (data, _, _) in broken_files().items():
        (folder / name).write_bytes(data)
        rows.append({"id": name, "image": name, "caption": f"caption of {name}"})
    rows.append({"id": "missing.jpg", "image": "missing.jpg", "caption": "gone"})
    (folder / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "rows.jsonl"
