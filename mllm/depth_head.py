"""Depth transformer predicting the sub-codes of one image position (the official `ar_head`).

For an image position, the input sequence is [h, E_0(c^0), ..., E_{K-2}(c^{K-2})]: the LLM state
that predicts the position followed by embeddings of the sub-codes already chosen. Step k's output
(final RMSNorm, shared `linear_head`) gives the logits of sub-code k. RoPE positions 0..K-1 and
causal attention inside the head; the head never sees other image positions.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn
from transformers.cache_utils import DynamicCache
from transformers.masking_utils import create_causal_mask
from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRMSNorm, LlamaRotaryEmbedding

from .config import UniTokMLLMConfig

# pick(step, logits (R, codebook_size)) -> codes (R,): sampling (and CFG mixing) is the caller's.
CodePicker = Callable[[int, torch.Tensor], torch.Tensor]


class DepthHead(nn.Module):
    def __init__(self, config: UniTokMLLMConfig):
        super().__init__()
        self.config = config
        self.num_codebooks = config.num_codebooks
        self.codebook_size = config.codebook_size
        self.layers = nn.ModuleList(LlamaDecoderLayer(config, i) for i in range(config.depth_head_layers))
        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.linear_head = nn.Linear(config.hidden_size, config.codebook_size)
        # Sub-code k (< K-1) is fed back through table k; the last sub-code is never an input.
        self.codebooks = nn.ModuleList(nn.Embedding(config.codebook_size, config.hidden_size)
                                       for _ in range(config.num_codebooks - 1))
        self.rotary_emb = LlamaRotaryEmbedding(config)

    def forward(self, inputs: torch.Tensor, cache: Optional[DynamicCache] = None) -> torch.Tensor:
        """(N, T, hidden) depth inputs -> (N, T, hidden) final-norm states. With a cache, the
        inputs continue the cached sequence (positions follow the cached length)."""
        start = cache.get_seq_length() if cache is not None else 0
        position_ids = torch.arange(start, start + inputs.shape[1], device=inputs.device).unsqueeze(0)
        mask = create_causal_mask(config=self.config, inputs_embeds=inputs, attention_mask=None,
                                  cache=cache, position_ids=position_ids)
        position_embeddings = self.rotary_emb(inputs, position_ids=position_ids)
        hidden = inputs
        for layer in self.layers:
            hidden = layer(hidden, attention_mask=mask, position_ids=position_ids, cache=cache,
                           use_cache=cache is not None, position_embeddings=position_embeddings)
        return self.norm(hidden)

    def code_embeddings(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, k) sub-codes 0..k-1 -> (N, k, hidden) depth inputs."""
        return torch.stack([self.codebooks[i](codes[:, i]) for i in range(codes.shape[1])], dim=1)

    def teacher_forced_logits(self, context: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Training: context (N, hidden) LLM states, codes (N, K) targets -> logits (N, K, codebook_size)."""
        if codes.ndim != 2 or codes.shape[1] != self.num_codebooks:
            raise ValueError(f"depth-head targets must be (N, {self.num_codebooks}), got {tuple(codes.shape)}")
        inputs = torch.cat([context.unsqueeze(1), self.code_embeddings(codes[:, :-1])], dim=1)
        return self.linear_head(self(inputs))

    def dummy_loss(self, like: torch.Tensor) -> torch.Tensor:
        """Zero that still touches every parameter: distributed training expects gradients for all."""
        codes = torch.ones(1, self.num_codebooks, dtype=torch.long, device=like.device)
        context = torch.zeros(1, self.config.hidden_size, dtype=like.dtype, device=like.device)
        return self.teacher_forced_logits(context, codes).sum() * 0.0

    @torch.no_grad()
    def sample_position(self, context: torch.Tensor, pick: CodePicker, use_cache: bool = True) -> torch.Tensor:
        """Generation: context (R, hidden) -> (R, K) sub-codes chosen one depth step at a time.

        `use_cache=True` keeps the head's KV cache across the K steps (one new input per step);
        `use_cache=False` is the official reference that re-runs the whole prefix at every step."""
        cache = DynamicCache() if use_cache else None
        inputs = context.unsqueeze(1)
        prefix = inputs
        chosen = []
        for step in range(self.num_codebooks):
            states = self(inputs, cache=cache) if use_cache else self(prefix)
            code = pick(step, self.linear_head(states[:, -1]))
            chosen.append(code)
            if step < self.num_codebooks - 1:
                inputs = self.codebooks[step](code).unsqueeze(1)
                prefix = torch.cat([prefix, inputs], dim=1)
        return torch.stack(chosen, dim=1)
