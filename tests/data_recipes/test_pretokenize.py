import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from data_recipes.demo import demo_item
from data_recipes.images import decode_image
from data_recipes.pretokenize import PretokenizeConfig, load_unitok, pretokenize
from data_recipes.recipe import parse_recipe
from data_recipes.shards import PretokenizedSource, list_shards
from tests.data_recipes.broken_images import broken_files, write_broken_folder

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(broken_files()))
def test_decode_outcomes(tmp_path, name):
    data, status, detail = broken_files()[name]
    (tmp_path / name).write_bytes(data)
    result = decode_image(str(tmp_path / name), max_pixels=50_000_000)
    assert result.status == status and result.detail.startswith(detail), result
    assert (result.image is None) == (status == "skipped")
    if result.image is not None:
        assert result.image.mode == "RGB"


def test_broken_folder_is_skipped_counted_and_logged(tmp_path, tiny_unitok_dir):
    rows = write_broken_folder(tmp_path / "imgs")
    recipe = parse_recipe(f"name: broken\nsources:\n  - {{name: files, loader: jsonl, path: {rows}, sample_type: i2t}}\n",
                          str(tmp_path / "broken.yaml"))
    model, processor = load_unitok(str(tiny_unitok_dir))
    pretokenize(recipe, model, processor, PretokenizeConfig(out=tmp_path / "out", shard_size=5, max_pixels=50_000_000))
    folder = tmp_path / "out" / "files"
    summary = json.loads((folder / "summary-r000.json").read_text())
    expected_skipped = [n for n, (_, s, _) in broken_files().items() if s == "skipped"] + ["missing.jpg"]
    assert summary["rows"] == len(broken_files()) + 1 and summary["skipped"] == len(expected_skipped)
    assert summary["converted"] == 4 and summary["converted:CMYK"] == 1 and summary["kept"] == 5
    log = [json.loads(line) for line in (folder / "bad_images-r000.jsonl").read_text().splitlines()]
    assert sorted(r["key"] for r in log) == sorted(expected_skipped)
    reader = PretokenizedSource(folder)
    records = list(reader)
    assert sorted(r["key"] for r in records) == ["cmyk.jpg", "good.jpg", "gray.png", "palette.png", "rgba.png"]
    good = next(r for r in records if r["key"] == "good.jpg")
    with torch.no_grad():
        direct = model.img_to_idx(processor(str(tmp_path / "imgs" / "good.jpg"))).numpy()[0]
    assert good["codes"].shape == (8, 4) and np.array_equal(good["codes"], direct)


def _demo_recipe(tmp_path, num_samples):
    path = tmp_path / "demo_small.yaml"
    path.write_text(f"name: d\ndefaults: {{demo_num_samples: {num_samples}, demo_image_size: 32}}\n"
                    "sources:\n  - {name: shapes, loader: demo, sample_type: t2i}\n")
    return path


def _run(recipe, unitok, out, extra_env=None, extra_args=()):
    env = {**os.environ, "PYTHONPATH": str(REPO), **(extra_env or {})}
    cmd = [sys.executable, "-m", "data_recipes.pretokenize", "--recipe", str(recipe), "--unitok", str(unitok),
           "--out", str(out), "--shard-size", "8", "--batch-size", "4", *extra_args]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path, tiny_unitok_dir):
    recipe, out = _demo_recipe(tmp_path, 160), tmp_path / "out"
    proc = _run(recipe, tiny_unitok_dir, out, extra_args=["--crash-after-shards", "3"])  # SIGKILLs itself
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    first = list_shards(out / "shapes")
    assert len(first) == 3
    # a write torn by a kill leaves a temp file, which neither counts as a shard nor blocks the rerun
    (out / "shapes" / ".tmp-1-shard-r000-00003.npz").write_bytes(b"half a shard")
    stamps = {p.name: p.stat().st_mtime_ns for p in first}
    proc = _run(recipe, tiny_unitok_dir, out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    report = json.loads(stdout.decode().strip().splitlines()[-1])["sources"]["shapes"]
    assert report == {"shards_resumed": len(first), "shards_written": 20 - len(first)}
    assert all(p.stat().st_mtime_ns == stamps[p.name] for p in first)   # finished shards untouched
    keys = [r["key"] for r in PretokenizedSource(out / "shapes")]
    assert keys == [f"train-{i}" for i in range(160)]
    reader = PretokenizedSource(out / "shapes")
    model, processor = load_unitok(str(tiny_unitok_dir))
    for index in (0, 7, 8, 159):   # codes equal a direct encoding of the regenerated image
        image = demo_item(index, "train", 0, 32).image
        direct = model.img_to_idx(processor(image)).numpy()[0]
        assert np.array_equal(reader.record(index)["codes"], direct)


def test_worker_pool_overlapping_the_encoder_writes_what_one_process_writes(tmp_path, tiny_unitok_dir):
    """Decoding in workers, streamed into batches while the encoder runs, changes no code or record;
    broken images in the middle of a batch keep every image row pointing at its own codes."""
    rows = write_broken_folder(tmp_path / "imgs")
    recipe = parse_recipe(f"name: mix\nsources:\n  - {{name: files, loader: jsonl, path: {rows}, sample_type: i2t}}\n"
                          "  - {name: shapes, loader: demo, sample_type: t2i}\n"
                          "defaults: {demo_num_samples: 23, demo_image_size: 32}\n", str(tmp_path / "mix.yaml"))
    model, processor = load_unitok(str(tiny_unitok_dir))
    for workers in (0, 2):
        pretokenize(recipe, model, processor, PretokenizeConfig(out=tmp_path / f"w{workers}", shard_size=10,
                                                                 batch_size=3, workers=workers,
                                                                 max_pixels=50_000_000))
    for source in ("files", "shapes"):
        one, pool = (list(PretokenizedSource(tmp_path / f"w{w}" / source)) for w in (0, 2))
        assert [r["key"] for r in one] == [r["key"] for r in pool] and len(one) > 4
        for a, b in zip(one, pool):
            assert (a.get("codes") is None) == (b.get("codes") is None)
            if a.get("codes") is not None:
                assert np.array_equal(a["codes"], b["codes"])
    shapes = list(PretokenizedSource(tmp_path / "w2" / "shapes"))
    for index in (0, 11, 22):
        direct = model.img_to_idx(processor(demo_item(index, "train", 0, 32).image)).numpy()[0]
        assert np.array_equal(shapes[index]["codes"], direct)
