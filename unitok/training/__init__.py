"""Training of the UniTok tokenizer: typed config, data, optimisation, checkpoints, trainer."""
from .config import DataConfig, LossConfig, OptimConfig, TrainConfig

__all__ = ["DataConfig", "LossConfig", "OptimConfig", "TrainConfig"]
