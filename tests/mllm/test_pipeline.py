"""UnifiedPipeline and CLI on the golden tiny MLLM + the golden tiny UniTok (same codebooks)."""
import pytest
import torch
from PIL import Image
from transformers import LlamaTokenizer

from mllm.cli import main as cli_main
from mllm.pipeline import UnifiedPipeline, image_grid


@pytest.fixture(scope="module")
def pipeline(golden_dir, mllm_golden_dir, golden_model):
    from unitok import UniTok
    unitok = UniTok.from_pretrained(str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"))
    return UnifiedPipeline(golden_model, unitok, LlamaTokenizer.from_pretrained(mllm_golden_dir))


def test_chat_reproduces_official_vqa_answer(pipeline, golden_dir, expected):
    image = Image.open(golden_dir / "tokenizer_tiny" / "inputs" / "astronaut.png")
    assert torch.equal(pipeline.encode_image(image), expected["vqa_image_codes"][0])
    answer = pipeline.chat(image, "What is in the image?", max_new_tokens=8)
    reference = pipeline.tokenizer.decode(expected["vqa_generate_use_cache_true"][0], skip_special_tokens=True)
    assert answer == reference.strip()


def test_generate_images_greedy_matches_golden_codes(pipeline, expected):
    images, codes = pipeline.generate_images(["a photo of a cat"], cfg_scale=1.0, top_k=1, num_positions=16)
    assert torch.equal(codes, expected["gen_codes_training_consistent"])
    assert len(images) == 1 and images[0].size == (64, 64) and images[0].mode == "RGB"
    with pytest.raises(ValueError, match="square"):
        pipeline.generate_images(["x"], num_positions=15)


def test_generate_images_seeded_with_cfg(pipeline):
    first, codes_a = pipeline.generate_images(["a cat", "a dog"], cfg_scale=3.0, seed=7, num_positions=4)
    _, codes_b = pipeline.generate_images(["a cat", "a dog"], cfg_scale=3.0, seed=7, num_positions=4)
    assert torch.equal(codes_a, codes_b) and codes_a.shape == (2, 8, 4) and len(first) == 2
    grid = image_grid(first)
    assert grid.size == (2 * first[0].width, first[0].height)


def test_cli_generate_writes_png_grid(golden_dir, mllm_golden_dir, tmp_path):
    out = tmp_path / "grid.png"
    code = cli_main(["generate", "--model", str(mllm_golden_dir), "--unitok",
                     str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth"), "--prompt", "a cat", "--prompt",
                     "a dog", "--positions", "4", "--cfg-scale", "2.0", "--out", str(out)])
    assert code == 0
    with Image.open(out) as grid:
        assert grid.format == "PNG" and grid.size == (64, 32)


def test_cli_chat_in_bf16_and_device_errors(golden_dir, mllm_golden_dir, capsys):
    unitok = str(golden_dir / "tokenizer_tiny" / "official_ckpt.pth")
    image = str(golden_dir / "tokenizer_tiny" / "inputs" / "astronaut.png")
    assert cli_main(["chat", "--model", str(mllm_golden_dir), "--unitok", unitok, "--image", image,
                     "--question", "What is it?", "--max-new-tokens", "4", "--dtype", "bfloat16"]) == 0
    assert capsys.readouterr().out.strip()
    assert cli_main(["chat", "--model", str(mllm_golden_dir), "--unitok", unitok, "--question", "hi",
                     "--dtype", "float32", "--attn-implementation", "flash_attention_2", "--device", "cpu"]) == 2
    assert "flash_attention_2 needs a CUDA device" in capsys.readouterr().err
