"""The vendored golden fixtures (tests/fixtures/) and the folder the tests read.

tests/fixtures/ keeps the official outputs in a slim form (see tests/fixtures/README.md):
- three expected tensors of the tokenizer fixture are exact functions of other stored data and are
  rebuilt here, each checked against the SHA-256 of the official tensor stored beside it;
- the official tokenizer checkpoint keeps only the rows of its text-token embedding that the stored
  captions read; the other rows come back as zeros.
`materialize(dest)` lays the fixtures out in the official layout (the paths the tests use);
`python tests/golden_fixtures.py OFFICIAL_GOLDEN_DIR tests/fixtures` made the slim files once.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOKEN_EMBEDDING = "text_encoder.token_embedding.weight"
UNCHANGED_TOKENIZER_FILES = ("variant.json", "inputs")


def tensor_sha256(tensor: torch.Tensor) -> str:
    """Digest of the tensor's little-endian bytes, so equal digests mean bit-identical tensors."""
    array = tensor.detach().contiguous().cpu().numpy()
    return hashlib.sha256(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()).hexdigest()


def _png_batch(paths) -> torch.Tensor:
    """The official preprocessing output from its uint8 crops: png / 255 * 2 - 1 (float32)."""
    return torch.stack([torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1).float() / 255 * 2 - 1
                        for p in paths])


def _derivations(root: Path, meta: Dict[str, str]) -> Dict[str, Callable[[Dict[str, torch.Tensor]], torch.Tensor]]:
    names = json.loads(meta["images"])
    return {
        "input_images": lambda e: _png_batch([root / "inputs" / f"{n}.png" for n in names]),
        "input_big": lambda e: _png_batch([root / "inputs" / "astronaut_384.png"]),
        # img_to_reconstructed_img is the training forward's reconstruction, clamped.
        "rec_img": lambda e: e["forward_img_rec_unclamped"].clamp(-1, 1),
    }


def _load(path: Path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())


# ------------------------------------------------------------------ slim (run once, by hand)
def slim(official: Path, dest: Path) -> None:
    """Writes tests/fixtures from the official golden folder, checking every derivation first."""
    src, out = Path(official) / "tokenizer_tiny", Path(dest) / "tokenizer_tiny"
    out.mkdir(parents=True, exist_ok=True)
    expected, meta = _load(src / "expected.safetensors")
    digests = {}
    for name, derive in _derivations(src, meta).items():
        rebuilt = derive(expected)
        if not torch.equal(rebuilt, expected[name]):
            raise AssertionError(f"{name} is not an exact function of the kept data")
        digests[name] = tensor_sha256(expected[name])
    kept = {k: v for k, v in expected.items() if k not in digests}
    save_file(kept, str(out / "expected.safetensors"), metadata={**meta, "derived_sha256": json.dumps(digests)})

    ckpt = torch.load(src / "official_ckpt.pth", map_location="cpu", weights_only=True)
    table = ckpt["trainer"]["unitok"][TOKEN_EMBEDDING]
    rows = torch.unique(expected["text_tokens"])
    ckpt["trainer"]["unitok"][TOKEN_EMBEDDING] = table[rows].clone()
    ckpt["fixture"] = {"token_embedding_rows": rows, "token_embedding_shape": list(table.shape),
                       "official_file_sha256": hashlib.sha256((src / "official_ckpt.pth").read_bytes()).hexdigest(),
                       "official_kept_rows_sha256": tensor_sha256(table[rows])}
    torch.save(ckpt, out / "official_ckpt_slim.pth")
    for name in UNCHANGED_TOKENIZER_FILES:
        (shutil.copytree if (src / name).is_dir() else shutil.copy2)(src / name, out / name)
    shutil.copytree(Path(official) / "mllm_tiny", Path(dest) / "mllm_tiny", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("README.md"))
    shutil.copy2(Path(official) / "tokenizer_large_keys.json", Path(dest) / "tokenizer_large_keys.json")


# ------------------------------------------------------------------ materialize (every test session)
def materialize(dest: Path, fixtures: Path = FIXTURES) -> Path:
    """The official layout in `dest`: tokenizer_tiny/{official_ckpt.pth, expected.safetensors, inputs/},
    mllm_tiny/ and tokenizer_large_keys.json. Raises if a rebuilt tensor differs from the official one."""
    if not (fixtures / "tokenizer_tiny" / "official_ckpt_slim.pth").is_file():
        raise FileNotFoundError(f"golden fixtures missing under {fixtures} (they are part of the repository)")
    dest = Path(dest)
    src, out = fixtures / "tokenizer_tiny", dest / "tokenizer_tiny"
    out.mkdir(parents=True, exist_ok=True)
    for name in UNCHANGED_TOKENIZER_FILES:
        (out / name).symlink_to(src / name)
    (dest / "mllm_tiny").symlink_to(fixtures / "mllm_tiny")
    (dest / "tokenizer_large_keys.json").symlink_to(fixtures / "tokenizer_large_keys.json")

    expected, meta = _load(src / "expected.safetensors")
    digests = json.loads(meta.pop("derived_sha256"))
    for name, derive in _derivations(src, meta).items():
        expected[name] = derive(expected)
        if tensor_sha256(expected[name]) != digests[name]:
            raise AssertionError(f"rebuilt {name} differs from the official tensor (SHA-256 mismatch)")
    save_file(expected, str(out / "expected.safetensors"), metadata=meta)

    ckpt = torch.load(src / "official_ckpt_slim.pth", map_location="cpu", weights_only=True)
    info = ckpt.pop("fixture")
    rows, kept = info["token_embedding_rows"], ckpt["trainer"]["unitok"][TOKEN_EMBEDDING]
    if tensor_sha256(kept) != info["official_kept_rows_sha256"]:
        raise AssertionError("the kept token-embedding rows differ from the official ones")
    table = torch.zeros(info["token_embedding_shape"], dtype=kept.dtype)
    table[rows] = kept
    ckpt["trainer"]["unitok"][TOKEN_EMBEDDING] = table
    torch.save(ckpt, out / "official_ckpt.pth")
    return dest


if __name__ == "__main__":
    slim(Path(sys.argv[1]), Path(sys.argv[2]))
