"""The colour and shape checks: right on the originals, wrong on reconstructions that lose them."""
import numpy as np
from PIL import Image, ImageFilter

from evaluators.tokenizer import second_renderer as sr
from evaluators.tokenizer.colour_terms import PROTOTYPES, TERMS
from evaluators.tokenizer.scene_checks import check_scene, summarize

SCENES = sr.eval_scenes(40, seed=11)


def _run(make_recon):
    return summarize([c for s, r in SCENES for c in check_scene(s, r, make_recon(s, r))])


def test_originals_keep_every_colour_and_shape():
    summary = _run(lambda s, r: r.image)
    assert summary["colour_kept_pct"] == 100.0 and summary["shape_kept_pct"] == 100.0, summary
    assert summary["objects"] >= 60


def test_a_slight_blur_keeps_them():
    blur = _run(lambda s, r: np.asarray(Image.fromarray(r.image).filter(ImageFilter.GaussianBlur(1.0))))
    assert blur["colour_kept_pct"] == 100.0 and blur["shape_kept_pct"] == 100.0, blur


def _as_discs(scene, rendered):
    discs = tuple(sr.EvalObject("circle", o.colour, o.rgb, o.cx, o.cy, o.radius * 0.85) for o in scene.objects)
    return sr.render_scene(sr.EvalScene(scene.size, scene.background, discs)).image


def test_discs_in_place_of_shapes_fail_the_shape_check_only():
    checks = [c for s, r in SCENES for c in check_scene(s, r, _as_discs(s, r))]
    assert all(c.colour_kept for c in checks)
    assert all(c.shape_kept == (c.shape == "circle") for c in checks), [c for c in checks if c.shape_kept != (c.shape == "circle")]


def test_wrong_colours_fail_the_colour_check():
    def recolour(scene, rendered):
        swapped = []
        for o in scene.objects:
            other = TERMS[(TERMS.index(o.colour) + 1) % len(TERMS)]
            swapped.append(sr.EvalObject(o.shape, other, PROTOTYPES[other][0], o.cx, o.cy, o.radius, o.rotation, o.aspect))
        return sr.render_scene(sr.EvalScene(scene.size, scene.background, tuple(swapped))).image

    checks = [c for s, r in SCENES for c in check_scene(s, r, recolour(s, r))]
    assert not any(c.colour_kept for c in checks)


def test_a_vanished_object_keeps_nothing():
    scene, rendered = SCENES[0]
    empty = np.clip(np.round(rendered.background), 0, 255).astype(np.uint8)
    for check in check_scene(scene, rendered, empty):
        assert check.predicted_shape is None and not check.shape_kept and not check.colour_kept


def test_an_object_lost_in_a_wrong_background_is_no_shape():
    """The reconstruction keeps only a flat background of another colour: the matte would fill the
    whole window (and fit a square perfectly) but there is no figure, so no shape is kept."""
    for scene, rendered in SCENES[:10]:
        flat = np.broadcast_to(rendered.background.mean((0, 1)) + 40, rendered.image.shape)
        flat = np.clip(flat, 0, 255).astype(np.uint8)
        for check in check_scene(scene, rendered, flat):
            assert not check.shape_kept, check
