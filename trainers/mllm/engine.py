"""DeepSpeed set-up: process group, the JSON config completed from the TrainConfig, the client
optimizer (torch AdamW: no JIT-built kernels) and the warmup + cosine schedule."""
from __future__ import annotations

import json
import math
import os
from typing import Optional

import torch


def init_distributed() -> tuple[int, int, torch.device]:
    """Initialise torch.distributed through DeepSpeed (gloo on CPU, nccl on GPU). Works under the
    deepspeed launcher, torchrun, or a plain `python` (single process)."""
    import deepspeed

    if "RANK" not in os.environ:   # plain python: a one-process group instead of MPI discovery
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    # The optional shared-memory allreduce op is a 31 s g++ build on every fresh machine.
    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    deepspeed.init_distributed()
    rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def deepspeed_config(path: str, micro_batch: int, grad_accumulation: int, world_size: int, grad_clip: float,
                     bf16: bool) -> dict:
    with open(path) as f:
        config = json.load(f)
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps"):
        if config.get(key) == "auto":
            config.pop(key)
    config["train_micro_batch_size_per_gpu"] = micro_batch
    config["gradient_accumulation_steps"] = grad_accumulation
    config["train_batch_size"] = micro_batch * grad_accumulation * world_size
    config.setdefault("gradient_clipping", grad_clip)
    config["bf16"] = {"enabled": bool(bf16)}
    config.pop("fp16", None)
    config.pop("optimizer", None)   # the client optimizer below is used
    config.pop("scheduler", None)
    return config


def warmup_cosine(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """LR multiplier: linear warmup from 1/warmup to 1, then cosine down to min_ratio at `total`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_engine(model: torch.nn.Module, ds_config: dict, lr: float, weight_decay: float, warmup: int,
                 total_steps: int, min_lr_ratio: float):
    import deepspeed

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: every parameter is frozen")
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))
    # A callable: DeepSpeed builds the schedule on its own (ZeRO-wrapped) optimizer.
    def schedule(opt):
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total_steps, min_lr_ratio))
    engine, optimizer, _, scheduler = deepspeed.initialize(model=model, optimizer=optimizer, lr_scheduler=schedule,
                                                           config=ds_config)
    return engine, optimizer, scheduler


def zero_stage(engine) -> int:
    return int(engine.zero_optimization_stage())


def current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def use_bf16(requested: Optional[bool]) -> bool:
    if requested is None:
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return requested
