"""Procedural scenes for the demo data: 1-3 shapes on varied backgrounds, as a typed spec + renderer.

A `SceneSpec` holds every attribute (named colour and its exact RGB, shape, size, grid cell, the
jittered centre, rotation, background), so questions, captions and checks need no annotation.
`sample_scene(rng)` draws one; `render(spec, size)` draws it anti-aliased (drawn at `SUPERSAMPLE`x
and box-filtered down) and deterministically (textures come from a seed stored in the spec).

Objects sit in distinct cells of a 3x3 grid and stay inside their cell, so they never overlap;
each object's colour is kept far (in RGB) from every colour its background takes, so it stays
visible. The colour names are the basic colour terms; each object's RGB is jittered around its
term's canonical value while staying nearest to it, and `free_colour_prob` adds arbitrary
in-between hues (named by their nearest term) for tokenizer training, where names do not matter.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

RGB = Tuple[int, int, int]

# Canonical sRGB values of the basic colour terms, chosen far apart so that a term is recoverable
# from pixels (the nearest canonical value) after jitter and after a tokenizer round trip.
COLOURS: dict[str, RGB] = {
    "red": (215, 30, 35), "green": (40, 160, 50), "blue": (35, 70, 215), "yellow": (240, 215, 40),
    "black": (20, 20, 22), "white": (245, 245, 245), "grey": (128, 128, 128), "brown": (125, 75, 35),
    "orange": (245, 135, 25), "purple": (125, 45, 165), "pink": (245, 140, 190),
}
SHAPES = ("circle", "square", "rectangle", "triangle", "ellipse", "star")
SIZES = ("small", "large")
COLUMNS = ("left", "centre", "right")
ROWS = ("top", "middle", "bottom")
BACKGROUNDS = ("light", "dark", "coloured", "gradient", "texture")

SUPERSAMPLE = 4
# Half-extent of a shape as a fraction of the image side; a cell is 1/3 wide, so even a large
# shape with its jitter stays inside its cell (no overlap, no clipping at the border).
RADIUS = {"small": 0.08, "large": 0.135}
CELL = 1.0 / 3.0
CELL_MARGIN = 0.012          # free space kept between a shape and its cell's border
ELLIPSE_ASPECT = 0.5         # ellipse height / width (wide 2:1, never read as a circle)
MIN_CONTRAST = 95.0          # RGB distance between an object and any colour of its background
COLOUR_JITTER = 22           # per-channel jitter of an object's RGB around its term


@dataclass(frozen=True)
class SceneObject:
    shape: str
    colour: str                  # basic colour term (the nearest one for free hues)
    rgb: RGB                     # the exact colour drawn
    size: str
    column: str
    row: str
    cx: float                    # centre as a fraction of the image side (jittered inside the cell)
    cy: float
    scale: float = 1.0           # size jitter around RADIUS[size]
    rotation: float = 0.0        # degrees, small: a square stays a square, not a diamond

    @property
    def radius(self) -> float:
        return RADIUS[self.size] * self.scale

    @property
    def position(self) -> str:
        """"top left", "middle centre", ..."""
        return f"{self.row} {self.column}"


@dataclass(frozen=True)
class Background:
    kind: str                    # one of BACKGROUNDS
    rgb: RGB                     # base colour (gradient: start)
    rgb2: Optional[RGB] = None   # gradient end colour
    angle: float = 0.0           # gradient direction in degrees
    texture_seed: int = 0
    amplitude: float = 0.0       # texture: +- per-channel variation around rgb

    def extreme_colours(self) -> list[np.ndarray]:
        """Colours the background takes, enough to bound an object's distance to all of them."""
        base = np.array(self.rgb, dtype=np.float64)
        if self.kind == "gradient":
            end = np.array(self.rgb2, dtype=np.float64)
            return [base + t * (end - base) for t in np.linspace(0, 1, 9)]
        if self.kind == "texture":
            return [np.clip(base + s * self.amplitude, 0, 255) for s in (-1, 0, 1)]
        return [base]


@dataclass(frozen=True)
class SceneSpec:
    objects: Tuple[SceneObject, ...]
    background: Background = field(default_factory=lambda: Background("light", (235, 235, 235)))

    def key(self) -> str:
        """Stable hash of the whole spec (used to keep train and held-out scenes disjoint)."""
        return hashlib.sha1(repr(self).encode()).hexdigest()

    def by_column(self, column: str) -> list[SceneObject]:
        return [o for o in self.objects if o.column == column]


