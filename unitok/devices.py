"""Where and in which precision a model runs: the `--device`, `--dtype` and `--attn-implementation`
options of every entry point resolve here, so the rules are the same everywhere.

- device: "cpu", "cuda", "cuda:N" or "auto". "auto" (and a bare "cuda") picks `cuda:LOCAL_RANK`
  when CUDA is present, so each torchrun / deepspeed process uses its own GPU; the CPU otherwise.
- dtype: "float32", "bfloat16", "float16" (or fp32 / bf16 / fp16), or "auto": bf16 on a GPU that
  supports it, fp32 elsewhere.
- attn_implementation: "sdpa" (default), "eager", "flash_attention_2" (needs the flash-attn package,
  a CUDA device and a 16-bit dtype) or "auto" (flash_attention_2 when all of that holds, else sdpa).
"""
from __future__ import annotations

import os
from typing import Optional, Union

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
DTYPE_CHOICES = ("auto", "float32", "bfloat16", "float16")
ATTN_CHOICES = ("sdpa", "eager", "flash_attention_2", "auto")
_DTYPE_NAMES = {"float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
                "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                "float16": torch.float16, "fp16": torch.float16, "half": torch.float16}


def local_rank() -> int:
    """This process's index on its node (torchrun / deepspeed set LOCAL_RANK; 0 otherwise)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(spec: Union[str, torch.device, None] = "auto") -> torch.device:
    """The torch.device for a --device option (see the module docstring)."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cuda"):
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank() % torch.cuda.device_count())
        if text == "cuda":
            raise ValueError("--device cuda requested but CUDA is not available; use --device cpu or auto")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError as error:
        raise ValueError(f"unknown device {spec!r}; use one of {', '.join(DEVICE_CHOICES)}") from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {spec} requested but CUDA is not available; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) visible")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {spec!r}; use one of {', '.join(DEVICE_CHOICES)}")
    return device


def activate(device: torch.device) -> torch.device:
    """Make `device` the current CUDA device (so stray allocations and NCCL land on it)."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def resolve_dtype(spec: Union[str, torch.dtype, None] = "auto", device: Optional[torch.device] = None) -> torch.dtype:
    """The torch.dtype for a --dtype option; "auto" is bf16 on a bf16-capable GPU, fp32 elsewhere."""
    if isinstance(spec, torch.dtype):
        if spec not in _DTYPE_NAMES.values():
            raise ValueError(f"unsupported dtype {spec}; use one of {', '.join(DTYPE_CHOICES)}")
        return spec
    text = (spec or "auto").strip().lower().replace("torch.", "")
    if text == "auto":
        device = device or resolve_device("auto")
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if text not in _DTYPE_NAMES:
        raise ValueError(f"unknown dtype {spec!r}; use one of {', '.join(DTYPE_CHOICES)}")
    return _DTYPE_NAMES[text]


def flash_attention_2_usable(device: torch.device, dtype: torch.dtype) -> Optional[str]:
    """None when flash_attention_2 can run here, else the reason it cannot."""
    from transformers.utils import is_flash_attn_2_available

    if device.type != "cuda":
        return f"flash_attention_2 needs a CUDA device, not {device}"
    if dtype not in (torch.bfloat16, torch.float16):
        return f"flash_attention_2 needs bfloat16 or float16 weights, not {dtype}"
    if not is_flash_attn_2_available():
        return "flash_attention_2 needs the flash-attn package (pip install '.[gpu]')"
    return None


def resolve_attn_implementation(spec: Optional[str], device: torch.device, dtype: torch.dtype) -> str:
    """The transformers attn_implementation for an --attn-implementation option."""
    text = (spec or "sdpa").strip().lower()
    if text not in ATTN_CHOICES:
        raise ValueError(f"unknown attention implementation {spec!r}; use one of {', '.join(ATTN_CHOICES)}")
    if text == "auto":
        return "flash_attention_2" if flash_attention_2_usable(device, dtype) is None else "sdpa"
    if text == "flash_attention_2":
        reason = flash_attention_2_usable(device, dtype)
        if reason is not None:
            raise ValueError(reason)
    return text


def add_device_arguments(parser, default_device: str = "auto", default_dtype: str = "auto",
                         attention: bool = True) -> None:
    """--device / --dtype (/ --attn-implementation) options with the rules above."""
    parser.add_argument("--device", default=default_device,
                        help="cpu, cuda, cuda:N or auto (cuda:LOCAL_RANK when CUDA is present, else cpu)")
    parser.add_argument("--dtype", default=default_dtype, help="float32, bfloat16, float16 or auto "
                        "(bfloat16 on a GPU that supports it, float32 elsewhere)")
    if attention:
        parser.add_argument("--attn-implementation", default="sdpa", choices=ATTN_CHOICES,
                            help="attention kernels; flash_attention_2 needs flash-attn, CUDA and a 16-bit dtype")
