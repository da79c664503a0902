"""Packing several samples into one row without any attention or loss across their boundaries.

All per-token outputs are in PLACEHOLDER space (one -200 per image), which is what the MLLM
forward takes; it expands each placeholder to L positions itself, copying the 4-D mask rows and
continuing position ids through the image. Lengths that decide what fits (`max_length`) and the
flash-attn `cu_seqlens` are in EXPANDED space, the length the LLM actually sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch

from data_recipes.sequences import TokenizedSample
from mllm.constants import IGNORE_INDEX


@dataclass
class PackedRow:
    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]        # restart at 0 for every sample
    sequence_ids: list[int]        # index of the sample inside the row
    expanded_lengths: list[int]    # per sample, after image expansion
    images: list[np.ndarray] = field(default_factory=list)
    data_types: list[str] = field(default_factory=list)


def plan_packs(samples: Sequence[TokenizedSample], max_length: int,
               image_positions: Optional[int] = None) -> list[list[int]]:
    """Greedy in-order packing: a row is closed when the next sample does not fit. Keeping the
    order keeps the mixture's sampling order (and so resumption) meaningful."""
    packs, current, used = [], [], 0
    for i, sample in enumerate(samples):
        n = sample.expanded_length(image_positions)
        if n > max_length:
            raise ValueError(f"sample {i} ({sample.data_type}) is {n} positions long after image expansion, "
                             f"more than max_length {max_length}; truncate it when building the sequence")
        if current and used + n > max_length:
            packs.append(current)
            current, used = [], 0
        current.append(i)
        used += n
    if current:
        packs.append(current)
    return packs


def pack_row(samples: Sequence[TokenizedSample], image_positions: Optional[int] = None) -> PackedRow:
    row = PackedRow([], [], [], [], [])
    for index, sample in enumerate(samples):
        labels = list(sample.labels)
        # The first token of a sample must not be predicted from the previous sample's last token.
        labels[0] = IGNORE_INDEX
        row.input_ids += sample.input_ids
        row.labels += labels
        row.position_ids += list(range(len(sample.input_ids)))
        row.sequence_ids += [index] * len(sample.input_ids)
        row.expanded_lengths.append(sample.expanded_length(image_positions))
        row.images += sample.images
        row.data_types.append(sample.data_type)
    return row


def block_causal_mask(sequence_ids: torch.Tensor, dtype: Optional[torch.dtype] = torch.float32) -> torch.Tensor:
    """(B, T) sequence ids (-1 = padding) -> (B, 1, T, T) mask: token i sees token j iff j <= i and
    both belong to the same sample. Padding sees only itself so no softmax row is empty (NaN).
    dtype None gives bool (True = attend); a float dtype gives the additive form (0 or finfo.min),
    which both eager and sdpa attention in transformers accept (eager misreads bool masks)."""
    if sequence_ids.ndim != 2:
        raise ValueError(f"sequence_ids must be (B, T), got {tuple(sequence_ids.shape)}")
    t = sequence_ids.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=sequence_ids.device).tril()
    same = sequence_ids[:, :, None] == sequence_ids[:, None, :]
    padding = sequence_ids < 0
    allowed = (same & causal & ~padding[:, :, None]) | torch.diag_embed(padding)
    allowed = allowed[:, None]
    if dtype is None or dtype == torch.bool:
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)


def cu_seqlens(lengths_per_row: Sequence[Sequence[int]], row_length: Optional[int] = None) -> torch.Tensor:
    """int32 cumulative sequence starts over all rows, for flash-attn varlen kernels. With
    `row_length`, each row's padding tail is added as its own segment so offsets stay aligned
    with a flattened (B * row_length) layout."""
    segments = []
    for lengths in lengths_per_row:
        segments += list(lengths)
        if row_length is not None and row_length > sum(lengths):
            segments.append(row_length - sum(lengths))
    return torch.tensor(np.concatenate([[0], np.cumsum(segments)]), dtype=torch.int32)
