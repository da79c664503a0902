"""Image processor: bit-exact official preprocessing of the fixture images, modes, round trip."""
import json

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from safetensors import safe_open

from unitok.config import UniTokConfig
from unitok.processing import (PAD_COLOR, UniTokImageProcessor, center_crop, pad_to_square_resize,
                               resize_short_side, tensor_to_pil, to_rgb)


@pytest.fixture(scope="module")
def golden(golden_dir):
    path = golden_dir / "tokenizer_tiny" / "expected.safetensors"
    with safe_open(str(path), "pt") as f:
        return (json.loads(f.metadata()["images"]), f.get_tensor("input_images"), f.get_tensor("input_big"))


def test_official_preprocessing_is_bit_exact(golden):
    names, expected, _ = golden
    batch = UniTokImageProcessor()([getattr(skimage.data, name)() for name in names])
    assert batch.dtype == torch.float32 and batch.shape == expected.shape
    assert torch.equal(batch, expected)


def test_big_input_uses_the_same_pipeline(golden):
    _, _, expected_big = golden
    batch = UniTokImageProcessor(size=384)(skimage.data.astronaut())
    assert torch.equal(batch, expected_big)


def test_rocket_needs_torchvision_crop_rounding(golden):
    # rocket 427x640 -> 288x431: a 175 px margin, split as round(87.5) = 88 (half to even), not 87.
    names, expected, _ = golden
    resized = resize_short_side(Image.fromarray(skimage.data.rocket()), 288)
    assert resized.size == (431, 288)
    floor_crop = resized.crop((87, 16, 87 + 256, 16 + 256))
    floor_tensor = torch.from_numpy(np.asarray(floor_crop).copy()).permute(2, 0, 1).float() / 255 * 2 - 1
    assert not torch.equal(floor_tensor, expected[names.index("rocket")])
    assert np.array_equal(np.asarray(center_crop(resized, 256)), np.asarray(resized.crop((88, 16, 344, 272))))


def test_fixture_pngs_are_the_reference_crops(golden, golden_dir):
    names, expected, _ = golden
    for index, name in enumerate(names):
        png = golden_dir / "tokenizer_tiny" / "inputs" / f"{name}.png"
        crop = UniTokImageProcessor.postprocess(expected[index])[0]
        assert np.array_equal(np.asarray(crop), np.asarray(Image.open(png).convert("RGB")))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "1", "P", "CMYK", "YCbCr", "I"])
def test_any_pil_mode_becomes_rgb(mode):
    rgb = Image.fromarray(skimage.data.chelsea())
    image = rgb.quantize(16) if mode == "P" else rgb.convert(mode)
    batch = UniTokImageProcessor(size=64)(image)
    assert batch.shape == (1, 3, 64, 64)
    assert batch.min() >= -1 and batch.max() <= 1
    if mode in ("L", "LA", "1", "I"):
        # Grey inputs give three identical channels.
        assert torch.equal(batch[0, 0], batch[0, 1]) and torch.equal(batch[0, 1], batch[0, 2])


def test_rgba_drops_alpha_like_convert_rgb():
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 0  # fully transparent red stays red, as Image.convert('RGB') does
    assert to_rgb(Image.fromarray(rgba)).getpixel((3, 3)) == (200, 0, 0)


def test_accepts_paths_and_arrays(tmp_path):
    array = skimage.data.coffee()
    path = tmp_path / "coffee.png"
    Image.fromarray(array).save(path)
    processor = UniTokImageProcessor(size=128)
    assert torch.equal(processor(str(path)), processor(array))
    assert torch.equal(processor([path, array]), torch.cat([processor(array)] * 2))


def test_postprocess_round_trips_uint8():
    pixels = np.random.default_rng(0).integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    tensor = UniTokImageProcessor(size=32, resize_ratio=1.0)(pixels[:, 8:40])
    back = UniTokImageProcessor.postprocess(tensor)
    assert len(back) == 1 and back[0].mode == "RGB"
    assert np.array_equal(np.asarray(back[0]), pixels[:, 8:40])


def test_postprocess_clamps_out_of_range_values():
    image = tensor_to_pil(torch.tensor([-3.0, 0.0, 5.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2))[0]
    assert image.getpixel((0, 0)) == (0, 128, 255)


def test_pad_to_square_resize_centres_on_mean_colour():
    wide = Image.new("RGB", (200, 100), (255, 0, 0))
    square = pad_to_square_resize(wide, size=64)
    assert square.size == (64, 64)
    assert square.getpixel((32, 2)) == PAD_COLOR and square.getpixel((32, 61)) == PAD_COLOR
    assert square.getpixel((32, 32)) == (255, 0, 0)
    tall = pad_to_square_resize(Image.new("RGB", (50, 100), (0, 0, 255)), size=32)
    assert tall.getpixel((1, 16)) == PAD_COLOR and tall.getpixel((16, 16)) == (0, 0, 255)


def test_pad_mode_matches_explicit_pipeline():
    image = skimage.data.rocket()
    expected = pad_to_square_resize(image, 256)
    batch = UniTokImageProcessor(mode="pad")(image)
    assert batch.shape == (1, 3, 256, 256)
    assert np.array_equal(np.asarray(tensor_to_pil(batch)[0]), np.asarray(expected))


def test_from_config_reads_size_and_ratio():
    config = UniTokConfig.from_preset("tiny")
    processor = UniTokImageProcessor.from_config(config)
    assert (processor.size, processor.resize_ratio) == (config.img_size, config.resize_ratio)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="multiple of 16"):
        UniTokImageProcessor(size=250)
    with pytest.raises(ValueError, match="mode"):
        UniTokImageProcessor(mode="stretch")
    with pytest.raises(ValueError, match="uint8"):
        UniTokImageProcessor()(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="no images"):
        UniTokImageProcessor()([])
    with pytest.raises(ValueError, match="smaller than the crop"):
        center_crop(Image.new("RGB", (10, 10)), 16)


def test_uint8_path_equals_process_one_exactly():
    """pretokenize's workers send uint8 pixels; converting a stack of them equals process_one bit for bit."""
    import numpy as np
    from PIL import Image

    from unitok.processing import UniTokImageProcessor
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40 + i, 57, 3), dtype=np.uint8)) for i in range(3)]
    for mode in ("center_crop", "pad"):
        processor = UniTokImageProcessor(size=32, mode=mode)
        stacked = processor.uint8_to_pm1(np.stack([processor.process_uint8(im) for im in images]))
        assert torch.equal(stacked, torch.stack([processor.process_one(im) for im in images]))
