"""`unitok-mllm` command line: generate an image grid from prompts, or ask about an image.

    unitok-mllm generate --model MLLM_DIR --unitok unitok.pth --prompt "a red car" --out grid.png
    unitok-mllm chat --model MLLM_DIR --unitok unitok.pth --image cat.jpg --question "What is this?"
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from unitok.devices import add_device_arguments


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitok-mllm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("generate", "chat"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True, help="MLLM folder (ours or the official release)")
        p.add_argument("--unitok", required=True, help="UniTok folder or official .pth")
        p.add_argument("--tokenizer", default=None, help="text tokenizer folder (default: --model)")
        add_device_arguments(p)
    gen = sub.choices["generate"]
    gen.add_argument("--prompt", action="append", required=True, help="repeat for several images")
    gen.add_argument("--out", required=True, help="PNG path of the image grid")
    gen.add_argument("--cfg-scale", type=float, default=5.0)
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-k", type=int, default=0)
    gen.add_argument("--top-p", type=float, default=1.0)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--positions", type=int, default=None, help="image positions (a square; default 256)")
    gen.add_argument("--save-codes", default=None, help="optional .pt path for the generated codes")
    gen.add_argument("--batch-size", type=int, default=8, help="prompts generated together")
    chat = sub.choices["chat"]
    chat.add_argument("--image", default=None)
    chat.add_argument("--question", required=True)
    chat.add_argument("--max-new-tokens", type=int, default=128)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    from .pipeline import UnifiedPipeline, image_grid

    from unitok.devices import resolve_attn_implementation, resolve_device, resolve_dtype
    try:   # a wrong --device / --dtype / --attn-implementation is a usage error, not a crash
        device = resolve_device(args.device)
        dtype = resolve_dtype(args.dtype, device)
        attn = resolve_attn_implementation(args.attn_implementation, device, dtype)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    pipe = UnifiedPipeline.from_pretrained(args.model, unitok_path=args.unitok, tokenizer_path=args.tokenizer,
                                           device=device, dtype=dtype, attn_implementation=attn)
    if args.command == "chat":
        print(pipe.chat(args.image, args.question, max_new_tokens=args.max_new_tokens))
        return 0
    images, codes = pipe.generate_images(args.prompt, cfg_scale=args.cfg_scale, temperature=args.temperature,
                                         top_k=args.top_k, top_p=args.top_p, seed=args.seed,
                                         num_positions=args.positions, batch_size=args.batch_size)
    image_grid(images).save(args.out, format="PNG")
    if args.save_codes:
        torch.save(codes.cpu(), args.save_codes)
    print(f"wrote {len(images)} image(s) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
