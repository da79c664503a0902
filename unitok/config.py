"""UniTokConfig: every architectural dimension of the tokenizer, with named presets."""
from __future__ import annotations

import math
from typing import Optional, Sequence

from transformers import PretrainedConfig

# Official ViTamin sizes (stem width, stage widths, trunk width/depth/heads); "tiny" is the
# size of the golden test fixture (`vitamin_tiny`), "small"/"base"/"large" follow ViTamin.
_PRESETS = {
    "tiny": dict(stem_width=32, stage_widths=(32, 64), width=128, depth=2, num_heads=2,
                 embed_dim=128, text_width=128, text_heads=2, text_layers=2),
    "small": dict(stem_width=64, stage_widths=(64, 128), width=384, depth=14, num_heads=6,
                  embed_dim=384, text_width=384, text_heads=6, text_layers=12),
    "base": dict(stem_width=128, stage_widths=(128, 256), width=768, depth=14, num_heads=12,
                 embed_dim=512, text_width=512, text_heads=8, text_layers=12),
    "large": dict(stem_width=160, stage_widths=(160, 320), width=1024, depth=31, num_heads=16,
                  embed_dim=768, text_width=768, text_heads=12, text_layers=12),
}
# Official `Args.model` names mapped to presets (the tiny fixture uses a non-official name).
OFFICIAL_MODEL_NAMES = {"vitamin_tiny": "tiny", "vitamin_small": "small", "vitamin_base": "base",
                        "vitamin_large": "large"}


class UniTokConfig(PretrainedConfig):
    """Hyper-parameters of UniTok. Defaults describe the released UniTok-Large."""

    model_type = "unitok"

    def __init__(
        self,
        stem_width: int = 160,
        stage_widths: Sequence[int] = (160, 320),
        stage_depths: Sequence[int] = (2, 4),
        mbconv_expand_ratio: float = 4.0,
        width: int = 1024,
        depth: int = 31,
        num_heads: int = 16,
        mlp_ratio: float = 2.0,
        decoder_depth: Optional[int] = None,
        decoder_up_depths: Sequence[int] = (4, 2),
        num_query: int = 0,
        num_codebooks: int = 8,
        codebook_size: int = 4096,
        code_dim: int = 8,
        quantizer_type: str = "multi",
        quant_proj: str = "attn",
        proj_attention: str = "full",
        proj_num_heads: Optional[int] = None,
        vq_beta: float = 0.25,
        entropy_weight: float = 0.0,
        entropy_temp: float = 0.01,
        embed_dim: int = 768,
        text_width: int = 768,
        text_heads: int = 12,
        text_layers: int = 12,
        text_mlp_ratio: float = 4.0,
        text_vocab_size: int = 49408,
        text_context_length: int = 77,
        img_size: int = 256,
        resize_ratio: float = 1.125,
        drop_path: float = 0.0,
        grad_ckpt: bool = False,
        logit_scale_init: float = math.log(1 / 0.07),
        **kwargs,
    ):
        self.stem_width = stem_width
        self.stage_widths = list(stage_widths)
        self.stage_depths = list(stage_depths)
        self.mbconv_expand_ratio = mbconv_expand_ratio
        self.width = width
        self.depth = depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.decoder_depth = depth if decoder_depth is None else decoder_depth
        self.decoder_up_depths = list(decoder_up_depths)
        self.num_query = num_query
        self.num_codebooks = num_codebooks
        self.codebook_size = codebook_size
        self.code_dim = code_dim
        self.quantizer_type = quantizer_type
        self.quant_proj = quant_proj
        self.proj_attention = proj_attention
        self.proj_num_heads = proj_num_heads
        self.vq_beta = vq_beta
        self.entropy_weight = entropy_weight
        self.entropy_temp = entropy_temp
        self.embed_dim = embed_dim
        self.text_width = text_width
        self.text_heads = text_heads
        self.text_layers = text_layers
        self.text_mlp_ratio = text_mlp_ratio
        self.text_vocab_size = text_vocab_size
        self.text_context_length = text_context_length
        self.img_size = img_size
        self.resize_ratio = resize_ratio
        self.drop_path = drop_path
        self.grad_ckpt = grad_ckpt
        self.logit_scale_init = logit_scale_init
        super().__init__(**kwargs)
        self.validate()

    def validate(self) -> None:
        if len(self.stage_widths) != 2 or len(self.stage_depths) != 2:
            raise ValueError("the hybrid encoder has exactly two MBConv stages (stage_widths, stage_depths)")
        if len(self.decoder_up_depths) != 2:
            raise ValueError("decoder_up_depths must hold two depths")
        if self.quant_proj not in ("attn", "linear"):
            raise ValueError(f"quant_proj must be 'attn' or 'linear', got {self.quant_proj!r}")
        if self.quantizer_type not in ("multi", "residual"):
            raise ValueError(f"quantizer_type must be 'multi' or 'residual', got {self.quantizer_type!r}")
        if self.proj_attention not in ("full", "causal"):
            raise ValueError(f"proj_attention must be 'full' or 'causal', got {self.proj_attention!r}")
        if self.width % self.num_heads:
            raise ValueError(f"width {self.width} is not divisible by num_heads {self.num_heads}")

    @property
    def vocab_size(self) -> int:
        """Total entries over all sub-codebooks (the official `vocab_size`)."""
        return self.num_codebooks * self.codebook_size

    @property
    def vocab_width(self) -> int:
        """Total latent width (the official `vocab_width`)."""
        return self.num_codebooks * self.code_dim

    @property
    def projection_heads(self) -> int:
        # Official rule: encoder width // latent width (16 for Large), for both projections.
        return self.proj_num_heads or max(1, self.width // self.vocab_width)

    @property
    def decoder_widths(self):
        """(trunk, first upsampling stage, second) widths: the encoder's widths in reverse."""
        return (self.width, self.stage_widths[1], self.stage_widths[0])

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "UniTokConfig":
        if name not in _PRESETS:
            raise ValueError(f"unknown UniTok preset {name!r}; choose one of {sorted(_PRESETS)}")
        return cls(**{**_PRESETS[name], **overrides})

    @staticmethod
    def presets():
        return sorted(_PRESETS)
