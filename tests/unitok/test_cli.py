"""`unitok` CLI end to end with a tiny random-init model saved by save_pretrained."""
import json

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from unitok import UniTok, UniTokConfig
from unitok.cli import main
from unitok.processing import UniTokImageProcessor

SIZE = 64  # small inputs keep the tiny model fast: 4x4 = 16 positions


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = UniTok(UniTokConfig.from_preset("tiny")).eval()
    folder = tmp_path_factory.mktemp("model")
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model(model_dir):
    return UniTok.from_pretrained(model_dir).eval()


@pytest.fixture()
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.jpg")
    Image.fromarray(skimage.data.chelsea()).convert("L").save(folder / "grey_cat.png")
    Image.fromarray(skimage.data.rocket()).convert("RGBA").save(folder / "rocket.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (folder / "notes.txt").write_text("not an image")
    return folder


def read_codes(path):
    with safe_open(str(path), "pt") as f:
        return f.get_tensor("codes"), f.metadata()


def test_encode_folder_skips_unreadable_files(model, model_dir, image_folder, tmp_path, capsys):
    out = tmp_path / "codes.safetensors"
    status = main(["encode", str(image_folder), "--model", str(model_dir), "--out", str(out),
                   "--batch-size", "3", "--size", str(SIZE), "--device", "cpu"])
    assert status == 0
    err = capsys.readouterr().err
    assert "broken.png" in err and "notes.txt" in err and "2 of 6 file(s) skipped" in err

    codes, metadata = read_codes(out)
    names = json.loads(metadata["files"])
    assert names == ["astronaut.png", "coffee.jpg", "grey_cat.png", "rocket.png"]
    assert codes.dtype == torch.uint16 and codes.shape == (4, 8, (SIZE // 16) ** 2)
    assert json.loads(metadata["grid"]) == [SIZE // 16, SIZE // 16]

    # Same codes as the Python API on the same preprocessing, across batch boundaries.
    pixels = UniTokImageProcessor(size=SIZE)([image_folder / name for name in names])
    assert torch.equal(codes.long(), model.img_to_idx(pixels))


def test_encode_single_file(model_dir, image_folder, tmp_path):
    out = tmp_path / "one.safetensors"
    assert main(["encode", str(image_folder / "coffee.jpg"), "--model", str(model_dir), "--out", str(out),
                 "--size", str(SIZE)]) == 0
    codes, metadata = read_codes(out)
    assert codes.shape == (1, 8, 16) and json.loads(metadata["files"]) == ["coffee.jpg"]


def test_encode_fails_when_nothing_is_readable(model_dir, tmp_path, capsys):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    (folder / "b.txt").write_text("hello")
    out = tmp_path / "codes.safetensors"
    assert main(["encode", str(folder), "--model", str(model_dir), "--out", str(out), "--size", str(SIZE)]) != 0
    assert not out.exists()
    assert "no readable image" in capsys.readouterr().err


def test_decode_writes_one_png_per_code_row(model, model_dir, image_folder, tmp_path):
    codes_path = tmp_path / "codes.safetensors"
    main(["encode", str(image_folder), "--model", str(model_dir), "--out", str(codes_path), "--size", str(SIZE)])
    out_dir = tmp_path / "decoded"
    assert main(["decode", str(codes_path), "--model", str(model_dir), "--out-dir", str(out_dir),
                 "--batch-size", "3"]) == 0
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == ["astronaut.png", "coffee.png", "grey_cat.png", "rocket.png"]

    codes, metadata = read_codes(codes_path)
    with torch.no_grad():
        expected = UniTokImageProcessor.postprocess(model.idx_to_img(codes.long()))
    for name, image in zip(json.loads(metadata["files"]), expected):
        decoded = Image.open(out_dir / (name.rsplit(".", 1)[0] + ".png"))
        assert decoded.size == (SIZE, SIZE)
        assert np.array_equal(np.asarray(decoded), np.asarray(image))


def test_decode_accepts_plain_int64_codes_without_metadata(model_dir, tmp_path):
    codes = torch.randint(0, 4096, (2, 8, 16))
    path = tmp_path / "raw.safetensors"
    save_file({"codes": codes}, str(path))
    out_dir = tmp_path / "out"
    assert main(["decode", str(path), "--model", str(model_dir), "--out-dir", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["000000.png", "000001.png"]


def test_reconstruct_round_trips_through_codes(model, model_dir, image_folder, tmp_path):
    out = tmp_path / "rec" / "astronaut_rec.png"
    assert main(["reconstruct", str(image_folder / "astronaut.png"), str(out), "--model", str(model_dir),
                 "--size", str(SIZE)]) == 0
    pixels = UniTokImageProcessor(size=SIZE)(image_folder / "astronaut.png")
    with torch.no_grad():
        expected = UniTokImageProcessor.postprocess(model.idx_to_img(model.img_to_idx(pixels)))[0]
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(expected))


def test_reconstruct_reports_unreadable_input(model_dir, image_folder, tmp_path, capsys):
    status = main(["reconstruct", str(image_folder / "notes.txt"), str(tmp_path / "x.png"),
                   "--model", str(model_dir), "--size", str(SIZE)])
    assert status == 2 and "cannot read image" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_missing_model_and_bad_size_are_clear_errors(model_dir, image_folder, tmp_path, capsys):
    args = ["encode", str(image_folder), "--out", str(tmp_path / "c.safetensors")]
    assert main(args + ["--model", str(tmp_path / "nowhere")]) == 2
    assert "no UniTok checkpoint" in capsys.readouterr().err
    assert main(args + ["--model", str(model_dir), "--size", "50"]) == 2
    assert "multiple of 16" in capsys.readouterr().err
    foreign = tmp_path / "foreign.pth"
    torch.save({"state_dict": {}}, foreign)
    assert main(args + ["--model", str(foreign)]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "c.safetensors").exists()


def test_decode_rejects_foreign_file(model_dir, tmp_path, capsys):
    path = tmp_path / "fake.safetensors"
    path.write_text("nope")
    assert main(["decode", str(path), "--model", str(model_dir), "--out-dir", str(tmp_path / "o")]) == 2
    assert "not a codes file" in capsys.readouterr().err


def test_argparse_rejects_missing_options_and_bad_batch_size(model_dir):
    with pytest.raises(SystemExit):
        main(["encode", "x.png", "--model", str(model_dir)])  # --out missing
    with pytest.raises(SystemExit):
        main(["decode", "c.safetensors", "--model", str(model_dir), "--out-dir", "d", "--batch-size", "0"])


def test_encode_with_official_checkpoint_reproduces_golden_codes(golden_dir, tmp_path):
    fixture = golden_dir / "tokenizer_tiny"
    with safe_open(str(fixture / "expected.safetensors"), "pt") as f:
        order = json.loads(f.metadata()["images"])
        golden_codes, margin = f.get_tensor("codes"), f.get_tensor("code_margin")
    folder = tmp_path / "raw"
    folder.mkdir()
    for name in order:  # the raw images: the CLI must do the official resize + crop itself
        Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
    out = tmp_path / "codes.safetensors"
    assert main(["encode", str(folder), "--model", str(fixture / "official_ckpt.pth"), "--out", str(out),
                 "--device", "cpu"]) == 0
    codes, metadata = read_codes(out)
    names = [name.removesuffix(".png") for name in json.loads(metadata["files"])]
    expected = golden_codes[[order.index(name) for name in names]]
    decisive = margin[[order.index(name) for name in names]] >= 1e-4  # near-ties may flip legitimately
    assert codes.shape == expected.shape == (4, 8, 256)
    assert torch.equal(codes.long()[decisive], expected[decisive])


def test_bf16_encode_and_device_errors(model, model_dir, image_folder, tmp_path, capsys):
    out16, out32 = tmp_path / "c16.safetensors", tmp_path / "c32.safetensors"
    for out, dtype in ((out16, "bfloat16"), (out32, "float32")):
        assert main(["encode", str(image_folder / "astronaut.png"), "--model", str(model_dir), "--out", str(out),
                     "--size", str(SIZE), "--device", "auto", "--dtype", dtype]) == 0
    codes16, codes32 = read_codes(out16)[0], read_codes(out32)[0]
    assert codes16.shape == codes32.shape and (codes16 == codes32).float().mean() > 0.8
    if not torch.cuda.is_available():
        assert main(["encode", str(image_folder), "--model", str(model_dir), "--out", str(out16),
                     "--device", "cuda:0"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
