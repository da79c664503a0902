"""Configuration of the unified MLLM: a Llama config plus the image embedder and depth-head sizes.

The official release (`model_type` "mini_gemini") stores a plain Llama config and hard-codes the
image parts; `MiniGeminiConfig` therefore defaults every extra field to those hard-coded values so
official folders load unchanged.
"""
from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import LlamaConfig

from .token_layout import TokenLayout

_PRESETS = {
    # Dims of the golden fixture (official class, tiny Llama).
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                 intermediate_size=256, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5),
    # The CPU demo model the default training run builds: tiny-width Llama, one depth-head layer (the
    # depth head runs 8 steps per image position: with 3 layers it cost more than the LLM) and
    # learned image-position embeddings (see ImageCodeEmbedder).
    "demo": dict(hidden_size=192, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
                 intermediate_size=512, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5,
                 depth_head_layers=1, image_position_embeddings=True),
    # A CPU-sized model for speed measurements.
    "cpu-small": dict(hidden_size=512, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=8,
                      intermediate_size=1376, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5),
    # The released UniTok-MLLM backbone (Llama-2-7B).
    "llama2-7b": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                      intermediate_size=11008, vocab_size=32000, max_position_embeddings=4096, rms_norm_eps=1e-5),
}
_COMMON = dict(pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
               rope_parameters={"rope_theta": 10000.0, "rope_type": "default"})


@strict
class UniTokMLLMConfig(LlamaConfig):
    """Llama config + image side. Defaults of the extra fields are the official hard-coded values.

    num_codebooks / codebook_size / code_dim: UniTok's multi-codebook layout (8 x 4096 x 8).
    projection_width / projection_heads: the causal AttnProjection (codes 64 -> 1024, 16 heads).
    projector_norm_eps: LayerNorm at the head of mm_projector.
    depth_head_layers: Llama decoder layers of the depth transformer that predicts sub-codes.
    image_positions: default number of image positions (256 for a 256x256 image).
    image_position_embeddings: add a learned embedding per image position to the embedder's output
        (not in the release, which relies on RoPE alone; the CPU demo preset turns it on).
    token_layout: the special tokens (pad, bos, eos, boi, eoi, the unconditional prompt, the image
        placeholder) as a `mllm.token_layout.TokenLayout` dict; None is the official Llama-2 layout.
    """

    model_type = "unitok_mllm"

    num_codebooks: int = 8
    codebook_size: int = 4096
    code_dim: int = 8
    projection_width: int = 1024
    projection_heads: int = 16
    projector_norm_eps: float = 1e-6
    depth_head_layers: int = 3
    image_positions: int = 256
    image_position_embeddings: bool = False
    token_layout: dict | None = None

    @property
    def code_width(self) -> int:
        """Width of one image position in code space (concatenated unit code vectors)."""
        return self.num_codebooks * self.code_dim

    def validate_architecture(self):
        super().validate_architecture()
        if self.num_codebooks < 1 or self.codebook_size < 1 or self.code_dim < 1:
            raise ValueError("num_codebooks, codebook_size and code_dim must be positive")
        if max(self.code_width, self.projection_width) % self.projection_heads:
            raise ValueError(f"projection width {max(self.code_width, self.projection_width)} is not divisible by "
                             f"{self.projection_heads} heads")
        if self.depth_head_layers < 1:
            raise ValueError("depth_head_layers must be at least 1")
        layout = TokenLayout.of(self)
        for name in ("pad", "eos", "boi", "eoi") + (("bos",) if layout.bos is not None else ()):
            token_id = getattr(layout, name)
            if not 0 <= token_id < self.vocab_size:
                raise ValueError(f"token_layout: {name} id {token_id} is outside the vocabulary (0..{self.vocab_size - 1})")

    @property
    def layout(self) -> TokenLayout:
        """The typed view of `token_layout` (the Llama-2 layout when None)."""
        return TokenLayout.of(self)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "UniTokMLLMConfig":
        if name not in _PRESETS:
            raise ValueError(f"unknown MLLM preset {name!r}; choose one of {sorted(_PRESETS)}")
        return cls(**{**_COMMON, **_PRESETS[name], **overrides})

    @staticmethod
    def presets():
        return sorted(_PRESETS)


@strict
class MiniGeminiConfig(UniTokMLLMConfig):
    """The official release's config type ("mini_gemini"): same fields, official defaults."""

    model_type = "mini_gemini"
