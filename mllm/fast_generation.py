"""The fast image-generation loop: lean LLM and depth-head steps on static KV buffers.

Per image everything that does not change between steps is built once: the rotary tables of
every position still to come, the padding mask (none at all when no row is padded), the KV
buffers. Each of the K depth steps and each LLM step is then a fixed, short list of tensor ops
(mllm.static_decode). Under CFG the conditional and unconditional rows share their codes, so the
image embedder runs on the conditional half only. `compile=True` runs the steps through
torch.compile with fixed shapes (whole buffers under masks; falls back to eager with a warning
when compilation fails); on CUDA, inductor may also capture CUDA graphs.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers.cache_utils import DynamicCache

from .static_decode import LeanStack, rotary_tables, wrap_buffers

# The fixed-shape LLM buffer grows in steps of this many slots, so prompts of similar length
# share one compiled graph.
FIXED_CAPACITY_STEP = 64
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _compiled(fn: Callable, name: str) -> Callable:
    """torch.compile(fn) that falls back to `fn` (with a warning) if compiling fails."""
    state = {"fn": torch.compile(fn, dynamic=False)}

    def call(*args):
        try:
            return state["fn"](*args)
        except Exception as exc:  # no C++ compiler, unsupported op, ...: eager gives the same result
            if state["fn"] is fn:
                raise
            warnings.warn(f"torch.compile of the {name} failed ({type(exc).__name__}: {exc}); running eager")
            state["fn"] = fn
            return fn(*args)

    return call


class StaticSteps:
    """The LLM and depth-head steps of one model (rebuilt when its weights change)."""

    def __init__(self, model, compile: bool):
        self.model, self.head = model, model.ar_head
        self.llm = LeanStack(model.model, model.model.layers, model.model.norm, model.config)
        self.depth = LeanStack(self.head, self.head.layers, self.head.norm, self.head.config)
        self.compile = compile
        self.llm_fixed = self.depth_fixed = None
        if compile:
            self.llm_fixed = _compiled(self._llm_fixed, "LLM decode step")
            self.depth_fixed = _compiled(self._depth_fixed, "depth-head step")

    def _llm_fixed(self, hidden, cos, sin, keys, values, mask, index):
        return self.llm(hidden, cos, sin, wrap_buffers(keys, values), 0, mask, index)

    def _depth_fixed(self, hidden, cos, sin, keys, values, mask, index):
        states = self.depth(hidden, cos, sin, wrap_buffers(keys, values), 0, mask, index)
        return self.head.linear_head(states[:, -1])


def static_steps(model, compile: bool) -> StaticSteps:
    """Compiled steps are kept per model so later calls reuse the compiled graphs."""
    if not compile:
        return StaticSteps(model, False)
    steps = _COMPILED.get(model)
    if steps is None:
        steps = _COMPILED[model] = StaticSteps(model, True)
    return steps


class DepthSampler:
    """Samples the K sub-codes of one position for all rows; buffers and tables made once."""

    def __init__(self, steps: StaticSteps, rows: int, like: torch.Tensor):
        self.steps, self.head = steps, steps.head
        k = self.head.num_codebooks
        self.kv = steps.depth.new_cache(rows, k, like)
        self.cos, self.sin = rotary_tables(self.head.rotary_emb, torch.arange(k, device=like.device)[None], like)
        self.embeddings = [table.weight for table in self.head.codebooks]
        self.linear_head = (self.head.linear_head.weight, self.head.linear_head.bias)
        if steps.compile:
            slots = torch.arange(k, device=like.device)
            self.index = [slots[i:i + 1] for i in range(k)]
            self.mask = (slots.unsqueeze(1) >= slots.unsqueeze(0)).view(k, 1, 1, 1, k)   # step i sees 0..i

    def __call__(self, context: torch.Tensor, pick) -> torch.Tensor:
        hidden = context.unsqueeze(1)
        chosen = []
        last = self.head.num_codebooks - 1
        for step in range(last + 1):
            cos, sin = self.cos[:, step:step + 1], self.sin[:, step:step + 1]
            if self.steps.compile:
                logits = self.steps.depth_fixed(hidden, cos, sin, self.kv.keys, self.kv.values, self.mask[step],
                                                self.index[step])
            else:
                logits = F.linear(self.steps.depth(hidden, cos, sin, self.kv, step)[:, -1], *self.linear_head)
            code = pick(step, logits)
            chosen.append(code)
            if step < last:
                hidden = F.embedding(code, self.embeddings[step]).unsqueeze(1)
        return torch.stack(chosen, dim=1)


class CodeEmbedder:
    """model.embedder for one generation call: the unit code vectors are looked up in one table
    normalised once (the embedder's own lookup re-normalises all 8 codebooks at every call)."""

    def __init__(self, embedder, like: torch.Tensor):
        self.embedder = embedder
        quantizer = embedder.quantizer
        table = torch.cat([cb.codebook.normalized_weight() for cb in quantizer.codebooks])   # (K*V, D)
        self.table = table.to(embedder.attn_projection.proj.weight.dtype)
        self.offsets = torch.arange(quantizer.num_codebooks, device=like.device) * quantizer.codebook_size

    def __call__(self, codes: torch.Tensor, past_kv) -> torch.Tensor:
        """codes (N, K) of one position -> (N, 1, hidden)."""
        features = F.embedding(codes + self.offsets, self.table).flatten(1).unsqueeze(1)
        return self.embedder.mm_projector(self.embedder.attn_projection(features, past_kv=past_kv))


def static_loop(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, num_positions: int, batch: int,
                pick, set_position: Callable[[int], None], embedding: str, compile: bool = False,
                progress: bool = False) -> torch.LongTensor:
    """input_ids/attention_mask: the (CFG-doubled) left-padded prompts; batch: conditional rows."""
    steps = static_steps(model, compile)
    rows, length = input_ids.shape
    cache = DynamicCache()
    position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
    out = model.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      cache=cache, use_cache=True)
    context = out.last_hidden_state[:, -1]
    todo = num_positions - 1          # LLM steps still to run (the last position feeds nothing)
    capacity = length + todo
    if compile:
        capacity = -(-capacity // FIXED_CAPACITY_STEP) * FIXED_CAPACITY_STEP
    kv = steps.llm.new_cache(rows, capacity, context)
    kv.load(cache)
    del cache, out
    ahead = torch.arange(1, todo + 1, device=input_ids.device)
    cos, sin = rotary_tables(model.model.rotary_emb, position_ids[:, -1:] + ahead, context)
    keep = F.pad(attention_mask.bool(), (0, capacity - length), value=True).view(rows, 1, 1, capacity)
    padded = not bool(attention_mask.bool().all())
    if compile:
        slots = torch.arange(capacity, device=input_ids.device)
        index = [slots[length + t:length + t + 1] for t in range(todo)]
        last = (length + torch.arange(todo, device=input_ids.device)).view(-1, 1, 1, 1, 1)
        masks = keep.unsqueeze(0) & (slots.view(1, 1, 1, 1, -1) <= last)   # (todo, R, 1, 1, capacity)
    sampler = DepthSampler(steps, rows, context)
    embed = CodeEmbedder(model.embedder, context)
    cfg = rows != batch
    projection_cache = [] if embedding == "consistent" else None
    columns = []
    for t in tqdm(range(num_positions), desc="image positions", disable=not progress):
        set_position(t)
        codes = sampler(context, pick)
        columns.append(codes[:batch])
        if t == todo:
            break
        embeds = embed(codes[:batch], projection_cache)   # CFG rows share codes: embed the conditional half
        if cfg:
            embeds = torch.cat([embeds, embeds])
        c, s = cos[:, t:t + 1], sin[:, t:t + 1]
        if compile:
            context = steps.llm_fixed(embeds, c, s, kv.keys, kv.values, masks[t], index[t])[:, -1]
        else:
            mask = keep[..., :length + t + 1] if padded else None
            context = steps.llm(embeds, c, s, kv, length + t, mask)[:, -1]
    return torch.stack(columns, dim=-1)
