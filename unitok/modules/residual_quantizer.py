"""Residual quantization with the same code shape as the multi-codebook quantizer.

For the paper's comparison (Table 7): instead of splitting the latent into independent chunks,
each of `num_codebooks` levels quantizes what the previous levels left of the whole (normalized)
latent, with full-width codebooks. Codes are still (B, num_codebooks, L).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .quantizer import LOOKUP_CHUNK, MultiCodebookQuantizer


def nearest_euclidean(residual: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    out = torch.empty(residual.shape[0], dtype=torch.long, device=residual.device)
    sq_norms = codebook.pow(2).sum(-1)
    for start in range(0, residual.shape[0], LOOKUP_CHUNK):
        chunk = residual[start:start + LOOKUP_CHUNK]
        out[start:start + LOOKUP_CHUNK] = torch.argmin(sq_norms - 2 * chunk @ codebook.T, dim=1)
    return out


class ResidualLevel(nn.Module):
    def __init__(self, num_codes: int, width: int):
        super().__init__()
        self.register_buffer("vocab_usage", torch.zeros(num_codes))
        self.codebook = nn.Embedding(num_codes, width)
        nn.init.normal_(self.codebook.weight, std=width ** -0.5 / 4)


class ResidualQuantizer(MultiCodebookQuantizer):
    """Same public interface as MultiCodebookQuantizer (forward, f_to_idx, idx_to_f, check_codes)."""

    def __init__(self, num_codebooks: int = 8, codebook_size: int = 4096, code_dim: int = 8, beta: float = 0.25,
                 entropy_weight: float = 0.0, entropy_temp: float = 0.01):
        nn.Module.__init__(self)
        self.num_codebooks, self.codebook_size, self.code_dim, self.beta = num_codebooks, codebook_size, code_dim, beta
        self.codebooks = nn.ModuleList(ResidualLevel(codebook_size, self.width) for _ in range(num_codebooks))

    def _quantize(self, z: torch.Tensor):
        residual, total, indices = z, torch.zeros_like(z), []
        for level in self.codebooks:
            idx = nearest_euclidean(residual.detach(), level.codebook.weight.float())
            q = level.codebook(idx).float()
            total = total + q
            residual = residual - q
            indices.append(idx)
        return total, indices

    def forward(self, features: torch.Tensor):
        b, length, c = features.shape
        if c != self.width:
            raise ValueError(f"expected latents of width {self.width}, got {c}")
        z = F.normalize(features.reshape(-1, c).float(), dim=-1)
        total, indices = self._quantize(z)
        vq_loss = F.mse_loss(total, z.detach()) + self.beta * F.mse_loss(total.detach(), z)
        usage = 0.0
        for level, idx in zip(self.codebooks, indices):
            probs = idx.bincount(minlength=self.codebook_size).float() / idx.numel()
            level.vocab_usage.copy_(probs)
            usage = usage + (probs > 0.01 / self.codebook_size).float().mean() * 100
        out = (total.detach() - z.detach()) + z
        return out.view(b, length, c), vq_loss, z.new_zeros(()), usage / self.num_codebooks

    @torch.no_grad()
    def f_to_idx(self, features: torch.Tensor) -> torch.Tensor:
        b, length, c = features.shape
        if c != self.width:
            raise ValueError(f"expected latents of width {self.width}, got {c}")
        _, indices = self._quantize(F.normalize(features.reshape(-1, c).float(), dim=-1))
        return torch.stack([idx.view(b, length) for idx in indices], dim=1)

    def idx_to_f(self, indices: torch.Tensor) -> torch.Tensor:
        self.check_codes(indices)
        return sum(level.codebook(indices[:, i].flatten(1).long()).float() for i, level in enumerate(self.codebooks))
