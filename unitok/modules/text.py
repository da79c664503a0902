"""CLIP text tower (OpenCLIP `TextTransformer` layout): causal transformer pooled at the EOT token."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import UniTokConfig


class TextAttention(nn.Module):
    """Causal self-attention with nn.MultiheadAttention's parameter names, computed with SDPA."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).reshape(b, n, 3, self.heads, -1).permute(
            2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out_proj(x.transpose(1, 2).reshape(b, n, c))


class TextMlp(nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.c_fc = nn.Linear(width, hidden)
        self.c_proj = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x)))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = TextAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = TextMlp(width, int(width * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TextStack(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.resblocks = nn.ModuleList(ResidualAttentionBlock(width, heads, mlp_ratio) for _ in range(layers))
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            if self.grad_checkpointing and torch.is_grad_enabled():
                x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return x


class TextTransformer(nn.Module):
    """(N, context) token ids -> (N, embed_dim) text features (not normalized)."""

    def __init__(self, config: UniTokConfig):
        super().__init__()
        width = config.text_width
        self.context_length = config.text_context_length
        self.vocab_size = config.text_vocab_size
        self.text_projection = nn.Parameter(torch.empty(width, config.embed_dim))
        self.positional_embedding = nn.Parameter(torch.empty(config.text_context_length, width))
        self.token_embedding = nn.Embedding(config.text_vocab_size, width)
        self.transformer = TextStack(width, config.text_layers, config.text_heads, config.text_mlp_ratio)
        self.ln_final = nn.LayerNorm(width)
        self.init_weights(config)

    def init_weights(self, config: UniTokConfig) -> None:
        width, layers = config.text_width, config.text_layers
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std, attn_std, fc_std = (width ** -0.5) * ((2 * layers) ** -0.5), width ** -0.5, (2 * width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width ** -0.5)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        if text.ndim != 2:
            raise ValueError(f"text token ids must have shape (N, context_length), got {tuple(text.shape)}")
        if text.shape[1] > self.context_length:
            raise ValueError(f"text has {text.shape[1]} tokens; the tower takes at most {self.context_length}")
        if text.numel() and (int(text.min()) < 0 or int(text.max()) >= self.vocab_size):
            raise ValueError(f"text token ids must lie in [0, {self.vocab_size})")
        x = self.token_embedding(text) + self.positional_embedding[: text.shape[1]]
        x = self.ln_final(self.transformer(x))
        # Pool at the end-of-text token, which has the largest id in CLIP's vocabulary.
        pooled = x[torch.arange(x.shape[0], device=x.device), text.argmax(dim=-1)]
        return pooled @ self.text_projection
