import numpy as np
import pytest
from safetensors import safe_open

from data_recipes.recipe import SourceOptions
from data_recipes.sample_builder import build_sample
from data_recipes.sequences import (build_i2t, build_image_caption, build_instruction, build_t2i, build_text,
                                    choose_t2i_prompt, tokenizer_image_token, vicuna_prompt)
from mllm.constants import IGNORE_INDEX, IMAGE_TOKEN_INDEX, UNCONDITIONAL_PROMPT

CODES = np.arange(32).reshape(8, 4)


@pytest.fixture(scope="module")
def golden(golden_dir):
    with safe_open(str(golden_dir / "mllm_tiny" / "expected.safetensors"), "pt") as f:
        return {k: f.get_tensor(k) for k in ("t2i_input_ids", "t2i_labels", "vqa_input_ids")}, f.metadata()


def test_t2i_matches_official_collator(tokenizer, golden):
    tensors, meta = golden
    sample = build_t2i(tokenizer, meta["caption"], CODES)
    assert sample.input_ids == tensors["t2i_input_ids"][0].tolist()
    assert sample.labels == tensors["t2i_labels"][0].tolist()
    assert sample.labels[sample.input_ids.index(IMAGE_TOKEN_INDEX)] == IMAGE_TOKEN_INDEX   # generation target


def test_vicuna_prompt_matches_official_vqa_ids(tokenizer, golden):
    tensors, meta = golden
    conv = [{"from": "human", "value": meta["question"] + "\n<image>"}]   # the marker is moved to the front
    assert vicuna_prompt(conv, add_generation_prompt=True) == meta["vqa_prompt"]
    assert tokenizer_image_token(meta["vqa_prompt"], tokenizer) == tensors["vqa_input_ids"][0].tolist()


def test_instruction_supervises_only_answers(tokenizer):
    conv = [{"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": "Red."},
            {"from": "human", "value": "And the shape?"}, {"from": "gpt", "value": "A small circle"}]
    sample = build_instruction(tokenizer, conv, [CODES])
    supervised = [t for t, l in zip(sample.input_ids, sample.labels) if l != IGNORE_INDEX]
    assert tokenizer.decode(supervised) == "Red.</s> A small circle</s>"
    assert sample.labels[sample.input_ids.index(IMAGE_TOKEN_INDEX)] == IGNORE_INDEX   # understanding input
    assert sample.input_ids.count(IMAGE_TOKEN_INDEX) == 1 and sample.input_ids[0] == 1


def test_i2t_plain_and_text_layouts(tokenizer):
    caption_ids = tokenizer("a red circle", add_special_tokens=False).input_ids
    i2t = build_i2t(tokenizer, "a red circle", CODES)
    assert i2t.input_ids == [1, 3, IMAGE_TOKEN_INDEX, 4] + caption_ids + [2]
    assert i2t.labels == [IGNORE_INDEX] * 4 + caption_ids + [2]
    plain = build_image_caption(tokenizer, "a red circle", CODES)
    assert plain.input_ids[:2] == [1, IMAGE_TOKEN_INDEX] and plain.labels[:2] == [IGNORE_INDEX] * 2
    assert tokenizer.decode(plain.input_ids[2:]) == "a red circle\n" and 2 not in plain.input_ids
    text = build_text(tokenizer, "hello world")
    assert text.labels == text.input_ids and text.input_ids[-1] == 2
    assert i2t.expanded_length() == len(i2t.input_ids) + 3 and i2t.expanded_length(256) == len(i2t.input_ids) + 255


def test_prompt_choice_frequencies_are_the_official_ones():
    rng = np.random.default_rng(0)
    picks = [choose_t2i_prompt(rng, "short", "long", 0.8, 0.1) for _ in range(20000)]
    share = {p: picks.count(p) / len(picks) for p in set(picks)}
    assert share[UNCONDITIONAL_PROMPT] == pytest.approx(0.1, abs=0.01)
    assert share["long"] == pytest.approx(0.9 * 0.8, abs=0.015)
    assert choose_t2i_prompt(rng, None, None, 0.8, 0.0) == UNCONDITIONAL_PROMPT
    assert choose_t2i_prompt(rng, "only", None, 0.8, 0.0) == "only"


def test_build_sample_is_seeded_and_checks_codes(tokenizer):
    record = {"source": "s", "key": "k", "sample_type": "t2i", "caption": "a cat", "long_caption": "a big cat",
              "codes": CODES}
    opts = SourceOptions(t2i_ratio=0.5)
    kinds = [build_sample(record, tokenizer, opts, np.random.default_rng([1, i])).data_type for i in range(200)]
    again = [build_sample(record, tokenizer, opts, np.random.default_rng([1, i])).data_type for i in range(200)]
    assert kinds == again and 70 < kinds.count("t2i") < 130 and set(kinds) == {"t2i", "i2t"}
    with pytest.raises(ValueError, match="needs image codes"):
        build_sample({**record, "codes": None}, tokenizer, opts, np.random.default_rng(0))
