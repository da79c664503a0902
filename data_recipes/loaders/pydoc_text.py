"""`pydoc_text` loader: real English prose with nothing to download - the Python documentation
topics that CPython ships (`pydoc_data.topics`), cut into paragraphs-sized text rows. A text-only
source that keeps a pretrained LLM's language ability during multimodal training (the held-out
perplexity text, The Tempest, is a different text)."""
from __future__ import annotations

from typing import Iterator

from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source

CHUNK_CHARS = 1200


def iter_pydoc_text(source: Source) -> Iterator[RawSample]:
    from pydoc_data.topics import topics
    for name in sorted(topics):
        text = topics[name].strip()
        for start in range(0, len(text), CHUNK_CHARS):
            chunk = text[start:start + CHUNK_CHARS].strip()
            if len(chunk) >= 200:
                yield RawSample(source=source.name, key=f"{name}-{start}", text=chunk)
