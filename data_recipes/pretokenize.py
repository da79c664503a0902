"""Offline pre-tokenization: every image of a recipe -> frozen UniTok codes, in resumable shards.

    python -m data_recipes.pretokenize --recipe demo --unitok PATH --out DIR [--max-samples N]
        [--batch-size 32] [--workers 0] [--shard-size 1000]

Rank and world size come from RANK / WORLD_SIZE (torchrun): rank r takes rows r, r+W, r+2W, ...
of each source. Shard k of a rank holds that rank's rows [k*S, (k+1)*S) - bad rows included in
the count - so a resumed run knows which rows a finished shard covers and skips them without
decoding. Output: DIR/<source>/shard-r<rank>-<k>.npz plus, per rank, bad_images-r<rank>.jsonl and
summary-r<rank>.json once the source is complete.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
from dataclasses import dataclass
from itertools import islice
from multiprocessing import Pool
from pathlib import Path
from typing import Iterable, Iterator, Optional, Protocol

import numpy as np
import torch
from tqdm import tqdm

from data_recipes.images import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE, decode_image
from data_recipes.loaders import RawSample, iter_source
from data_recipes.recipe import Recipe, Source, load_recipe
from data_recipes.shards import iter_rejects, shard_name, shard_stats, write_shard
from mllm.constants import IMAGE_PLACEHOLDER
from unitok.devices import add_device_arguments

IMAGE_SAMPLE_TYPES = ("t2i", "i2t", "image_caption")


class CodeModel(Protocol):
    def img_to_idx(self, images: torch.Tensor) -> torch.Tensor: ...


@dataclass
class PretokenizeConfig:
    out: Path
    batch_size: int = 32
    workers: int = 0
    shard_size: int = 1000
    max_samples: Optional[int] = None
    rank: int = 0
    world_size: int = 1
    min_side: int = DEFAULT_MIN_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS
    crash_after_shards: Optional[int] = None   # testing: SIGKILL this process once it has written this many


def needs_image(source: Source, raw: RawSample) -> bool:
    if source.sample_type in IMAGE_SAMPLE_TYPES:
        return True
    if source.sample_type == "instruction":
        return any(IMAGE_PLACEHOLDER in turn.get("value", "") for turn in raw.conversations or [])
    return False


# Worker-side state: the processor and limits are sent once per worker, not once per image.
_WORKER: dict = {}


def _init_worker(processor, min_side: int, max_pixels: int) -> None:
    _WORKER.update(processor=processor, min_side=min_side, max_pixels=max_pixels)


def _prepare(ref) -> tuple[Optional[np.ndarray], str, str]:
    """Decode and resize one image to uint8 pixels (a quarter of the bytes of floats to send back)."""
    result = decode_image(ref, _WORKER["min_side"], _WORKER["max_pixels"])
    if result.image is None:
        return None, result.status, result.detail
    try:
        return _WORKER["processor"].process_uint8(result.image), result.status, result.detail
    except Exception as exc:  # a processor failure is one bad image, not a failed run
        return None, "skipped", f"preprocess_failed:{exc}"


def _record(source: Source, raw: RawSample, image_row: int, status: str) -> dict:
    return {"source": source.name, "key": raw.key, "sample_type": source.sample_type, "caption": raw.caption,
            "long_caption": raw.long_caption, "text": raw.text, "conversations": raw.conversations,
            "image": image_row, "image_status": status, "meta": raw.meta}


class ShardEncoder:
    """Decodes, preprocesses and encodes the rows of one shard."""

    def __init__(self, model: CodeModel, processor, config: PretokenizeConfig):
        self.model, self.processor, self.config = model, processor, config
        self.pool = Pool(config.workers, _init_worker, (processor, config.min_side, config.max_pixels)) \
            if config.workers > 0 else None
        if self.pool is None:
            _init_worker(processor, config.min_side, config.max_pixels)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()

    def _prepared(self, refs: list) -> Iterator:
        """Decoded, preprocessed images in order. With workers they arrive while the encoder
        works on earlier batches: the pool runs ahead of the consumer (imap), so decoding and
        resizing overlap encoding instead of preceding it."""
        if self.pool is None:
            return (_prepare(r) for r in refs)
        chunk = max(1, min(16, self.config.batch_size // (2 * self.config.workers)))
        return self.pool.imap(_prepare, refs, chunksize=chunk)

    @torch.no_grad()
    def _encode_batch(self, pixels: list[np.ndarray]) -> np.ndarray:
        device = getattr(self.model, "device", None)   # where the tokenizer runs (--device)
        images = self.processor.uint8_to_pm1(np.stack(pixels))
        return self.model.img_to_idx(images.to(device)).cpu().numpy()

    def encode_rows(self, source: Source, rows: list[RawSample], shard: str):
        wanted = [i for i, raw in enumerate(rows) if needs_image(source, raw)]
        outcome, pending, batches = {}, [], []
        for i, (tensor, status, detail) in zip(wanted, self._prepared([rows[i].image for i in wanted])):
            outcome[i] = (tensor is not None, status, detail)
            if tensor is not None:   # kept images are encoded in row order, batch by batch
                pending.append(tensor)
                if len(pending) == self.config.batch_size:
                    batches.append(self._encode_batch(pending))
                    pending = []
        if pending:
            batches.append(self._encode_batch(pending))
        samples, rejects, kept_images = [], [], 0
        stats = {"rows": len(rows), "kept": 0, "skipped": 0, "converted": 0}
        for i, raw in enumerate(rows):
            image_row, status = -1, "none"
            if i in outcome:
                ok, status, detail = outcome[i]
                if not ok:
                    stats["skipped"] += 1
                    reason = detail.split(":")[0]
                    stats[f"skipped:{reason}"] = stats.get(f"skipped:{reason}", 0) + 1
                    rejects.append({"source": source.name, "key": raw.key, "reason": detail, "shard": shard})
                    continue
                if status == "converted":
                    stats["converted"] += 1
                    stats[f"converted:{detail}"] = stats.get(f"converted:{detail}", 0) + 1
                    status = f"converted:{detail}"
                image_row = kept_images
                kept_images += 1
            stats["kept"] += 1
            samples.append(_record(source, raw, image_row, status))
        codes = np.concatenate(batches) if batches else np.zeros((0, 0, 0), dtype=np.int64)
        return codes, samples, rejects, stats


def _chunks(rows: Iterable[RawSample], size: int) -> Iterator[list[RawSample]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def pretokenize_source(source: Source, base: Path, encoder: ShardEncoder) -> dict[str, int]:
    cfg = encoder.config
    folder = cfg.out / source.name
    folder.mkdir(parents=True, exist_ok=True)
    rows = islice(iter_source(source, base), cfg.rank, cfg.max_samples, cfg.world_size)
    done = written = 0
    bar = tqdm(desc=f"{source.name} r{cfg.rank}", unit="row", dynamic_ncols=True)
    for index, chunk in enumerate(_chunks(rows, cfg.shard_size)):
        path = folder / shard_name(cfg.rank, index)
        if path.exists():   # finished in an earlier run: its rows are already encoded
            done += 1
        else:
            codes, samples, rejects, stats = encoder.encode_rows(source, chunk, path.name)
            write_shard(path, codes, samples, rejects, stats)
            written += 1
            if written == cfg.crash_after_shards:
                os.kill(os.getpid(), signal.SIGKILL)
        bar.update(len(chunk))
        bar.set_postfix(shards_written=written, shards_resumed=done)
    bar.close()
    _write_reports(folder, cfg.rank)
    return {"shards_written": written, "shards_resumed": done}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_reports(folder: Path, rank: int) -> None:
    rejects = [r for r in iter_rejects(folder) if f"shard-r{rank:03d}-" in r["shard"]]
    _write_atomic(folder / f"bad_images-r{rank:03d}.jsonl", "".join(json.dumps(r) + "\n" for r in rejects))
    _write_atomic(folder / f"summary-r{rank:03d}.json", json.dumps(shard_stats(folder), indent=1, sort_keys=True))


def pretokenize(recipe: Recipe, model: CodeModel, processor, config: PretokenizeConfig,
                base: Optional[Path] = None) -> dict[str, dict[str, int]]:
    base = base or (recipe.path.parent if recipe.path else Path("."))
    encoder = ShardEncoder(model, processor, config)
    try:
        return {s.name: pretokenize_source(s, base, encoder) for s in recipe.sources}
    finally:
        encoder.close()


def load_unitok(path: str, device: str = "cpu", dtype: str = "float32"):
    """device: see unitok.devices (the CLI default auto: cuda:LOCAL_RANK when CUDA is present). float32 keeps
    the codes bit-identical to the tokenizer's reference; bfloat16 changes a few percent of them."""
    from unitok import UniTok
    from unitok.processing import UniTokImageProcessor

    model = UniTok.from_pretrained(path, device=device, dtype=dtype).eval()
    return model, UniTokImageProcessor.from_config(model.config)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", required=True, help="recipe YAML or shipped name (demo, pretrain, finetune)")
    parser.add_argument("--unitok", required=True, help="UniTok folder (save_pretrained) or official .pth")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--max-samples", type=int, default=None, help="rows per source, over all ranks")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0, help="image decoding processes (0: in-process)")
    parser.add_argument("--shard-size", type=int, default=1000, help="rows per shard")
    parser.add_argument("--sources", nargs="*", default=None, help="only these recipe sources")
    parser.add_argument("--crash-after-shards", type=int, default=None, help="testing: SIGKILL after writing N shards")
    add_device_arguments(parser, default_dtype="float32", attention=False)
    args = parser.parse_args(argv)
    recipe = load_recipe(args.recipe)   # validated before the model is loaded
    if args.sources:
        recipe.sources = [recipe.source(name) for name in args.sources]
    config = PretokenizeConfig(out=args.out, batch_size=args.batch_size, workers=args.workers,
                               shard_size=args.shard_size, max_samples=args.max_samples,
                               rank=int(os.environ.get("RANK", 0)), world_size=int(os.environ.get("WORLD_SIZE", 1)),
                               crash_after_shards=args.crash_after_shards)
    model, processor = load_unitok(args.unitok, args.device, args.dtype)
    result = pretokenize(recipe, model, processor, config)
    print(json.dumps({"rank": config.rank, "sources": result}))


if __name__ == "__main__":
    main()
