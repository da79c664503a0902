"""FLOPs of the unified MLLM (LLM + image embedder + depth head), for MFU in training logs and
for `python -m mllm.plan`. Works on a model on the meta device (only shapes are read)."""
from __future__ import annotations

import torch


def _linear_params(module: torch.nn.Module) -> int:
    """Weights that take part in matmuls (embedding lookups excluded)."""
    total = 0
    for m in module.modules():
        if isinstance(m, torch.nn.Linear):
            w = m.weight
            total += w.ds_numel if hasattr(w, "ds_numel") else w.numel()
    return total


class FlopCounter:
    """Training FLOPs = 3 x forward (forward + backward), forward = 2 x matmul weights x tokens
    plus attention scores. Counted: LLM decoder + lm_head over every position, the image
    embedder over every image position, and the depth head over K steps per generated position."""

    def __init__(self, model: torch.nn.Module):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        cfg = base.config
        self.hidden, self.layers = cfg.hidden_size, cfg.num_hidden_layers
        self.k = cfg.num_codebooks
        self.llm_weights = _linear_params(base.model.layers) + _linear_params(base.lm_head)
        self.embedder_weights = _linear_params(base.model.multi_embedder)
        self.head_weights = _linear_params(base.ar_head)
        self.head_layers = cfg.depth_head_layers

    def step_flops(self, seq_lens: list[int], image_positions: int, generated_positions: int) -> float:
        """seq_lens: expanded (image-spliced) length of every row; image_positions: all image
        positions embedded; generated_positions: image positions under the depth-head loss."""
        tokens = sum(seq_lens)
        fwd = 2 * self.llm_weights * tokens
        fwd += sum(4 * self.layers * self.hidden * n * n / 2 for n in seq_lens)        # causal QK^T and AV
        fwd += 2 * self.embedder_weights * image_positions
        fwd += 2 * self.head_weights * self.k * generated_positions
        fwd += 4 * self.head_layers * self.hidden * (self.k * self.k / 2) * generated_positions
        return 3.0 * fwd
