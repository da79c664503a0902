"""Programmatic reading of a demo-style image: which objects it shows, with colour, shape, size and
grid cell, so generated images can be scored against their prompt without a person.

The background is modelled as a plane per channel fitted robustly to the border pixels (exact for
flat and gradient backgrounds, within the texture amplitude for textures); pixels far from it are
foreground; connected foreground regions are objects. An object's shape is the scene shape whose
mask, drawn at the object's centroid with the object's area, overlaps it best (Intersection over
Union, over a few rotations), so the check reads shapes the way the renderer draws them. Its
accuracy on ground-truth renders is measured (`scripts/demo_eval.py` reports it, a test asserts it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from data_recipes.demo.scenes import (COLUMNS, RADIUS, ROWS, SHAPES, Background, SceneObject, SceneSpec,
                                      nearest_colour, object_masks)

FOREGROUND_DISTANCE = 48.0    # RGB distance from the fitted background (textures reach ~38)
MIN_AREA_FRACTION = 1.5e-3    # smaller regions are noise (a small star covers ~4e-3 of the image)
ROTATIONS = (-10.0, -5.0, 0.0, 5.0, 10.0)
SIZE_SPLIT = math.sqrt(RADIUS["small"] * RADIUS["large"])   # radius threshold between small and large


@dataclass(frozen=True)
class Detected:
    colour: str
    shape: str
    size: str
    column: str
    row: str
    area: float        # fraction of the image
    cx: float          # centroid, fraction of the side
    cy: float
    shape_iou: float


def _neighbourhood(mask: np.ndarray, op) -> np.ndarray:
    """op (np.logical_and / np.logical_or) over each pixel's 3x3 neighbourhood: erosion / dilation."""
    padded = np.pad(mask, 1, constant_values=op is np.logical_and)
    h, w = mask.shape
    out = padded[1:h + 1, 1:w + 1].copy()
    for dy in range(3):
        for dx in range(3):
            out = op(out, padded[dy:dy + h, dx:dx + w])
    return out


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected regions of a boolean mask, by flood fill (images here are small)."""
    seen = np.zeros_like(mask)
    h, w = mask.shape
    regions = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start] = True
        stack, pixels = [start], []
        while stack:
            y, x = stack.pop()
            pixels.append((y, x))
            for ny in range(max(0, y - 1), min(h, y + 2)):
                for nx in range(max(0, x - 1), min(w, x + 2)):
                    if mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
        region = np.zeros_like(mask)
        region[tuple(np.array(pixels).T)] = True
        regions.append(region)
    return regions


def _background_plane(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) plane a + b x + c y per channel, fitted to the border with outliers dropped."""
    h, w, _ = pixels.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    border = np.zeros((h, w), bool)
    border[:2], border[-2:], border[:, :2], border[:, -2:] = True, True, True, True
    design = np.stack([np.ones(h * w), xx.ravel() / w, yy.ravel() / h], axis=1)
    keep = border.ravel().copy()
    values = pixels.reshape(-1, 3)
    for _ in range(3):   # objects touching the border would tilt a plain fit
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        residual = np.linalg.norm(values - design @ coef, axis=1)
        inliers = border.ravel() & (residual < max(25.0, np.percentile(residual[border.ravel()], 60)))
        if inliers.sum() < 8:
            break
        keep = inliers
    return (design @ coef).reshape(h, w, 3)


def _template(shape: str, cx: float, cy: float, radius: float, rotation: float, side: int) -> np.ndarray:
    obj = SceneObject(shape, "white", (255, 255, 255), "large", "centre", "middle", cx, cy, radius / RADIUS["large"],
                      rotation)
    return object_masks(SceneSpec((obj,), Background("dark", (0, 0, 0))), side, 2)[0] > 0.5


@lru_cache(maxsize=64)
def _unit_area(shape: str, side: int) -> float:
    """Mask area / radius^2 of a shape as drawn at this image size (edge pixels make it exceed the
    geometric area, most for thin shapes at small sizes), so areas convert to radii without bias."""
    radius = math.sqrt(RADIUS["small"] * RADIUS["large"])
    return _template(shape, 0.5, 0.5, radius, 0.0, side).sum() / side**2 / radius**2


def _shape_of(mask: np.ndarray, cx: float, cy: float, side: int) -> tuple[str, float, float]:
    """(shape, radius as a fraction of the side, IoU) of the best-matching template."""
    area = mask.sum() / side**2
    best = ("circle", 0.0, -1.0)
    for shape in SHAPES:
        rotations = ROTATIONS if shape in ("square", "rectangle", "triangle", "star") else (0.0,)
        for scale in (0.93, 1.0, 1.07):
            radius = math.sqrt(area / _unit_area(shape, side)) * scale
            for rotation in rotations:
                drawn = _template(shape, cx, cy, radius, rotation, side)
                iou = (drawn & mask).sum() / max(1, (drawn | mask).sum())
                if iou > best[2]:
                    best = (shape, radius / scale, float(iou))
    return best


def detect(image: Image.Image) -> list[Detected]:
    """Objects of the image, largest first."""
    image = image.convert("RGB")
    side = image.size[0]
    pixels = np.asarray(image, dtype=np.float64)
    background = _background_plane(pixels)
    fg = np.linalg.norm(pixels - background, axis=2) > FOREGROUND_DISTANCE
    found = []
    for region in _components(fg):
        if region.sum() < MIN_AREA_FRACTION * side * side:
            continue
        core = _neighbourhood(region, np.logical_and)
        rgb = pixels[core if core.sum() >= 3 else region].mean(axis=0)
        colour = nearest_colour(rgb)
        # Anti-aliased edges mix object and background: a pixel belongs to the object when it is
        # at least half-covered, i.e. nearer the object's colour than the background's there.
        near = _neighbourhood(region, np.logical_or)
        to_object = np.linalg.norm(pixels - rgb, axis=2)
        to_background = np.linalg.norm(pixels - background, axis=2)
        mask = near & (to_object < to_background)
        if mask.sum() < 3:
            mask = region
        ys, xs = np.nonzero(mask)
        cx, cy = (xs.mean() + 0.5) / side, (ys.mean() + 0.5) / side
        shape, radius, iou = _shape_of(mask, cx, cy, side)
        found.append(Detected(colour, shape, "large" if radius > SIZE_SPLIT else "small",
                              COLUMNS[min(2, int(cx * 3))], ROWS[min(2, int(cy * 3))], mask.sum() / side**2,
                              cx, cy, iou))
    return sorted(found, key=lambda d: -d.area)


def attribute_checks(image: Image.Image, spec: SceneSpec) -> dict[str, bool]:
    """Does the image show what `spec` (the prompt's scene) asks for? colour / shape / size /
    position of the main (first) object against the largest detected one, and the object count."""
    found = detect(image)
    target = spec.objects[0]
    main = found[0] if found else None
    checks = {"count": len(found) == len(spec.objects)}
    if len(spec.objects) == 1:
        checks.update(colour=main is not None and main.colour == target.colour,
                      shape=main is not None and main.shape == target.shape,
                      size=main is not None and main.size == target.size,
                      position=main is not None and (main.column, main.row) == (target.column, target.row))
    return checks
