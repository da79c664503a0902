"""The default tokenizer run trains on diverse data with LPIPS on, and never on the evaluation renderer."""
import ast
from pathlib import Path

import pytest

from data_recipes import photos
from trainers.tokenizer.config import TrainConfig
from trainers.tokenizer.objective import build_loss
from trainers.tokenizer.sources import build_source

REPO = Path(__file__).resolve().parents[3]


def test_default_config_sources_sizes_and_losses():
    cfg = TrainConfig.from_preset("demo")
    cfg.validate()
    assert cfg.data.source == "scenes" and cfg.data.image_size >= 64
    assert 0 < cfg.data.photo_fraction < 1 and cfg.data.free_colour_prob > 0
    loss, status = build_loss(cfg.loss, cfg.data.image_size)
    assert status.startswith("on (") and loss.lpips is not None   # LPIPS-VGG16 is on by default
    assert cfg.loss.gan == 0 and "DINOv2" in cfg.gan_note            # and the GAN is off, with the reason


def test_default_source_mixes_scenes_and_training_photo_crops():
    cfg = TrainConfig.from_preset("demo")
    cfg.data.demo_num_samples = 30
    source = build_source(cfg.data)
    assert source.num_scenes == 30 and source.num_photos == 10 and len(source) == 40
    captions = [source.raw(i)[1] for i in range(len(source))]
    assert all(" background" in c for c in captions[:30])
    photo_captions = {photos.caption(n) for n in photos.TRAIN_PHOTOS}
    assert set(captions[30:]) <= photo_captions and len(set(captions[30:])) >= 8   # photos in turn
    assert not {photos.caption(n) for n in photos.HELDOUT_PHOTOS} & set(captions)
    assert set(source.photos) == set(photos.TRAIN_PHOTOS)


def test_training_code_never_uses_the_second_renderer():
    for folder in ("trainers", "data_recipes", "train"):
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            mods = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
            assert not any("second_renderer" in m or "scene_checks" in m for m in mods | names), path


def test_missing_lpips_weights_name_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.setenv("UNITOK_LPIPS_WEIGHTS", str(tmp_path / "absent.safetensors"))
    cfg = TrainConfig.from_preset("demo")
    with pytest.raises(FileNotFoundError, match="scripts/fetch_assets.sh"):
        build_loss(cfg.loss, cfg.data.image_size)
    cfg.loss.lpips_weights = "none"
    _, status = build_loss(cfg.loss, cfg.data.image_size)
    assert status.startswith("off")
