"""Batch collators: right-padded batches and packed batches of `TokenizedSample`s.

Both return `image_codes` (N_images, K, L) int64 in placeholder order (row by row, left to right),
the container `mllm.image_codes` accepts, or None when the batch has no image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from data_recipes.packing import block_causal_mask, cu_seqlens, pack_row, plan_packs
from data_recipes.sequences import TokenizedSample
from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX, PAD_TOKEN_ID


def _image_codes(images: list[np.ndarray]):
    if not images:
        return None
    if len({c.shape for c in images}) > 1:   # mixed resolutions: per-image list
        return [torch.as_tensor(c, dtype=torch.long) for c in images]
    return torch.as_tensor(np.stack(images), dtype=torch.long)


def _pad(rows: list[list[int]], value: int, length: int) -> torch.Tensor:
    return torch.tensor([r + [value] * (length - len(r)) for r in rows], dtype=torch.long)


@dataclass
class PaddedCollator:
    """One sample per row, right padding; attention_mask marks real tokens by length (not by
    `ids != pad`: pad = unk = 0 could appear inside a text)."""
    max_length: Optional[int] = None   # truncate longer samples (placeholder space)
    pad_id: int = PAD_TOKEN_ID         # the layout's pad (TokenLayout.pad)

    def __call__(self, samples: Sequence[TokenizedSample]) -> dict:
        ids = [s.input_ids[:self.max_length] for s in samples]
        labels = [s.labels[:self.max_length] for s in samples]
        length = max(len(r) for r in ids)
        kept_images = [img for s, r in zip(samples, ids) for img in s.images[:r.count(IMAGE_TOKEN_INDEX)]]
        return {"input_ids": _pad(ids, self.pad_id, length), "labels": _pad(labels, IGNORE_INDEX, length),
                "attention_mask": torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in ids]),
                "image_codes": _image_codes(kept_images), "data_types": [s.data_type for s in samples]}


@dataclass
class PackedCollator:
    """Packs the given samples in order into rows of at most `max_length` expanded positions.

    Returns input_ids/labels/position_ids/sequence_ids (R, T) and attention_mask (R, 1, T, T) in
    placeholder space (padding: pad id, label -100, position 0, sequence id -1), plus cu_seqlens and
    max_seqlen in expanded space for varlen kernels."""
    max_length: int
    image_positions: Optional[int] = None   # None: L from the codes themselves
    mask_dtype: Optional[torch.dtype] = torch.float32   # None -> bool mask
    pad_id: int = PAD_TOKEN_ID         # the layout's pad (TokenLayout.pad)

    def __call__(self, samples: Sequence[TokenizedSample]) -> dict:
        rows = [pack_row([samples[i] for i in plan], self.image_positions)
                for plan in plan_packs(samples, self.max_length, self.image_positions)]
        length = max(len(r.input_ids) for r in rows)
        sequence_ids = _pad([r.sequence_ids for r in rows], -1, length)
        expanded = [r.expanded_lengths for r in rows]
        return {"input_ids": _pad([r.input_ids for r in rows], self.pad_id, length),
                "labels": _pad([r.labels for r in rows], IGNORE_INDEX, length),
                "position_ids": _pad([r.position_ids for r in rows], 0, length),
                "sequence_ids": sequence_ids,
                "attention_mask": block_causal_mask(sequence_ids, self.mask_dtype),
                "cu_seqlens": cu_seqlens(expanded),
                "max_seqlen": max(n for lengths in expanded for n in lengths),
                "image_codes": _image_codes([img for r in rows for img in r.images]),
                "data_types": [r.data_types for r in rows]}
