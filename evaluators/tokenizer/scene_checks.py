"""Does a reconstruction keep each object's colour and shape? Programmatic checks against the
ground truth of a rendered scene (`second_renderer.RenderedScene`).

Colour: the median reconstructed RGB over the object's interior (its full-coverage pixels, one
pixel in from the edge, where blur from the background does not reach) is named with the basic
colour terms (`colour_terms.colour_term`) and compared with the object's term; an object whose
interior is no longer distinguishable from the background there keeps no colour.

Shape: the object's soft matte in the reconstruction, alpha = projection of (pixel - background)
onto (object colour - background), is compared with every candidate shape's template of the same
area and centroid, searched over rotation, scale and (ellipse, rectangle) aspect; the template with
the best soft IoU names the shape. The ground truth supplies the background, the place to look
and the pixels of other objects to ignore, never the shape. A disc where a square was drawn
therefore fails, a blurred but square-cornered square passes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .colour_terms import colour_term
from .second_renderer import STAR_INNER, RenderedScene, coverage, shape_sdf

SCALES = (0.92, 1.0, 1.08)
ASPECTS = (0.35, 0.45, 0.55, 0.65, 0.75)
# Rotation grids (degrees) over each shape's symmetry period.
PERIODS = {"circle": 1, "square": 90, "rectangle": 180, "triangle": 120, "ellipse": 180, "star": 72}
ANGLE_STEP = 6
MAX_MATTE_AREA_RATIO = 2.0  # matte area / true object area above which no figure is found
MIN_OBJECT_CONTRAST = 20.0   # RGB distance: an object closer than this to its background has vanished


@dataclass
class ObjectCheck:
    shape: str
    colour: str
    predicted_shape: Optional[str]
    predicted_colour: str
    reconstructed_rgb: Tuple[int, int, int]
    shape_iou: float
    visible: bool                # the reconstruction differs from the background where the object is

    @property
    def shape_kept(self) -> bool:
        return self.predicted_shape == self.shape

    @property
    def colour_kept(self) -> bool:
        # A vanished object keeps no colour, even on a background its term also names.
        return self.visible and self.predicted_colour == self.colour

    def to_dict(self) -> Dict:
        return {**asdict(self), "shape_kept": self.shape_kept, "colour_kept": self.colour_kept}


def _erode(mask: np.ndarray) -> np.ndarray:
    """3x3 binary erosion (pixels outside the image count as outside the mask)."""
    p = np.pad(mask, 1, constant_values=False)
    h, w = mask.shape
    out = np.ones_like(mask)
    for dy in range(3):
        for dx in range(3):
            out &= p[dy:dy + h, dx:dx + w]
    return out


def object_rgb(recon: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median reconstructed RGB over the object's interior (falls back to its best-covered pixels
    for objects too thin to have an interior one pixel in)."""
    interior = _erode(mask >= 0.999)
    if interior.sum() < 3:
        interior = mask >= min(0.999, float(np.sort(mask.ravel())[-6]))
    return np.median(recon[interior].astype(np.float64), axis=0)


