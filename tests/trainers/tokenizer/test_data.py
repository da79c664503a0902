import io
import json
import tarfile

import pytest
import torch
from PIL import Image

from trainers.tokenizer.config import DataConfig
from trainers.tokenizer.data import ShardedLoader, epoch_order
from trainers.tokenizer.sources import build_source


def _tok(captions):
    return torch.tensor([[len(c)] for c in captions])


def _png(colour, size=40):
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_rank_shards_are_disjoint_and_cover_the_epoch():
    shards = [epoch_order(10, seed=3, epoch=0, rank=r, world=3) for r in range(3)]
    assert all(len(s) == 4 for s in shards)                # padded to a multiple of the world size
    assert set().union(*map(set, shards)) == set(range(10))
    assert epoch_order(10, 3, 1, 0, 3) != shards[0]        # reshuffled every epoch
    assert epoch_order(10, 3, 0, 0, 3) == shards[0]        # and deterministic


def test_loader_state_resumes_the_exact_stream():
    cfg = DataConfig(demo_num_samples=12, image_size=32)
    src = build_source(cfg)
    a = ShardedLoader(src, cfg, 5, _tok, seed=1)
    a.next_batch()
    state = a.state_dict()
    expected = [a.next_batch() for _ in range(3)]          # crosses an epoch boundary
    b = ShardedLoader(src, cfg, 5, _tok, seed=1)
    b.load_state_dict(state)
    for (ia, ta, ca), (ib, tb, cb) in zip(expected, [b.next_batch() for _ in range(3)]):
        assert torch.equal(ia, ib) and ca == cb
    assert b.state.epoch == 1 and ia.shape == (5, 3, 32, 32) and ia.min() >= -1 and ia.max() <= 1


def test_folder_source_skips_and_counts_unreadable_images(tmp_path):
    (tmp_path / "a.png").write_bytes(_png((255, 0, 0)))
    (tmp_path / "b.png").write_bytes(b"garbage")
    (tmp_path / "c.png").write_bytes(_png((0, 0, 255)))
    rows = [{"image": n, "caption": f"image {n}"} for n in ("a.png", "b.png", "c.png", "missing.png")]
    (tmp_path / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = DataConfig(source="folder", path=str(tmp_path), image_size=32, random_crop=False)
    loader = ShardedLoader(build_source(cfg), cfg, 4, _tok)
    images, _, captions = loader.next_batch()
    assert images.shape == (4, 3, 32, 32)
    assert set(captions) == {"image a.png", "image c.png"}
    # 2 readable images per epoch: the batch of 4 takes two epochs, meeting each bad row twice.
    assert loader.state.skipped == {"not_an_image": 2, "file_not_found": 2} and loader.state.epoch == 1


def test_webdataset_shards_are_read_with_the_stdlib(tmp_path):
    for shard in range(2):
        with tarfile.open(tmp_path / f"{shard:05d}.tar", "w") as tar:
            for i in range(3):
                for ext, data in (("jpg", _png((80 * i, 0, 0))), ("txt", f"shard {shard} item {i}".encode())):
                    info = tarfile.TarInfo(f"{shard}{i:04d}.{ext}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    cfg = DataConfig(source="webdataset", path=str(tmp_path / "{00000..00001}.tar"), image_size=32)
    src = build_source(cfg)
    assert len(src) == 6
    image, caption = src.raw(4)
    assert caption == "shard 1 item 1" and Image.open(io.BytesIO(image)).getpixel((0, 0)) == (80, 0, 0)


def test_missing_data_is_reported_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="captions"):
        build_source(DataConfig(source="folder", path=str(tmp_path)))
    with pytest.raises(ValueError, match="needs a path"):
        build_source(DataConfig(source="hf"))


def test_hf_save_to_disk_source(tmp_path):
    import datasets
    rows = {"image": [Image.new("RGB", (40, 40), (0, 200, 0)), Image.new("RGB", (40, 40), (0, 0, 200))],
            "caption": ["green", "blue"]}
    features = datasets.Features({"image": datasets.Image(), "caption": datasets.Value("string")})
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp_path / "ds"))
    cfg = DataConfig(source="hf", path=str(tmp_path / "ds"), image_size=32, random_crop=False)
    images, _, captions = ShardedLoader(build_source(cfg), cfg, 2, _tok).next_batch()
    by_caption = dict(zip(captions, images))
    assert set(by_caption) == {"green", "blue"}
    assert by_caption["green"][1].mean() > 0.5 and by_caption["blue"][2].mean() > 0.5
