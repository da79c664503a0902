from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


@pytest.fixture(scope="session")
def mllm_golden_dir(golden_dir) -> Path:
    return golden_dir / "mllm_tiny"


@pytest.fixture(scope="session")
def expected(mllm_golden_dir):
    return load_file(str(mllm_golden_dir / "expected.safetensors"))


@pytest.fixture(scope="session")
def golden_model(mllm_golden_dir):
    import mllm  # noqa: F401  registers the model types
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(mllm_golden_dir, dtype=torch.float32)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_model():
    """A randomly initialised tiny-preset MLLM (small depth-head vocab keeps it fast)."""
    from mllm import UniTokMLLMConfig, UniTokMLLMForCausalLM
    torch.manual_seed(0)
    config = UniTokMLLMConfig.from_preset("tiny", vocab_size=512, codebook_size=64, projection_width=64,
                                          projection_heads=4, image_positions=16)
    return UniTokMLLMForCausalLM(config).eval()
