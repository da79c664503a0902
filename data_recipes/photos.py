"""Real photographs that ship inside registry packages, split into training and held-out sets.

Training photos come from scikit-image's bundled data (a runtime dependency). Held-out photos are
a disjoint set: scikit-image's cat (`chelsea`) plus three photos that `scripts/fetch_assets.sh`
extracts from the scikit-learn and matplotlib wheels into the assets folder (SHA-256 checked),
so nothing a tokenizer trained on is ever scored as held-out.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

# name -> (where, file, caption noun). Grey-level textures count: tokenizers must keep texture.
TRAIN_PHOTOS: Dict[str, Tuple[str, str, str]] = {
    "astronaut": ("skimage", "astronaut.png", "an astronaut"),
    "coffee": ("skimage", "coffee.png", "a cup of coffee"),
    "rocket": ("skimage", "rocket.jpg", "a rocket on a launch pad"),
    "motorcycle_left": ("skimage", "motorcycle_left.png", "a motorcycle"),
    "motorcycle_right": ("skimage", "motorcycle_right.png", "a motorcycle"),
    "hubble_deep_field": ("skimage", "hubble_deep_field.jpg", "galaxies in deep space"),
    "ihc": ("skimage", "ihc.png", "a stained tissue sample"),
    "retina": ("skimage", "retina.jpg", "a retina"),
    "brick": ("skimage", "brick.png", "a brick wall"),
    "grass": ("skimage", "grass.png", "grass"),
    "gravel": ("skimage", "gravel.png", "gravel"),
    "camera": ("skimage", "camera.png", "a cameraman"),
}
HELDOUT_PHOTOS: Dict[str, Tuple[str, str, str]] = {
    "chelsea": ("skimage", "chelsea.png", "a cat"),
    "china": ("assets", "photos/china.jpg", "a temple in china"),
    "flower": ("assets", "photos/flower.jpg", "a flower"),
    "grace_hopper": ("assets", "photos/grace_hopper.jpg", "a portrait of a woman in uniform"),
}
FETCH_COMMAND = "bash scripts/fetch_assets.sh"


def assets_dir() -> Path:
    """$UNITOK_ASSETS, else .assets/ in the checkout (where scripts/fetch_assets.sh writes)."""
    return Path(os.environ.get("UNITOK_ASSETS", Path(__file__).resolve().parents[1] / ".assets"))


def photo_path(name: str) -> Path:
    where, file, _ = {**TRAIN_PHOTOS, **HELDOUT_PHOTOS}[name]
    if where == "skimage":
        try:
            import skimage.data
        except ImportError as exc:
            raise ImportError("the bundled photos need scikit-image (pip install scikit-image)") from exc
        path = Path(skimage.data.__file__).parent / file
    else:
        path = assets_dir() / file
    if not path.is_file():
        raise FileNotFoundError(f"photo {name!r} not found at {path}: run `{FETCH_COMMAND}` once (it extracts the "
                                "held-out photos from the scikit-learn and matplotlib wheels)")
    return path


def load_photo(name: str) -> Image.Image:
    with Image.open(photo_path(name)) as im:
        return im.convert("RGB")


def caption(name: str) -> str:
    return f"a photo of {({**TRAIN_PHOTOS, **HELDOUT_PHOTOS})[name][2]}"


def random_crop_box(width: int, height: int, rng: np.random.Generator, min_frac: float = 0.12,
                    max_frac: float = 1.0) -> Tuple[int, int, int, int]:
    """A square box of side uniform in [min_frac, max_frac] x the short side, placed uniformly."""
    side = max(8, int(round(min(width, height) * rng.uniform(min_frac, max_frac))))
    left, top = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    return left, top, left + side, top + side


def heldout_crops(size: int = 64, per_photo: int = 8, seed: int = 0) -> List[Tuple[str, Image.Image]]:
    """Deterministic square crops of the held-out photos at `size` px: the whole photo's centre
    square first, then random boxes of 20-100% of the short side."""
    out = []
    for k, name in enumerate(HELDOUT_PHOTOS):
        photo = load_photo(name)
        w, h = photo.size
        s = min(w, h)
        boxes = [((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)]
        rng = np.random.default_rng([seed, 7, k])
        boxes += [random_crop_box(w, h, rng, 0.2, 1.0) for _ in range(per_photo - 1)]
        out += [(name, photo.resize((size, size), Image.BICUBIC, box=box)) for box in boxes]
    return out
