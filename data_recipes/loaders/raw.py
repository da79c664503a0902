"""`RawSample`: one row of any source before decoding and tokenization."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from PIL import Image

# An image is kept undecoded as long as possible: bytes (tar member, HF binary), a file path
# (JSON/JSONL sources) or a PIL image (HF Image feature, demo). `data_recipes.images` decodes all.
ImageRef = Union[bytes, str, Image.Image, None]


@dataclass
class RawSample:
    source: str
    key: str                         # provenance: unique and stable within the source
    image: ImageRef = None
    caption: Optional[str] = None
    long_caption: Optional[str] = None
    text: Optional[str] = None
    conversations: Optional[list[dict]] = None
    meta: dict[str, Any] = field(default_factory=dict)


def keep_by_percentage(source_name: str, key: str, percentage: float) -> bool:
    """Deterministic subset of a source (official --percentage) that works for streams of unknown
    length: a row is kept when a hash of its key falls below the percentage."""
    if percentage >= 100:
        return True
    digest = hashlib.blake2b(f"{source_name}/{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 1_000_000 < percentage * 10_000
