"""Synthetic images: seeded **dead leaves** (Lee, Mumford & Huang 2001).

A dead-leaves image is what one sees looking down on leaves fallen on top of each other:
opaque discs of random grey levels at uniformly random places, each hiding whatever fell
before it. With radii distributed as ``r^-3`` (between ``rmin`` and ``rmax``) the images are
close to scale invariant and have the edge and flat-region statistics of photographs, which
is why denoisers trained on them carry over to photographs (Achddou, Gousseau & Ladjal
2021). Nothing is read: every image follows from the seed.

The generator is vectorised: for each batch of images the discs' pixels are enumerated row
span by row span (no bounding boxes, no Python loop over discs), and each pixel takes the
front-most disc that covers it (``np.minimum.at`` over disc numbers). A 64x64 image takes
about 1 ms here (2 shared cores).
"""

from __future__ import annotations

import numpy as np

from sdae.errors import SdaeError

#: expected number of discs over each point of the image: a point no disc covers (a
#: fraction e^-6 = 0.25 % of them) shows the background, one more leaf behind all others
COVER = 6.0
_CHUNK = 64  # images drawn and rendered together (bounds the temporaries to ~100 MB)


def dead_leaves(n: int, size: int = 64, *, seed: int = 0, rmin: float = 2.0,
                rmax: float | None = None, alpha: float = 3.0, blur: float = 0.0,
                shading: float = 0.0) -> np.ndarray:  # fmt: skip
    """``n`` grey dead-leaves images, float32 ``[n, size, size]`` in [0, 1].

    Each image is made of discs whose radii (in pixels) follow the density ``r^-alpha`` on
    [``rmin``, ``rmax``] (``rmax`` defaults to ``size``), whose centres are uniform over the
    plane, and whose grey levels are uniform in [0, 1]; only the discs that can reach the
    image are drawn, enough of them that each point is covered :data:`COVER` times on
    average, and the front-most covering disc gives the pixel its value (a pixel is covered
    if its centre is in the disc). Options: ``shading`` gives each disc a linear ramp of
    random direction and slope, up to +-``shading`` at its edge (mild texture); ``blur``
    smooths the images with a Gaussian of that standard deviation in pixels (soft edges, as
    a lens makes); the values are clipped to [0, 1].

    Deterministic given ``seed`` (an int): image ``i`` is the same whatever ``n``, since
    each image's random numbers are drawn in one row of a seeded ``numpy`` generator.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise SdaeError(f"dead_leaves: n must be a whole number >= 0, not {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise SdaeError(f"dead_leaves: size must be a whole number >= 1, not {size!r}")
    rmax = float(size) if rmax is None else float(rmax)
    if not 0 < rmin < rmax or not alpha > 1 or not blur >= 0 or not shading >= 0:
        raise SdaeError(f"dead_leaves: need 0 < rmin < rmax, alpha > 1, blur >= 0 and shading "
                        f">= 0 (got rmin {rmin}, rmax {rmax}, alpha {alpha}, blur {blur}, "
                        f"shading {shading})")  # fmt: skip
    # Only the discs that reach the image matter: one of radius r does if its centre lies in
    # the image widened by r, so among them radii have the density r^-alpha (size + 2r)^2,
    # a mixture of three power laws, and the centre is uniform in that widened square.
    weights = np.array([size * size * _moment(0, alpha, rmin, rmax),
                        4 * size * _moment(1, alpha, rmin, rmax),
                        4 * _moment(2, alpha, rmin, rmax)])  # fmt: skip
    area = np.pi * _moment(2, alpha, rmin, rmax) / _moment(0, alpha, rmin, rmax)
    k = max(1, int(np.ceil(COVER * weights.sum() / _moment(0, alpha, rmin, rmax) / area)))
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size), np.float32)
    for start in range(0, n, _CHUNK):
        b = min(_CHUNK, n - start)
        draws = rng.random((b, 7 * k + 1))  # one row per image: prefix-stable in n
        arm = np.searchsorted(np.cumsum(weights) / weights.sum(), draws[:, :k])
        u = draws[:, k : 2 * k]  # the mixture's arms: r^(power - alpha), power 0, 1, 2
        r = np.choose(arm, [_radii(u, alpha - power, rmin, rmax) for power in range(3)])
        out[start : start + b] = _render(draws[:, 2 * k :], r, size, shading)
    if blur > 0 and n:
        from scipy.ndimage import gaussian_filter

        gaussian_filter(out, sigma=(0, blur, blur), mode="reflect", output=out)
    return np.clip(out, 0.0, 1.0, out=out)


def _moment(power: float, alpha: float, low: float, high: float) -> float:
    """``integral of r^(power - alpha) dr`` from ``low`` to ``high``."""
    e = power - alpha + 1
    return float(np.log(high / low)) if e == 0 else (high**e - low**e) / e


def _radii(u: np.ndarray, alpha: float, low: float, high: float) -> np.ndarray:
    """Radii of density ``r^-alpha`` on [low, high] from uniforms ``u`` (inverse CDF)."""
    e = 1 - alpha
    if e == 0:
        return low * (high / low) ** u
    return (low**e + u * (high**e - low**e)) ** (1 / e)


def _render(draws: np.ndarray, r: np.ndarray, size: int, shading: float) -> np.ndarray:
    """The images of one batch from their discs' radii ``r: [B, k]`` and draws ``[B, 5k + 1]``:
    centre row, centre column (each uniform over the image widened by the radius), grey
    (k + 1: the last is the background), ramp slope and direction."""
    b, k = r.shape
    cy = draws[:, :k] * (size + 2 * r) - r
    cx = draws[:, k : 2 * k] * (size + 2 * r) - r
    grey = draws[:, 2 * k : 3 * k + 1].astype(np.float32)
    # rows of each disc whose pixel centres (i + 0.5) it covers, within the image
    top = np.maximum(np.ceil(cy - r - 0.5), 0)
    rows = np.maximum(np.minimum(np.floor(cy + r - 0.5), size - 1) - top + 1, 0)
    rows[(cx + r < 0) | (cx - r > size)] = 0
    rows = rows.astype(np.int32).ravel()
    disc = np.repeat(np.arange(b * k, dtype=np.int32), rows)  # per row span: disc b k + j
    first = np.cumsum(rows) - rows
    i = np.repeat(top.ravel() - first, rows) + np.arange(len(disc))  # the span's row
    dy = i + 0.5 - cy.ravel()[disc]
    half = np.sqrt(np.maximum(r.ravel()[disc] ** 2 - dy * dy, 0))
    x = cx.ravel()[disc]
    left = np.maximum(np.ceil(x - half - 0.5), 0)
    cols = np.maximum(np.minimum(np.floor(x + half - 0.5), size - 1) - left + 1, 0)
    cols = cols.astype(np.int32)
    # one entry per covered pixel: its flat index in the batch, and its disc's number in its
    # image (smaller is nearer the front); int32 halves the memory traffic (b size^2 < 2^31)
    first = np.cumsum(cols, dtype=np.int64) - cols
    base = (disc // k) * (size * size) + (i * size + left).astype(np.int64) - first
    pixel = np.repeat(base.astype(np.int32), cols)
    pixel += np.arange(len(pixel), dtype=np.int32)
    label = np.full(b * size * size, k, np.int32)  # k: the background
    np.minimum.at(label, pixel, np.repeat((disc % k).astype(np.int32), cols))
    label = label.reshape(b, size * size)
    if shading <= 0:
        return np.take_along_axis(grey, label, axis=1).reshape(b, size, size)
    # a linear ramp on each disc: slope * shading * (d . p) / r at the pixel's offset p from
    # the disc's centre, d the ramp's direction (the background has none); as a plane
    # gy y + gx x + (grey - gy cy - gx cx) over the pixel centres (y, x)
    slope = draws[:, 3 * k + 1 : 4 * k + 1] * shading
    angle = draws[:, 4 * k + 1 :] * 2 * np.pi
    gy, gx = slope * np.sin(angle) / r, slope * np.cos(angle) / r
    pad = np.zeros((b, 1))
    level = grey + np.concatenate([-(gy * cy + gx * cx), pad], 1).astype(np.float32)
    gy = np.concatenate([gy, pad], 1).astype(np.float32)
    gx = np.concatenate([gx, pad], 1).astype(np.float32)
    y, x = np.divmod(np.arange(size * size, dtype=np.float32), size)
    img = np.take_along_axis(level, label, 1)
    img += np.take_along_axis(gy, label, 1) * (y + 0.5)
    img += np.take_along_axis(gx, label, 1) * (x + 0.5)
    return img.reshape(b, size, size)
