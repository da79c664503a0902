"""A second, independent scene renderer, used only to evaluate tokenizers (training never sees it).

It differs from the training scenes (`data_recipes.demo.scenes`) in every part that a tokenizer
could overfit to: shapes are drawn from analytic signed distances with a one-pixel coverage ramp
(no PIL polygon rasteriser, no supersampling), objects sit anywhere (no 3x3 grid) at free sizes
and rotations, colours come from this package's own prototypes (`colour_terms`, dark and light
variants included), and backgrounds are other kinds (radial gradients, stripes, checkerboards,
film grain, split tones, vignettes). Ground truth per object: colour term, exact RGB, shape,
coverage mask, bounding box and centroid. Same seed, same pixels.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .colour_terms import PROTOTYPES, TERMS, colour_term, naming_margin, srgb_to_lab

SHAPES = ("circle", "square", "rectangle", "triangle", "ellipse", "star")
BACKGROUNDS = ("radial", "stripes", "checker", "grain", "split", "vignette")
RADIUS_RANGE = (0.10, 0.17)      # object half-extent as a fraction of the side
ASPECT_RANGE = (0.42, 0.6)       # ellipse / rectangle minor / major: never read as circle / square
STAR_INNER = 0.5                 # inner / outer radius of the five-point star
MIN_DELTA_E = 32.0               # object colour vs every background pixel under it
MIN_NAMING_MARGIN = 6.0          # Delta E between the nearest and second-nearest colour term
RGB = Tuple[int, int, int]


@dataclass(frozen=True)
class EvalObject:
    shape: str
    colour: str                  # basic colour term, as named by colour_terms
    rgb: RGB
    cx: float                    # centre in pixels (the centroid for every shape)
    cy: float
    radius: float                # half-extent scale in pixels
    rotation: float = 0.0        # degrees
    aspect: float = 1.0          # minor / major for ellipse and rectangle


@dataclass(frozen=True)
class EvalBackground:
    kind: str
    rgb: RGB
    rgb2: RGB
    angle: float = 0.0
    period: float = 12.0
    cx: float = 0.5
    cy: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class EvalScene:
    size: int
    background: EvalBackground
    objects: Tuple[EvalObject, ...]


@dataclass
class RenderedScene:
    image: np.ndarray            # (S, S, 3) uint8
    background: np.ndarray       # (S, S, 3) float, the background alone
    masks: np.ndarray            # (objects, S, S) coverage in [0, 1]

    def bbox(self, i: int, threshold: float = 0.5) -> Tuple[int, int, int, int]:
        """(x0, y0, x1, y1), inclusive-exclusive, of object i's pixels covered >= threshold."""
        ys, xs = np.nonzero(self.masks[i] >= threshold)
        return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1

    def centroid(self, i: int) -> Tuple[float, float]:
        m = self.masks[i]
        ys, xs = np.mgrid[0:m.shape[0], 0:m.shape[1]] + 0.5
        return float((m * xs).sum() / m.sum()), float((m * ys).sum() / m.sum())


# ---------------------------------------------------------------- signed distances (pixels)

def _rotate(x, y, degrees):
    a = math.radians(degrees)
    return x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)


