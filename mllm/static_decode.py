"""Lean decode steps for image generation: Llama layers as plain tensor code over static KV buffers.

Image generation calls the LLM once per image position and the depth head K times per position:
thousands of one-token forwards, where the Hugging Face layer stack spends most of the time on
Python, cache bookkeeping and mask construction rather than on arithmetic. Here the same layer
weights run as a short sequence of tensor ops on preallocated key/value buffers:
- the operations and their order are those of LlamaDecoderLayer with SDPA (RMSNorm in fp32, rotary
  as q*cos + rotate_half(q)*sin, scale head_dim**-0.5), so greedy codes equal the HF path;
- eager steps attend to the filled prefix of the buffer (a view, no copy), like a growing cache;
- `fixed` steps (for torch.compile) write through an index tensor and attend to the whole buffer
  under a mask, so every step has the same shapes and one compiled graph serves them all.
"""
from __future__ import annotations

import weakref
from typing import List, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# Packing q/k/v and gate/up into one matrix copies those weights; worth it for small stacks
# (fewer, larger matmuls), not for a 7B model whose copy would cost gigabytes.
PACK_LIMIT_ELEMENTS = 1 << 26
_PACKED: "weakref.WeakKeyDictionary[nn.Module, tuple]" = weakref.WeakKeyDictionary()


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """LlamaRMSNorm. For fp32 F.rms_norm is the same arithmetic in one call (checked bitwise by
    the tests through the generated codes); other dtypes keep LlamaRMSNorm's fp32 detour."""
    if x.dtype == torch.float32 and weight.dtype == torch.float32:
        return F.rms_norm(x, weight.shape, weight, eps)
    h = x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(x.dtype)


def rotary_tables(rotary: nn.Module, positions: torch.Tensor, like: torch.Tensor):
    """cos and signed sin for (R|1, P) positions, shaped (R|1, P, 1, D) to broadcast over heads.

    rotate_half(x) * sin == roll(x, D/2) * [-sin[:D/2], sin[D/2:]] exactly (negation is exact),
    so the rotation costs a roll, two products and a sum. The tables are computed once per image;
    the rotary embedding is elementwise in the position, so this equals per-step calls."""
    cos, sin = rotary(like, position_ids=positions)
    half = sin.shape[-1] // 2
    sin = torch.cat((-sin[..., :half], sin[..., half:]), dim=-1)
    return cos.unsqueeze(2), sin.unsqueeze(2)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin_signed: torch.Tensor) -> torch.Tensor:
    """apply_rotary_pos_emb on (R, n, heads, D) with tables from `rotary_tables`."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * sin_signed


class LeanLayer:
    """The weights of one LlamaDecoderLayer, with q/k/v and gate/up packed when `pack`."""

    def __init__(self, layer: nn.Module, pack: bool):
        attn, mlp = layer.self_attn, layer.mlp
        self.ln1, self.eps1 = layer.input_layernorm.weight, layer.input_layernorm.variance_epsilon
        self.ln2, self.eps2 = layer.post_attention_layernorm.weight, layer.post_attention_layernorm.variance_epsilon
        projections = (attn.q_proj, attn.k_proj, attn.v_proj)
        self.packed = pack
        if pack:
            self.qkv = (torch.cat([p.weight for p in projections]), _cat_bias(projections))
            self.gate_up = (torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]),
                            _cat_bias((mlp.gate_proj, mlp.up_proj)))
        self.projections, self.gate, self.up = projections, mlp.gate_proj, mlp.up_proj
        # Plain functions instead of module calls: each nn.Module call costs more than a tiny op.
        self.o = (attn.o_proj.weight, attn.o_proj.bias)
        self.down = (mlp.down_proj.weight, mlp.down_proj.bias)
        self.act = F.silu if type(mlp.act_fn).__name__ in ("SiLU", "SiLUActivation") else mlp.act_fn

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed:
            gate, up = F.linear(x, *self.gate_up).chunk(2, dim=-1)
        else:
            gate, up = self.gate(x), self.up(x)
        return F.linear(self.act(gate) * up, *self.down)


def _cat_bias(linears) -> Optional[torch.Tensor]:
    if all(m.bias is None for m in linears):
        return None
    return torch.cat([m.bias if m.bias is not None else m.weight.new_zeros(m.weight.shape[0]) for m in linears])


def _version_key(module: nn.Module) -> tuple:
    return tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in module.parameters())


class StaticKV:
    """Keys and values of every layer, (layers, rows, capacity, kv_heads, head_dim) each: the
    layout of the projections' output, so a step writes its keys with one copy. `key_views` /
    `value_views` are the per-layer (rows, kv_heads, capacity, head_dim) views attention reads."""

    def __init__(self, layers: int, rows: int, kv_heads: int, capacity: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device):
        shape = (layers, rows, capacity, kv_heads, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.key_layers, self.value_layers = list(self.keys.unbind(0)), list(self.values.unbind(0))
        self.key_views = [k.transpose(1, 2) for k in self.keys]
        self.value_views = [v.transpose(1, 2) for v in self.values]
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    def load(self, cache) -> None:
        """Copy a prefilled transformers cache ((rows, kv_heads, n, D) per layer) into the buffers."""
        for i, layer in enumerate(cache.layers):
            n = layer.keys.shape[2]
            self.key_views[i][:, :, :n] = layer.keys
            self.value_views[i][:, :, :n] = layer.values
            self.length = n


class KVBuffers(NamedTuple):
    """A StaticKV's tensors as a tuple, the form torch.compiled steps take them in."""
    keys: torch.Tensor
    values: torch.Tensor
    key_views: list
    value_views: list


