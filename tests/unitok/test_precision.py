"""UniTok in bf16: trunk in bf16, code path (projections to/from code space, codebooks) in fp32,
the same weights whether loaded from an official .pth or a save_pretrained folder."""
import torch

from unitok import UniTok

FP32_PARTS = ("quant_proj", "post_quant_proj", "quantizer")


def test_bf16_keeps_the_code_path_in_fp32(golden_dir, tmp_path):
    pth = golden_dir / "tokenizer_tiny" / "official_ckpt.pth"
    fp32 = UniTok.from_pretrained(str(pth))
    bf16 = UniTok.from_pretrained(str(pth), dtype="bfloat16", device="cpu")
    for name, param in bf16.named_parameters():
        wanted = torch.float32 if name.split(".")[0] in FP32_PARTS else torch.bfloat16
        assert param.dtype == wanted, name
        if wanted == torch.float32:  # untouched by the cast, not rounded through bf16
            assert torch.equal(param, fp32.get_parameter(name)), name
    fp32.save_pretrained(tmp_path)
    from_folder = UniTok.from_pretrained(str(tmp_path), dtype="bf16", device="cpu")
    theirs = from_folder.state_dict()
    for key, value in bf16.state_dict().items():
        assert value.dtype == theirs[key].dtype and torch.equal(value, theirs[key]), key

    torch.manual_seed(0)
    images = torch.rand(2, 3, 256, 256) * 2 - 1
    codes = bf16.img_to_idx(images)
    agree = (codes == fp32.img_to_idx(images)).float().mean().item()
    assert codes.dtype == torch.long and agree > 0.9, agree
    recon = bf16.idx_to_img(codes)
    assert recon.dtype == torch.float32 and recon.shape == images.shape and recon.abs().max() <= 1
