"""Decode any image reference to RGB, or say precisely why it cannot be used.

Convertible images (CMYK, RGBA, palette, grayscale, 16-bit) are converted and reported as
`converted`; only images that cannot be decoded or are unfit (tiny, decompression bombs) are
`skipped`, with a reason, so a pre-tokenization run never stops on bad data.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PIL import Image, UnidentifiedImageError

from data_recipes.loaders.raw import ImageRef

DEFAULT_MIN_SIDE = 8
DEFAULT_MAX_PIXELS = 64 * 1024 * 1024   # far above any training image, far below a bomb


@dataclass
class DecodeResult:
    image: Optional[Image.Image]    # RGB, or None when skipped
    status: str                     # "ok" | "converted" | "skipped"
    detail: str = ""                # original mode when converted, reason when skipped


def _skip(reason: str) -> DecodeResult:
    return DecodeResult(None, "skipped", reason)


def _open(ref: ImageRef, max_pixels: int) -> Image.Image:
    if isinstance(ref, Image.Image):
        return ref
    if isinstance(ref, (bytes, bytearray)):
        return Image.open(io.BytesIO(ref))
    return Image.open(Path(ref))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        # Composite on white: dropping alpha would turn transparent regions into arbitrary colours.
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def decode_image(ref: ImageRef, min_side: int = DEFAULT_MIN_SIDE, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodeResult:
    if ref is None:
        return _skip("missing")
    if isinstance(ref, (bytes, bytearray)) and len(ref) == 0:
        return _skip("empty")
    if isinstance(ref, (str, Path)):
        if not Path(ref).exists():
            return _skip("file_not_found")
        if Path(ref).stat().st_size == 0:
            return _skip("empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = _open(ref, max_pixels)
            width, height = image.size   # header only: check size before decoding pixels
            if width * height > max_pixels:
                return _skip(f"too_large:{width}x{height}")
            if min(width, height) < min_side:
                return _skip(f"too_small:{width}x{height}")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return _skip(f"decompression_bomb:{exc}")
    except UnidentifiedImageError:
        return _skip("not_an_image")
    except (OSError, SyntaxError, ValueError) as exc:   # truncated data, broken chunks
        return _skip(f"truncated_or_corrupt:{exc}")
    if image.mode == "RGB":
        return DecodeResult(image, "ok")
    mode = image.mode
    try:
        return DecodeResult(_to_rgb(image), "converted", mode)
    except (OSError, ValueError) as exc:
        return _skip(f"unconvertible_mode:{mode}:{exc}")
