"""Which pretrained LLMs the MLLM can hold, and their config / weights in Llama form.

The MLLM's language side is `LlamaModel`; an LLM fits when `LlamaForCausalLM` computes exactly
what the LLM computes:
- Llama 1/2/3 (any rope_parameters: default, linear, dynamic, llama3, yarn ...), TinyLlama,
  SmolLM/SmolLM2, Vicuna; grouped-query attention, tied embeddings, a set head_dim, mlp_bias;
- Mistral-style models without sliding-window attention;
- Qwen2-style models without sliding-window attention: biases on q/k/v map to
  `attention_bias=True`, whose o_proj bias (Qwen2 has none) is set to zero.
Anything else is refused with what is missing.
"""
from __future__ import annotations

import torch

# Keys of a config dict that describe the file, not the architecture.
NON_ARCH_KEYS = ("model_type", "architectures", "transformers_version", "_name_or_path", "auto_map",
                 "dtype", "torch_dtype")
LLAMA_TYPES = ("llama", "unitok_mllm", "mini_gemini")
# Why LlamaForCausalLM cannot hold some common decoder families (what it lacks).
_UNSUPPORTED = {
    "gemma": "Gemma's RMSNorm scales by (1 + weight) and its embeddings by sqrt(hidden_size)",
    "gemma2": "Gemma-2's logit soft-capping, sandwich norms and alternating sliding-window layers",
    "gemma3": "Gemma-3's sandwich norms, q/k norms and alternating sliding-window layers",
    "phi3": "Phi-3's fused qkv_proj and gate_up_proj weights",
    "qwen3": "Qwen3's per-head q_norm / k_norm",
    "olmo2": "OLMo-2's q/k norms and post-norm layers",
    "gpt2": "GPT-2's learned position embeddings, LayerNorm and GELU MLP",
    "gpt_neox": "GPT-NeoX's parallel attention/MLP, LayerNorm and partial rotary embeddings",
    "falcon": "Falcon's parallel attention/MLP and LayerNorm",
    "mixtral": "Mixtral's mixture-of-experts MLP",
}


def _sliding_window_used(fields: dict) -> bool:
    window = fields.get("sliding_window")
    if fields.get("model_type") == "qwen2" and not fields.get("use_sliding_window", False):
        return False
    return window is not None and window < fields.get("max_position_embeddings", 0)


def llama_fields(llm_config) -> dict:
    """The LlamaConfig fields of `llm_config` (a HF config); raises ValueError naming what a
    Llama layer would be missing for an LLM it cannot hold."""
    model_type = getattr(llm_config, "model_type", None)
    if model_type not in LLAMA_TYPES + ("mistral", "qwen2"):
        reason = _UNSUPPORTED.get(model_type, "an architecture other than Llama's (RMSNorm, rotary attention, "
                                              "SwiGLU MLP, separate q/k/v/o and gate/up/down projections)")
        raise ValueError(f"expected a Llama-architecture LLM (llama, or mistral / qwen2 without sliding-window "
                         f"attention), got model_type {model_type!r}: LlamaForCausalLM lacks {reason}")
    fields = llm_config.to_dict()
    if model_type in ("mistral", "qwen2"):
        if _sliding_window_used(fields):
            raise ValueError(f"{model_type} backbone uses sliding-window attention (sliding_window="
                             f"{fields.get('sliding_window')} < max_position_embeddings="
                             f"{fields.get('max_position_embeddings')}), which LlamaForCausalLM does not have; "
                             "set sliding_window=None (or use_sliding_window=False) if the model was trained "
                             "with full attention")
        for key in ("sliding_window", "use_sliding_window", "max_window_layers", "layer_types"):
            fields.pop(key, None)
        if model_type == "qwen2":
            fields["attention_bias"] = True
    return {k: v for k, v in fields.items() if k not in NON_ARCH_KEYS}


def llama_state_dict(llm: torch.nn.Module, attention_bias: bool) -> dict:
    """The LLM's weights under Llama names; a Qwen2-style model gets the zero o_proj bias that
    `attention_bias=True` adds (an exact no-op)."""
    state = dict(llm.state_dict())
    if attention_bias:
        for key in [k for k in state if k.endswith("self_attn.o_proj.weight")]:
            bias = key[:-len("weight")] + "bias"
            if bias not in state:
                state[bias] = state[key].new_zeros(state[key].shape[0])
    return state
