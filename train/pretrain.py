"""Pre-train the unified MLLM.  With no arguments: the `tiny` preset on the `demo` recipe on CPU.

    deepspeed train/pretrain.py [--zero 2|3|3-offload] [--steps N] [--lora true] [--out DIR] ...
    deepspeed --num_accelerators 2 train/pretrain.py        # 2 CPU processes
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":
    import torch
    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    from trainers.mllm import parse_config
    from trainers.mllm.trainer import train

    train(parse_config(default_preset="pretrain_demo"))
