"""``--data denoise-mix``: the training set of the blind photo denoiser sdae ships.

It may hold only Fashion-MNIST, synthetic images and the photographs that come with
scikit-image (``skimage.data``), and the photographs the denoiser is evaluated on are others.
Exactly what goes in, for a data seed ``s`` (:func:`build_denoise_mix`; each part draws from
its own ``numpy`` generator seeded by ``(s, part)``):

* **photo** (:data:`COUNTS` ``photo`` = 10000 patches): 64x64 crops of the 14 photographs of
  :data:`PHOTOS`, each converted to grey (``skimage.color.rgb2gray``: 0.2125 R + 0.7154 G +
  0.0721 B; the stereo pair's left view), at full size and halved (means of 2x2 pixels):
  the same number of crops (357 or 358) from each of the 28 photograph-scale pairs, at
  uniformly random places, each turned by a random one of the square's 8 symmetries
  (rotations by 90 degrees, mirrored or not). A crop whose standard deviation is below
  2/255 (a flat sky, the black around the retina) is replaced by the next of 4x as many
  candidate places, while there are some. Held out for evaluation, and never read:
  :data:`HELD_OUT` (``camera``, ``astronaut``, ``coins``, ``moon``). Not used: the other
  images of ``skimage.data`` that load offline here are not photographs (``horse``,
  ``checkerboard``, ``colorwheel``, ``logo``, ``shepp_logan_phantom``), are the same
  photograph again (``cat`` is ``chelsea``, ``microaneurysms`` a piece of a retina) or are
  too small for a 64x64 crop (``lfw_subset``'s 25x25 faces); the rest need a download.
* **dead-leaves** (5000): :func:`sdae.data.synthetic.dead_leaves` 64x64 images (radii r^-3
  from 2 to 64 pixels), half sharp, half with ``blur=0.6`` and ``shading=0.15``.
* **fashion** (5000): 2x2 mosaics of four different Fashion-MNIST *training* images, each
  padded with 2 black pixels on every side to 32x32: its own pixels, not resampled
  (upscaling 28 to 64 would make garments smoother than any photograph).

Everything is rounded to uint8. Each kind's patches are split 90/10 into train and test by
the data seed (test: 1000 photo, 500 dead-leaves, 500 fashion), and labelled by kind
(:data:`CLASSES`), so that ``sdae data --data denoise-mix`` counts them. Building takes a few
seconds (the dead leaves most of it); :func:`build_denoise_mix` keeps the last two seeds'.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sdae.data.synthetic import dead_leaves
from sdae.errors import SdaeError

SIDE = 64
CLASSES = ("photo", "dead-leaves", "fashion")
COUNTS = {"photo": 10000, "dead-leaves": 5000, "fashion": 5000}
TEST_SHARE = 0.1
#: the skimage.data photographs the patches come from (all load without a download)
PHOTOS = ("chelsea", "coffee", "rocket", "brick", "grass", "gravel", "text", "page", "clock",
          "hubble_deep_field", "immunohistochemistry", "cell", "retina", "stereo_motorcycle")
#: the skimage.data photographs kept for evaluating the denoiser: never read here
HELD_OUT = ("camera", "astronaut", "coins", "moon")
FLAT = 2 / 255  # a crop whose standard deviation is below this is flat
CANDIDATES = 4  # candidate places drawn per crop, for replacing flat ones


def _test_count(kind: str) -> int:
    return round(COUNTS[kind] * TEST_SHARE)


#: training patches per class (what a config is checked against, known without building)
TRAIN_PER_CLASS = tuple(COUNTS[k] - _test_count(k) for k in CLASSES)

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_BUILT: dict[int, Arrays] = {}


def build_denoise_mix(data_seed: int, fashion_train: Callable[[], np.ndarray]) -> Arrays:
    """``(train_images, train_labels, test_images, test_labels)`` of the mix for
    ``data_seed`` (uint8 ``[N, 64, 64]``, int64 labels in :data:`CLASSES` order, each split
    grouped by class); ``fashion_train()`` gives Fashion-MNIST's training images
    ``[60000, 28, 28]``. The last two seeds' are kept (the arrays themselves: do not write
    into them)."""
    if data_seed not in _BUILT:
        parts = {"photo": lambda rng: photo_patches(COUNTS["photo"], rng),
                 "dead-leaves": lambda rng: leaves_patches(COUNTS["dead-leaves"], rng),
                 "fashion": lambda rng: fashion_mosaics(fashion_train(), COUNTS["fashion"],
                                                        rng)}  # fmt: skip
        split = np.random.default_rng([data_seed, len(CLASSES)])
        train, test = [], []
        for label, kind in enumerate(CLASSES):
            patches = parts[kind](np.random.default_rng([data_seed, label]))
            order = split.permutation(len(patches))
            n_test = _test_count(kind)
            test.append((patches[order[:n_test]], label))
            train.append((patches[order[n_test:]], label))
        while len(_BUILT) >= 2:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[data_seed] = (*_joined(train), *_joined(test))
    return _BUILT[data_seed]


def _joined(parts: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    images = np.concatenate([p for p, _ in parts])
    labels = np.concatenate([np.full(len(p), label, np.int64) for p, label in parts])
    return images, labels


def _grey_photo(name: str) -> np.ndarray:
    """``skimage.data``'s photograph ``name`` as float grey in [0, 1]."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.util import img_as_float

    if name in HELD_OUT:
        raise SdaeError(f"denoise-mix: {name} is held out for evaluation")
    try:
        img = getattr(skimage.data, name)()
    except Exception as exc:  # a missing file that skimage would download
        raise SdaeError(f"denoise-mix: scikit-image's photograph {name!r} cannot be loaded "
                        f"({type(exc).__name__}); reinstall scikit-image with its data") from None
    if name == "stereo_motorcycle":
        img = img[0]  # the left view
    img = img_as_float(img)
    return rgb2gray(img) if img.ndim == 3 else img


