"""Per-sub-codebook usage and perplexity of the codes a tokenizer assigns to a data set."""
from __future__ import annotations

from typing import Dict, List

import torch


class CodeCounter:
    def __init__(self, num_codebooks: int, codebook_size: int):
        self.counts = torch.zeros(num_codebooks, codebook_size, dtype=torch.long)

    def update(self, codes: torch.Tensor) -> None:
        """codes: (B, num_codebooks, L) indices."""
        if codes.ndim != 3 or codes.shape[1] != self.counts.shape[0]:
            raise ValueError(f"expected codes (B, {self.counts.shape[0]}, L), got {tuple(codes.shape)}")
        flat = codes.transpose(0, 1).reshape(codes.shape[1], -1).cpu()
        for i in range(flat.shape[0]):
            self.counts[i] += torch.bincount(flat[i], minlength=self.counts.shape[1])

    def summary(self) -> Dict[str, object]:
        """usage = share of entries used at least once; perplexity = exp(entropy of code frequencies)."""
        per: List[Dict[str, float]] = []
        for row in self.counts:
            total = int(row.sum())
            p = row.double() / max(total, 1)
            entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
            per.append({"usage": float((row > 0).double().mean()), "perplexity": float(torch.tensor(entropy).exp()),
                        "codes_counted": total})
        return {"per_codebook": per,
                "mean_usage": sum(c["usage"] for c in per) / len(per),
                "mean_perplexity": sum(c["perplexity"] for c in per) / len(per),
                "codebook_size": int(self.counts.shape[1])}
