"""Impulse noise by density, and noise levels drawn per image from a range (issue 19)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sdae.errors import SdaeError
from sdae.nn.noise import NOISES, Buffers, corrupt, draw_levels, impulse, salt_and_pepper

N = 200_000
TOL = 5 * (0.25 / N) ** 0.5  # 5 standard deviations of a proportion from N draws


def gray(n=N, rows=1):
    return torch.full((rows, n), 0.5)  # neither 0 nor 1: every replaced pixel is visible


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("d", [0.0, 0.02, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_exact_counts_on_seeded_draws(d, seed):
    """Each pixel's fate follows from its own uniform draw r: r < d/2 pepper, r >= 1 - d/2
    salt, else kept, exactly."""
    x = gray(50_000)
    r = torch.rand(x.shape, generator=gen(seed))
    out = impulse(x, d, gen(seed))
    pepper, salt = r < d / 2, r >= 1 - d / 2
    assert torch.equal(out == 0, pepper) and torch.equal(out == 1, salt)
    assert torch.equal(out[~(pepper | salt)], x[~(pepper | salt)])
    assert int((out == 0).sum()) == int(pepper.sum())
    assert int((out != 0.5).sum()) == int((pepper | salt).sum())


@settings(max_examples=12, deadline=None)
@given(d=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_impulse_statistics(d, seed):
    out = impulse(gray(), d, gen(seed))
    assert abs((out == 0).float().mean().item() - d / 2) < TOL
    assert abs((out == 1).float().mean().item() - d / 2) < TOL
    assert abs((out == 0.5).float().mean().item() - (1 - d)) < TOL


def test_density_one_replaces_every_pixel_and_zero_none():
    x = torch.rand(3, 5000, generator=gen(2)) * 0.8 + 0.1
    full = impulse(x, 1.0, gen(3))
    assert set(full.unique().tolist()) == {0.0, 1.0}
    assert corrupt(x, "impulse", 0.0, gen(3)) is x


@settings(max_examples=6, deadline=None)
@given(p=st.floats(0.0, 0.5), seed=st.integers(0, 2**31))
def test_salt_and_pepper_at_p_is_impulse_at_2p(p, seed):
    a, b = salt_and_pepper(gray(), p, gen(seed)), impulse(gray(), 2 * p, gen(seed + 1))
    for value in (0.0, 1.0, 0.5):
        assert abs((a == value).float().mean() - (b == value).float().mean()) < 2 * TOL


def test_buffers_give_the_same_numbers():
    x = torch.rand(64, 784, generator=gen(4))
    buffers = Buffers()
    for d in (0.1, 0.6):
        plain = corrupt(x, "impulse", d, gen(5))
        assert torch.equal(corrupt(x, "impulse", d, gen(5), buffers), plain)
    levels = draw_levels(64, 0.02, 0.7, gen(6))
    assert torch.equal(corrupt(x, "impulse", levels, gen(5), buffers),
                       corrupt(x, "impulse", levels, gen(5)))  # fmt: skip


@pytest.mark.parametrize("kind", list(NOISES))
@pytest.mark.parametrize("level", [0.25, 0.375])
def test_one_level_per_image_at_p_is_level_p(kind, level):
    """Per-image levels go through the same comparisons: all at p is exactly level p."""
    x = torch.rand(16, 784, generator=gen(7))
    same = torch.full((16, 1), level)
    assert torch.equal(corrupt(x, kind, same, gen(8)), corrupt(x, kind, level, gen(8)))
    assert torch.equal(corrupt(x, kind, same, gen(8), Buffers()), corrupt(x, kind, level, gen(8)))


@settings(max_examples=15, deadline=None)
@given(lo=st.floats(0.0, 1.0), width=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_drawn_levels_stay_in_the_range(lo, width, seed):
    hi = min(1.0, lo + width)
    levels = draw_levels(500, lo, hi, gen(seed))
    assert levels.shape == (500, 1) and levels.dtype == torch.float32
    assert levels.min().item() >= lo - 1e-7 and levels.max().item() <= hi + 1e-7


def test_per_image_densities_follow_the_range():
    """Each image is replaced at its own level, and the levels are uniform in the range."""
    n, d, lo, hi = 2000, 2048, 0.02, 0.7
    levels = draw_levels(n, lo, hi, gen(9))
    out = corrupt(gray(d, n), "impulse", levels, gen(10))
    replaced = (out != 0.5).float().mean(dim=1)
    assert (replaced - levels[:, 0]).abs().max() < 5.5 * (0.25 / d) ** 0.5
    pepper = (out == 0).float().mean(dim=1)
    assert (pepper - levels[:, 0] / 2).abs().max() < 5.5 * (0.25 / d) ** 0.5
    # uniform in [lo, hi]: each quarter of the range holds a quarter of the images
    quarters = torch.histc(levels, bins=4, min=lo, max=hi) / n
    assert (quarters - 0.25).abs().max() < 5 * (0.25 * 0.75 / n) ** 0.5


def test_salt_and_pepper_levels_per_image():
    levels = draw_levels(400, 0.0, 0.5, gen(11))
    out = corrupt(gray(4096, 400), "salt-and-pepper", levels, gen(12))
    salt = (out == 1).float().mean(dim=1)
    assert (salt - levels[:, 0]).abs().max() < 5.5 * (0.25 / 4096) ** 0.5


def test_bad_level_tensors_are_refused():
    x = gray(10, 4)
    with pytest.raises(SdaeError, match=r"noise levels of shape \[4\] for 4 images"):
        corrupt(x, "impulse", torch.full((4,), 0.1), gen())
    with pytest.raises(SdaeError, match="outside"):
        corrupt(x, "salt-and-pepper", torch.full((4, 1), 0.6), gen())
