"""Fixed held-out images for reconstruction grids and PSNR tracking during training.

For the generated sources these are their held-out streams (never trained on); for other
sources, the first images of the source, centre-cropped.
"""
from __future__ import annotations

from typing import Dict

import torch

from evaluators.tokenizer.metrics import psnr
from unitok.processing import pil_to_tensor_pm1, resize_center_crop

from .config import DataConfig


def heldout_images(cfg: DataConfig, source, count: int = 16) -> torch.Tensor:
    from data_recipes.images import decode_image
    if cfg.source == "scenes":
        from data_recipes.tokenizer_data import heldout_scene_images
        pils = heldout_scene_images(count, cfg.image_size, cfg.demo_seed)
    elif cfg.source == "demo":
        from data_recipes.demo.shapes import demo_items
        pils = [it.image for it in demo_items(count, "heldout", cfg.demo_seed, cfg.image_size)]
    else:
        pils = []
        for i in range(min(len(source), 4 * count)):
            decoded = decode_image(source.raw(i)[0])
            if decoded.image is not None:
                pils.append(decoded.image)
            if len(pils) == count:
                break
    if not pils:
        raise ValueError("no readable image for the reconstruction preview")
    return torch.stack([pil_to_tensor_pm1(resize_center_crop(p, cfg.image_size)) for p in pils])


@torch.no_grad()
def reconstruct(model, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Hard-code reconstruction (img_to_idx -> idx_to_img): no quantizer statistics are touched."""
    was_training = model.training
    model.eval()
    try:
        outs = [model.idx_to_img(model.img_to_idx(chunk.to(model.device))).cpu()
                for chunk in images.split(batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(outs)


def reconstruction_metrics(model, images: torch.Tensor) -> Dict[str, float]:
    rec = reconstruct(model, images)
    return {"heldout_psnr": float(psnr(rec, images).mean()),
            "heldout_l2": float((rec - images).square().mean())}
