"""Image codes -> LLM input embeddings (the official `model.multi_embedder`).

Each image position carries `num_codebooks` sub-codes; their (frozen, L2-normalized) UniTok code
vectors are concatenated, mixed over earlier positions of the same image by a CAUSAL attention
projection, and mapped to the LLM width by an MLP. One LLM position per image position.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from unitok.modules.projection import AttnProjection
from unitok.modules.quantizer import MultiCodebookQuantizer

from .config import UniTokMLLMConfig


class ImageCodeEmbedder(nn.Module):
    def __init__(self, config: UniTokMLLMConfig):
        super().__init__()
        self.num_codebooks = config.num_codebooks
        self.codebook_size = config.codebook_size
        self.quantizer = MultiCodebookQuantizer(config.num_codebooks, config.codebook_size, config.code_dim)
        self.quantizer.requires_grad_(False)  # UniTok's own code vectors are reused, never trained
        self.attn_projection = AttnProjection(config.code_width, config.projection_width,
                                              config.projection_heads, causal=True)
        self.mm_projector = nn.Sequential(
            nn.LayerNorm(config.projection_width, eps=config.projector_norm_eps),
            nn.Linear(config.projection_width, config.hidden_size),
            nn.GELU(),
            nn.Linear(config.hidden_size, config.hidden_size),
        )
        # Optional (not in the release): a learned embedding per image position. Without it the LLM
        # knows where an image position is only through RoPE distances, which shift with the
        # length of the text around the image; small models trained briefly then cannot tell left
        # from right (measured on the demo: position answers at chance).
        self.position_embedding = (nn.Parameter(torch.zeros(config.image_positions, config.hidden_size))
                                   if config.image_position_embeddings else None)

    def check_codes(self, codes: torch.Tensor) -> None:
        """Codes must be integer (N, num_codebooks, L) with values in [0, codebook_size)."""
        if not isinstance(codes, torch.Tensor):
            raise ValueError(f"image codes must be a tensor, got {type(codes).__name__}")
        if codes.ndim != 3 or codes.shape[1] != self.num_codebooks:
            raise ValueError(f"image codes must have shape (N, {self.num_codebooks}, L) (flatten spatial codes "
                             f"first), got {tuple(codes.shape)}")
        self.quantizer.check_codes(codes)

    def code_features(self, codes: torch.Tensor) -> torch.Tensor:
        self.check_codes(codes)
        features = self.quantizer.idx_to_f(codes)
        return features.to(self.attn_projection.proj.weight.dtype)

    def forward(self, codes: torch.Tensor, past_kv: Optional[list] = None) -> torch.Tensor:
        """(N, num_codebooks, L) codes -> (N, L, hidden) embeddings.

        With `past_kv` (a list filled in place) the causal projection reuses the keys/values of
        earlier calls: feeding an image one position at a time gives the same embeddings as
        embedding the whole image at once (the training-consistent generation path)."""
        offset = past_kv[0].shape[2] if past_kv else 0   # positions embedded by earlier calls
        embeddings = self.mm_projector(self.attn_projection(self.code_features(codes), past_kv=past_kv))
        if self.position_embedding is None:
            return embeddings
        end = offset + embeddings.shape[1]
        if end > self.position_embedding.shape[0]:
            raise ValueError(f"image has {end} positions but the model learned position embeddings for "
                             f"{self.position_embedding.shape[0]} (config.image_positions)")
        return embeddings + self.position_embedding[offset:end].to(embeddings.dtype)

    def dummy_output(self, like: torch.Tensor) -> torch.Tensor:
        """A zero that runs every trainable part once: on an image-free batch each rank must still
        use the embedder, at the same point of the forward as with images (before the LLM), or
        ZeRO-3 gathers and DDP gradient buckets disagree across ranks."""
        codes = torch.zeros(1, self.num_codebooks, 1, dtype=torch.long, device=like.device)
        return self(codes).sum().to(like.dtype) * 0.0
