"""Random-access image-text sources: `len(src)` and `src.raw(i) -> (image ref, caption)`.

Image refs stay undecoded (PIL image, bytes or file path) until `data_recipes.images.decode_image`
turns them into RGB or a skip reason, so one bad file never stops a run.
"""
from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import List, Tuple, Union

from PIL import Image

from .config import DataConfig

ImageRef = Union[Image.Image, bytes, str, None]
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp")


class DemoSource:
    """The generated shapes (data_recipes.demo), train split, drawn once and kept in memory."""

    def __init__(self, cfg: DataConfig):
        from data_recipes.demo.shapes import demo_items
        self.items = [(it.image, it.long_caption) for it in
                      demo_items(cfg.demo_num_samples, "train", cfg.demo_seed, cfg.image_size)]

    def __len__(self) -> int:
        return len(self.items)

    def raw(self, i: int) -> Tuple[ImageRef, str]:
        return self.items[i]


class FolderSource:
    """A folder of images plus a JSONL file of {"image": relative path, "caption": text} rows."""

    def __init__(self, cfg: DataConfig):
        root = Path(cfg.path)
        captions = root / cfg.captions_file
        if not captions.is_file():
            raise FileNotFoundError(f"folder source {root}: no captions file {captions.name} "
                                    "(one JSON object per line with 'image' and 'caption')")
        self.rows: List[Tuple[str, str]] = []
        for line_no, line in enumerate(captions.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                self.rows.append((str(root / row[cfg.image_field]), str(row[cfg.caption_field])))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{captions}:{line_no}: expected a JSON object with "
                                 f"{cfg.image_field!r} and {cfg.caption_field!r}: {exc}") from None
        if not self.rows:
            raise ValueError(f"{captions} lists no images")

    def __len__(self) -> int:
        return len(self.rows)

    def raw(self, i: int) -> Tuple[ImageRef, str]:
        return self.rows[i]


class WebDatasetSource:
    """DataComp-style tar shards (`key.jpg` + `key.txt`), indexed once with the stdlib so that any
    sample can be read by offset: deterministic shuffling and exact resume need random access."""

    def __init__(self, cfg: DataConfig):
        from data_recipes.loaders.tar_loader import expand_shards
        pattern = Path(cfg.path)
        shards = [p for p in expand_shards(pattern.name, pattern.parent) if p.is_file()]
        if not shards:
            raise FileNotFoundError(f"no tar shards match {cfg.path}")
        self.index: List[Tuple[Path, Tuple[int, int], Tuple[int, int]]] = []
        for shard in shards:
            groups: dict = {}
            with tarfile.open(shard) as tar:
                for info in tar:
                    if info.isfile():
                        key, _, ext = Path(info.name).name.partition(".")
                        groups.setdefault(key, {})[ext.lower()] = (info.offset_data, info.size)
            for key in sorted(groups):
                members = groups[key]
                image = next((members[e] for e in IMAGE_EXTENSIONS if e in members), None)
                text = members.get(cfg.caption_field) or members.get("txt")
                if image is not None and text is not None:
                    self.index.append((shard, image, text))
        if not self.index:
            raise ValueError(f"the shards {cfg.path} hold no (image, txt) pairs")

    def __len__(self) -> int:
        return len(self.index)

    def raw(self, i: int) -> Tuple[ImageRef, str]:
        shard, (img_off, img_size), (txt_off, txt_size) = self.index[i]
        with open(shard, "rb") as f:
            f.seek(img_off)
            image = f.read(img_size)
            f.seek(txt_off)
            caption = f.read(txt_size).decode("utf-8", errors="replace").strip()
        return image, caption


class HFSource:
    """A Hugging Face image-text dataset: a `save_to_disk` folder or a hub/local name."""

    def __init__(self, cfg: DataConfig):
        import datasets
        path = Path(cfg.path)
        if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
            data = datasets.load_from_disk(str(path))
            data = data[cfg.hf_split] if isinstance(data, datasets.DatasetDict) else data
        else:
            data = datasets.load_dataset(cfg.path, split=cfg.hf_split)
        for name in (cfg.image_field, cfg.caption_field):
            if name not in data.column_names:
                raise ValueError(f"HF dataset {cfg.path} has no column {name!r}; columns: {data.column_names}")
        self.data, self.cfg = data, cfg

    def __len__(self) -> int:
        return len(self.data)

    def raw(self, i: int) -> Tuple[ImageRef, str]:
        row = self.data[i]
        image = row[self.cfg.image_field]
        if isinstance(image, dict):   # undecoded Image feature
            image = image.get("bytes") or image.get("path")
        return image, str(row[self.cfg.caption_field])


def build_source(cfg: DataConfig):
    cfg.validate()
    from .scene_source import ScenesPhotosSource
    return {"scenes": ScenesPhotosSource, "demo": DemoSource, "folder": FolderSource, "webdataset": WebDatasetSource, "hf": HFSource}[cfg.source](cfg)
