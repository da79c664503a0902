"""Training batches from a data recipe: pre-tokenized codes (built on first use), the recipe's
deterministic mixture and the padded collator of `data_recipes`.

Sample g of the run is `MixtureDataset.sample_at(g)`; optimizer step s, micro-batch i on rank r
takes g = s * global_batch + (i * world + r) * micro_batch + j. The data position is therefore
the step number itself, and a resumed run sees exactly the batches an uninterrupted run would.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import torch
import torch.distributed as dist

from data_recipes.collator import PackedCollator, PaddedCollator
from data_recipes.mixture import MixtureDataset
from data_recipes.recipe import load_recipe
from mllm.token_layout import TokenLayout

from .config import TrainConfig

FINGERPRINT = "unitok_fingerprint.json"


def unitok_fingerprint(unitok_path: str) -> str:
    """Hash of the UniTok weights: pre-tokenized codes are only valid for the model that made them."""
    path = Path(unitok_path)
    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    digest = hashlib.sha1()
    for f in files:
        if f.stat().st_size < 512 * 2**20:
            digest.update(f.read_bytes())
        else:
            digest.update(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def ensure_pretokenized(cfg: TrainConfig, rank: int) -> Path:
    """Rank 0 pre-tokenizes the recipe with the UniTok when the codes are missing or were made by
    another UniTok; the other ranks wait at a barrier."""
    out = cfg.pretok_path
    if rank == 0:
        marker = out / FINGERPRINT
        fingerprint = unitok_fingerprint(cfg.unitok)
        current = json.loads(marker.read_text()).get("unitok") if marker.exists() else None
        if current != fingerprint:
            from data_recipes.pretokenize import PretokenizeConfig, load_unitok, pretokenize
            if out.exists():
                import shutil
                shutil.rmtree(out)
            print(f"[data] pre-tokenizing recipe {cfg.recipe!r} with {cfg.unitok} -> {out}", flush=True)
            recipe = load_recipe(cfg.recipe)
            model, processor = load_unitok(cfg.unitok)
            pretokenize(recipe, model, processor, PretokenizeConfig(out=out, max_samples=cfg.pretok_max_samples,
                                                                    batch_size=64))
            marker.write_text(json.dumps({"unitok": fingerprint, "source": str(cfg.unitok)}))
    if dist.is_initialized():
        dist.barrier()
    return out


class StepBatches:
    """Deterministic micro-batches addressed by (step, micro index)."""

    def __init__(self, cfg: TrainConfig, tokenizer, rank: int, world_size: int, layout: Optional[TokenLayout] = None):
        """layout: the model's special tokens (default: the official Llama-2 layout)."""
        self.recipe = recipe = load_recipe(cfg.recipe)
        layout = layout or TokenLayout()
        self.dataset = MixtureDataset(recipe, cfg.pretok_path, tokenizer, rank=rank, world_size=world_size,
                                      seed=cfg.seed, layout=layout)
        if cfg.packing:
            self.collate = PackedCollator(max_length=cfg.max_length, image_positions=recipe.image_positions,
                                          pad_id=layout.pad)
        else:
            self.collate = PaddedCollator(max_length=cfg.max_length, pad_id=layout.pad)
        self.cfg, self.rank, self.world_size = cfg, rank, world_size

    def micro_batch(self, step: int, micro_index: int) -> dict:
        cfg = self.cfg
        first = step * cfg.global_batch + (micro_index * self.world_size + self.rank) * cfg.micro_batch
        batch = self.collate([self.dataset.sample_at(g) for g in range(first, first + cfg.micro_batch)])
        for key in ("data_types", "sequence_ids", "max_seqlen"):  # not model inputs
            batch.pop(key, None)
        return batch

    def state_dict(self, next_step: int) -> dict:
        state = self.dataset.state_dict(consumed=0)
        state["next_step"] = next_step * self.cfg.global_batch
        state["next_optimizer_step"] = next_step
        return state

    def check_state(self, state: dict) -> int:
        """Validate a saved data state against this run; returns the optimizer step to continue at."""
        self.dataset.load_state_dict(state)
        return int(state["next_optimizer_step"])


def packed_rows_as_one(batch: dict) -> dict:
    """A packed micro-batch as a single row with no attention mask, for flash-attention's varlen
    kernel: transformers cuts the row where position_ids restart (it needs one row for that), the
    boundaries the collator's cu_seqlens give. Labels stay aligned: the first label of every packed
    sample and all padding labels are ignored, so no target crosses a row or sample boundary."""
    flat = {k: v for k, v in batch.items() if k not in ("attention_mask", "cu_seqlens")}
    for key in ("input_ids", "labels", "position_ids"):
        flat[key] = batch[key].reshape(1, -1)
    return flat


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def local_rank_world() -> tuple[int, int]:
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
