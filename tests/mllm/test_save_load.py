"""Our own model type round-trips through save_pretrained / AutoModelForCausalLM."""
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
from mllm.constants import IMAGE_TOKEN_INDEX


def test_tiny_preset_has_the_golden_layout(golden_model):
    with torch.device("meta"):
        model = UniTokMLLMForCausalLM(UniTokMLLMConfig.from_preset("tiny"))
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in golden_model.state_dict().items()}
    assert ours == theirs


def test_save_and_reload_preserves_outputs_and_config(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path)
    config = AutoConfig.from_pretrained(tmp_path)
    assert config.model_type == "unitok_mllm" and config.codebook_size == 64 and config.projection_heads == 4
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    assert type(reloaded) is UniTokMLLMForCausalLM
    ids = torch.tensor([[1, 8, IMAGE_TOKEN_INDEX, 9]])
    codes = torch.randint(0, 64, (1, 8, 4))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids, image_codes=codes).logits,
                                   tiny_model(input_ids=ids, image_codes=codes).logits, atol=0, rtol=0)
