"""Other Llama-architecture backbones: a Llama-3-style config (large vocabulary, llama3 rope
scaling, GQA), a Qwen2-style one (q/k/v biases) and a tied-embedding one, each random-initialised,
built into an MLLM with a byte-level BPE tokenizer that has no spare byte tokens (so <boi>/<eoi>
are added), trained a few steps and round-tripped through save_pretrained / from_pretrained."""
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

from mllm.builder import build_mllm_from_llm
from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX
from mllm.conversation import t2i_prompt_ids
from mllm.token_layout import ADDED_BOI, ADDED_EOI, TokenLayout
from unitok.modules.quantizer import MultiCodebookQuantizer

TEXTS = ["a red circle on the left of a grey background.", "What colour is the shape? Answer: blue.",
         "The quick brown fox jumps over the lazy dog."] * 4
SMALL = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             max_position_embeddings=256)
BACKBONES = {
    # Llama 3: 128256 tokens, llama3 rope scaling, 4 query heads per KV head.
    "llama3": lambda: LlamaForCausalLM(LlamaConfig(
        **SMALL, vocab_size=128256, num_key_value_heads=1, bos_token_id=0, eos_token_id=1,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64})),
    # Qwen2: biases on q/k/v (none on o), tied embeddings as in the small Qwen2 models.
    "qwen2": lambda: Qwen2ForCausalLM(Qwen2Config(**SMALL, vocab_size=400, num_key_value_heads=2,
                                                  tie_word_embeddings=True, use_sliding_window=False)),
    "tied": lambda: LlamaForCausalLM(LlamaConfig(**SMALL, vocab_size=300, tie_word_embeddings=True)),
}


