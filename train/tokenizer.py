"""Train a UniTok tokenizer.

    python train/tokenizer.py                                # CPU demo -> outputs/tokenizer_demo/export
    torchrun --nproc_per_node 2 train/tokenizer.py --steps 50
    deepspeed --num_gpus 8 train/tokenizer.py --preset official --data-path 'shards/{00000000..00140146}.tar'

Re-running with the same --output-dir resumes from the newest complete checkpoint.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from trainers.tokenizer.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
