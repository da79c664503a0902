import numpy as np
import pytest

from data_recipes.demo.scenes import (BACKGROUNDS, CELL, COLOURS, COLUMNS, ROWS, SHAPES, Background, SceneObject,
                                      SceneSpec, contrast, half_extent, nearest_colour, object_masks, render,
                                      sample_scene)


def _specs(n=300, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, **kw) for _ in range(n)]


def test_sampling_and_rendering_are_deterministic():
    a, b = _specs(5, seed=4), _specs(5, seed=4)
    assert a == b and [s.key() for s in a] == [s.key() for s in b]
    assert all(np.array_equal(np.asarray(render(x, 48)), np.asarray(render(y, 48))) for x, y in zip(a, b))
    assert render(a[0], 80).size == (80, 80)
    assert a[0].key() != _specs(1, seed=5)[0].key()
    with pytest.raises(ValueError):
        render(a[0], 8)


def test_every_attribute_occurs():
    specs = _specs(400)
    objs = [o for s in specs for o in s.objects]
    assert {o.colour for o in objs} == set(COLOURS) and {o.shape for o in objs} == set(SHAPES)
    assert {o.column for o in objs} == set(COLUMNS) and {o.row for o in objs} == set(ROWS)
    assert {o.size for o in objs} == {"small", "large"}
    assert {s.background.kind for s in specs} == set(BACKGROUNDS)
    assert {len(s.objects) for s in specs} == {1, 2, 3}
    assert {len(s.objects) for s in _specs(50, min_objects=2, max_objects=2)} == {2}


def test_objects_stay_in_distinct_cells_and_visible():
    for spec in _specs(300, seed=1):
        cells = [(o.column, o.row) for o in spec.objects]
        assert len(set(cells)) == len(cells)
        for o in spec.objects:
            w, h = half_extent(o)
            col, row = COLUMNS.index(o.column), ROWS.index(o.row)
            assert col * CELL <= o.cx - w and o.cx + w <= (col + 1) * CELL
            assert row * CELL <= o.cy - h and o.cy + h <= (row + 1) * CELL
            assert nearest_colour(o.rgb) == o.colour and contrast(o.rgb, spec.background) >= 90


def test_pixels_show_the_spec():
    """Inside each object's mask the pixels are its colour; its mask's centroid is in its cell;
    edges are anti-aliased (partial coverage exists)."""
    for spec in _specs(60, seed=2):
        image = np.asarray(render(spec, 64), dtype=np.float64)
        masks = object_masks(spec, 64)
        for o, m in zip(spec.objects, masks):
            inside = image[m > 0.99]
            assert len(inside) >= 8
            assert nearest_colour(inside.mean(axis=0)) == o.colour
            ys, xs = np.nonzero(m > 0.5)
            assert COLUMNS[int(xs.mean() / 64 * 3)] == o.column and ROWS[int(ys.mean() / 64 * 3)] == o.row
            assert ((m > 0.05) & (m < 0.95)).any()


def test_shapes_differ_in_pixels():
    """Same place, size and colour: each shape covers a different set of pixels."""
    masks = {}
    for shape in SHAPES:
        obj = SceneObject(shape, "red", COLOURS["red"], "large", "centre", "middle", 0.5, 0.5)
        masks[shape] = object_masks(SceneSpec((obj,), Background("light", (240, 240, 240))), 64)[0] > 0.5
    for a in SHAPES:
        for b in SHAPES:
            if a < b:
                assert (masks[a] ^ masks[b]).sum() > 25, (a, b)


def test_free_colours_are_named_by_nearest_term():
    objs = [o for s in _specs(200, seed=3, free_colour_prob=1.0) for o in s.objects]
    assert all(nearest_colour(o.rgb) == o.colour for o in objs)
    assert len({o.rgb for o in objs}) > 150
