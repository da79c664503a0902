"""Bad inputs fail early with messages that say what is wrong."""
import pytest
import torch

from mllm import UniTokMLLMConfig
from mllm.constants import IMAGE_TOKEN_INDEX


def _codes(model, n=1, length=4, high=None):
    high = model.config.codebook_size if high is None else high
    return torch.randint(0, high, (n, model.config.num_codebooks, length))


def test_placeholder_without_codes(tiny_model):
    ids = torch.tensor([[1, 5, IMAGE_TOKEN_INDEX, 6]])
    with pytest.raises(ValueError, match="no image_codes"):
        tiny_model(input_ids=ids)
    with pytest.raises(ValueError, match="no image_codes"):
        tiny_model.generate(ids, max_new_tokens=2)


def test_codes_without_placeholder(tiny_model):
    with pytest.raises(ValueError, match="1 image\\(s\\) in image_codes|got 1 images"):
        tiny_model(input_ids=torch.tensor([[1, 5, 6]]), image_codes=_codes(tiny_model))


def test_placeholder_count_mismatch_per_sample(tiny_model):
    ids = torch.tensor([[1, IMAGE_TOKEN_INDEX, IMAGE_TOKEN_INDEX], [1, 5, IMAGE_TOKEN_INDEX]])
    with pytest.raises(ValueError, match="sample 0: 2 image placeholder"):
        tiny_model(input_ids=ids, image_codes=[_codes(tiny_model)[0], _codes(tiny_model)[0]])


def test_codes_out_of_range(tiny_model):
    ids = torch.tensor([[1, IMAGE_TOKEN_INDEX]])
    bad = _codes(tiny_model)
    bad[0, 3, 1] = tiny_model.config.codebook_size
    with pytest.raises(ValueError, match="codes must lie in"):
        tiny_model(input_ids=ids, image_codes=bad)
    bad[0, 3, 1] = -1
    with pytest.raises(ValueError, match="codes must lie in"):
        tiny_model(input_ids=ids, image_codes=bad)


def test_wrong_number_of_sub_codebooks(tiny_model):
    ids = torch.tensor([[1, IMAGE_TOKEN_INDEX]])
    with pytest.raises(ValueError, match=r"\(N, 8, L\)"):
        tiny_model(input_ids=ids, image_codes=torch.zeros(1, 7, 4, dtype=torch.long))


def test_float_codes_rejected(tiny_model):
    ids = torch.tensor([[1, IMAGE_TOKEN_INDEX]])
    with pytest.raises(ValueError, match="integer"):
        tiny_model(input_ids=ids, image_codes=torch.zeros(1, 8, 4))


def test_prompt_longer_than_max_positions():
    from mllm import UniTokMLLMForCausalLM
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=64, codebook_size=16, projection_width=64,
                                          projection_heads=4, max_position_embeddings=32)
    model = UniTokMLLMForCausalLM(config).eval()
    ids = torch.tensor([[1, 5, IMAGE_TOKEN_INDEX, 6]])
    with pytest.raises(ValueError, match="max_position_embeddings=32"):
        model(input_ids=ids, image_codes=torch.zeros(1, 8, 30, dtype=torch.long))  # 3 + 30 positions
    with pytest.raises(ValueError, match="max_position_embeddings=32"):
        model(input_ids=torch.ones(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="max_position_embeddings=32"):
        model.generate_image_codes(torch.ones(1, 10, dtype=torch.long), num_positions=24)


def test_generation_argument_errors(tiny_model):
    ids = torch.tensor([[1, 5, 3]])
    with pytest.raises(ValueError, match="uncond_input_ids"):
        tiny_model.generate_image_codes(ids, cfg_scale=3.0, num_positions=2)
    with pytest.raises(ValueError, match="embedding must be"):
        tiny_model.generate_image_codes(ids, embedding="fast", num_positions=2)
    with pytest.raises(ValueError, match="top_p"):
        tiny_model.generate_image_codes(ids, top_p=0.0, num_positions=2)
    with pytest.raises(ValueError, match="placeholders are not supported"):
        tiny_model.generate_image_codes(torch.tensor([[1, IMAGE_TOKEN_INDEX, 3]]), num_positions=2)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown MLLM preset"):
        UniTokMLLMConfig.from_preset("huge")