def _halved(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    return img[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def photo_patches(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uint8 64x64 grey crops of :data:`PHOTOS` at full and half size (as described in
    the module's docstring), in order photograph by photograph."""
    sources = []
    for name in PHOTOS:
        img = _grey_photo(name)
        sources += [_uint8(img), _uint8(_halved(img))]
    per = np.full(len(sources), n // len(sources))
    per[: n % len(sources)] += 1
    out = []
    for img, count in zip(sources, per):
        h, w = img.shape
        tops = rng.integers(0, h - SIDE + 1, CANDIDATES * count)
        lefts = rng.integers(0, w - SIDE + 1, CANDIDATES * count)
        windows = np.lib.stride_tricks.sliding_window_view(img, (SIDE, SIDE))
        # flatness from every 4th pixel of every 4th row: 256 of a crop's values suffice
        sample = windows[tops, lefts, ::4, ::4].astype(np.float32)
        busy = sample.std(axis=(1, 2)) >= FLAT * 255
        chosen = np.sort(np.concatenate([np.flatnonzero(busy), np.flatnonzero(~busy)])[:count])
        out.append(_turned(windows[tops[chosen], lefts[chosen]], rng))
    return np.concatenate(out)


def _turned(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image of ``x: [N, S, S]`` under a random one of the square's 8 symmetries."""
    which = rng.integers(0, 8, len(x))
    out = np.empty_like(x)
    for k in range(8):
        mine = which == k
        turned = np.rot90(x[mine], k % 4, axes=(1, 2))
        out[mine] = turned[:, :, ::-1] if k >= 4 else turned
    return out


def leaves_patches(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uint8 64x64 dead-leaves images: the first half sharp, the rest soft."""
    seeds = rng.integers(0, 2**63, 2)
    sharp = dead_leaves(n - n // 2, SIDE, seed=int(seeds[0]))
    soft = dead_leaves(n // 2, SIDE, seed=int(seeds[1]), blur=0.6, shading=0.15)
    return np.concatenate([_uint8(sharp), _uint8(soft)])


def fashion_mosaics(images: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uint8 64x64 mosaics of 2x2 different images of ``images: [M, 28, 28]``, each
    padded with 2 black pixels on every side."""
    pick = rng.choice(len(images), 4 * n, replace=False)
    tiles = np.pad(images[pick], ((0, 0), (2, 2), (2, 2)))  # [4n, 32, 32]
    half = SIDE // 2
    return tiles.reshape(n, 2, 2, half, half).transpose(0, 1, 3, 2, 4).reshape(n, SIDE, SIDE)


def _uint8(x: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as uint8 0-255, rounded."""
    return np.rint(x * np.float32(255)).astype(np.uint8)
