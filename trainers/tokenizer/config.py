"""Typed configuration of a UniTok tokenizer training run, with named presets.

`TrainConfig.from_preset("demo")` is the no-argument CPU demo (a shrunken `tiny` model on the
built-in shapes images); `"official"` carries the paper's recipe (ViTamin-L, 256 px, GAN on).
Optimiser and loss defaults are the official values (spec section 2).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from unitok.losses.config import UniTokLossConfig

DATA_SOURCES = ("scenes", "demo", "folder", "webdataset", "hf")


@dataclass
class DataConfig:
    source: str = "scenes"               # scenes (+ photos) | demo (one shape, grey) | folder | webdataset | hf
    path: Optional[str] = None           # folder / shard pattern / HF name or save_to_disk folder
    captions_file: str = "captions.jsonl"  # folder source: {"image": relative path, "caption": text} rows
    hf_split: str = "train"
    image_field: str = "image"
    caption_field: str = "caption"       # also the webdataset member extension ("txt" is tried too)
    demo_num_samples: int = 512          # scenes / demo: generated images in the pool
    demo_seed: int = 0
    photo_fraction: float = 0.25         # scenes: share of bundled-photo crops in the pool
    free_colour_prob: float = 0.3        # scenes: objects with an arbitrary hue (in-between colours)
    image_size: int = 64
    crop_scale: Tuple[float, float] = (0.9, 1.0)   # RandomResizedCrop scale (official)
    random_crop: bool = True

    def validate(self) -> None:
        if self.source not in DATA_SOURCES:
            raise ValueError(f"data source {self.source!r} unknown; choose one of {DATA_SOURCES}")
        if self.source not in ("scenes", "demo") and not self.path:
            raise ValueError(f"data source {self.source!r} needs a path (--data-path)")
        if self.image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (the tokenizer stride), got {self.image_size}")
        if not 0 <= self.photo_fraction < 1:
            raise ValueError(f"photo_fraction must be in [0, 1), got {self.photo_fraction}")
        lo, hi = self.crop_scale
        if not 0 < lo <= hi <= 1:
            raise ValueError(f"crop_scale must satisfy 0 < lo <= hi <= 1, got {self.crop_scale}")


@dataclass
class OptimConfig:
    lr: float = 5e-4
    betas: Tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.02
    eps: float = 1e-6
    disc_lr: float = 2e-5
    disc_betas: Tuple[float, float] = (0.5, 0.9)
    disc_weight_decay: float = 0.2
    warmup_frac: float = 0.01            # of the total steps, linear from 0
    lr_end_ratio: float = 0.1            # cosine ends at lr_end_ratio * lr
    grad_clip: float = 10.0
    logit_scale_max: float = math.log(100.0)

    def validate(self) -> None:
        if self.lr <= 0 or self.disc_lr <= 0:
            raise ValueError("learning rates must be positive")
        if not 0 <= self.warmup_frac < 1:
            raise ValueError(f"warmup_frac must be in [0, 1), got {self.warmup_frac}")


@dataclass
class TrainConfig:
    model_preset: str = "tiny"
    model_overrides: Dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: UniTokLossConfig = field(default_factory=UniTokLossConfig)
    batch_size: int = 8                  # per rank
    steps: int = 300
    seed: int = 0
    output_dir: str = "outputs/tokenizer_demo"
    ckpt_every: int = 100
    keep_ckpts: int = 2
    grid_every: int = 100
    log_every: int = 10
    precision: str = "auto"              # auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16
    grad_ckpt: bool = False
    export: bool = True
    num_threads: int = 0                 # torch CPU threads per rank; 0 = leave as is
    crash_after_step: Optional[int] = None  # testing: SIGKILL every rank after this step (and its checkpoint)
    gan_note: str = "off"                # logged and recorded when the GAN weight is 0: why it is off

    def validate(self) -> None:
        self.data.validate()
        self.optim.validate()
        if self.batch_size < 1 or self.steps < 1:
            raise ValueError("batch_size and steps must be >= 1")
        if self.ckpt_every < 1 or self.grid_every < 1 or self.log_every < 1:
            raise ValueError("ckpt_every, grid_every and log_every must be >= 1")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, got {self.precision!r}")

    def model_config(self):
        from unitok import UniTokConfig
        return UniTokConfig.from_preset(self.model_preset, img_size=self.data.image_size,
                                        grad_ckpt=self.grad_ckpt, **self.model_overrides)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_preset(cls, name: str) -> "TrainConfig":
        if name not in PRESETS:
            raise ValueError(f"unknown training preset {name!r}; choose one of {sorted(PRESETS)}")
        return PRESETS[name]()


# The demo model: `tiny` with one MBConv block per stage and 1024-entry sub-codebooks, so that
# 300 steps at 64 px run in minutes on two CPU cores (official lr 5e-4: 2e-3 collapsed the codebooks).
DEMO_MODEL = dict(stem_width=16, stage_widths=(16, 32), stage_depths=(1, 1), decoder_up_depths=(1, 1),
                  codebook_size=1024)


# Why the demo trains without the GAN term: the official discriminator trunk is DINOv2, whose
# weights no registry package ships (a random trunk is no perceptual critic), and on two CPU
# cores every step of the ~10-minute budget is worth more as a reconstruction step.
DEMO_GAN_OFF = ("off (the official DINOv2 discriminator trunk has no offline weights, and the CPU demo "
                "spends its ~10-minute budget on reconstruction steps; --gan turns it on)")


def _demo() -> TrainConfig:
    # Scenes + bundled photos at 64 px, so that LPIPS-VGG16 is on (official minimum 48 px); it
    # costs ~9x the tokenizer's own step on a CPU, hence LPIPS on 4 images of each batch of 16.
    return TrainConfig(model_preset="tiny", model_overrides=dict(DEMO_MODEL),
                       data=DataConfig(source="scenes", demo_num_samples=30_000, image_size=64),
                       optim=OptimConfig(lr=8e-4, warmup_frac=0.05),
                       loss=UniTokLossConfig(gan=0.0, lpips_weights="auto", lpips_samples=4),
                       batch_size=16, steps=900, ckpt_every=150, grid_every=150, gan_note=DEMO_GAN_OFF)


def _official() -> TrainConfig:
    return TrainConfig(model_preset="large", data=DataConfig(source="webdataset", path="shards/{00000000..00140146}.tar",
                                                             image_size=256),
                       loss=UniTokLossConfig(), batch_size=64, steps=78_125, ckpt_every=9_766, grid_every=1_000,
                       grad_ckpt=True, output_dir="outputs/tokenizer_official")


PRESETS = {"demo": _demo, "official": _official}
