"""save_pretrained / from_pretrained, the official->HF converter, AutoModel, the full-size layout."""
import json

import pytest
import torch
from transformers import AutoConfig, AutoModel

from unitok import UniTok, UniTokConfig
from unitok.convert import convert_official_checkpoint, main as convert_main


@pytest.fixture(scope="module")
def official(golden_dir):
    return golden_dir / "tokenizer_tiny" / "official_ckpt.pth"


def outputs(model, images):
    with torch.no_grad():
        return model.img_to_idx(images), model.idx_to_img(model.img_to_idx(images)), model.encoder(images)


def test_converter_and_save_pretrained_preserve_outputs_exactly(official, tmp_path):
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    reference = UniTok.from_pretrained(official)
    convert_main([str(official), str(tmp_path / "hf")])
    converted = UniTok.from_pretrained(tmp_path / "hf")
    assert (tmp_path / "hf" / "model.safetensors").is_file()
    for a, b in zip(outputs(reference, images), outputs(converted, images)):
        assert torch.equal(a, b)
    ref_state, new_state = reference.state_dict(), converted.state_dict()
    assert ref_state.keys() == new_state.keys()
    assert all(torch.equal(ref_state[k], new_state[k]) for k in ref_state)

    converted.save_pretrained(tmp_path / "again")
    for a, b in zip(outputs(converted, images), outputs(UniTok.from_pretrained(tmp_path / "again"), images)):
        assert torch.equal(a, b)


def test_automodel_loads_our_folder(official, tmp_path):
    convert_official_checkpoint(str(official), str(tmp_path))
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "unitok"
    assert isinstance(AutoConfig.from_pretrained(tmp_path), UniTokConfig)
    model = AutoModel.from_pretrained(tmp_path)
    assert isinstance(model, UniTok)
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.equal(model.img_to_idx(images), UniTok.from_pretrained(official).img_to_idx(images))


def test_official_args_are_read_and_checked(official):
    model = UniTok.from_pretrained(official)
    cfg = model.config
    assert (cfg.width, cfg.depth, cfg.num_heads, cfg.stem_width, tuple(cfg.stage_widths)) == (128, 2, 2, 32, (32, 64))
    assert (cfg.num_codebooks, cfg.codebook_size, cfg.code_dim, cfg.embed_dim) == (8, 4096, 8, 128)
    assert cfg.projection_heads == 2 and not model.training


def test_large_preset_has_exactly_the_release_layout(golden_dir):
    reference = json.loads((golden_dir / "tokenizer_large_keys.json").read_text())
    with torch.device("meta"):
        model = UniTok(UniTokConfig.from_preset("large"))
    state = model.state_dict()
    assert list(state) == list(reference["keys"])
    for key, spec in reference["keys"].items():
        assert list(state[key].shape) == spec["shape"], key
        assert str(state[key].dtype).replace("torch.", "") == spec["dtype"], key
    assert sum(t.numel() for t in state.values()) == reference["total_elements"]
    assert "text_encoder.attn_mask" not in state


@pytest.mark.parametrize("preset", UniTokConfig.presets())
def test_every_preset_builds_on_meta(preset):
    with torch.device("meta"):
        model = UniTok(UniTokConfig.from_preset(preset))
    assert model.quantizer.num_codebooks == 8


def test_missing_and_corrupt_checkpoints_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no UniTok checkpoint"):
        UniTok.from_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="config.json"):
        UniTok.from_pretrained(tmp_path)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match="cannot read"):
        UniTok.from_pretrained(bad)
    other = tmp_path / "other.pth"
    torch.save({"model": {}}, other)
    with pytest.raises(ValueError, match="not an official UniTok checkpoint"):
        UniTok.from_pretrained(other)


def test_truncated_official_checkpoint_is_rejected(official, tmp_path):
    data = official.read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read"):
        UniTok.from_pretrained(truncated)
