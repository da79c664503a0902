"""Convert an official UniTok release (`.pth`) into a Hugging Face folder (safetensors + config.json).

    python -m unitok.convert unitok_tokenizer.pth out_dir/
"""
from __future__ import annotations

import argparse
import os

from .model import UniTok


def convert_official_checkpoint(src: str, dst: str) -> str:
    """Load `src` strictly and write it with `save_pretrained` to `dst`; returns `dst`."""
    model = UniTok.from_pretrained(src)
    os.makedirs(dst, exist_ok=True)
    model.save_pretrained(dst, safe_serialization=True)
    return dst


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="official unitok_tokenizer.pth")
    parser.add_argument("dst", help="output folder")
    args = parser.parse_args(argv)
    print(f"wrote {convert_official_checkpoint(args.src, args.dst)}")


if __name__ == "__main__":
    main()
