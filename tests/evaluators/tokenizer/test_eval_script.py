"""eval/tokenizer.py on a folder of real photos (scikit-image), one sub-folder per class."""
import json
import os
import subprocess
import sys
from pathlib import Path

import skimage.data
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
PHOTOS = {"cat": ["chelsea", "cat"], "coffee": ["coffee"], "rocket": ["rocket"], "astronaut": ["astronaut"]}


def test_eval_script_on_real_photos(tmp_path, lpips_vgg_weights):
    import torch
    from unitok import UniTok, UniTokConfig

    data = tmp_path / "photos"
    for cls, names in PHOTOS.items():
        (data / cls).mkdir(parents=True)
        for name in names:
            Image.fromarray(getattr(skimage.data, name)()).save(data / cls / f"{name}.png")
    (data / "cat" / "broken.png").write_bytes(b"not a png")
    torch.manual_seed(0)
    model_dir = tmp_path / "model"
    UniTok(UniTokConfig.from_preset("tiny", codebook_size=256, img_size=64)).save_pretrained(model_dir)

    out = tmp_path / "eval"
    cmd = [sys.executable, str(REPO / "eval" / "tokenizer.py"), "--model", str(model_dir), "--data", str(data),
           "--output", str(out), "--lpips-weights", str(lpips_vgg_weights), "--batch-size", "2"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    m, s = summary["metrics"], summary["settings"]
    assert m["num_images"] == 5 and m["skipped_images"] == {"not_an_image": 1}
    assert s["image_size"] == 64 and s["feature_net"] == "EffNetLite0"
    assert s["feature_net_path"].endswith(".pth") and s["lpips_weights"] == str(lpips_vgg_weights)
    # The feature network is named in the metric; nothing claims to be an Inception rFID.
    assert m["FD-EffNetLite0"] > 0 and "NOT rFID" in m["fd_note"]
    assert not any("fid" in k.lower() for k in m)
    # A random tokenizer reconstructs photos badly, and the metrics say so.
    assert 3 < m["psnr"] < 20 and -1 < m["ssim"] < 0.6 and 0.2 < m["lpips"] < 1.5
    zs = m["zero_shot"]
    assert zs["num_classes"] == 4 and zs["classnames"] == ["astronaut", "cat", "coffee", "rocket"]
    assert 0.0 <= zs["top1"] <= 1.0 and "top5" not in zs
    cb = m["codebooks"]
    assert len(cb["per_codebook"]) == 8 and cb["codebook_size"] == 256
    assert all(c["codes_counted"] == 5 * 16 for c in cb["per_codebook"])
    assert all(1 <= c["perplexity"] <= 80 and 0 < c["usage"] <= 80 / 256 for c in cb["per_codebook"])
    assert len(list((out / "reconstructions").glob("*.png"))) == 5
