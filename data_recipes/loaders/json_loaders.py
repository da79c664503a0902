"""LLaVA-style JSON conversations and JSONL rows (image paths relative to `image_folder`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Optional

from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source


def _image_path(value: Optional[str], source: Source, base: Path, data_file: Path) -> Optional[str]:
    """image_folder (relative to the recipe folder) if set, else the data file's own folder."""
    if not value:
        return None
    folder = base / source.options.image_folder if source.options.image_folder else data_file.parent
    return str(folder / value)


def _row_to_sample(row: dict, key: str, source: Source, base: Path, data_file: Path) -> RawSample:
    o = source.options
    return RawSample(source=source.name, key=str(row.get("id", key)),
                     image=_image_path(row.get(o.image_field), source, base, data_file),
                     caption=row.get(o.caption_field), long_caption=row.get(o.long_caption_field),
                     text=row.get(o.text_field), conversations=row.get(o.conversations_field))


def iter_llava_json(source: Source, base: Path) -> Iterator[RawSample]:
    """A JSON list of {"id", "image", "conversations": [{"from": "human"|"gpt", "value"}]}."""
    path = base / source.path
    rows = json.loads(path.read_text())
    if not isinstance(rows, list):
        raise ValueError(f"{path}: a LLaVA JSON file must hold a list of samples, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        yield _row_to_sample(row, str(i), source, base, path)


def iter_jsonl(source: Source, base: Path) -> Iterator[RawSample]:
    for path in sorted(base.glob(source.path)) if any(c in source.path for c in "*?[") else [base / source.path]:
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path}:{line_no}: not a JSON object: {exc}") from None
                    yield _row_to_sample(row, f"{path.name}:{line_no}", source, base, path)
