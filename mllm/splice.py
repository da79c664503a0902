"""Replace image placeholders by image embeddings and carry masks, positions and labels along.

Each placeholder becomes L consecutive positions holding the embedder's output for its image.
Splicing happens in place (padding is kept where it was); rows that grew by different amounts are
padded on `pad_side` ("right" for training, "left" for generation so the last token stays last).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

import torch

from .constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from .image_codes import ImageCodes, codes_per_sample


@dataclass
class ImageTarget:
    """An image to be generated: its positions [start, end) in row `row` and its codes (K, L)."""
    row: int
    start: int
    end: int
    codes: torch.Tensor


@dataclass
class SplicedInputs:
    inputs_embeds: torch.Tensor
    attention_mask: Optional[torch.Tensor]   # None, (B, T) padding mask or (B, 1, T, T) additive mask
    position_ids: torch.Tensor
    labels: Optional[torch.Tensor]
    image_targets: List[ImageTarget] = field(default_factory=list)


def _row_layout(ids: torch.Tensor, lengths: List[int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Source token index of every spliced position and its offset inside its image (-1 for text)."""
    src, offset = [], []
    slots = iter(lengths)
    for t, token in enumerate(ids.tolist()):
        if token == IMAGE_TOKEN_INDEX:
            n = next(slots)
            src.extend([t] * n)
            offset.extend(range(n))
        else:
            src.append(t)
            offset.append(-1)
    return torch.tensor(src, dtype=torch.long), torch.tensor(offset, dtype=torch.long)


def _pad(x: torch.Tensor, length: int, value, left: bool) -> torch.Tensor:
    pad = x.new_full((length - x.shape[0],) + tuple(x.shape[1:]), value)
    return torch.cat([pad, x] if left else [x, pad])


def _expand_positions(pos_src: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Given positions of the source tokens (restarting at 0 for every packed sample), number the
    image positions consecutively and shift the rest of each packed sample accordingly."""
    extra = (offset > 0).long()
    cum = extra.cumsum(0)
    starts = (pos_src == 0) & (offset <= 0)
    segment = starts.long().cumsum(0)
    base = torch.zeros(int(segment.max()) + 1, dtype=torch.long, device=pos_src.device)
    base[segment[starts]] = cum[starts]
    return pos_src + cum - base[segment]


def _expand_4d_mask(mask: torch.Tensor, src: torch.Tensor, valid: torch.Tensor, dtype) -> torch.Tensor:
    """(1, T, T) mask of source tokens -> additive (1, T', T') mask of spliced positions, causal."""
    allowed = mask if mask.dtype == torch.bool else mask == 0
    index = src.clamp(min=0)
    allowed = allowed[:, index][:, :, index]
    n = src.shape[0]
    causal = torch.ones(n, n, dtype=torch.bool, device=src.device).tril()
    allowed = allowed & causal & valid[None, :, None] & valid[None, None, :]
    out = torch.zeros(allowed.shape, dtype=dtype, device=src.device)
    return out.masked_fill(~allowed, torch.finfo(dtype).min)


def splice_images(input_ids: torch.LongTensor, image_codes: ImageCodes,
                  embed_tokens: Callable[[torch.Tensor], torch.Tensor],
                  embed_images: Callable[[torch.Tensor], torch.Tensor],
                  attention_mask: Optional[torch.Tensor] = None, position_ids: Optional[torch.Tensor] = None,
                  labels: Optional[torch.Tensor] = None, pad_side: str = "right") -> SplicedInputs:
    """Build LLM inputs from ids with IMAGE_TOKEN_INDEX placeholders (see `image_codes` for the
    codes container). An image whose placeholder label is not IGNORE_INDEX is a generation target."""
    if pad_side not in ("left", "right"):
        raise ValueError(f"pad_side must be 'left' or 'right', got {pad_side!r}")
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (B, T), got {tuple(input_ids.shape)}")
    is_image = input_ids == IMAGE_TOKEN_INDEX
    per_sample = codes_per_sample(image_codes, is_image.sum(1).tolist())
    flat = [c.to(input_ids.device) for images in per_sample for c in images]
    image_embeds: List[torch.Tensor] = []
    if flat:
        same_length = len({c.shape for c in flat}) == 1
        embeds = embed_images(torch.stack(flat)) if same_length else [embed_images(c[None])[0] for c in flat]
        image_embeds = list(embeds)
    text_embeds = embed_tokens(input_ids.masked_fill(is_image, 0))

    rows, layouts, targets = [], [], []
    image_iter = iter(zip(flat, image_embeds))
    for b in range(input_ids.shape[0]):
        lengths = [c.shape[-1] for c in per_sample[b]]
        src, offset = _row_layout(input_ids[b], lengths)
        src, offset = src.to(input_ids.device), offset.to(input_ids.device)
        row = text_embeds[b][src]
        starts = (offset == 0).nonzero().flatten().tolist()
        pieces, last = [], 0
        for start in starts:
            codes, embeds = next(image_iter)
            pieces += [row[last:start], embeds.to(row.dtype)]
            last = start + embeds.shape[0]
            if labels is not None and int(labels[b, src[start]]) != IGNORE_INDEX:
                targets.append(ImageTarget(b, start, last, codes))
        pieces.append(row[last:])
        rows.append(torch.cat(pieces))
        layouts.append((src, offset))

    length = max(r.shape[0] for r in rows)
    left = pad_side == "left"
    grew_unevenly = any(r.shape[0] != length for r in rows)
    if left and grew_unevenly:
        shift = [length - r.shape[0] for r in rows]
        targets = [ImageTarget(t.row, t.start + shift[t.row], t.end + shift[t.row], t.codes) for t in targets]
    embeds = torch.stack([_pad(r, length, 0.0, left) for r in rows])
    src = torch.stack([_pad(s, length, -1, left) for s, _ in layouts])
    offset = torch.stack([_pad(o, length, -1, left) for _, o in layouts])
    valid = src >= 0
    gather = src.clamp(min=0)

    new_mask = None
    if attention_mask is not None and attention_mask.ndim == 4:
        new_mask = torch.cat([_expand_4d_mask(attention_mask[b], src[b], valid[b], embeds.dtype)
                              for b in range(len(rows))]).unsqueeze(1)
    elif attention_mask is not None:
        new_mask = (attention_mask.gather(1, gather).bool() & valid).to(attention_mask.dtype)
    elif grew_unevenly:
        new_mask = valid.long()

    if position_ids is not None:
        pos_src = position_ids.expand(input_ids.shape[0], -1).gather(1, gather).masked_fill(~valid, 0)
        new_pos = torch.stack([_expand_positions(pos_src[b], offset[b]) for b in range(len(rows))])
    elif new_mask is not None and new_mask.ndim == 2:
        new_pos = (new_mask.long().cumsum(1) - 1).clamp(min=0)
    else:
        new_pos = torch.arange(length, device=input_ids.device).expand(len(rows), -1)

    new_labels = None
    if labels is not None:
        new_labels = labels.gather(1, gather).masked_fill(~valid | (offset >= 0), IGNORE_INDEX)
    return SplicedInputs(embeds, new_mask, new_pos, new_labels, targets)
