"""Tokenizer data: bundled photos split into disjoint training / held-out sets, scene streams."""
import hashlib

import numpy as np

from data_recipes import photos
from data_recipes.tokenizer_data import heldout_scene_images, scene_caption, tokenizer_scene


def test_training_and_heldout_photos_are_disjoint_files_and_pixels():
    assert not set(photos.TRAIN_PHOTOS) & set(photos.HELDOUT_PHOTOS)
    digest = {n: hashlib.sha256(photos.load_photo(n).tobytes()).hexdigest()
              for n in [*photos.TRAIN_PHOTOS, *photos.HELDOUT_PHOTOS]}
    train = {digest[n] for n in photos.TRAIN_PHOTOS}
    assert not train & {digest[n] for n in photos.HELDOUT_PHOTOS}
    paths = {photos.photo_path(n) for n in photos.TRAIN_PHOTOS}
    assert not paths & {photos.photo_path(n) for n in photos.HELDOUT_PHOTOS}


def test_heldout_crops_are_deterministic_and_sized():
    a, b = photos.heldout_crops(64, 3), photos.heldout_crops(64, 3)
    assert len(a) == 3 * len(photos.HELDOUT_PHOTOS)
    assert [n for n, _ in a] == [n for n, _ in b]
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for (_, x), (_, y) in zip(a, b))
    assert all(im.size == (64, 64) and im.mode == "RGB" for _, im in a)


def test_scene_streams_differ_and_captions_name_the_objects():
    train = [np.asarray(tokenizer_scene(i, "train")[1]) for i in range(20)]
    held = [np.asarray(im) for im in heldout_scene_images(20)]
    assert not any(np.array_equal(t, h) for t in train for h in held)
    spec, image = tokenizer_scene(3, "train", size=64)
    assert image.size == (64, 64)
    text = scene_caption(spec)
    assert all(f"{o.colour} {o.shape}" in text for o in spec.objects)
