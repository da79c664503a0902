"""`unitok` console script: reconstruct an image, encode images to codes, decode codes to PNGs.

    unitok reconstruct IN.png OUT.png --model PATH
    unitok encode IMAGE_OR_FOLDER --model PATH --out codes.safetensors
    unitok decode codes.safetensors --model PATH --out-dir DIR

PATH is a folder written by `UniTok.save_pretrained` or an official `.pth` release file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator, Sequence

import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from .devices import resolve_device, resolve_dtype
from .model import UniTok
from .processing import UniTokImageProcessor

# Codes are < codebook_size (4096 officially): uint16 halves the file versus int64 losslessly.
UINT16_LIMIT = 2 ** 16
# Everything PIL raises for files that are not (valid) images: unknown format, truncated data,
# broken headers, decompression-bomb guard.
IMAGE_READ_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class CliError(Exception):
    """A user-facing failure: printed without a traceback, exit status 2."""


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def load_model(path: str, device: str, dtype: str = "float32") -> UniTok:
    """UniTok on --device in --dtype (its code path stays fp32, see UniTok.cast)."""
    try:
        resolved = resolve_device(device)
        model = UniTok.from_pretrained(path, device=resolved, dtype=resolve_dtype(dtype, resolved))
    except (OSError, ValueError) as error:  # missing path, not a UniTok folder, unknown .pth layout, no CUDA
        raise CliError(str(error)) from error
    return model.eval()


def make_processor(model, size: int | None) -> UniTokImageProcessor:
    try:
        return UniTokImageProcessor.from_config(model.config, **({"size": size} if size else {}))
    except ValueError as error:
        raise CliError(f"--size: {error}") from error


def list_images(source: Path) -> list[Path]:
    """A single file, or the non-hidden files of a folder in name order (every file is tried,
    whatever its extension, so mislabelled images are not silently ignored)."""
    if source.is_file():
        return [source]
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    raise CliError(f"input {source} does not exist")


def read_batches(files: Sequence[Path], processor: UniTokImageProcessor, batch_size: int,
                 skipped: list[str]) -> Iterator[tuple[list[Path], torch.Tensor]]:
    """Yield (files, pixel batch); unreadable files are reported, appended to `skipped` and left out."""
    names: list[Path] = []
    pixels: list[torch.Tensor] = []
    for path in tqdm(files, desc="encode", unit="img", disable=len(files) < 2, file=sys.stderr):
        try:
            pixels.append(processor.process_one(path))
        except IMAGE_READ_ERRORS as error:
            _log(f"skipping {path}: not a readable image ({type(error).__name__}: {error})")
            skipped.append(str(path))
            continue
        names.append(path)
        if len(pixels) == batch_size:
            yield names, torch.stack(pixels)
            names, pixels = [], []
    if pixels:
        yield names, torch.stack(pixels)


def cmd_reconstruct(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.device, args.dtype)
    processor = make_processor(model, args.size)
    try:
        pixels = processor(Path(args.input))
    except IMAGE_READ_ERRORS as error:
        raise CliError(f"cannot read image {args.input}: {error}") from error
    # Through the discrete codes, i.e. exactly what a downstream model would see.
    with torch.inference_mode():
        codes = model.img_to_idx(pixels.to(model.device))
        reconstruction = model.idx_to_img(codes)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    processor.postprocess(reconstruction)[0].save(output)
    _log(f"wrote {output} ({codes.shape[-1]} positions x {codes.shape[1]} codebooks)")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    files = list_images(Path(args.input))
    model = load_model(args.model, args.device, args.dtype)
    processor = make_processor(model, args.size)
    skipped: list[str] = []
    names: list[str] = []
    chunks: list[torch.Tensor] = []
    with torch.inference_mode():
        for batch_files, pixels in read_batches(files, processor, args.batch_size, skipped):
            chunks.append(model.img_to_idx(pixels.to(model.device)).cpu())
            names.extend(p.name for p in batch_files)
    if skipped:
        _log(f"{len(skipped)} of {len(files)} file(s) skipped as unreadable")
    if not chunks:
        _log(f"error: no readable image in {args.input}; nothing written")
        return 1
    codes = torch.cat(chunks)
    if model.config.codebook_size <= UINT16_LIMIT:
        codes = codes.to(torch.uint16)
    side = processor.size // 16
    metadata = {"files": json.dumps(names), "grid": json.dumps([side, side]), "image_size": str(processor.size),
                "codebook_size": str(model.config.codebook_size), "num_codebooks": str(codes.shape[1])}
    output = Path(args.out)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_file({"codes": codes.contiguous()}, str(output), metadata=metadata)
    _log(f"wrote {output}: codes {tuple(codes.shape)} {codes.dtype} for {len(names)} image(s)")
    return 0


def read_codes(path: Path) -> tuple[torch.Tensor, list[str]]:
    if not path.is_file():
        raise CliError(f"codes file {path} does not exist")
    try:
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata() or {}
            codes = handle.get_tensor("codes")
    except Exception as error:  # safetensors raises its own error types for foreign files
        raise CliError(f"{path} is not a codes file written by `unitok encode`: {error}") from error
    if codes.ndim not in (3, 4):
        raise CliError(f"codes in {path} have shape {tuple(codes.shape)}; expected (N, codebooks, L)")
    names = json.loads(metadata["files"]) if "files" in metadata else []
    if len(names) != codes.shape[0]:
        names = [f"{index:06d}" for index in range(codes.shape[0])]
    return codes.long(), names


def output_names(names: Sequence[str]) -> list[str]:
    """<stem>.png for each entry, disambiguated when two inputs share a stem (a.jpg, a.png)."""
    stems = [Path(name).stem for name in names]
    return [f"{stem}.png" if stems.count(stem) == 1 else f"{stem}_{index}.png" for index, stem in enumerate(stems)]


def cmd_decode(args: argparse.Namespace) -> int:
    codes, names = read_codes(Path(args.codes))
    model = load_model(args.model, args.device, args.dtype)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = output_names(names)
    with torch.inference_mode():
        for start in tqdm(range(0, codes.shape[0], args.batch_size), desc="decode", unit="batch",
                          disable=codes.shape[0] <= args.batch_size, file=sys.stderr):
            batch = codes[start:start + args.batch_size].to(model.device)
            try:
                images = model.idx_to_img(batch)
            except ValueError as error:
                raise CliError(f"codes do not fit this model: {error}") from error
            for image, name in zip(UniTokImageProcessor.postprocess(images), targets[start:start + args.batch_size]):
                image.save(out_dir / name)
    _log(f"wrote {codes.shape[0]} image(s) to {out_dir}")
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unitok", description="UniTok visual tokenizer tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_common(sub: argparse.ArgumentParser, batched: bool, sized: bool) -> None:
        sub.add_argument("--model", required=True, help="save_pretrained folder or official .pth file")
        sub.add_argument("--device", default="auto",
                         help="cpu, cuda, cuda:N or auto (default: cuda:LOCAL_RANK if available, else cpu)")
        sub.add_argument("--dtype", default="float32", help="float32, bfloat16, float16 or auto (bf16 on a GPU "
                         "that supports it); the quantizer and its projections always run in float32")
        if batched:
            sub.add_argument("--batch-size", type=positive_int, default=8, help="images per forward (default 8)")
        if sized:
            sub.add_argument("--size", type=positive_int, default=None,
                             help="square input size, a multiple of 16 (default: the model's img_size)")

    rec = commands.add_parser("reconstruct", help="image -> codes -> image")
    rec.add_argument("input", help="input image file")
    rec.add_argument("output", help="output PNG")
    add_common(rec, batched=False, sized=True)
    rec.set_defaults(func=cmd_reconstruct)

    enc = commands.add_parser("encode", help="image file or folder -> codes.safetensors")
    enc.add_argument("input", help="image file or folder of images")
    enc.add_argument("--out", required=True, help="output .safetensors (tensor 'codes' (N, codebooks, L))")
    add_common(enc, batched=True, sized=True)
    enc.set_defaults(func=cmd_encode)

    dec = commands.add_parser("decode", help="codes.safetensors -> PNG images")
    dec.add_argument("codes", help="file written by `unitok encode`")
    dec.add_argument("--out-dir", required=True, help="folder for the decoded PNGs")
    add_common(dec, batched=True, sized=False)
    dec.set_defaults(func=cmd_decode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as error:
        _log(f"error: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
