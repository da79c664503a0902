"""Parameter counts of an MLLM configuration by trainable part, read from the model built on the
meta device (nothing is allocated, so the 7B layout costs nothing)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from accelerate import init_empty_weights

from ..config import UniTokMLLMConfig
from ..model import UniTokMLLMForCausalLM


@dataclass(frozen=True)
class ModelSizes:
    """Parameter counts per part; names follow the trainer's parts (trainers.mllm.build)."""
    llm: int            # decoder layers, final norm, lm_head, token embeddings
    projection: int     # multi_embedder.attn_projection
    projector: int      # multi_embedder.mm_projector
    depth_head: int     # ar_head
    codebooks: int      # multi_embedder.quantizer (frozen UniTok code vectors)
    lora_per_rank: int  # LoRA parameters per unit of rank on the LLM's linear layers
    largest_layer: int  # the largest LLM decoder layer

    @property
    def total(self) -> int:
        return self.llm + self.projection + self.projector + self.depth_head + self.codebooks

    def lora(self, rank: int) -> int:
        return self.lora_per_rank * rank

    def trainable(self, llm: bool = True, projection: bool = True, projector: bool = True,
                  depth_head: bool = True, lora_rank: int = 0) -> int:
        """Trainable parameters; with lora_rank > 0 the LLM is frozen and adapters train instead."""
        return ((self.llm if llm and not lora_rank else 0) + self.lora(lora_rank) +
                (self.projection if projection else 0) + (self.projector if projector else 0) +
                (self.depth_head if depth_head else 0))


def _part(name: str) -> str:
    if ".quantizer." in name:
        return "codebooks"
    if ".attn_projection." in name:
        return "projection"
    if ".mm_projector." in name:
        return "projector"
    if name.startswith("ar_head."):
        return "depth_head"
    return "llm"


def model_sizes(config: UniTokMLLMConfig) -> ModelSizes:
    with init_empty_weights():
        model = UniTokMLLMForCausalLM(config)
    counts = dict.fromkeys(("llm", "projection", "projector", "depth_head", "codebooks"), 0)
    for name, param in model.named_parameters():
        counts[_part(name)] += param.numel()
    pattern = re.compile(UniTokMLLMForCausalLM.llm_linear_pattern)
    lora = sum(m.in_features + m.out_features for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and pattern.match(name))
    largest = max(sum(p.numel() for p in layer.parameters()) for layer in model.model.layers)
    return ModelSizes(lora_per_rank=lora, largest_layer=largest, **counts)
