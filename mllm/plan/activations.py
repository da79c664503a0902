"""Bytes autograd keeps for backward in one training forward of the MLLM, part by part.

Each formula lists the tensors the operations save (checked against the saved-tensor hooks and
measured on CPU, see tests/mllm/test_plan.py), per token and per layer:

- RMSNorm: its input upcast to fp32 (4h), the normalized value in the compute dtype (e*h) and
  the reciprocal RMS (4); its output is saved by the following linear layers (e*h).
- attention (SDPA flash / memory-efficient kernels): q and k after RoPE, v, the output (e*(2h +
  2*kv)), the log-sum-exp per head (4*heads).
- SwiGLU MLP: gate output, its SiLU, up output and their product (4*e*i).
- heads: the logits kept in the output (e) and the fp32 log-softmax the cross entropy saves (4),
  per position and vocabulary entry.
- image embedder (LayerNorm / GeGLU / causal attention projection, width P, MLP 2P, code width
  C) and the mm_projector, per image position.
With gradient checkpointing each decoder layer keeps only its input (e*h per token) and one layer
is recomputed at a time during backward.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import UniTokMLLMConfig

FP32 = 4


@dataclass(frozen=True)
class Workload:
    """One micro-batch: `rows` sequences of `seq` positions (after image expansion), `images`
    images of `image_positions` each embedded per row, `generated` of them generation targets."""
    rows: int
    seq: int
    images: int
    generated: int
    image_positions: int

    def __post_init__(self):
        if self.generated > self.images:
            raise ValueError(f"generated images ({self.generated}) cannot exceed embedded images ({self.images})")
        if self.images * self.image_positions > self.seq:
            raise ValueError(f"{self.images} image(s) of {self.image_positions} positions do not fit in seq {self.seq}")


def _kv_width(config: UniTokMLLMConfig) -> int:
    return config.num_key_value_heads * (config.hidden_size // config.num_attention_heads)


def norm_bytes(h: int, e: int) -> int:
    """RMSNorm per token, without its output."""
    return FP32 * h + e * h + FP32


def decoder_layer_bytes(config: UniTokMLLMConfig, e: int) -> int:
    """One Llama decoder layer, per token."""
    h, i, heads = config.hidden_size, config.intermediate_size, config.num_attention_heads
    attention = e * (h + 2 * h + 2 * _kv_width(config)) + FP32 * heads   # input, q, out, k, v, lse
    mlp = e * (h + 4 * i)
    return 2 * norm_bytes(h, e) + attention + mlp


def head_bytes(positions: int, vocab: int, e: int) -> int:
    """Logits kept in the output plus the fp32 log-softmax saved by the cross entropy."""
    return positions * vocab * (e + FP32)


def embedder_bytes(config: UniTokMLLMConfig, e: int) -> int:
    """Image embedder (causal attention projection + GeGLU MLP + mm_projector), per image position."""
    c, p, h = config.code_width, config.projection_width, config.hidden_size
    m = 2 * p  # GeGLU width (mlp_ratio 2)
    layer_norm_stats = 5 * 2 * FP32   # mean and rstd of its five LayerNorms
    return e * (3 * c + 9 * p + 4 * m + 2 * h) + FP32 * config.projection_heads + layer_norm_stats


@dataclass(frozen=True)
class ActivationBytes:
    """Bytes at the end of the forward pass per part, and the three moments of the backward pass
    that can set the peak. Backward runs the depth-head loss first (it was built last), so its
    saved tensors are gone by the time the text loss runs backward."""
    llm: int
    text_head: int
    embedder: int
    depth_head: int
    depth_loss_backward: int    # extra while the depth-head cross entropy and z-loss run backward
    text_loss_backward: int     # extra while the text cross entropy runs backward (depth part freed)
    recompute: int              # extra while a checkpointed layer is recomputed (heads freed)

    @property
    def total(self) -> int:
        return self.llm + self.text_head + self.embedder + self.depth_head

    @property
    def peak(self) -> int:
        return self.total + max(self.depth_loss_backward, self.text_loss_backward, self.recompute)


def activation_bytes(config: UniTokMLLMConfig, work: Workload, e: int, gradient_checkpointing: bool = False,
                     grad_bytes: int = FP32) -> ActivationBytes:
    """`e`: bytes per element of the compute dtype; `grad_bytes`: of a gradient (lm_head's weight
    gradient exists while the text loss runs backward)."""
    h, k = config.hidden_size, config.num_codebooks
    tokens = work.rows * work.seq
    depth_tokens = work.rows * work.generated * work.image_positions * k
    layer = decoder_layer_bytes(config, e)
    final_norm = norm_bytes(h, e) + e * h
    layers_per_token = e * h if gradient_checkpointing else layer   # checkpointing keeps layer inputs only
    text_logits = head_bytes(tokens, config.vocab_size, e)
    depth_logits = head_bytes(depth_tokens, config.codebook_size, e)
    depth = config.depth_head_layers * layers_per_token * depth_tokens + final_norm * depth_tokens + depth_logits
    # Gradients of the log-probabilities and of the logits (fp32), plus the dense gradient of the
    # z-loss's max for the depth head.
    depth_backward = 3 * FP32 * depth_tokens * config.codebook_size
    text_backward = (2 * FP32 * tokens * config.vocab_size + grad_bytes * config.vocab_size * h - depth)
    recompute = (layer * max(tokens, depth_tokens) - text_logits - depth_logits) if gradient_checkpointing else 0
    return ActivationBytes(
        llm=config.num_hidden_layers * layers_per_token * tokens + final_norm * tokens,
        text_head=text_logits,
        embedder=embedder_bytes(config, e) * work.rows * work.images * work.image_positions,
        depth_head=depth,
        depth_loss_backward=depth_backward, text_loss_backward=text_backward, recompute=recompute)
