"""Pre-tokenized shard files: one `.npz` per shard, written atomically, and a reader.

A shard holds `codes` (N_images, num_codebooks, L) uint16 and `meta`, the UTF-8 JSON of
{"samples": [...], "rejects": [...], "stats": {...}}. Each sample record carries its text fields,
provenance (source, key) and `image` = row in `codes` or -1. Being a single file, a shard is
written to a temporary name and renamed: readers and resumed runs only ever see complete shards.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np

SHARD_PATTERN = re.compile(r"shard-r(\d+)-(\d+)\.npz$")


def shard_name(rank: int, index: int) -> str:
    return f"shard-r{rank:03d}-{index:06d}.npz"


def write_shard(path: Path, codes: np.ndarray, samples: list[dict], rejects: list[dict], stats: dict) -> None:
    if codes.size and int(codes.max()) > np.iinfo(np.uint16).max:
        raise ValueError(f"{path}: code {int(codes.max())} does not fit uint16")
    meta = json.dumps({"samples": samples, "rejects": rejects, "stats": stats}, ensure_ascii=False)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as f:
        np.savez(f, codes=codes.astype(np.uint16), meta=np.frombuffer(meta.encode("utf-8"), dtype=np.uint8))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)   # atomic on POSIX: the shard appears complete or not at all


@dataclass
class Shard:
    codes: np.ndarray
    samples: list[dict]
    rejects: list[dict]
    stats: dict


def read_shard(path: Path) -> Shard:
    with np.load(path) as data:
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        return Shard(data["codes"], meta["samples"], meta["rejects"], meta["stats"])


def list_shards(folder: Path) -> list[Path]:
    """Complete shards of a source folder, ordered by (rank, index); temp files are ignored."""
    found = [(p, SHARD_PATTERN.search(p.name)) for p in Path(folder).glob("shard-r*-*.npz")]
    return [p for p, m in sorted(((p, m) for p, m in found if m), key=lambda x: (int(x[1][1]), int(x[1][2])))]


@lru_cache(maxsize=8)
def _cached(path: str) -> Shard:
    return read_shard(Path(path))


class PretokenizedSource:
    """Random access to the samples of one pre-tokenized source folder.

    `record(i)` is the sample dict with `codes` replaced by the (K, L) int64 array or None.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.paths = list_shards(self.folder)
        if not self.paths:
            raise FileNotFoundError(f"no pre-tokenized shards (shard-r*-*.npz) in {self.folder}")
        counts = [len(read_shard(p).samples) for p in self.paths]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def record(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {self.folder} ({len(self)} samples)")
        shard_index = int(np.searchsorted(self.offsets, index, side="right") - 1)
        shard = _cached(str(self.paths[shard_index]))
        record = dict(shard.samples[index - int(self.offsets[shard_index])])
        image = record.get("image", -1)
        record["codes"] = shard.codes[image].astype(np.int64) if image >= 0 else None
        return record

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self.record(i)


def iter_rejects(folder: Path) -> Iterator[dict]:
    for path in list_shards(folder):
        yield from read_shard(path).rejects


def shard_stats(folder: Path) -> dict[str, int]:
    """Sum of the per-shard counters (kept, converted, skipped, ...)."""
    total: dict[str, int] = {}
    for path in list_shards(folder):
        for k, v in read_shard(path).stats.items():
            total[k] = total.get(k, 0) + v
    return total
