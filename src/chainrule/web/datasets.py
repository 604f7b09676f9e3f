"""Small seeded 2-D data sets for the page's playground: xor, circle, gaussians, spirals, moons.

Minimal on purpose, for the page only, until data.py (the training issue) offers them: each is a
function of (n, noise, rng) returning points X (n, 2) and labels y (n, 1) of 0 or 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Maker = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points in [−1, 1]²; label 1 where x1 and x2 have different signs."""
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (x[:, 0] * x[:, 1] < 0).astype(float)
    return x + rng.normal(0.0, noise, size=x.shape), y


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Half the points inside radius 0.5 (label 1), half on a ring from 0.7 to 1 (label 0)."""
    inner = n // 2
    r = np.concatenate([rng.uniform(0.0, 0.5, inner), rng.uniform(0.7, 1.0, n - inner)])
    t = rng.uniform(0.0, 2 * np.pi, n)
    x = np.column_stack([r * np.cos(t), r * np.sin(t)])
    y = np.concatenate([np.ones(inner), np.zeros(n - inner)])
    return x + rng.normal(0.0, noise, size=x.shape), y


def _gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two round clouds centred at (−0.5, −0.5) (label 0) and (0.5, 0.5) (label 1)."""
    half = n // 2
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    centre = np.where(y[:, None] == 1, 0.5, -0.5)
    return centre + rng.normal(0.0, 0.25 + noise, size=(n, 2)), y


def _spirals(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, one turn and a half each, radius up to 1."""
    half = n // 2
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    r = np.concatenate([np.linspace(0.05, 1.0, half), np.linspace(0.05, 1.0, n - half)])
    t = 3 * np.pi * r + np.pi * y
    x = np.column_stack([r * np.cos(t), r * np.sin(t)])
    return x + rng.normal(0.0, noise, size=x.shape), y


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles, scaled into about [−1, 1]²."""
    half = n // 2
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    t = np.concatenate([np.linspace(0.0, np.pi, half), np.linspace(0.0, np.pi, n - half)])
    upper = np.column_stack([np.cos(t) - 0.5, np.sin(t) - 0.25])
    lower = np.column_stack([0.5 - np.cos(t), 0.25 - np.sin(t)])
    x = np.where(y[:, None] == 1, lower, upper) * 0.7
    return x + rng.normal(0.0, noise, size=x.shape), y


DATASETS: dict[str, Maker] = {
    "xor": _xor,
    "circle": _circle,
    "gaussians": _gaussians,
    "spirals": _spirals,
    "moons": _moons,
}


def make(name: str, n: int = 100, noise: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The data set `name`: points X (n, 2) rounded to 3 decimals (readable in the file) and y (n, 1)."""
    x, y = DATASETS[name](n, noise, np.random.default_rng(seed))
    return np.round(x, 3), y.reshape(-1, 1)
