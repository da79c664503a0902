"""The evaluation-only scene renderer: deterministic, varied, with exact ground truth per object."""
import ast
from pathlib import Path

import numpy as np
import pytest

from evaluators.tokenizer import second_renderer as sr
from evaluators.tokenizer.colour_terms import PROTOTYPES, TERMS, colour_term, delta_e

SCENES = sr.eval_scenes(150, seed=3)


def test_same_seed_same_pixels_and_streams_differ():
    again = sr.eval_scenes(3, seed=3)
    for (s1, r1), (s2, r2) in zip(SCENES[:3], again):
        assert s1 == s2 and np.array_equal(r1.image, r2.image)
    other = sr.eval_scenes(3, seed=4)
    assert not any(np.array_equal(a[1].image, b[1].image) for a, b in zip(SCENES[:3], other))


def test_scenes_cover_every_shape_colour_background_and_count():
    objects = [o for s, _ in SCENES for o in s.objects]
    assert {o.shape for o in objects} == set(sr.SHAPES)
    assert {o.colour for o in objects} == set(TERMS)
    assert {s.background.kind for s, _ in SCENES} == set(sr.BACKGROUNDS)
    assert {len(s.objects) for s, _ in SCENES} == {1, 2, 3}


def test_ground_truth_matches_the_pixels():
    for scene, rendered in SCENES[:60]:
        assert rendered.image.shape == (64, 64, 3) and rendered.image.dtype == np.uint8
        assert rendered.masks.shape == (len(scene.objects), 64, 64)
        # Objects do not overlap and lie inside the image.
        assert rendered.masks.sum(0).max() <= 1.0 + 1e-9
        for i, o in enumerate(scene.objects):
            cx, cy = rendered.centroid(i)
            assert abs(cx - o.cx) < 0.6 and abs(cy - o.cy) < 0.6, (o, cx, cy)
            x0, y0, x1, y1 = rendered.bbox(i)
            assert 0 <= x0 < o.cx < x1 <= 64 and 0 <= y0 < o.cy < y1 <= 64
            full = rendered.masks[i] >= 0.999
            assert full.sum() >= 6
            # Fully covered pixels hold the object's colour, named by its term, and that colour
            # stands out from the background under it.
            assert np.abs(rendered.image[full].astype(int) - np.array(o.rgb)).max() <= 1
            assert colour_term(o.rgb) == o.colour
            assert delta_e(o.rgb, np.median(rendered.background[full], axis=0)) >= sr.MIN_DELTA_E
        bare = np.all([m == 0 for m in rendered.masks], axis=0)
        assert np.abs(rendered.image[bare].astype(float) - rendered.background[bare]).max() <= 0.5


def test_anti_aliased_edges():
    _, rendered = SCENES[0]
    partial = (rendered.masks[0] > 0.05) & (rendered.masks[0] < 0.95)
    assert partial.sum() >= 8   # a coverage ramp, not a hard 0/1 edge


def test_shape_sdf_is_negative_inside_positive_outside():
    xs, ys = sr.pixel_grid(64)
    for shape in sr.SHAPES:
        d = sr.shape_sdf(shape, xs, ys, 32.0, 32.0, 10.0, 15.0, 0.5)
        assert d[32, 32] < 0 and d[0, 0] > 0 and d[63, 63] > 0
    # The square's distance is exact along an axis: 5 px right of its edge (half side 8.5 px).
    d = sr.shape_sdf("square", np.array([32 + 8.5 + 5]), np.array([32.0]), 32.0, 32.0, 10.0)
    assert d[0] == pytest.approx(5.0)


def test_independent_of_the_training_renderer():
    """Other drawing code: neither PIL's rasteriser nor the demo data package."""
    tree = ast.parse(Path(sr.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(m.startswith(("PIL", "data_recipes")) for m in imported), imported


def test_colour_terms_name_their_prototypes_and_common_colours():
    for term in TERMS:
        for rgb in PROTOTYPES[term]:
            assert colour_term(rgb) == term
    known = {(255, 0, 0): "red", (0, 0, 255): "blue", (0, 128, 0): "green", (255, 255, 0): "yellow",
             (0, 0, 0): "black", (255, 255, 255): "white", (128, 128, 128): "grey", (139, 69, 19): "brown",
             (255, 165, 0): "orange", (128, 0, 128): "purple", (255, 192, 203): "pink"}
    assert {rgb: colour_term(rgb) for rgb in known} == known
