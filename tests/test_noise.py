import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sdae.config.checks import check_noise
from sdae.errors import SdaeError
from sdae.nn.noise import NOISES, corrupt, gaussian, masking, salt_and_pepper, salt_and_pepper_fresh

N = 200_000
# 5 standard deviations of a proportion estimated from N draws: fails by chance < 1e-6
TOL = 5 * (0.25 / N) ** 0.5


def gray(n=N):
    return torch.full((1, n), 0.5)  # neither 0 nor 1: every changed pixel is visible


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.0, 0.5), seed=st.integers(0, 2**31))
def test_salt_and_pepper_one_draw_statistics(p, seed):
    out = salt_and_pepper(gray(), p, gen(seed))
    assert abs((out == 1).float().mean().item() - p) < TOL
    assert abs((out == 0).float().mean().item() - p) < TOL
    assert abs((out == 0.5).float().mean().item() - (1 - 2 * p)) < TOL


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.0, 0.5), seed=st.integers(0, 2**31))
def test_salt_and_pepper_fresh_statistics(p, seed):
    out = salt_and_pepper_fresh(gray(), p, gen(seed))
    assert abs((out == 1).float().mean().item() - p) < TOL
    assert abs((out == 0).float().mean().item() - (1 - p) * p) < TOL
    assert abs((out == 0.5).float().mean().item() - (1 - p) ** 2) < TOL


def test_one_draw_at_half_leaves_no_information():
    """p = 0.5: the output does not depend on the image at all, only on the draws."""
    a = salt_and_pepper(torch.zeros(1, 5000), 0.5, gen(7))
    b = salt_and_pepper(torch.ones(1, 5000), 0.5, gen(7))
    assert torch.equal(a, b)
    assert set(a.unique().tolist()) <= {0.0, 1.0}


@settings(max_examples=15, deadline=None)
@given(level=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_masking_statistics(level, seed):
    out = masking(gray(), level, gen(seed))
    assert abs((out == 0).float().mean().item() - level) < TOL
    assert set(out.unique().tolist()) <= {0.0, 0.5}


def test_gaussian_std_and_clipping():
    out = gaussian(gray(), 0.1, gen(1))
    assert abs((out - 0.5).std().item() - 0.1) < 0.002
    assert abs((out - 0.5).mean().item()) < 0.002
    wide = gaussian(gray(), 1.0, gen(1))
    assert wide.min() == 0 and wide.max() == 1


@pytest.mark.parametrize("kind", list(NOISES))
def test_seeded_and_input_untouched(kind):
    x = torch.rand(4, 784, generator=gen(5))
    before = x.clone()
    a, b = corrupt(x, kind, 0.3, gen(9)), corrupt(x, kind, 0.3, gen(9))
    assert torch.equal(a, b)
    assert not torch.equal(a, corrupt(x, kind, 0.3, gen(10)))
    assert torch.equal(x, before)
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1


@pytest.mark.parametrize("kind,level", [("salt-and-pepper", 0.7), ("salt-and-pepper", -0.1),
                                        ("salt-and-pepper-fresh", 0.51), ("masking", 1.5),
                                        ("gaussian", float("nan"))])
def test_levels_are_range_checked(kind, level):
    with pytest.raises(SdaeError, match="outside"):
        check_noise(kind, level)


def test_unknown_noise():
    with pytest.raises(SdaeError, match="unknown noise 'speckle'; choose one of"):
        corrupt(torch.zeros(1, 4), "speckle", 0.1, gen())
