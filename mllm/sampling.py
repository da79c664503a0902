"""Choosing a sub-code from depth-head logits: CFG mixing, temperature, top-k / top-p, sampling."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F


@dataclass
class SamplingConfig:
    """temperature 0 or top_k 1 is greedy; top_k 0 and top_p 1.0 disable filtering."""
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self):
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or self.top_k == 1


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set logits outside the top-k / nucleus to -inf (the most likely entry always survives)."""
    logits = logits.clone()
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
        logits[logits < kth] = float("-inf")
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = F.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        remove = cumulative > top_p
        # Shift right so the entry that crosses the threshold is kept.
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        logits[remove.scatter(-1, order, remove)] = float("-inf")
    return logits


def sample_codes(logits: torch.Tensor, cfg: SamplingConfig, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """(R, V) logits -> (R,) codes."""
    if cfg.greedy:
        return logits.argmax(dim=-1)
    logits = filter_logits(logits.float() / cfg.temperature, cfg.top_k, cfg.top_p)
    probs = F.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


LogitsCallback = Callable[[int, int, torch.Tensor, torch.Tensor], None]


def make_code_picker(batch: int, cfg_scale: float, sampling: SamplingConfig, generator=None,
                     position: Callable[[], int] = lambda: 0, on_logits: Optional[LogitsCallback] = None):
    """A `pick(step, logits)` for DepthHead.sample_position. With CFG the rows are
    [conditional x batch, unconditional x batch]; logits are mixed as uncond + s * (cond - uncond)
    and the chosen code is fed to both halves. `on_logits(position, step, mixed, raw)` sees the
    logits before sampling (for tests and inspection)."""
    use_cfg = cfg_scale != 1.0

    def pick(step: int, logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()   # CFG's difference of logits in bf16 would lose the small margins
        mixed = logits
        if use_cfg:
            cond, uncond = logits[:batch], logits[batch:]
            mixed = uncond + cfg_scale * (cond - uncond)
        if on_logits is not None:
            on_logits(position(), step, mixed, logits)
        codes = sample_codes(mixed, sampling, generator)
        return torch.cat([codes, codes]) if use_cfg else codes

    return pick
