"""Command line of the tokenizer trainer: a preset plus explicit overrides."""
from __future__ import annotations

import argparse
import json
from typing import Optional, Sequence

from unitok.losses.config import UniTokLossConfig

from .config import DATA_SOURCES, PRESETS, TrainConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train a UniTok tokenizer. With no arguments: the CPU demo "
                                "(small model, generated scenes plus bundled photos, 64 px, LPIPS on, "
                                "outputs/tokenizer_demo/, export/ inside).")
    p.add_argument("--preset", default="demo", choices=sorted(PRESETS), help="training preset")
    p.add_argument("--output-dir", help="run folder (checkpoints/, grids/, metrics.jsonl, export/)")
    p.add_argument("--model-preset", help="UniTok architecture preset (tiny/small/base/large)")
    p.add_argument("--model-overrides", type=json.loads,
                   help='JSON of UniTokConfig fields, e.g. \'{"num_codebooks": 4, "codebook_size": 1024}\'')
    p.add_argument("--data", choices=DATA_SOURCES, help="data source kind")
    p.add_argument("--data-path", help="folder (with captions.jsonl), tar pattern, or HF dataset")
    p.add_argument("--captions-file", help="folder source: JSONL of {image, caption}")
    p.add_argument("--image-size", type=int)
    p.add_argument("--demo-samples", type=int, help="number of generated training scenes (scenes / demo source)")
    p.add_argument("--batch-size", type=int, help="per rank")
    p.add_argument("--steps", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--ckpt-every", type=int)
    p.add_argument("--keep-ckpts", type=int)
    p.add_argument("--grid-every", type=int)
    p.add_argument("--log-every", type=int)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"))
    p.add_argument("--grad-ckpt", action="store_true", help="activation checkpointing")
    p.add_argument("--no-export", action="store_true")
    p.add_argument("--crash-after-step", type=int, help="testing: SIGKILL after this step and its checkpoint")
    p.add_argument("--num-threads", type=int, help="torch CPU threads per rank")
    p.add_argument("--lpips-weights", help="LPIPS-VGG16 safetensors (python -m unitok.losses.lpips convert); "
                   "'auto' = the file scripts/fetch_assets.sh writes, 'none' = LPIPS off")
    p.add_argument("--lpips-samples", type=int, help="LPIPS on the first N images of each batch (0 = all)")
    p.add_argument("--photo-fraction", type=float, help="scenes source: share of bundled-photo crops")
    p.add_argument("--clip-weight", type=float, help="0 = reconstruction only")
    p.add_argument("--recon-weight", type=float, help="scales L1/L2/LPIPS; 0 = contrastive only")
    p.add_argument("--gan", action="store_true", help="adversarial training with the DINOv2 discriminator")
    p.add_argument("--dino-weights", help="DINOv2 ViT-S/14 weights for the discriminator trunk")
    p.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)  # deepspeed launcher
    return p


def config_from_args(argv: Optional[Sequence[str]] = None) -> TrainConfig:
    a = build_parser().parse_args(argv)
    cfg = TrainConfig.from_preset(a.preset)
    d, o, lo = cfg.data, cfg.optim, cfg.loss
    for value, obj, name in [
        (a.output_dir, cfg, "output_dir"), (a.model_preset, cfg, "model_preset"), (a.data, d, "source"),
        (a.data_path, d, "path"), (a.captions_file, d, "captions_file"), (a.image_size, d, "image_size"),
        (a.demo_samples, d, "demo_num_samples"), (a.batch_size, cfg, "batch_size"), (a.steps, cfg, "steps"),
        (a.lr, o, "lr"), (a.seed, cfg, "seed"), (a.ckpt_every, cfg, "ckpt_every"), (a.keep_ckpts, cfg, "keep_ckpts"),
        (a.grid_every, cfg, "grid_every"), (a.log_every, cfg, "log_every"), (a.precision, cfg, "precision"),
        (a.num_threads, cfg, "num_threads"), (a.lpips_weights, lo, "lpips_weights"),
        (a.lpips_samples, lo, "lpips_samples"), (a.photo_fraction, d, "photo_fraction"), (a.clip_weight, lo, "clip"),
        (a.dino_weights, lo, "dino_weights"), (a.crash_after_step, cfg, "crash_after_step"),
    ]:
        if value is not None:
            setattr(obj, name, value)
    if a.model_overrides is not None:
        cfg.model_overrides = {**cfg.model_overrides, **a.model_overrides}
    if a.recon_weight is not None:
        lo.l1, lo.l2, lo.lpips = lo.l1 * a.recon_weight, lo.l2 * a.recon_weight, lo.lpips * a.recon_weight
    cfg.grad_ckpt = cfg.grad_ckpt or a.grad_ckpt
    if a.gan and cfg.loss.gan == 0:
        cfg.loss.gan = UniTokLossConfig.gan  # the official weight
    cfg.export = cfg.export and not a.no_export
    cfg.validate()
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> dict:
    from .trainer import TokenizerTrainer
    return TokenizerTrainer(config_from_args(argv)).train()
