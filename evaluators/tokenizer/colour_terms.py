"""Naming a colour with one of the eleven basic colour terms (Berlin & Kay), for reconstruction checks.

Each term has a few sRGB prototypes (a dark, a mid and a light variant where the term covers them,
so that e.g. dark red and light red both stay "red"); a colour takes the term of its nearest
prototype in CIELAB (Delta E 1976), which tracks perceived difference much better than RGB
distance. The prototypes are this module's own values, chosen independently of the demo scene
palette, so that a check built on them does not share the training renderer's assumptions.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

TERMS = ("red", "green", "blue", "yellow", "black", "white", "grey", "brown", "orange", "purple", "pink")

PROTOTYPES: Dict[str, Tuple[Tuple[int, int, int], ...]] = {
    "red": ((200, 28, 42), (150, 18, 28), (232, 62, 58)),
    "green": ((58, 168, 68), (28, 115, 48), (112, 196, 92)),
    "blue": ((40, 82, 202), (24, 44, 138), (74, 124, 232), (22, 30, 240)),
    "yellow": ((246, 226, 58), (228, 204, 34), (250, 240, 120)),
    "black": ((14, 14, 16), (38, 38, 44)),
    "white": ((251, 251, 251), (232, 234, 236)),
    "grey": ((128, 128, 128), (94, 94, 100), (172, 172, 172)),
    "brown": ((118, 70, 32), (150, 96, 52), (86, 54, 30)),
    "orange": ((240, 142, 30), (250, 112, 22)),
    "purple": ((130, 50, 170), (88, 32, 120), (162, 92, 202)),
    "pink": ((246, 152, 190), (228, 100, 160), (250, 192, 212)),
}

_NAMES = [term for term in TERMS for _ in PROTOTYPES[term]]


def srgb_to_lab(rgb) -> np.ndarray:
    """(..., 3) sRGB in 0..255 -> CIELAB (D65 white)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


_PROTO_LAB = srgb_to_lab(np.array([p for term in TERMS for p in PROTOTYPES[term]], dtype=np.float64))


def term_distances(rgb) -> Dict[str, float]:
    """Delta E from `rgb` to the nearest prototype of every term."""
    d = np.linalg.norm(_PROTO_LAB - srgb_to_lab(rgb)[None], axis=1)
    out: Dict[str, float] = {}
    for name, value in zip(_NAMES, d):
        out[name] = min(out.get(name, np.inf), float(value))
    return out


def colour_term(rgb) -> str:
    """The basic colour term of one sRGB colour."""
    d = np.linalg.norm(_PROTO_LAB - srgb_to_lab(rgb)[None], axis=1)
    return _NAMES[int(d.argmin())]


def naming_margin(rgb) -> float:
    """How far (Delta E) the second-nearest term is behind the nearest: a colour with a large
    margin keeps its name under small shifts."""
    d = sorted(term_distances(rgb).values())
    return d[1] - d[0]


def delta_e(a, b) -> float:
    return float(np.linalg.norm(srgb_to_lab(a) - srgb_to_lab(b)))