def nearest_colour(rgb) -> str:
    rgb = np.asarray(rgb, dtype=np.float64)
    return min(COLOURS, key=lambda name: float(np.linalg.norm(rgb - COLOURS[name])))


def contrast(rgb, background: Background) -> float:
    rgb = np.asarray(rgb, dtype=np.float64)
    return min(float(np.linalg.norm(rgb - c)) for c in background.extreme_colours())


# ---------------------------------------------------------------- sampling

def _rgb(values) -> RGB:
    return tuple(int(np.clip(round(v), 0, 255)) for v in values)


def _hsv_to_rgb(h: float, s: float, v: float) -> RGB:
    import colorsys
    return _rgb(np.array(colorsys.hsv_to_rgb(h, s, v)) * 255)


def sample_background(rng: np.random.Generator, kind: Optional[str] = None) -> Background:
    kind = kind or BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    if kind == "light":
        return Background(kind, _rgb(rng.uniform(215, 252) + rng.uniform(-6, 6, 3)))
    if kind == "dark":
        return Background(kind, _rgb(rng.uniform(8, 55) + rng.uniform(-6, 6, 3)))
    if kind == "coloured":
        return Background(kind, _hsv_to_rgb(rng.uniform(), rng.uniform(0.15, 0.5), rng.uniform(0.45, 0.95)))
    if kind == "gradient":
        a = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.3, 1.0))
        b = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.3, 1.0))
        return Background(kind, a, b, angle=float(rng.uniform(0, 360)))
    if kind == "texture":
        base = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.25, 0.95))
        return Background(kind, base, texture_seed=int(rng.integers(2**31)), amplitude=float(rng.uniform(8, 22)))
    raise ValueError(f"background kind {kind!r} unknown; use one of {BACKGROUNDS}")


def _object_rgb(rng: np.random.Generator, colour: str) -> Optional[RGB]:
    """The term's canonical RGB jittered, or None when the jitter made it nearer another term."""
    rgb = _rgb(np.array(COLOURS[colour]) + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, 3))
    return rgb if nearest_colour(rgb) == colour else None


def sample_scene(rng: np.random.Generator, min_objects: int = 1, max_objects: int = 3,
                 background: Optional[str] = None, free_colour_prob: float = 0.0,
                 max_tries: int = 200) -> SceneSpec:
    """A random scene: 1-3 objects in distinct grid cells, each visible against the background.

    `free_colour_prob`: chance that an object gets an arbitrary hue (named by the nearest term),
    for tokenizer data; question/caption data keeps it 0 so every colour name is unambiguous."""
    if not 1 <= min_objects <= max_objects <= 3:
        raise ValueError(f"objects per scene must satisfy 1 <= min <= max <= 3, got {min_objects}..{max_objects}")
    bg = sample_background(rng, background)
    count = int(rng.integers(min_objects, max_objects + 1))
    cells = rng.permutation(9)[:count]
    objects = []
    for cell in cells:
        row, col = divmod(int(cell), 3)
        for _ in range(max_tries):
            if rng.uniform() < free_colour_prob:
                rgb = _rgb(rng.integers(0, 256, 3))
                colour = nearest_colour(rgb)
            else:
                colour = list(COLOURS)[rng.integers(len(COLOURS))]
                rgb = _object_rgb(rng, colour)
            if rgb is not None and contrast(rgb, bg) >= MIN_CONTRAST:
                break
        else:   # a background no colour contrasts with enough: draw another one
            return sample_scene(rng, min_objects, max_objects, None, free_colour_prob, max_tries)
        size = SIZES[rng.integers(len(SIZES))]
        shape = SHAPES[rng.integers(len(SHAPES))]
        scale = float(rng.uniform(0.9, 1.1))
        rotation = float(rng.uniform(-10, 10)) if shape in ("square", "rectangle", "triangle", "star") else 0.0
        obj = SceneObject(shape, colour, rgb, size, COLUMNS[col], ROWS[row], 0.0, 0.0, scale, rotation)
        half_w, half_h = half_extent(obj)
        # Jitter only as far as keeps the whole shape (plus a margin) inside its cell.
        cx = (col + 0.5) * CELL + float(rng.uniform(-1, 1)) * max(CELL / 2 - half_w - CELL_MARGIN, 0.0)
        cy = (row + 0.5) * CELL + float(rng.uniform(-1, 1)) * max(CELL / 2 - half_h - CELL_MARGIN, 0.0)
        objects.append(SceneObject(shape, colour, rgb, size, COLUMNS[col], ROWS[row], cx, cy, scale, rotation))
    return SceneSpec(tuple(objects), bg)


