"""Hugging Face `datasets` sources: a hub name (optionally streaming) or a save_to_disk folder."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source


def _open(source: Source, base: Path):
    import datasets

    local = base / source.path
    if local.is_dir() and ((local / "dataset_info.json").exists() or (local / "dataset_dict.json").exists()):
        data = datasets.load_from_disk(str(local))
        return data[source.split] if isinstance(data, datasets.DatasetDict) else data
    return datasets.load_dataset(source.path, split=source.split, streaming=source.streaming)


def _image(value):
    # datasets' Image feature gives PIL images; undecoded ones are {"bytes", "path"} dicts.
    if isinstance(value, dict):
        return value.get("bytes") or value.get("path")
    return value


def iter_hf(source: Source, base: Path) -> Iterator[RawSample]:
    o = source.options
    for i, row in enumerate(_open(source, base)):
        yield RawSample(source=source.name, key=str(row.get("id", i)), image=_image(row.get(o.image_field)),
                        caption=row.get(o.caption_field), long_caption=row.get(o.long_caption_field),
                        text=row.get(o.text_field), conversations=row.get(o.conversations_field),
                        meta={"data_type": row["data_type"]} if "data_type" in row else {})
