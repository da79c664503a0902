"""Build a new unified MLLM from a pretrained Llama-architecture LLM and a UniTok tokenizer.

    llm = AutoModelForCausalLM.from_pretrained(...)        # any HF LlamaForCausalLM
    unitok = UniTok.from_pretrained(...)                   # or just its MultiCodebookQuantizer
    model = build_mllm_from_llm(llm, unitok)

What is copied: every LLM weight (embeddings, layers, norm, lm_head; tying kept as configured);
UniTok's sub-codebooks into `model.multi_embedder.quantizer` (frozen, as in the official recipe);
and, when the shapes fit, UniTok's `post_quant_proj` into the causal `attn_projection` (the
official initialisation). mm_projector and the depth head start from the usual random init.
"""
from __future__ import annotations

import logging
from typing import Optional, Union

import torch
import torch.nn as nn

from unitok.modules.projection import AttnProjection
from unitok.modules.quantizer import MultiCodebookQuantizer

from .config import UniTokMLLMConfig
from .model import UniTokMLLMForCausalLM

logger = logging.getLogger(__name__)

# Keys of a Llama config dict that describe the file, not the architecture.
_NON_ARCH_KEYS = ("model_type", "architectures", "transformers_version", "_name_or_path", "auto_map",
                  "dtype", "torch_dtype")


def _parts(unitok: Union[nn.Module, MultiCodebookQuantizer]):
    """(quantizer, post_quant_proj or None, projection heads or None) of a UniTok or a bare quantizer."""
    if isinstance(unitok, MultiCodebookQuantizer):
        return unitok, None, None
    quantizer = getattr(unitok, "quantizer", None)
    if not isinstance(quantizer, MultiCodebookQuantizer):
        raise ValueError(f"expected a UniTok model or a MultiCodebookQuantizer, got {type(unitok).__name__}")
    projection = getattr(unitok, "post_quant_proj", None)
    heads = getattr(getattr(unitok, "config", None), "projection_heads", None)
    return quantizer, projection if isinstance(projection, AttnProjection) else None, heads


def mllm_config_for(llm_config, unitok: Union[nn.Module, MultiCodebookQuantizer], **overrides) -> UniTokMLLMConfig:
    """The LLM's architecture + the tokenizer's code layout. The projection width defaults to the
    UniTok's post-quant width so `post_quant_proj` can initialise it (official: 1024 / 16 heads)."""
    quantizer, projection, heads = _parts(unitok)
    fields = {k: v for k, v in llm_config.to_dict().items() if k not in _NON_ARCH_KEYS}
    fields.update(num_codebooks=quantizer.num_codebooks, codebook_size=quantizer.codebook_size,
                  code_dim=quantizer.code_dim)
    if projection is not None:
        fields.update(projection_width=projection.proj.out_features,
                      projection_heads=heads or projection.attn.num_heads)
    fields.update(overrides)
    return UniTokMLLMConfig(**fields)


def copy_tokenizer_side(model: UniTokMLLMForCausalLM, unitok: Union[nn.Module, MultiCodebookQuantizer],
                        init_projection: bool = True) -> None:
    """UniTok's code vectors into the embedder (frozen) and, when shapes fit, its post_quant_proj
    into the causal attn_projection (the official initialisation)."""
    quantizer, projection, _ = _parts(unitok)
    model.embedder.quantizer.load_state_dict(quantizer.state_dict())
    model.embedder.quantizer.requires_grad_(False)
    if init_projection and projection is not None:
        target = model.embedder.attn_projection
        source = projection.state_dict()
        if all(k in source and source[k].shape == v.shape for k, v in target.state_dict().items()):
            target.load_state_dict(source)
        else:
            logger.warning("post_quant_proj shapes do not fit the embedder projection; keeping random init")


def build_mllm_from_llm(llm: nn.Module, unitok: Union[nn.Module, MultiCodebookQuantizer],
                        init_projection: bool = True, dtype: Optional[torch.dtype] = None,
                        **config_overrides) -> UniTokMLLMForCausalLM:
    """A new UniTokMLLMForCausalLM holding `llm`'s weights and `unitok`'s codebooks (see module doc)."""
    if getattr(llm.config, "model_type", None) not in ("llama", "unitok_mllm", "mini_gemini"):
        raise ValueError(f"expected a Llama-architecture LLM, got model_type {llm.config.model_type!r}")
    config = mllm_config_for(llm.config, unitok, **config_overrides)
    dtype = dtype or next(llm.parameters()).dtype
    model = UniTokMLLMForCausalLM(config).to(dtype)

    missing, unexpected = model.load_state_dict(llm.state_dict(), strict=False)
    bad_missing = [k for k in missing if not k.startswith(("model.multi_embedder.", "ar_head."))
                   and not (config.tie_word_embeddings and k == "lm_head.weight")]
    if unexpected or bad_missing:
        raise ValueError(f"LLM weights do not fit the MLLM: missing {bad_missing[:5]}, unexpected {unexpected[:5]}")
    if config.tie_word_embeddings:
        model.tie_weights()
    copy_tokenizer_side(model, unitok, init_projection)
    return model


def build_mllm_from_preset(preset: str, unitok: Union[nn.Module, MultiCodebookQuantizer],
                           init_projection: bool = True, **config_overrides) -> UniTokMLLMForCausalLM:
    """A new, randomly initialised LLM of a named preset around `unitok`'s codes (from-scratch runs)."""
    quantizer, projection, heads = _parts(unitok)
    fields = dict(num_codebooks=quantizer.num_codebooks, codebook_size=quantizer.codebook_size,
                  code_dim=quantizer.code_dim)
    if projection is not None:
        fields.update(projection_width=projection.proj.out_features,
                      projection_heads=heads or projection.attn.num_heads)
    model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset(preset, **{**fields, **config_overrides}))
    copy_tokenizer_side(model, unitok, init_projection)
    return model
