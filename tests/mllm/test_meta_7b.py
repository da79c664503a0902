"""The llama2-7b preset reproduces the released model's state-dict layout (reference section 4.2)."""
import re

import torch

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM

EXPECTED_ELEMENTS = 7_508_685_056


def test_llama2_7b_preset_on_meta_device_has_official_layout():
    with torch.device("meta"):
        model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset("llama2-7b"))
    state = model.state_dict()
    assert sum(v.numel() for v in state.values()) == EXPECTED_ELEMENTS
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes["model.embed_tokens.weight"] == (32000, 4096) == shapes["lm_head.weight"]
    assert shapes["model.layers.31.mlp.down_proj.weight"] == (4096, 11008)
    assert "model.layers.32.input_layernorm.weight" not in shapes
    for i in range(8):
        assert shapes[f"model.multi_embedder.quantizer.codebooks.{i}.codebook.weight"] == (4096, 8)
        assert shapes[f"model.multi_embedder.quantizer.codebooks.{i}.vocab_usage"] == (4096,)
    assert shapes["model.multi_embedder.attn_projection.attn.qkv.weight"] == (3072, 64)
    assert shapes["model.multi_embedder.attn_projection.attn.zero_k_bias"] == (1024,)
    assert shapes["model.multi_embedder.attn_projection.proj.weight"] == (1024, 64)
    assert shapes["model.multi_embedder.mm_projector.0.weight"] == (1024,)
    assert shapes["model.multi_embedder.mm_projector.1.weight"] == (4096, 1024)
    assert shapes["model.multi_embedder.mm_projector.3.weight"] == (4096, 4096)
    assert shapes["ar_head.linear_head.weight"] == (4096, 4096) and shapes["ar_head.linear_head.bias"] == (4096,)
    assert shapes["ar_head.norm.weight"] == (4096,)
    assert [k for k in shapes if k.startswith("ar_head.codebooks.")] == [f"ar_head.codebooks.{i}.weight"
                                                                          for i in range(7)]
    head_layers = {m.group(1) for k in shapes if (m := re.match(r"ar_head\.layers\.(\d+)\.", k))}
    assert head_layers == {"0", "1", "2"}
    allowed = re.compile(r"^(model\.(embed_tokens|layers\.\d+|norm|multi_embedder\.(quantizer|attn_projection|"
                         r"mm_projector\.[013]))|lm_head|ar_head\.(layers\.[012]|norm|linear_head|codebooks\.\d))\.")
    assert all(allowed.match(k) for k in shapes), [k for k in shapes if not allowed.match(k)]
    ar_params = sum(v.numel() for k, v in state.items() if k.startswith("ar_head."))
    assert round(ar_params / 1e6, 1) == 741.4
