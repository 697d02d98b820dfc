"""Seeded dead-leaves images (sdae.data.synthetic)."""

import time

import numpy as np
import pytest

from sdae.data.synthetic import COVER, dead_leaves
from sdae.errors import SdaeError


def test_deterministic_seeded_and_prefix_stable():
    a = dead_leaves(70, 32, seed=3)
    assert np.array_equal(a, dead_leaves(70, 32, seed=3))
    assert np.array_equal(a[:5], dead_leaves(5, 32, seed=3))  # image i whatever n
    assert np.array_equal(a[64:], dead_leaves(70, 32, seed=3)[64:])  # past one chunk too
    assert not np.array_equal(a, dead_leaves(70, 32, seed=4))
    assert a.shape == (70, 32, 32) and a.dtype == np.float32


@pytest.mark.parametrize("options", [{}, {"blur": 0.7}, {"shading": 0.3},
                                     {"blur": 0.5, "shading": 0.15, "rmin": 1.0}])  # fmt: skip
def test_values_in_range_and_grey_levels_uniform(options):
    x = dead_leaves(200, 48, seed=1, **options)
    assert x.min() >= 0 and x.max() <= 1
    assert abs(x.mean() - 0.5) < 0.03 and 0.22 < x.std() < 0.31  # uniform greys: std 0.289


def test_flat_regions_and_edges():
    """Sharp images are piecewise constant: few grey levels, each a region of pixels, and
    the background (no disc) shows rarely."""
    x = dead_leaves(50, 64, seed=2)
    levels = [len(np.unique(img)) for img in x]
    assert 10 < np.mean(levels) < 400
    same = (x[:, 1:, :] == x[:, :-1, :]).mean()  # neighbours mostly inside one disc
    assert 0.6 < same < 0.99
    assert np.exp(-COVER) < 0.01


def test_radii_set_the_scale():
    small = dead_leaves(20, 64, seed=5, rmin=1.0, rmax=3.0)
    large = dead_leaves(20, 64, seed=5, rmin=16.0, rmax=64.0)
    edges = [(x[:, 1:, :] != x[:, :-1, :]).mean() for x in (small, large)]
    assert edges[0] > 3 * edges[1]


def test_fast():
    dead_leaves(8)
    start = time.perf_counter()
    dead_leaves(500, 64, seed=0)
    assert time.perf_counter() - start < 5.0  # ~0.5 s here; generous for a busy machine


@pytest.mark.parametrize("kwargs", [{"n": -1}, {"n": 2, "size": 0}, {"n": 2, "rmin": 0},
                                    {"n": 2, "rmin": 70}, {"n": 2, "alpha": 1.0},
                                    {"n": 2, "blur": -1}, {"n": 1.5}])  # fmt: skip
def test_bad_arguments_are_one_line(kwargs):
    with pytest.raises(SdaeError, match="dead_leaves"):
        dead_leaves(**kwargs)
