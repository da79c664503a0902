"""WebDataset-layout tar shards read with the stdlib: members sharing a key form one sample.

`00001.jpg`, `00001.txt`, `00001.json` -> one RawSample; caption fields are looked up as file
extensions first (`txt`), then as keys of the `.json` member.
"""
from __future__ import annotations

import glob
import json
import re
import tarfile
from pathlib import Path
from typing import Iterator

from data_recipes.loaders.raw import RawSample
from data_recipes.recipe import Source

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff")


def expand_shards(pattern: str, base: Path) -> list[Path]:
    """Brace ranges as in webdataset ("{00000..00009}.tar") plus shell globs."""
    match = re.search(r"\{(\d+)\.\.(\d+)\}", pattern)
    if match:
        lo, hi = match.groups()
        names = [pattern[:match.start()] + str(i).zfill(len(lo)) + pattern[match.end():]
                 for i in range(int(lo), int(hi) + 1)]
        return [base / n for n in names]
    return [Path(p) for p in sorted(glob.glob(str(base / pattern)))]


def _group_to_sample(key: str, members: dict[str, bytes], source: Source, shard: str) -> RawSample:
    o = source.options
    fields = json.loads(members["json"]) if "json" in members else {}

    def text(name: str):
        if name in members:
            return members[name].decode("utf-8", errors="replace").strip()
        return fields.get(name)

    image = next((members[e] for e in IMAGE_EXTENSIONS if e in members), None)
    return RawSample(source=source.name, key=f"{shard}/{key}", image=image, caption=text(o.caption_field),
                     long_caption=text(o.long_caption_field), text=text(o.text_field), meta={"shard": shard})


def iter_tar_shards(source: Source, base: Path) -> Iterator[RawSample]:
    shards = expand_shards(source.path, base)
    if not shards:
        raise FileNotFoundError(f"source {source.name!r}: no tar shards match {source.path!r} under {base}")
    for shard in shards:
        key, members = None, {}
        with tarfile.open(shard, "r|*") as tar:   # streaming mode: shards are read once, in order
            for info in tar:
                if not info.isfile():
                    continue
                name = Path(info.name).name
                member_key, _, ext = name.partition(".")
                if member_key != key and members:
                    yield _group_to_sample(key, members, source, shard.name)
                    members = {}
                key = member_key
                members[ext.lower()] = tar.extractfile(info).read()
        if members:
            yield _group_to_sample(key, members, source, shard.name)