def soft_matte(recon: np.ndarray, background: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    d = rgb - background
    return np.clip(((recon - background) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-6), 0.0, 1.0)


def _templates(shape: str, area: float):
    """(radius, aspect) candidates whose template area is `area` (times the scale grid squared)."""
    aspects = ASPECTS if shape in ("ellipse", "rectangle") else (1.0,)
    for aspect in aspects:
        unit = {"circle": math.pi, "ellipse": math.pi * aspect, "square": (2 * 0.85) ** 2,
                "rectangle": 4 * aspect, "triangle": 3 * math.sqrt(3) / 4,
                "star": 5 * STAR_INNER * math.sin(math.pi / 5)}[shape]
        for s in SCALES:
            yield math.sqrt(area / unit) * s, aspect


def classify_shape(alpha: np.ndarray, valid: np.ndarray) -> Tuple[Optional[str], float, Dict[str, float]]:
    """Best-fitting shape of a soft matte (pixels where `valid` is False are ignored)."""
    alpha = np.where(valid, alpha, 0.0)
    area = float(alpha.sum())
    if area < 4.0:
        return None, 0.0, {}
    ys, xs = np.mgrid[0:alpha.shape[0], 0:alpha.shape[1]].astype(np.float64) + 0.5
    cx, cy = float((alpha * xs).sum() / area), float((alpha * ys).sum() / area)
    best: Dict[str, float] = {}
    for shape, period in PERIODS.items():
        # All rotations at once: coordinates of shape (angles, h, w).
        angles = np.arange(0, period, ANGLE_STEP, dtype=np.float64)[:, None, None]
        rad = np.radians(angles)
        u = (xs - cx) * np.cos(rad) + (ys - cy) * np.sin(rad)
        v = -(xs - cx) * np.sin(rad) + (ys - cy) * np.cos(rad)
        score = 0.0
        for radius, aspect in _templates(shape, area):
            t = np.where(valid, coverage(shape_sdf(shape, u, v, 0.0, 0.0, radius, 0.0, aspect)), 0.0)
            inter = np.minimum(alpha, t).sum((1, 2))
            union = np.maximum(np.maximum(alpha, t).sum((1, 2)), 1e-9)
            score = max(score, float((inter / union).max()))
        best[shape] = score
    name = max(best, key=best.get)
    return name, best[name], best


def check_object(rendered: RenderedScene, recon: np.ndarray, i: int, shape: str, colour: str) -> ObjectCheck:
    recon = recon.astype(np.float64)
    mask = rendered.masks[i]
    rgb = object_rgb(recon, mask)
    x0, y0, x1, y1 = rendered.bbox(i, threshold=0.05)
    pad = max(3, int(0.35 * max(x1 - x0, y1 - y0)))
    window = (slice(max(0, y0 - pad), y1 + pad), slice(max(0, x0 - pad), x1 + pad))
    others = np.delete(rendered.masks, i, axis=0).sum(0) if len(rendered.masks) > 1 else np.zeros_like(mask)
    predicted: Optional[str] = None
    iou = 0.0
    visible = bool(np.abs(rgb - object_rgb(rendered.background, mask)).max() >= MIN_OBJECT_CONTRAST)
    # The matte is measured against the true background where that is visible (no other object).
    if visible:
        alpha = soft_matte(recon[window], rendered.background[window], rgb)
        valid = others[window] < 0.02
        # A figure, not the whole window: when the object vanished into a reconstructed background
        # that differs from the true one, the matte fills the window and would fit any box.
        if (alpha * valid).sum() <= MAX_MATTE_AREA_RATIO * mask.sum():
            predicted, iou, _ = classify_shape(alpha, valid)
    return ObjectCheck(shape, colour, predicted, colour_term(rgb), tuple(int(round(v)) for v in rgb), iou, visible)


def check_scene(scene, rendered: RenderedScene, recon: np.ndarray) -> List[ObjectCheck]:
    """One check per object of `scene` (an `EvalScene`) on `recon`, an (S, S, 3) image in 0..255."""
    if recon.shape != rendered.image.shape:
        raise ValueError(f"reconstruction {recon.shape} does not match the rendered scene {rendered.image.shape}")
    return [check_object(rendered, recon, i, o.shape, o.colour) for i, o in enumerate(scene.objects)]


def summarize(checks: List[ObjectCheck]) -> Dict:
    n = len(checks)
    if n == 0:
        raise ValueError("no object checks to summarize")
    per_shape: Dict[str, List[bool]] = {}
    for c in checks:
        per_shape.setdefault(c.shape, []).append(c.shape_kept)
    return {"objects": n,
            "colour_kept_pct": 100.0 * sum(c.colour_kept for c in checks) / n,
            "shape_kept_pct": 100.0 * sum(c.shape_kept for c in checks) / n,
            "shape_kept_pct_by_shape": {k: 100.0 * sum(v) / len(v) for k, v in sorted(per_shape.items())},
            "shape_confusions": _confusions(checks)}


def _confusions(checks: List[ObjectCheck]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for c in checks:
        if not c.shape_kept:
            key = f"{c.shape}->{c.predicted_shape}"
            out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))