def byte_level_tokenizer() -> PreTrainedTokenizerFast:
    """A GPT-2-style byte-level BPE (like SmolLM2's, Llama 3's, Qwen2's): no <0x00> byte tokens,
    no pad and no unk token."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEXTS, trainers.BpeTrainer(vocab_size=290, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                       show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")


@pytest.fixture(scope="module")
def quantizer():
    torch.manual_seed(0)
    return MultiCodebookQuantizer(num_codebooks=8, codebook_size=32, code_dim=8)


def _batch(tokenizer, layout: TokenLayout, codes: torch.Tensor):
    """A T2I row and an I2T row in the layout (right padded with its pad id)."""
    prompt = t2i_prompt_ids(tokenizer, "a red circle", layout)
    t2i = prompt + [IMAGE_TOKEN_INDEX, layout.eoi, layout.eos]
    t2i_labels = [IGNORE_INDEX] * (len(prompt) - 1) + [layout.boi, IMAGE_TOKEN_INDEX, layout.eoi, layout.eos]
    caption = tokenizer("a blue square", add_special_tokens=False).input_ids + [layout.eos]
    i2t = [layout.boi, IMAGE_TOKEN_INDEX, layout.eoi] + caption
    i2t_labels = [IGNORE_INDEX] * 3 + caption
    length = max(len(t2i), len(i2t))
    pad = lambda row, value: row + [value] * (length - len(row))  # noqa: E731
    return dict(input_ids=torch.tensor([pad(t2i, layout.pad), pad(i2t, layout.pad)]),
                labels=torch.tensor([pad(t2i_labels, IGNORE_INDEX), pad(i2t_labels, IGNORE_INDEX)]),
                attention_mask=torch.tensor([[1] * len(t2i) + [0] * (length - len(t2i)),
                                             [1] * len(i2t) + [0] * (length - len(i2t))]),
                image_codes=codes)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_backbone_builds_trains_and_round_trips(name, quantizer, tmp_path):
    torch.manual_seed(0)
    llm = BACKBONES[name]().eval()
    tokenizer = byte_level_tokenizer()
    vocabulary = len(tokenizer)
    model = build_mllm_from_llm(llm, quantizer, tokenizer=tokenizer, image_positions=4,
                                projection_width=64, projection_heads=4)
    layout = TokenLayout.of(model.config)
    # <boi>, <eoi> and <pad> were added right after the tokenizer's vocabulary, as special tokens.
    assert (layout.boi_text, layout.eoi_text) == (ADDED_BOI, ADDED_EOI)
    assert sorted([layout.boi, layout.eoi, layout.pad]) == [vocabulary, vocabulary + 1, vocabulary + 2]
    assert tokenizer.convert_ids_to_tokens([layout.boi, layout.eoi]) == [ADDED_BOI, ADDED_EOI]
    assert layout.bos is None and layout.eos == tokenizer.eos_token_id
    assert model.config.vocab_size == max(llm.config.vocab_size, len(tokenizer))
    embeddings = model.get_input_embeddings().weight
    torch.testing.assert_close(embeddings[layout.boi], embeddings[:vocabulary].mean(0))
    assert model.config.tie_word_embeddings == llm.config.tie_word_embeddings
    if model.config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == embeddings.data_ptr()

    # The LLM computes what it computed before, on ordinary tokens (the added tokens' rows and
    # those of a padded vocabulary's unused ids are new).
    ids = torch.tensor([tokenizer("the quick brown fox").input_ids])
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits[..., :vocabulary],
                                   llm(input_ids=ids).logits[..., :vocabulary], atol=1e-5, rtol=0)

    codes = torch.randint(0, 32, (2, 8, 4))
    batch = _batch(tokenizer, layout, codes)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(4):
        out = model(**batch)
        assert out.loss_parts.num_image_targets > 0 and out.loss_parts.num_text_targets > 0
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0], losses

    model.eval().save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    reloaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert TokenLayout.of(reloaded.config) == layout
    layout.check_tokenizer(reloaded_tokenizer)
    assert reloaded.config.rope_parameters == model.config.rope_parameters
    assert reloaded.config.attention_bias == (name == "qwen2")
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits, atol=0, rtol=0)
        uncond = torch.tensor([t2i_prompt_ids(reloaded_tokenizer, None, layout)])
        prompt = torch.tensor([t2i_prompt_ids(reloaded_tokenizer, "a red circle", layout)])
        generated = reloaded.generate_image_codes(prompt, num_positions=4, cfg_scale=3.0, uncond_input_ids=uncond,
                                                  generator=torch.Generator().manual_seed(0))
    assert generated.shape == (1, 8, 4) and int(generated.max()) < 32


def test_qwen2_weights_map_exactly(quantizer):
    """Qwen2 has q/k/v biases but no o_proj bias: attention_bias=True with a zero o_proj bias."""
    torch.manual_seed(1)
    llm = BACKBONES["qwen2"]().eval()
    model = build_mllm_from_llm(llm, quantizer, image_positions=4, projection_width=64, projection_heads=4).eval()
    assert model.config.attention_bias
    assert not model.model.layers[0].self_attn.o_proj.bias.any()
    torch.testing.assert_close(model.model.layers[1].self_attn.k_proj.bias, llm.model.layers[1].self_attn.k_proj.bias)
    ids = torch.randint(0, 400, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, llm(input_ids=ids).logits, atol=1e-5, rtol=0)


def test_unsupported_architectures_are_named(quantizer):
    windowed = MistralConfig(**SMALL, vocab_size=300, num_key_value_heads=2, sliding_window=16)
    with pytest.raises(ValueError, match="sliding-window attention"):
        build_mllm_from_llm(type("M", (), {"config": windowed})(), quantizer)
    gemma = type("G", (), {"config": type("C", (), {"model_type": "gemma"})()})()
    with pytest.raises(ValueError, match=r"gemma.*\(1 \+ weight\)"):
        build_mllm_from_llm(gemma, quantizer)


def test_llama2_tokenizer_keeps_the_official_layout(mllm_golden_dir):
    """A byte-fallback SentencePiece tokenizer (the release's) gets nothing added: its <0x00> /
    <0x01> are boi / eoi and unk pads, i.e. exactly the official layout."""
    from mllm.token_layout import layout_for_tokenizer
    tokenizer = AutoTokenizer.from_pretrained(mllm_golden_dir)
    before = len(tokenizer)
    layout, added = layout_for_tokenizer(tokenizer)
    assert added == 0 and len(tokenizer) == before
    assert layout == TokenLayout() and layout.is_default
