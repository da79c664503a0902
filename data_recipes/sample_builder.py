"""Turn a pre-tokenized record into a `TokenizedSample` according to its source's sample type."""
from __future__ import annotations

from typing import Any

import numpy as np

from data_recipes.recipe import SourceOptions
from data_recipes.sequences import (LLAMA2, TokenizedSample, build_i2t, build_image_caption, build_instruction,
                                    build_t2i, build_text, choose_t2i_prompt)
from mllm.token_layout import TokenLayout


def _caption(record: dict, rng: np.random.Generator, options: SourceOptions) -> str:
    """Captioning targets use the same long-vs-original choice as T2I prompts, never "<unconditional>"."""
    caption, long_caption = record.get("caption"), record.get("long_caption")
    if caption and long_caption:
        return long_caption if rng.random() < options.caption_prob_long else caption
    text = caption or long_caption
    if not text:
        raise ValueError(f"record {record.get('source')}/{record.get('key')} has no caption to train on")
    return text


def build_sample(record: dict[str, Any], tokenizer, options: SourceOptions, rng: np.random.Generator,
                 max_tokens: int = 2048, layout: TokenLayout = LLAMA2) -> TokenizedSample:
    kind, codes = record["sample_type"], record.get("codes")
    if kind in ("t2i", "i2t", "image_caption") and codes is None:
        raise ValueError(f"record {record.get('source')}/{record.get('key')}: sample type {kind!r} needs image codes")
    if kind == "t2i":
        if rng.random() < options.t2i_ratio:
            prompt = choose_t2i_prompt(rng, record.get("caption"), record.get("long_caption"),
                                       options.caption_prob_long, options.unconditional_prob, layout)
            return build_t2i(tokenizer, prompt, codes, layout=layout)
        return build_i2t(tokenizer, _caption(record, rng, options), codes, layout)
    if kind == "i2t":
        return build_i2t(tokenizer, _caption(record, rng, options), codes, layout)
    if kind == "image_caption":
        return build_image_caption(tokenizer, _caption(record, rng, options), codes, layout)
    if kind == "instruction":
        return build_instruction(tokenizer, record["conversations"], [] if codes is None else [codes], max_tokens,
                                 layout)
    if kind == "text":
        return build_text(tokenizer, record.get("text") or "", max_tokens, layout)
    raise ValueError(f"record {record.get('source')}/{record.get('key')}: unknown sample type {kind!r}")
