"""Does a tokenizer generalize? Reconstruction quality on three sets, side by side:

- `in_distribution`: held-out scenes of the training renderer (`data_recipes.tokenizer_data`);
- `second_renderer`: scenes of the evaluation-only renderer (`second_renderer`), which no
  training run uses, plus the programmatic colour and shape checks of every object
  (`scene_checks`), run on the originals too (their accuracy there validates the checks);
- `photos`: crops of the held-out photos (`data_recipes.photos.HELDOUT_PHOTOS`, disjoint from
  the training photos).

PSNR, SSIM and LPIPS-VGG16 per set, a JSON file and a PNG grid (originals above reconstructions).
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from PIL import Image

from .metrics import psnr, ssim
from .scene_checks import check_scene, summarize
from .second_renderer import eval_scenes


@dataclass
class GeneralizationConfig:
    model: str
    output: str
    in_distribution: int = 200       # held-out training-renderer scenes
    second_renderer: int = 200       # second-renderer scenes (1-3 objects each)
    photo_crops: int = 16            # crops per held-out photo
    lpips_weights: Optional[str] = "auto"   # auto: the file scripts/fetch_assets.sh writes; None: skip LPIPS
    seed: int = 0
    batch_size: int = 32
    grid_columns: int = 8
    device: str = "cpu"
    dtype: str = "float32"


def _to_tensor(images: List[np.ndarray]) -> torch.Tensor:
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def reconstruct(model, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Through the discrete codes, as every downstream user sees them: img_to_idx -> idx_to_img."""
    return torch.cat([model.idx_to_img(model.img_to_idx(chunk.to(model.device, model.dtype))).float().cpu()
                      for chunk in images.split(batch_size)])


def _lpips(weights: Optional[str]):
    if weights is None:
        return None, "not computed (no LPIPS weights)"
    from unitok.losses.lpips import LPIPS
    path = weights
    if weights == "auto":
        from data_recipes.photos import FETCH_COMMAND, assets_dir
        path = assets_dir() / "lpips_vgg16.safetensors"
        if not path.is_file():
            raise FileNotFoundError(f"LPIPS-VGG16 weights not found at {path}: run `{FETCH_COMMAND}` once, "
                                    "or pass --lpips-weights PATH")
    return LPIPS(path), str(path)


def image_metrics(originals: torch.Tensor, recons: torch.Tensor, lpips) -> Dict[str, float]:
    out = {"images": int(originals.shape[0]), "psnr": float(psnr(recons, originals).mean()),
           "ssim": float(ssim(recons, originals).mean())}
    if lpips is not None:
        out["lpips"] = float(torch.cat([lpips.distance(a, b) for a, b in
                                        zip(originals.split(32), recons.split(32))]).mean())
    return out


def _sets(cfg: GeneralizationConfig, size: int):
    from data_recipes.photos import heldout_crops
    from data_recipes.tokenizer_data import heldout_scene_images
    scenes = [np.asarray(im) for im in heldout_scene_images(cfg.in_distribution, size, cfg.seed)]
    second = eval_scenes(cfg.second_renderer, cfg.seed, size)
    photos = heldout_crops(size, cfg.photo_crops, cfg.seed)
    return scenes, second, photos


def save_grid(path: Path, rows: List[np.ndarray], scale: int = 2) -> None:
    """Each row: (columns, S, S, 3) uint8; one-pixel white gaps between images."""
    s = rows[0].shape[1]
    cols = max(r.shape[0] for r in rows)
    canvas = np.full((len(rows) * (s + 2), cols * (s + 2), 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            canvas[i * (s + 2) + 1:i * (s + 2) + 1 + s, j * (s + 2) + 1:j * (s + 2) + 1 + s] = im
    Image.fromarray(canvas).resize((canvas.shape[1] * scale, canvas.shape[0] * scale), Image.NEAREST).save(path)


def evaluate_generalization(cfg: GeneralizationConfig, model=None) -> Dict:
    from unitok import UniTok
    start = time.time()
    if model is None:
        model = UniTok.from_pretrained(cfg.model, device=cfg.device, dtype=cfg.dtype)
    model.eval()
    size = model.config.img_size
    lpips, lpips_path = _lpips(cfg.lpips_weights)
    scenes, second, photos = _sets(cfg, size)
    originals = {"in_distribution": _to_tensor(scenes),
                 "second_renderer": _to_tensor([r.image for _, r in second]),
                 "photos": _to_tensor([np.asarray(im) for _, im in photos])}
    recons = {k: reconstruct(model, v, cfg.batch_size) for k, v in originals.items()}
    report: Dict = {k: image_metrics(originals[k], recons[k], lpips) for k in originals}

    second_recon = _to_uint8(recons["second_renderer"])
    checks = [c for (scene, rendered), rec in zip(second, second_recon) for c in check_scene(scene, rendered, rec)]
    on_originals = [c for scene, rendered in second for c in check_scene(scene, rendered, rendered.image)]
    report["second_renderer"]["checks"] = summarize(checks)
    report["second_renderer"]["checks_on_originals"] = summarize(on_originals)
    report["photos"]["names"] = sorted({name for name, _ in photos})

    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    n = cfg.grid_columns
    rows = []
    for key in originals:
        # Spread over the set (the photo crops come photo by photo): every held-out photo shows.
        pick = np.unique(np.linspace(0, originals[key].shape[0] - 1, min(n, originals[key].shape[0])).round().astype(int))
        rows += [_to_uint8(originals[key][pick]), _to_uint8(recons[key][pick])]
    save_grid(out / "grid.png", rows)
    summary = {"settings": {**dataclasses.asdict(cfg), "image_size": size, "lpips": lpips_path,
                            "resolved_device": str(model.device), "resolved_dtype": str(model.dtype)},
               "metrics": report, "grid": str(out / "grid.png"),
               "grid_rows": [f"{k} {w}" for k in originals for w in ("original", "reconstruction")],
               "elapsed_s": round(time.time() - start, 2)}
    (out / "generalization.json").write_text(json.dumps(summary, indent=2))
    return summary


def format_table(summary: Dict) -> str:
    m = summary["metrics"]
    lines = ["| set | images | PSNR (dB) | SSIM | LPIPS | colour kept | shape kept |", "|---|---|---|---|---|---|---|"]
    for key in ("in_distribution", "second_renderer", "photos"):
        r = m[key]
        lp = f"{r['lpips']:.3f}" if "lpips" in r else "-"
        extra = ("| - | - |" if "checks" not in r else
                 f"| {r['checks']['colour_kept_pct']:.1f} % | {r['checks']['shape_kept_pct']:.1f} % |")
        lines.append(f"| {key} | {r['images']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {lp} {extra}")
    return "\n".join(lines)
