from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tokenizer(golden_dir):
    import transformers

    return transformers.AutoTokenizer.from_pretrained(str(golden_dir / "mllm_tiny"))


@pytest.fixture(scope="session")
def tiny_unitok_dir(tmp_path_factory) -> Path:
    """A random tiny UniTok at 32x32 (4 positions per image), saved like a real checkpoint."""
    import torch
    from unitok import UniTok, UniTokConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_unitok")
    UniTok(UniTokConfig.from_preset("tiny", img_size=32)).eval().save_pretrained(folder)
    return folder
