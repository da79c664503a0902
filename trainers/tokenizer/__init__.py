"""Training of the UniTok tokenizer: typed config, data, optimisation, checkpoints, trainer."""
from .config import DataConfig, OptimConfig, TrainConfig

__all__ = ["DataConfig", "OptimConfig", "TrainConfig"]
