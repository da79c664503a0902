"""The lean static-KV generation loop against the Hugging Face loop, and torch.compile against eager."""
import pytest
import torch

import mllm.fast_generation as fast_generation

COND = torch.tensor([[1, 17, 99, 243, 8, 3], [0, 0, 0, 1, 40, 3], [1, 5, 6, 7, 8, 3]])
COND_MASK = (COND != 0).long()
UNCOND = torch.tensor([[1, 60, 61, 3]])


def run(model, embedding, **kwargs):
    seen = []
    codes = model.generate_image_codes(COND, attention_mask=COND_MASK, uncond_input_ids=UNCOND, cfg_scale=3.0,
                                       num_positions=7, top_k=1, embedding=embedding,
                                       on_logits=lambda p, s, mixed, raw: seen.append(raw), **kwargs)
    return codes, torch.stack(seen)


@pytest.mark.parametrize("embedding", ["consistent", "official"])
def test_static_loop_equals_hugging_face_loop(tiny_model, embedding):
    """Left padding, CFG (rows share codes), both embeddings: same codes and logits as the HF layers."""
    fast, fast_logits = run(tiny_model, embedding)
    slow, slow_logits = run(tiny_model, embedding, depth_cache=False)
    assert torch.equal(fast, slow)
    torch.testing.assert_close(fast_logits, slow_logits, atol=1e-5, rtol=0)


def test_packed_weights_follow_parameter_updates(tiny_model):
    ids = COND[:1]
    before = tiny_model.generate_image_codes(ids, num_positions=3, top_k=1)
    layer = tiny_model.ar_head.layers[0].mlp.gate_proj
    saved = layer.weight.detach().clone()
    try:
        with torch.no_grad():
            layer.weight.mul_(-3.0)
        changed = tiny_model.generate_image_codes(ids, num_positions=3, top_k=1)
        reference = tiny_model.generate_image_codes(ids, num_positions=3, top_k=1, depth_cache=False)
    finally:
        with torch.no_grad():
            layer.weight.copy_(saved)
    assert torch.equal(changed, reference) and not torch.equal(changed, before)
    assert torch.equal(tiny_model.generate_image_codes(ids, num_positions=3, top_k=1), before)


def test_compiled_steps_equal_eager(tiny_model):
    """torch.compile (fixed shapes, masked whole buffers) against the eager steps."""
    eager, eager_logits = run(tiny_model, "consistent")
    compiled, compiled_logits = run(tiny_model, "consistent", compile=True)
    assert torch.equal(compiled, eager)
    torch.testing.assert_close(compiled_logits, eager_logits, atol=1e-4, rtol=0)
    again, _ = run(tiny_model, "consistent", compile=True)   # the kept graphs, no recompilation needed
    assert torch.equal(again, eager)


def test_compile_failure_falls_back_to_eager(tiny_model, monkeypatch):
    def broken_compile(fn, **kwargs):
        def fail(*args):
            raise RuntimeError("no compiler here")
        return fail
    monkeypatch.setattr(fast_generation.torch, "compile", broken_compile)
    monkeypatch.setattr(fast_generation, "_COMPILED", type(fast_generation._COMPILED)())
    eager, _ = run(tiny_model, "official")
    with pytest.warns(UserWarning, match="running eager"):
        fallback, _ = run(tiny_model, "official", compile=True)
    assert torch.equal(fallback, eager)
