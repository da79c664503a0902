"""FROZEN BASELINE - do not optimise. The image-generation loop of main at commit def4ffd (before
issue 12), kept verbatim in behaviour so `generation_speed.py` can time "the previous path" and
"the official recompute loop" against the current code in one run, whatever mllm becomes.

It uses only the model's modules (HF Llama layers, the embedder, the depth-head layers), never
mllm.generation, so later speed work in mllm cannot change what it measures.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from transformers.cache_utils import DynamicCache
from transformers.masking_utils import create_causal_mask

from mllm.constants import PAD_TOKEN_ID
from mllm.sampling import SamplingConfig, sample_codes


def _left_pad(ids, mask, length):
    extra = length - ids.shape[1]
    return F.pad(ids, (extra, 0), value=PAD_TOKEN_ID), F.pad(mask, (extra, 0), value=0)


def _cfg_batch(input_ids, attention_mask, uncond_input_ids, uncond_attention_mask):
    batch = input_ids.shape[0]
    if uncond_input_ids.shape[0] == 1 and batch > 1:
        uncond_input_ids = uncond_input_ids.expand(batch, -1)
        uncond_attention_mask = uncond_attention_mask.expand(batch, -1)
    length = max(input_ids.shape[1], uncond_input_ids.shape[1])
    ids_c, mask_c = _left_pad(input_ids, attention_mask, length)
    ids_u, mask_u = _left_pad(uncond_input_ids, uncond_attention_mask, length)
    return torch.cat([ids_c, ids_u]), torch.cat([mask_c, mask_u])


def _depth_forward(head, inputs, cache=None):
    """DepthHead.forward as of def4ffd: positions and the causal mask re-derived at every call."""
    start = cache.get_seq_length() if cache is not None else 0
    position_ids = torch.arange(start, start + inputs.shape[1], device=inputs.device).unsqueeze(0)
    mask = create_causal_mask(config=head.config, inputs_embeds=inputs, attention_mask=None,
                              cache=cache, position_ids=position_ids)
    position_embeddings = head.rotary_emb(inputs, position_ids=position_ids)
    hidden = inputs
    for layer in head.layers:
        hidden = layer(hidden, attention_mask=mask, position_ids=position_ids, cache=cache,
                       use_cache=cache is not None, position_embeddings=position_embeddings)
    return head.norm(hidden)


def _sample_position(head, context, pick, use_cache):
    cache = DynamicCache() if use_cache else None
    inputs = context.unsqueeze(1)
    prefix = inputs
    chosen = []
    for step in range(head.num_codebooks):
        states = _depth_forward(head, inputs, cache=cache) if use_cache else _depth_forward(head, prefix)
        code = pick(step, head.linear_head(states[:, -1]))
        chosen.append(code)
        if step < head.num_codebooks - 1:
            inputs = head.codebooks[step](code).unsqueeze(1)
            prefix = torch.cat([prefix, inputs], dim=1)
    return torch.stack(chosen, dim=1)


def _picker(batch, cfg_scale, sampling, generator):
    use_cfg = cfg_scale != 1.0

    def pick(step, logits):
        logits = logits.float()
        mixed = logits
        if use_cfg:
            cond, uncond = logits[:batch], logits[batch:]
            mixed = uncond + cfg_scale * (cond - uncond)
        codes = sample_codes(mixed, sampling, generator)
        return torch.cat([codes, codes]) if use_cfg else codes

    return pick


@torch.no_grad()
def reference_generate_image_codes(model, input_ids, attention_mask=None, num_positions: int = 256,
                                   cfg_scale: float = 1.0, uncond_input_ids=None, uncond_attention_mask=None,
                                   temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                                   generator: Optional[torch.Generator] = None, embedding: str = "consistent",
                                   depth_cache: bool = True) -> torch.LongTensor:
    """mllm.generation.generate_image_codes as of def4ffd. `embedding="official", depth_cache=False`
    is the official release's loop (per-position embedding, depth head recomputing its prefix)."""
    sampling = SamplingConfig(temperature, top_k, top_p)
    use_cfg = cfg_scale != 1.0
    batch = input_ids.shape[0]
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if use_cfg:
        if uncond_attention_mask is None:
            uncond_attention_mask = torch.ones_like(uncond_input_ids)
        input_ids, attention_mask = _cfg_batch(input_ids, attention_mask, uncond_input_ids, uncond_attention_mask)
    pick = _picker(batch, cfg_scale, sampling, generator)
    cache = DynamicCache()
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      cache=cache, use_cache=True)
    projection_cache: list = []
    columns = []
    for t in range(num_positions):
        codes = _sample_position(model.ar_head, out.last_hidden_state[:, -1], pick, depth_cache)
        columns.append(codes[:batch])
        if t == num_positions - 1:
            break
        column = codes.unsqueeze(-1)
        if embedding == "consistent":
            embeds = model.embedder(column, past_kv=projection_cache)
        else:
            embeds = model.embedder(column)
        attention_mask = F.pad(attention_mask, (0, 1), value=1)
        position_ids = position_ids[:, -1:] + 1
        out = model.model(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids,
                          cache=cache, use_cache=True)
    return torch.stack(columns, dim=-1)
