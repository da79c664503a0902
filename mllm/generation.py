"""Text-to-image code generation: LLM with KV cache over image positions, depth head per position.

Two ways to embed a freshly generated position for the next LLM step:
- "consistent": the causal projection runs over the whole generated prefix (through its own KV
  cache, so each step costs one position) - exactly what training saw;
- "official": each position is embedded from its own codes only, as the released inference
  scripts do (differs from training from the third position on).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers.cache_utils import DynamicCache

from .constants import IMAGE_TOKEN_INDEX
from .fast_generation import static_loop
from .token_layout import TokenLayout
from .sampling import LogitsCallback, SamplingConfig, make_code_picker

EMBEDDINGS = ("consistent", "official")


def _left_pad(ids: torch.Tensor, mask: torch.Tensor, length: int, pad_id: int):
    extra = length - ids.shape[1]
    return F.pad(ids, (extra, 0), value=pad_id), F.pad(mask, (extra, 0), value=0)


def _cfg_batch(input_ids, attention_mask, uncond_input_ids, uncond_attention_mask, pad_id: int):
    """Rows [cond..., uncond...], left padded to a common length."""
    batch = input_ids.shape[0]
    if uncond_input_ids.shape[0] == 1 and batch > 1:
        uncond_input_ids = uncond_input_ids.expand(batch, -1)
        uncond_attention_mask = uncond_attention_mask.expand(batch, -1)
    if uncond_input_ids.shape[0] != batch:
        raise ValueError(f"uncond_input_ids has {uncond_input_ids.shape[0]} rows for {batch} prompts (give 1 or {batch})")
    length = max(input_ids.shape[1], uncond_input_ids.shape[1])
    ids_c, mask_c = _left_pad(input_ids, attention_mask, length, pad_id)
    ids_u, mask_u = _left_pad(uncond_input_ids, uncond_attention_mask, length, pad_id)
    return torch.cat([ids_c, ids_u]), torch.cat([mask_c, mask_u])


@torch.no_grad()
def generate_image_codes(model, input_ids: torch.LongTensor, attention_mask: Optional[torch.Tensor] = None,
                         num_positions: Optional[int] = None, cfg_scale: float = 1.0,
                         uncond_input_ids: Optional[torch.LongTensor] = None,
                         uncond_attention_mask: Optional[torch.Tensor] = None, temperature: float = 1.0,
                         top_k: int = 0, top_p: float = 1.0, generator: Optional[torch.Generator] = None,
                         embedding: str = "consistent", depth_cache: bool = True, compile: bool = False,
                         on_logits: Optional[LogitsCallback] = None, progress: bool = False) -> torch.LongTensor:
    """Generate image codes after T2I prompts (which should end with the boi token).

    input_ids: (B, T) left-padded prompts; attention_mask marks real tokens (default: all).
    cfg_scale != 1 needs `uncond_input_ids` (1 or B rows, e.g. the "<unconditional>\\x00" prompt);
    logits are mixed as uncond + cfg_scale * (cond - uncond) at every depth step and the sampled
    code is fed to both rows. Greedy: temperature 0 or top_k 1. The default runs lean steps on
    static KV buffers (mllm.fast_generation); `compile=True` runs them through torch.compile.
    `depth_cache=False` runs the official loop instead: Hugging Face layers with a growing cache
    and a depth head that recomputes its prefix at every step (same codes, slower).
    Returns LongTensor (B, num_codebooks, num_positions).
    """
    config = model.config
    num_positions = config.image_positions if num_positions is None else num_positions
    if num_positions < 1:
        raise ValueError(f"num_positions must be >= 1, got {num_positions}")
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {EMBEDDINGS}, got {embedding!r}")
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (B, T), got {tuple(input_ids.shape)}")
    if (input_ids == IMAGE_TOKEN_INDEX).any() or (uncond_input_ids is not None and
                                                  (uncond_input_ids == IMAGE_TOKEN_INDEX).any()):
        raise ValueError("image placeholders are not supported in image-generation prompts")
    sampling = SamplingConfig(temperature, top_k, top_p)
    use_cfg = cfg_scale != 1.0
    if use_cfg and uncond_input_ids is None:
        raise ValueError("cfg_scale != 1 needs uncond_input_ids (the unconditional prompt)")
    batch = input_ids.shape[0]
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if use_cfg:
        if uncond_attention_mask is None:
            uncond_attention_mask = torch.ones_like(uncond_input_ids)
        input_ids, attention_mask = _cfg_batch(input_ids, attention_mask, uncond_input_ids, uncond_attention_mask,
                                               TokenLayout.of(config).pad)
    model.check_positions(input_ids.shape[1] + num_positions - 1)

    position = [0]
    pick = make_code_picker(batch, cfg_scale, sampling, generator, position=lambda: position[0], on_logits=on_logits)
    # ZeRO-3 partitions the weights and gathers them only inside module forwards, which the lean
    # static steps bypass: under it, the module loop below runs (same codes).
    if depth_cache and not any(hasattr(p, "ds_id") for p in model.parameters()):
        return static_loop(model, input_ids, attention_mask, num_positions, batch, pick,
                           lambda t: position.__setitem__(0, t), embedding, compile=compile, progress=progress)
    cache = DynamicCache()
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      cache=cache, use_cache=True)
    projection_cache: list = []
    columns = []
    for t in tqdm(range(num_positions), desc="image positions", disable=not progress):
        position[0] = t
        codes = model.ar_head.sample_position(out.last_hidden_state[:, -1], pick, use_cache=False)
        columns.append(codes[:batch])
        if t == num_positions - 1:
            break
        column = codes.unsqueeze(-1)  # (R, K, 1)
        if embedding == "consistent":
            embeds = model.embedder(column, past_kv=projection_cache)
        else:
            embeds = model.embedder(column)
        attention_mask = F.pad(attention_mask, (0, 1), value=1)
        position_ids = position_ids[:, -1:] + 1
        out = model.model(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids,
                          cache=cache, use_cache=True)
    return torch.stack(columns, dim=-1)