def wrap_buffers(keys: torch.Tensor, values: torch.Tensor) -> KVBuffers:
    return KVBuffers(keys, values, [k.transpose(1, 2) for k in keys], [v.transpose(1, 2) for v in values])


class LeanStack:
    """A stack of Llama decoder layers + its final RMSNorm as plain tensor code (inference only)."""

    def __init__(self, owner: nn.Module, layers: nn.ModuleList, norm: nn.Module, config):
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.scaling = self.head_dim ** -0.5
        self.gqa = self.kv_heads != self.heads
        self.norm_w, self.norm_eps = norm.weight, norm.variance_epsilon
        self.layers = packed_layers(owner, layers)

    def new_cache(self, rows: int, capacity: int, like: torch.Tensor) -> StaticKV:
        return StaticKV(len(self.layers), rows, self.kv_heads, capacity, self.head_dim, like.dtype, like.device)

    def _qkv(self, layer: LeanLayer, x, cos, sin):
        """(R, n, heads, D) rotated q and k, and v."""
        r, n, _ = x.shape
        if layer.packed:
            qkv = F.linear(x, *layer.qkv).view(r, n, -1, self.head_dim)
            qk = rotate(qkv[:, :, :self.heads + self.kv_heads], cos, sin)   # q and k rotated together
            return qk[:, :, :self.heads], qk[:, :, self.heads:], qkv[:, :, self.heads + self.kv_heads:]
        q, k, v = (p(x).view(r, n, -1, self.head_dim) for p in layer.projections)
        return rotate(q, cos, sin), rotate(k, cos, sin), v

    def _attention(self, layer: LeanLayer, x, cos, sin, kv, i: int, start, mask, index):
        r, n, _ = x.shape
        q, k, v = self._qkv(layer, x, cos, sin)
        if index is None:   # eager: the filled prefix, like a growing cache
            kv.key_layers[i][:, start:start + n] = k
            kv.value_layers[i][:, start:start + n] = v
            keys, values = kv.key_views[i][:, :, :start + n], kv.value_views[i][:, :, :start + n]
            causal = n > 1 and mask is None
        else:               # fixed shapes: the whole buffer, the mask hides unfilled slots
            kv.keys[i].index_copy_(1, index, k)
            kv.values[i].index_copy_(1, index, v)
            keys, values, causal = kv.key_views[i], kv.value_views[i], False
        out = F.scaled_dot_product_attention(q.transpose(1, 2), keys, values, attn_mask=mask, scale=self.scaling,
                                             is_causal=causal, enable_gqa=self.gqa)
        return F.linear(out.transpose(1, 2).reshape(r, n, -1), *layer.o)

    def forward(self, hidden: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, kv, start: int = 0,
                mask: Optional[torch.Tensor] = None, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """hidden (R, n, H) continuing the sequence held in `kv` (StaticKV or KVBuffers) at slot `start`; cos/sin from
        `rotary_tables` (R|1, n, 1, D). Eager (index None): mask None or bool (R|1, 1, n, start + n).
        Fixed shapes: `index` (n,) slots to write and a bool mask over the whole buffer.
        Returns the final-norm states (R, n, H); the caller tracks the filled length."""
        for i, layer in enumerate(self.layers):
            hidden = hidden + self._attention(layer, rms_norm(hidden, layer.ln1, layer.eps1), cos, sin, kv, i,
                                              start, mask, index)
            hidden = hidden + layer.mlp(rms_norm(hidden, layer.ln2, layer.eps2))
        return rms_norm(hidden, self.norm_w, self.norm_eps)

    __call__ = forward


def packed_layers(owner: nn.Module, layers: nn.ModuleList) -> List[LeanLayer]:
    """LeanLayers of `layers`, cached on `owner` until a parameter changes (training, loading)."""
    key = _version_key(owner)
    cached = _PACKED.get(owner)
    if cached is not None and cached[0] == key:
        return cached[1]
    size = sum(layer.self_attn.q_proj.weight.numel() * 3 + layer.mlp.gate_proj.weight.numel() * 2 for layer in layers)
    lean = [LeanLayer(layer, pack=size <= PACK_LIMIT_ELEMENTS) for layer in layers]
    _PACKED[owner] = (key, lean)
    return lean
