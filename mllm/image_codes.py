"""The container format for image codes passed alongside `input_ids`.

Every IMAGE_TOKEN_INDEX placeholder in `input_ids` consumes one image, in reading order (row by
row, left to right). Accepted forms of `image_codes`:

- a LongTensor (N_images, num_codebooks, L): all images of the batch, in placeholder order;
- a LongTensor (B, n, num_codebooks, L): n images per sample (what the official VQA loader passes);
- a list of length B whose items are None, a (num_codebooks, L) tensor (one image) or a
  (n_i, num_codebooks, L) tensor (n_i images of that sample); L may differ between images.

Codes are UniTok's `img_to_idx` output with the spatial raster flattened to L.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch

ImageCodes = Union[torch.Tensor, Sequence[Optional[torch.Tensor]], None]


def _as_images(item: Optional[torch.Tensor], where: str) -> List[torch.Tensor]:
    if item is None:
        return []
    if not isinstance(item, torch.Tensor):
        raise ValueError(f"{where}: image codes must be tensors, got {type(item).__name__}")
    if item.ndim == 2:
        return [item]
    if item.ndim == 3:
        return list(item.unbind(0))
    raise ValueError(f"{where}: expected (num_codebooks, L) or (n, num_codebooks, L) codes, got {tuple(item.shape)}")


def codes_per_sample(image_codes: ImageCodes, placeholder_counts: Sequence[int]) -> List[List[torch.Tensor]]:
    """Split `image_codes` into one list of (num_codebooks, L) tensors per sample, checking that
    every placeholder gets exactly one image and every image a placeholder."""
    batch = len(placeholder_counts)
    total = sum(placeholder_counts)
    if image_codes is None:
        if total:
            raise ValueError(f"input_ids contain {total} image placeholder(s) but no image_codes were given")
        return [[] for _ in range(batch)]
    if isinstance(image_codes, torch.Tensor):
        if image_codes.ndim == 3:
            if image_codes.shape[0] != total:
                raise ValueError(f"got {image_codes.shape[0]} images in image_codes for {total} image placeholder(s) "
                                 f"in input_ids")
            flat = list(image_codes.unbind(0))
            out, start = [], 0
            for n in placeholder_counts:
                out.append(flat[start:start + n])
                start += n
            return out
        if image_codes.ndim == 4:
            image_codes = list(image_codes.unbind(0))
        else:
            raise ValueError("image_codes must be (N_images, num_codebooks, L), (B, n, num_codebooks, L) or a list "
                             f"per sample; got a tensor of shape {tuple(image_codes.shape)}")
    if len(image_codes) != batch:
        raise ValueError(f"image_codes has {len(image_codes)} entries for a batch of {batch} samples")
    out = []
    for row, (item, n) in enumerate(zip(image_codes, placeholder_counts)):
        images = _as_images(item, f"sample {row}")
        if len(images) != n:
            raise ValueError(f"sample {row}: {n} image placeholder(s) in input_ids but {len(images)} image(s) "
                             f"in image_codes")
        out.append(images)
    return out
