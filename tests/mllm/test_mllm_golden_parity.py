"""Parity with the official MiniGeminiLlamaForCausalLM outputs stored in golden/mllm_tiny."""
import pytest
import torch
from transformers import AutoTokenizer, LlamaTokenizer

import mllm
from mllm.constants import IMAGE_TOKEN_INDEX
from mllm.conversation import t2i_prompt_ids, tokenize_with_images, vqa_prompt

ATOL = 1e-4


def test_loads_official_folder_without_missing_or_unexpected_keys(mllm_golden_dir):
    from transformers import AutoModelForCausalLM
    model, info = AutoModelForCausalLM.from_pretrained(mllm_golden_dir, dtype=torch.float32,
                                                       output_loading_info=True)
    assert isinstance(model, mllm.UniTokMLLMForCausalLM)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.config.num_codebooks == 8 and model.config.projection_width == 1024
    assert sum(v.numel() for v in model.state_dict().values()) == 21272576


def test_tokenizer_reproduces_stored_prompt_ids(mllm_golden_dir, expected):
    slow = LlamaTokenizer.from_pretrained(mllm_golden_dir)
    question = "What is in the image?"
    ids = tokenize_with_images(slow, vqa_prompt(question))
    assert ids == expected["vqa_input_ids"][0].tolist()
    assert t2i_prompt_ids(slow, "a photo of a cat") == expected["gen_prompt_ids"][0].tolist()
    fast = AutoTokenizer.from_pretrained(mllm_golden_dir, padding_side="left")
    batch = fast(["a photo of a cat Generate an image based on this description.\x00", "<unconditional>\x00"],
                 padding=True, return_tensors="pt")
    assert torch.equal(batch.input_ids, expected["cfg_prompt_ids"])
    assert torch.equal(batch.attention_mask, expected["cfg_prompt_attention_mask"])


def test_understanding_forward_matches(golden_model, expected):
    with torch.no_grad():
        out = golden_model(input_ids=expected["vqa_input_ids"], image_codes=expected["vqa_image_codes"])
    torch.testing.assert_close(out.last_hidden_state, expected["vqa_last_hidden"], atol=ATOL, rtol=0)
    index = expected["vqa_text_position_index"]
    torch.testing.assert_close(out.logits[:, index], expected["vqa_logits_text_positions"], atol=ATOL, rtol=0)
    columns = expected["vqa_logit_columns"]
    torch.testing.assert_close(out.logits[..., columns], expected["vqa_logits_at_columns"], atol=ATOL, rtol=0)
    torch.testing.assert_close(out.logits.logsumexp(-1), expected["vqa_logits_logsumexp"], atol=ATOL, rtol=0)
    assert torch.equal(out.logits.argmax(-1), expected["vqa_logits_argmax"])


def test_image_codes_container_forms_agree(golden_model, expected):
    ids, codes = expected["vqa_input_ids"], expected["vqa_image_codes"]
    with torch.no_grad():
        as_batch = golden_model(input_ids=ids, image_codes=codes[0]).logits       # (N, 8, L)
        as_list = golden_model(input_ids=ids, image_codes=[codes[0, 0]]).logits   # one (8, L) per sample
    torch.testing.assert_close(as_batch, as_list, atol=0, rtol=0)


def test_t2i_training_losses_match(golden_model, expected):
    ids = expected["t2i_input_ids"]
    with torch.no_grad():
        out = golden_model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=expected["t2i_labels"],
                           image_codes=expected["t2i_image_codes"])
    parts = out.loss_parts
    for name, value in [("t2i_loss", parts.loss), ("t2i_text_loss", parts.text_loss),
                        ("t2i_image_ce", parts.image_ce), ("t2i_image_z_loss", parts.image_z_loss),
                        ("t2i_image_loss", parts.image_loss)]:
        torch.testing.assert_close(value, expected[name], atol=ATOL, rtol=0, msg=name)
    assert parts.num_text_targets == int(expected["t2i_num_text_targets"])
    assert parts.num_image_targets == int(expected["t2i_num_image_targets"])
    assert torch.equal(out.spliced_labels, expected["t2i_new_labels"])
    torch.testing.assert_close(out.last_hidden_state, expected["t2i_last_hidden"], atol=ATOL, rtol=0)
    index = expected["t2i_lm_supervised_position_index"]
    torch.testing.assert_close(out.logits[0, index], expected["t2i_lm_logits_supervised_positions"], atol=ATOL, rtol=0)
    torch.testing.assert_close(out.image_logits[:, :, :16], expected["t2i_ar_logits_first16"], atol=ATOL, rtol=0)
    torch.testing.assert_close(out.image_logits.logsumexp(-1), expected["t2i_ar_logits_logsumexp"], atol=ATOL, rtol=0)
    assert torch.equal(out.image_logits.argmax(-1), expected["t2i_ar_logits_argmax"])


def test_vqa_greedy_generation_via_hf_generate(golden_model, expected):
    ids = expected["vqa_input_ids"]
    assert (ids == IMAGE_TOKEN_INDEX).sum() == 1
    new_tokens = golden_model.generate(ids, image_codes=expected["vqa_image_codes"], max_new_tokens=8,
                                       do_sample=False)
    assert torch.equal(new_tokens, expected["vqa_generate_use_cache_true"])
    assert torch.equal(new_tokens, expected["vqa_greedy_full_recompute"])


@pytest.mark.parametrize("embedding,key", [("consistent", "gen_codes_training_consistent"),
                                           ("official", "gen_codes_official_kvcache")])
def test_t2i_greedy_codes_match(golden_model, expected, embedding, key):
    seen = {}
    codes = golden_model.generate_image_codes(expected["gen_prompt_ids"], num_positions=16, top_k=1,
                                              embedding=embedding,
                                              on_logits=lambda pos, step, mixed, raw: seen.setdefault((pos, step), mixed))
    assert torch.equal(codes, expected[key])
    first = torch.stack([seen[(0, step)] for step in range(8)], dim=1)
    torch.testing.assert_close(first, expected["gen_first_position_logits"], atol=ATOL, rtol=0)


def test_cfg_logits_and_codes_match(golden_model, expected):
    ids, mask = expected["cfg_prompt_ids"], expected["cfg_prompt_attention_mask"]
    seen = {}
    codes = golden_model.generate_image_codes(ids[:1], attention_mask=mask[:1], uncond_input_ids=ids[1:],
                                              uncond_attention_mask=mask[1:], cfg_scale=3.0, num_positions=4,
                                              top_k=1, embedding="official",
                                              on_logits=lambda pos, step, mixed, raw: seen.setdefault((pos, step), (mixed, raw)))
    assert torch.equal(codes, expected["cfg_codes"])
    mixed = torch.stack([seen[(0, s)][0][0] for s in range(8)])[None]
    cond = torch.stack([seen[(0, s)][1][0] for s in range(8)])[None]
    uncond = torch.stack([seen[(0, s)][1][1] for s in range(8)])[None]
    torch.testing.assert_close(mixed, expected["cfg_first_position_logits"], atol=ATOL, rtol=0)
    torch.testing.assert_close(cond, expected["cfg_first_position_cond_logits"], atol=ATOL, rtol=0)
    torch.testing.assert_close(uncond, expected["cfg_first_position_uncond_logits"], atol=ATOL, rtol=0)
