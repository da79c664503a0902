"""Build a new unified MLLM from a pretrained Llama-architecture LLM and a UniTok tokenizer.

    llm = AutoModelForCausalLM.from_pretrained(...)        # a Llama-architecture LLM (mllm.backbones)
    tokenizer = AutoTokenizer.from_pretrained(...)         # its own tokenizer
    unitok = UniTok.from_pretrained(...)                   # or just its MultiCodebookQuantizer
    model = build_mllm_from_llm(llm, unitok, tokenizer=tokenizer)
    model.save_pretrained(out); tokenizer.save_pretrained(out)   # the tokenizer now holds <boi>/<eoi>

What is copied: every LLM weight (embeddings, layers, norm, lm_head; tying kept as configured);
UniTok's sub-codebooks into `model.multi_embedder.quantizer` (frozen, as in the official recipe);
and, when the shapes fit, UniTok's `post_quant_proj` into the causal `attn_projection` (the
official initialisation). mm_projector and the depth head start from the usual random init.

With `tokenizer`, the model's token layout comes from it (mllm.token_layout): a vocabulary
without byte tokens for boi/eoi gets <boi>/<eoi> (and <pad> if needed) added, and the rows of
the added tokens in the embeddings and the LM head are the mean of the vocabulary's rows, so
the new tokens start as an "average" token and the LLM's text predictions are unchanged.
Without `tokenizer` the official Llama-2 layout is assumed.
"""
from __future__ import annotations

import logging
from typing import Optional, Union

import torch
import torch.nn as nn

from unitok.modules.projection import AttnProjection
from unitok.modules.quantizer import MultiCodebookQuantizer

from .backbones import llama_fields, llama_state_dict
from .config import UniTokMLLMConfig
from .model import UniTokMLLMForCausalLM
from .token_layout import TokenLayout, layout_for_tokenizer

logger = logging.getLogger(__name__)


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
    fields = llama_fields(llm_config)
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
                        init_projection: bool = True, dtype: Optional[torch.dtype] = None, tokenizer=None,
                        **config_overrides) -> UniTokMLLMForCausalLM:
    """A new UniTokMLLMForCausalLM holding `llm`'s weights and `unitok`'s codebooks; with
    `tokenizer` (modified in place: tokens may be added) its token layout (see module doc)."""
    config = mllm_config_for(llm.config, unitok, **config_overrides)
    dtype = dtype or next(llm.parameters()).dtype
    model = UniTokMLLMForCausalLM(config).to(dtype)

    state = llama_state_dict(llm, config.attention_bias)
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad_missing = [k for k in missing if not k.startswith(("model.multi_embedder.", "ar_head."))
                   and not (config.tie_word_embeddings and k == "lm_head.weight")]
    if unexpected or bad_missing:
        raise ValueError(f"LLM weights do not fit the MLLM: missing {bad_missing[:5]}, unexpected {unexpected[:5]}")
    if config.tie_word_embeddings:
        model.tie_weights()
    copy_tokenizer_side(model, unitok, init_projection)
    if tokenizer is not None:
        vocabulary = len(tokenizer)
        layout, added = layout_for_tokenizer(tokenizer)
        add_token_rows(model, len(tokenizer), first_new=vocabulary if added else None)
        set_token_layout(model, layout)
    return model


def add_token_rows(model: UniTokMLLMForCausalLM, size: int, first_new: Optional[int]) -> None:
    """Grow the embeddings and LM head to `size` rows (never shrink: padded vocabularies keep
    their rows) and set rows first_new.. (added tokens) to the mean of the rows before them."""
    if size > model.config.vocab_size:
        model.resize_token_embeddings(size, mean_resizing=False)
    if first_new is None:
        return
    weights = {id(w): w for w in (model.get_input_embeddings().weight, model.get_output_embeddings().weight)}
    with torch.no_grad():
        for weight in weights.values():
            weight[first_new:size] = weight[:first_new].float().mean(0).to(weight.dtype)


def set_token_layout(model: UniTokMLLMForCausalLM, layout: TokenLayout) -> None:
    """Record `layout` in the config (None for the official layout, which keeps configs as the
    release writes them) and make generation use its pad / bos / eos."""
    config = model.config
    config.token_layout = None if layout.is_default else layout.to_dict()
    config.pad_token_id, config.eos_token_id = layout.pad, layout.eos
    if layout.bos is not None:
        config.bos_token_id = layout.bos
    generation = model.generation_config
    generation.pad_token_id, generation.eos_token_id = layout.pad, layout.eos
    generation.bos_token_id = config.bos_token_id
    config.validate_architecture()


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