def polygon_sdf(x: np.ndarray, y: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Signed distance to a simple polygon (negative inside), by edge distances and a crossing count."""
    d = np.full(x.shape, np.inf)
    inside = np.zeros(x.shape, dtype=bool)
    for i in range(len(verts)):
        (ax, ay), (bx, by) = verts[i], verts[i - 1]
        ex, ey, wx, wy = bx - ax, by - ay, x - ax, y - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        d = np.minimum(d, (wx - ex * t) ** 2 + (wy - ey * t) ** 2)
        crosses = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = ax + (y - ay) * ex / np.where(ey == 0, 1, ey)
        inside ^= crosses & (x < x_at)
    return np.where(inside, -1.0, 1.0) * np.sqrt(d)


def shape_vertices(shape: str, radius: float, aspect: float = 1.0, star_inner: float = STAR_INNER) -> np.ndarray:
    """Unrotated polygon around the origin (y down), centred on its centroid."""
    if shape == "square":
        h = radius * 0.85
        return np.array([(-h, -h), (h, -h), (h, h), (-h, h)])
    if shape == "rectangle":
        return np.array([(-radius, -radius * aspect), (radius, -radius * aspect),
                         (radius, radius * aspect), (-radius, radius * aspect)])
    if shape == "triangle":
        return np.array([(radius * math.sin(a), -radius * math.cos(a)) for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)])
    if shape == "star":
        return np.array([(radius * (1 if k % 2 == 0 else star_inner) * math.sin(k * math.pi / 5),
                          -radius * (1 if k % 2 == 0 else star_inner) * math.cos(k * math.pi / 5)) for k in range(10)])
    raise ValueError(f"{shape!r} is not a polygon shape")


def shape_sdf(shape: str, x: np.ndarray, y: np.ndarray, cx: float, cy: float, radius: float,
              rotation: float = 0.0, aspect: float = 1.0) -> np.ndarray:
    u, v = _rotate(x - cx, y - cy, rotation)
    if shape in ("circle", "ellipse"):
        a, b = radius, radius * (aspect if shape == "ellipse" else 1.0)
        k0 = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        k1 = np.maximum(np.sqrt((u / a ** 2) ** 2 + (v / b ** 2) ** 2), 1e-9)
        return k0 * (k0 - 1.0) / k1          # a close approximation of the ellipse distance
    return polygon_sdf(u, v, shape_vertices(shape, radius, aspect))


def coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliasing: the fraction of a pixel inside, from a linear ramp one pixel wide."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def pixel_grid(size: int) -> Tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    return xs, ys


# ---------------------------------------------------------------- backgrounds

def background_array(bg: EvalBackground, size: int) -> np.ndarray:
    xs, ys = pixel_grid(size)
    a, b = np.array(bg.rgb, dtype=np.float64), np.array(bg.rgb2, dtype=np.float64)
    u, _ = _rotate(xs, ys, bg.angle)
    if bg.kind == "radial":
        t = np.hypot(xs - bg.cx * size, ys - bg.cy * size) / (size * 0.9)
    elif bg.kind == "stripes":
        t = 0.5 + 0.5 * np.sin(2 * math.pi * u / bg.period)
    elif bg.kind == "checker":
        v = _rotate(xs, ys, bg.angle)[1]
        t = ((np.floor(u / bg.period) + np.floor(v / bg.period)) % 2).astype(np.float64)
    elif bg.kind == "grain":
        t = np.clip(0.5 + np.random.default_rng(bg.seed).normal(0, 0.35, xs.shape), 0, 1)
    elif bg.kind == "split":
        t = 1.0 / (1.0 + np.exp(-(u - (bg.cx - 0.5) * size) / 1.5))
    elif bg.kind == "vignette":
        t = np.clip((np.hypot(xs / size - 0.5, ys / size - 0.5) / 0.7) ** 2, 0, 1)
    else:
        raise ValueError(f"background kind {bg.kind!r} unknown; use one of {BACKGROUNDS}")
    return a + np.clip(t, 0, 1)[..., None] * (b - a)


def _rgb(v) -> RGB:
    return tuple(int(c) for c in np.clip(np.round(v), 0, 255))


def sample_background(rng: np.random.Generator) -> EvalBackground:
    kind = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    base = rng.uniform(0, 255, 3)
    # Pattern backgrounds stay low in contrast, so that objects remain the salient thing.
    spread = {"radial": 90, "split": 110, "vignette": 120}.get(kind, 45)
    return EvalBackground(kind, _rgb(base), _rgb(base + rng.uniform(-spread, spread, 3)),
                          angle=float(rng.uniform(0, 180)), period=float(rng.uniform(5, 14)),
                          cx=float(rng.uniform(0.2, 0.8)), cy=float(rng.uniform(0.2, 0.8)),
                          seed=int(rng.integers(2 ** 31)))


# ---------------------------------------------------------------- scenes

def sample_colour(rng: np.random.Generator, term: str) -> Optional[RGB]:
    """A jittered prototype of `term` that still names as `term` with a margin, else None."""
    protos = PROTOTYPES[term]
    rgb = _rgb(np.array(protos[rng.integers(len(protos))]) + rng.integers(-18, 19, 3))
    return rgb if colour_term(rgb) == term and naming_margin(rgb) >= MIN_NAMING_MARGIN else None


def sample_scene(rng: np.random.Generator, size: int = 64, max_objects: int = 3, max_tries: int = 400) -> EvalScene:
    bg = sample_background(rng)
    bg_lab = srgb_to_lab(background_array(bg, size))
    xs, ys = pixel_grid(size)
    count = int(rng.integers(1, max_objects + 1))
    objects = []
    for _ in range(max_tries):
        if len(objects) == count:
            break
        shape = SHAPES[rng.integers(len(SHAPES))]
        radius = float(rng.uniform(*RADIUS_RANGE)) * size
        cx, cy = (float(v) for v in rng.uniform(radius + 2, size - radius - 2, 2))
        if any(math.hypot(cx - o.cx, cy - o.cy) < radius + o.radius + 3 for o in objects):
            continue
        term = TERMS[rng.integers(len(TERMS))]
        rgb = sample_colour(rng, term)
        if rgb is None:
            continue
        rotation = float(rng.uniform(-30, 30)) if shape != "circle" else 0.0
        aspect = float(rng.uniform(*ASPECT_RANGE)) if shape in ("ellipse", "rectangle") else 1.0
        obj = EvalObject(shape, term, rgb, cx, cy, radius, rotation, aspect)
        under = coverage(shape_sdf(shape, xs, ys, cx, cy, radius, rotation, aspect)) > 0
        if np.linalg.norm(bg_lab[under] - srgb_to_lab(rgb), axis=-1).min() >= MIN_DELTA_E:
            objects.append(obj)
    if not objects:   # no colour stood out from this background: draw another scene
        return sample_scene(rng, size, max_objects, max_tries)
    return EvalScene(size, bg, tuple(objects))


def render_scene(scene: EvalScene) -> RenderedScene:
    xs, ys = pixel_grid(scene.size)
    background = background_array(scene.background, scene.size)
    image = background.copy()
    masks = []
    for o in scene.objects:
        m = coverage(shape_sdf(o.shape, xs, ys, o.cx, o.cy, o.radius, o.rotation, o.aspect))
        image = image * (1 - m[..., None]) + np.array(o.rgb, dtype=np.float64) * m[..., None]
        masks.append(m)
    return RenderedScene(np.clip(np.round(image), 0, 255).astype(np.uint8), background, np.stack(masks))


def eval_scenes(count: int, seed: int = 0, size: int = 64):
    """`count` (scene, rendered) pairs from the seed stream [seed, index]."""
    out = []
    for i in range(count):
        scene = sample_scene(np.random.default_rng([seed, 9173, i]), size)
        out.append((scene, render_scene(scene)))
    return out
