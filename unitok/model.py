"""UniTok: a discrete visual tokenizer trained for both reconstruction and CLIP alignment.

pixels -> ViTamin encoder -> AttnProjection (width -> 64) -> 8 x 4096 x 8 multi-codebook VQ
       -> AttnProjection (64 -> width) -> ViT decoder + conv upsamplers -> pixels
and, for contrastive alignment, mean-pooled post-quant tokens -> LayerNorm -> Linear, matched
against a CLIP text tower. State-dict keys equal the official release's.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PreTrainedModel

from .config import UniTokConfig
from .modules.decoder import ViTaminDecoder
from .modules.projection import AttnProjection
from .modules.quantizer import MultiCodebookQuantizer, NormalizedEmbedding
from .modules.residual_quantizer import ResidualQuantizer
from .modules.text import TextTransformer
from .modules.vitamin import ViTaminEncoder
from .official import load_official_checkpoint

# Pixels are expected in [-1, 1]; beyond this margin the input is almost surely in another range.
PIXEL_RANGE_TOLERANCE = 0.1


class MissingCheckpointError(FileNotFoundError, ValueError):
    """A checkpoint path that does not exist or lacks its files (a ValueError too, like every bad input)."""


def check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be a float tensor in [-1, 1], got dtype {images.dtype}")
    h, w = images.shape[-2:]
    if h % 16 or w % 16 or h == 0 or w == 0:
        raise ValueError(f"image height and width must be positive multiples of 16, got {h}x{w}")
    if images.numel():
        lo, hi = float(images.min()), float(images.max())
        if lo < -1 - PIXEL_RANGE_TOLERANCE or hi > 1 + PIXEL_RANGE_TOLERANCE:
            raise ValueError(f"image values must lie in [-1, 1], got range [{lo:.3g}, {hi:.3g}]"
                             " (for uint8 images use x / 127.5 - 1, or UniTokImageProcessor)")


def _projection(config: UniTokConfig, in_dim: int, out_dim: int) -> nn.Module:
    if config.quant_proj == "linear":
        return nn.Linear(in_dim, out_dim)
    return AttnProjection(in_dim, out_dim, config.projection_heads, causal=config.proj_attention == "causal")


class UniTok(PreTrainedModel):
    config_class = UniTokConfig
    main_input_name = "pixel_values"
    supports_gradient_checkpointing = True
    # The code path (projections into and out of code space, the codebooks) stays fp32 in every
    # precision, as in the official mixed-precision training; nearest-code search in bf16 would
    # pick different codes.
    _keep_in_fp32_modules_strict = ["quant_proj", "post_quant_proj", "quantizer"]

    def __init__(self, config: UniTokConfig):
        super().__init__(config)
        self.encoder = ViTaminEncoder(config)
        self.quant_proj = _projection(config, config.width, config.vocab_width)
        quantizer_class = ResidualQuantizer if config.quantizer_type == "residual" else MultiCodebookQuantizer
        self.quantizer = quantizer_class(config.num_codebooks, config.codebook_size, config.code_dim,
                                                config.vq_beta, config.entropy_weight, config.entropy_temp)
        self.post_quant_proj = _projection(config, config.vocab_width, config.width)
        self.decoder = ViTaminDecoder(config)
        self.text_encoder = TextTransformer(config)
        self.fc_norm = nn.LayerNorm(config.width, eps=1e-6)
        self.projection = nn.Linear(config.width, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(float(config.logit_scale_init)))
        self.post_init()

    # ----------------------------------------------------------------------------- init
    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, NormalizedEmbedding):
            bound = (module.embedding_dim ** -0.5) / 36
            nn.init.uniform_(module.weight, -bound, bound)
        elif isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Conv2d):
            nn.init.xavier_normal_(module.weight, gain=0.5)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, TextTransformer):
            module.init_weights(self.config)
        elif isinstance(module, UniTok):
            with torch.no_grad():
                module.logit_scale.fill_(float(self.config.logit_scale_init))

    def _set_gradient_checkpointing(self, enable: bool = True, gradient_checkpointing_func=None) -> None:
        self.encoder.grad_checkpointing = enable
        self.decoder.grad_checkpointing = enable
        self.text_encoder.transformer.grad_checkpointing = enable

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs=None) -> None:
        self._set_gradient_checkpointing(True)

    def gradient_checkpointing_disable(self) -> None:
        self._set_gradient_checkpointing(False)

    # ----------------------------------------------------------------------------- loading
    def cast(self, dtype: torch.dtype) -> "UniTok":
        """Encoder, decoder and CLIP towers in `dtype`; the code path stays fp32 (see above)."""
        for name, child in self.named_children():
            child.to(torch.float32 if name in self._keep_in_fp32_modules_strict else dtype)
        for param in self.parameters(recurse=False):
            param.data = param.data.to(dtype)
        return self

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, device=None, **kwargs) -> "UniTok":
        """A folder written by `save_pretrained`, or an official release `.pth` file.
        `dtype=` and `device=` (a torch device or a --device string, see unitok.devices) place the
        weights as they load; the code path stays fp32 whatever the dtype."""
        from .devices import resolve_device, resolve_dtype

        path = os.fspath(pretrained_model_name_or_path)
        device = resolve_device(device) if device is not None else None
        if os.path.isfile(path):
            model = load_official_checkpoint(path, model_class=cls)
            if kwargs.get("dtype") is not None:
                model.cast(resolve_dtype(kwargs["dtype"], device))
            return model.to(device) if device is not None else model
        if not os.path.isdir(path):
            raise MissingCheckpointError(f"no UniTok checkpoint at {path!r}: expected a folder with config.json and "
                                    "model.safetensors, or an official .pth file")
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise MissingCheckpointError(f"{path!r} has no config.json: not a UniTok folder written by save_pretrained")
        if kwargs.get("dtype") is not None:
            kwargs["dtype"] = resolve_dtype(kwargs["dtype"], device)
        if device is not None:
            kwargs.setdefault("device_map", {"": device})
        return super().from_pretrained(path, *args, **kwargs)

    # ----------------------------------------------------------------------------- pieces
    def encode_latents(self, images: torch.Tensor) -> torch.Tensor:
        """Images -> continuous latents (B, L, vocab_width) before quantization, in fp32."""
        check_images(images)
        tokens = self.encoder(images.to(self.dtype)).float()
        with torch.autocast(device_type=tokens.device.type, enabled=False):
            return self.quant_proj(tokens)

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Quantized latents (B, L, vocab_width) -> post-quant tokens (B, L, width), in fp32."""
        with torch.autocast(device_type=latents.device.type, enabled=False):
            return self.post_quant_proj(latents.float())

    @torch.no_grad()
    def img_to_idx(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1], (B, 3, H, W) -> codes (B, num_codebooks, H/16 * W/16), raster order."""
        return self.quantizer.f_to_idx(self.encode_latents(images))

    def idx_to_img(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, num_codebooks, L) with a square L, or (B, num_codebooks, H, W) -> images in [-1, 1]."""
        self.quantizer.check_codes(codes)
        tokens = self.decode_latents(self.quantizer.idx_to_f(codes.to(self.device)))
        grid = tuple(codes.shape[2:]) if codes.ndim == 4 else None
        return self.decoder(tokens.to(self.dtype), grid=grid).float().clamp(-1, 1)

    def img_to_reconstructed_img(self, images: torch.Tensor) -> torch.Tensor:
        """Straight-through reconstruction (updates the quantizer's usage statistics, as officially)."""
        latents, _, _, _ = self.quantizer(self.encode_latents(images))
        return self.decoder(self.decode_latents(latents).to(self.dtype)).float().clamp(-1, 1)

    def image_features(self, post_quant_tokens: torch.Tensor) -> torch.Tensor:
        return self.projection(self.fc_norm(post_quant_tokens.mean(dim=1).to(self.dtype)))

    def encode_image(self, images: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        """CLIP image embedding computed from the hard codes."""
        codes = self.quantizer.f_to_idx(self.encode_latents(images))
        features = self.image_features(self.decode_latents(self.quantizer.idx_to_f(codes)))
        return F.normalize(features, dim=-1) if normalize else features

    def encode_text(self, token_ids: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        features = self.text_encoder(token_ids.to(self.device))
        return F.normalize(features, dim=-1) if normalize else features

    # ----------------------------------------------------------------------------- training
    def forward(self, pixel_values: torch.Tensor, vae_bs: Optional[int] = None,
                text: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """The training forward: reconstruction of the first `vae_bs` images (unclamped), VQ loss,
        codebook usage and normalized CLIP features."""
        quantized, vq_loss, entropy_loss, usage = self.quantizer(self.encode_latents(pixel_values))
        if self.training and self.decoder.grad_checkpointing:
            tokens = torch.utils.checkpoint.checkpoint(self.decode_latents, quantized, use_reentrant=False)
        else:
            tokens = self.decode_latents(quantized)
        vae_bs = tokens.shape[0] if vae_bs is None else vae_bs
        img_rec = self.decoder(tokens[:vae_bs].to(self.dtype)).float()
        clip_image = F.normalize(self.image_features(tokens), dim=-1)
        clip_text = self.encode_text(text, normalize=True) if text is not None else None
        return {"img_rec": img_rec, "vq_loss": vq_loss, "entropy_loss": entropy_loss, "codebook_usages": usage,
                "clip_image_features": clip_image, "clip_text_features": clip_text,
                "logit_scale": self.logit_scale.exp()}
