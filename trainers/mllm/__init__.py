"""Training of the unified MLLM with DeepSpeed (ZeRO-2/3, offload, LoRA): config, engine,
checkpoints with exact resume, metrics, export. Entry points: train/pretrain.py, train/finetune.py."""
from .config import PRESETS, TrainConfig, parse_config

__all__ = ["PRESETS", "TrainConfig", "parse_config"]
