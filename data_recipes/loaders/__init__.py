"""Loader registry: `iter_source(source, base)` yields the RawSamples of one recipe source,
after the source's percentage subset and max_samples cap."""
from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Iterator, Optional

from data_recipes.loaders.raw import RawSample, keep_by_percentage
from data_recipes.recipe import Source


def _rows(source: Source, base: Path) -> Iterator[RawSample]:
    if source.loader == "demo":
        from data_recipes.loaders.demo_loader import iter_demo
        return iter_demo(source)
    if source.loader == "pydoc_text":
        from data_recipes.loaders.pydoc_text import iter_pydoc_text
        return iter_pydoc_text(source)
    if source.loader == "hf":
        from data_recipes.loaders.hf_loader import iter_hf
        return iter_hf(source, base)
    if source.loader == "webdataset":
        from data_recipes.loaders.tar_loader import iter_tar_shards
        return iter_tar_shards(source, base)
    if source.loader == "llava_json":
        from data_recipes.loaders.json_loaders import iter_llava_json
        return iter_llava_json(source, base)
    if source.loader == "jsonl":
        from data_recipes.loaders.json_loaders import iter_jsonl
        return iter_jsonl(source, base)
    raise ValueError(f"source {source.name!r} (recipe line {source.line}): unknown loader {source.loader!r}")


def iter_source(source: Source, base: Optional[Path] = None) -> Iterator[RawSample]:
    """Rows of `source`; relative paths resolve against `base` (the recipe's folder)."""
    rows = (r for r in _rows(source, Path(base or ".")) if keep_by_percentage(source.name, r.key, source.percentage))
    return islice(rows, source.max_samples) if source.max_samples is not None else rows


__all__ = ["RawSample", "iter_source"]