def half_extent(obj: SceneObject) -> Tuple[float, float]:
    """Half width and half height of the shape's bounding box, as fractions of the image side."""
    outline = _outline(SceneObject(obj.shape, obj.colour, obj.rgb, obj.size, obj.column, obj.row, 0.0, 0.0,
                                   obj.scale, obj.rotation), 1.0)
    if outline is None:
        return obj.radius, obj.radius * (ELLIPSE_ASPECT if obj.shape == "ellipse" else 1.0)
    return max(abs(x) for x, _ in outline), max(abs(y) for _, y in outline)


# ---------------------------------------------------------------- rendering

def _outline(obj: SceneObject, side: float) -> Optional[list]:
    """Polygon vertices (pixels) of a polygonal shape, None for round ones."""
    r = obj.radius * side
    if obj.shape == "square":
        pts = [(-0.82, -0.82), (0.82, -0.82), (0.82, 0.82), (-0.82, 0.82)]
    elif obj.shape == "rectangle":        # wide: 2:1 so that it never reads as a square
        pts = [(-1.0, -0.55), (1.0, -0.55), (1.0, 0.55), (-1.0, 0.55)]
    elif obj.shape == "triangle":         # equilateral, pointing up, centred on its centroid
        pts = [(0.0, -1.0), (0.866, 0.5), (-0.866, 0.5)]
    elif obj.shape == "star":             # five points, inner radius 0.45
        pts = [(math.sin(k * math.pi / 5) * (1.0 if k % 2 == 0 else 0.45),
                -math.cos(k * math.pi / 5) * (1.0 if k % 2 == 0 else 0.45)) for k in range(10)]
    else:
        return None
    a = math.radians(obj.rotation)
    cx, cy = obj.cx * side, obj.cy * side
    return [(cx + r * (x * math.cos(a) - y * math.sin(a)), cy + r * (x * math.sin(a) + y * math.cos(a)))
            for x, y in pts]


def _background_array(bg: Background, side: int) -> np.ndarray:
    base = np.array(bg.rgb, dtype=np.float32)
    if bg.kind == "gradient":
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / max(side - 1, 1) - 0.5
        a = math.radians(bg.angle)
        t = (xx * math.cos(a) + yy * math.sin(a)) / (abs(math.cos(a)) + abs(math.sin(a))) + 0.5
        return base + t[..., None] * (np.array(bg.rgb2, dtype=np.float32) - base)
    if bg.kind == "texture":
        # Low-frequency value noise: a coarse random grid bilinearly upsampled, in [-1, 1].
        rng = np.random.default_rng(bg.texture_seed)
        coarse = Image.fromarray(((rng.uniform(-1, 1, (6, 6)) + 1) * 127.5).astype(np.uint8), "L")
        noise = np.asarray(coarse.resize((side, side), Image.BILINEAR), dtype=np.float32) / 127.5 - 1
        return np.clip(base + bg.amplitude * noise[..., None], 0, 255)
    return np.broadcast_to(base, (side, side, 3)).copy()


def render(spec: SceneSpec, size: int = 64, supersample: int = SUPERSAMPLE) -> Image.Image:
    """The scene as an RGB image of `size` x `size` pixels; same spec, same pixels."""
    if size < 16:
        raise ValueError(f"scene size {size} is too small to draw distinguishable shapes (>= 16)")
    side = size * supersample
    canvas = Image.fromarray(np.round(_background_array(spec.background, side)).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas)
    for obj in spec.objects:
        outline = _outline(obj, side)
        if outline is not None:
            draw.polygon(outline, fill=obj.rgb)
            continue
        rx = obj.radius * side
        ry = rx * (ELLIPSE_ASPECT if obj.shape == "ellipse" else 1.0)
        cx, cy = obj.cx * side, obj.cy * side
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=obj.rgb)
    return canvas.resize((size, size), Image.BOX) if supersample > 1 else canvas


def object_masks(spec: SceneSpec, size: int = 64, supersample: int = SUPERSAMPLE) -> np.ndarray:
    """(objects, size, size) coverage in [0, 1] of each object, for checks and tests."""
    masks = []
    for obj in spec.objects:
        alone = SceneSpec((SceneObject(obj.shape, obj.colour, (255, 255, 255), obj.size, obj.column, obj.row,
                                       obj.cx, obj.cy, obj.scale, obj.rotation),), Background("dark", (0, 0, 0)))
        masks.append(np.asarray(render(alone, size, supersample), dtype=np.float32)[..., 0] / 255.0)
    return np.stack(masks) if masks else np.zeros((0, size, size), np.float32)
