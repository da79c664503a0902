"""Tokenizer evaluation in bf16 on the chosen device: the settings say where it ran, and the
metrics stay close to fp32 (the code path is fp32 in both)."""
import skimage.data
import torch
from PIL import Image

from evaluators.tokenizer.runner import EvalConfig, evaluate


def test_bf16_evaluation_matches_fp32_closely(tmp_path):
    from unitok import UniTok, UniTokConfig

    data = tmp_path / "photos"
    data.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(skimage.data, name)()).save(data / f"{name}.png")
    torch.manual_seed(0)
    UniTok(UniTokConfig.from_preset("tiny", codebook_size=256, img_size=64)).save_pretrained(tmp_path / "model")
    results = {}
    for dtype in ("float32", "bfloat16"):
        cfg = EvalConfig(model=str(tmp_path / "model"), data=str(data), output=str(tmp_path / dtype), batch_size=2,
                         feature_net=None, save_reconstructions=False, device="auto", dtype=dtype)
        results[dtype] = evaluate(cfg)
    bf16 = results["bfloat16"]
    expected_device = "cuda" if torch.cuda.is_available() else "cpu"
    assert bf16["settings"]["resolved_device"].startswith(expected_device)
    assert bf16["settings"]["resolved_dtype"] == "torch.bfloat16"
    assert results["float32"]["settings"]["resolved_dtype"] == "torch.float32"
    assert abs(bf16["metrics"]["psnr"] - results["float32"]["metrics"]["psnr"]) < 0.5
