"""Build the model to train: a new MLLM from a preset (or a HF Llama) plus a UniTok, or an
existing MLLM export; then choose which parts train.

A new MLLM takes its image side from the UniTok: the code layout (codebooks, size, dim), the frozen
code vectors, and the projection initialised from the tokenizer's post_quant_proj (reference 5.1).
"""
from __future__ import annotations

from dataclasses import dataclass
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


def new_mllm(preset: str, unitok, vocab_size: int, image_positions: int, llm_path: Optional[str] = None,
             seed: int = 0) -> UniTokMLLMForCausalLM:
    """A fresh MLLM around `unitok`; with `llm_path` the LLM (a HF Llama folder) replaces the preset."""
    torch.manual_seed(seed)
    if llm_path:
        from transformers import AutoModelForCausalLM
        llm = AutoModelForCausalLM.from_pretrained(llm_path, dtype=torch.float32)
        return build_mllm_from_llm(llm, unitok, image_positions=image_positions)
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
