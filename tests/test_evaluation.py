"""sdae.evaluation against values computed by hand from the definitions."""

import math

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from sdae.evaluation import accuracy, confusion_matrix, denoising_scores, median_filter, psnr, ssim

# skimage's SSIM defaults with data_range=1: C1 = (K1 L)^2, C2 = (K2 L)^2
C1, C2 = 0.01**2, 0.03**2


def const(value: float, n: int = 1) -> np.ndarray:
    return np.full((n, 784), value, dtype=np.float64)


# --- PSNR --------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset,expected_db", [
    (0.1, 20.0),                 # MSE 0.01  -> 10 log10(1 / 0.01)  = 20 dB
    (math.sqrt(0.001), 30.0),    # MSE 0.001 -> 10 log10(1 / 0.001) = 30 dB
    (0.01, 40.0),                # MSE 1e-4  -> 40 dB
])
def test_psnr_of_a_known_mse(offset, expected_db):
    clean = const(0.5)
    other = clean.copy()
    other[0, ::2] += offset      # half the pixels up, half down: MSE = offset^2 exactly
    other[0, 1::2] -= offset
    assert np.mean((other - clean) ** 2) == pytest.approx(offset**2, rel=1e-12)
    assert psnr(clean, other) == pytest.approx(expected_db, abs=1e-9)


def test_psnr_is_the_mean_of_per_image_psnrs_not_of_the_pooled_mse():
    clean = const(0.5, n=2)
    other = clean.copy()
    other[0] += 0.1    # MSE 0.01   -> 20 dB
    other[1] += 0.01   # MSE 0.0001 -> 40 dB
    pooled_db = 10 * math.log10(1 / ((0.01 + 0.0001) / 2))  # ~22.97 dB: the wrong answer
    assert psnr(clean, other) == pytest.approx(30.0, abs=1e-9)
    assert abs(psnr(clean, other) - pooled_db) > 5


def test_psnr_of_an_exact_reconstruction_is_capped_at_100_db():
    clean = np.random.default_rng(0).random((3, 784))
    assert psnr(clean, clean.copy()) == 100.0
    other = clean.copy()
    other[1] = clean[1] + 0.1 * np.where(clean[1] < 0.5, 1, -1)  # MSE exactly 0.01 -> 20 dB
    # two exact images at the cap (100 dB) and one at 20 dB: the cap keeps the mean finite
    assert psnr(clean, other) == pytest.approx((100 + 100 + 20) / 3, abs=1e-9)


def test_psnr_accepts_torch_and_numpy_of_shape_n_by_784():
    rng = np.random.default_rng(1)
    clean = rng.random((4, 784))
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)
    expected = np.mean([10 * np.log10(1 / np.mean((c - n) ** 2)) for c, n in zip(clean, noisy)])
    assert psnr(clean, noisy) == pytest.approx(expected, abs=1e-9)
    assert psnr(torch.from_numpy(clean), torch.from_numpy(noisy)) == pytest.approx(
        expected, abs=1e-9)
    assert psnr(torch.from_numpy(clean).float(), torch.from_numpy(noisy).float()) == (
        pytest.approx(expected, abs=1e-4))
    assert psnr(torch.from_numpy(clean), noisy) == pytest.approx(expected, abs=1e-9)


# --- SSIM --------------------------------------------------------------------------------------


def test_ssim_of_identical_images_is_one():
    clean = np.random.default_rng(2).random((3, 784))
    assert ssim(clean, clean.copy()) == pytest.approx(1.0, abs=1e-12)
    assert ssim(torch.from_numpy(clean), torch.from_numpy(clean)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("c1,c2", [(0.2, 0.6), (0.0, 1.0), (0.9, 0.3)])
def test_ssim_of_two_constant_images_is_the_luminance_term(c1, c2):
    # variances and covariance are 0, so the contrast/structure term is C2 / C2 = 1
    expected = (2 * c1 * c2 + C1) / (c1**2 + c2**2 + C1)
    assert ssim(const(c1), const(c2)) == pytest.approx(expected, abs=1e-6)


def test_ssim_matches_the_formula_over_every_7x7_window():
    """SSIM recomputed from its definition: the mean over the 22 x 22 full 7x7 windows of
    (2 mx my + C1)(2 sxy + C2) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2)), sample (co)variances."""
    rng = np.random.default_rng(3)
    x = rng.random((28, 28))
    y = np.clip(0.7 * x + 0.2 + rng.normal(0, 0.1, x.shape), 0, 1)
    wx = sliding_window_view(x, (7, 7)).reshape(22, 22, 49)
    wy = sliding_window_view(y, (7, 7)).reshape(22, 22, 49)
    mx, my = wx.mean(-1), wy.mean(-1)
    vx, vy = wx.var(-1, ddof=1), wy.var(-1, ddof=1)
    cxy = ((wx - mx[..., None]) * (wy - my[..., None])).sum(-1) / 48
    s = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    assert ssim(x.reshape(1, 784), y.reshape(1, 784)) == pytest.approx(s.mean(), abs=1e-6)


def test_ssim_is_symmetric_and_averages_over_images():
    rng = np.random.default_rng(4)
    a, b = rng.random((3, 784)), rng.random((3, 784))
    assert ssim(a, b) == pytest.approx(ssim(b, a), abs=1e-12)
    per_image = [ssim(a[i : i + 1], b[i : i + 1]) for i in range(3)]
    assert ssim(a, b) == pytest.approx(np.mean(per_image), abs=1e-12)


# --- median filter -----------------------------------------------------------------------------


def worked_image() -> np.ndarray:
    img = np.zeros((28, 28))
    img[0, 0], img[0, 1], img[1, 0], img[1, 1] = 0.8, 0.2, 0.3, 0.0  # top-left corner
    img[4, 20] = 1.0                                                # salt on 0 background
    img[8:15, 8:15] = 0.5                                           # constant 0.5 region ...
    img[11, 11] = 0.0                                               # ... with a pepper pixel
    img[19:22, 19:22] = [[0.9, 0.1, 0.7],                           # known 3x3 neighbourhood,
                         [0.3, 0.6, 0.2],                           # median 0.5 of
                         [0.8, 0.4, 0.5]]                           # 0.1, 0.2, ..., 0.9
    return img


def test_median_filter_worked_example():
    img = worked_image()
    before = img.reshape(1, 784).copy()
    x = img.reshape(1, 784)
    out = median_filter(x)
    assert out.shape == (1, 784)
    np.testing.assert_array_equal(x, before)  # input untouched
    f = out.reshape(28, 28)
    assert f[4, 20] == 0.0                    # salt pixel removed
    np.testing.assert_array_equal(f[3:6, 19:22], 0.0)
    assert f[11, 11] == 0.5                   # pepper pixel inside the 0.5 region filled in
    assert f[20, 20] == 0.5                   # median of 0.1 .. 0.9
    # corner (0, 0) with reflect padding (d c b a | a b c d): the 3x3 window holds
    # img[0,0] four times, img[0,1] and img[1,0] twice each, img[1,1] once:
    # sorted 0, .2, .2, .3, .3, .8, .8, .8, .8 -> median 0.3
    # (mirror padding would give 0.2, zero padding 0.0)
    assert f[0, 0] == pytest.approx(0.3)


def test_median_filter_works_per_image_on_torch_and_numpy():
    # zeros, ones, zeros: a filter that also ran across images would turn the middle one to 0
    x = np.stack([np.zeros(784), np.ones(784), np.zeros(784)])
    out = median_filter(torch.from_numpy(x).float())
    assert isinstance(out, np.ndarray) and out.shape == (3, 784)
    np.testing.assert_array_equal(out, x)
    y = np.stack([worked_image().ravel(), 1 - worked_image().ravel()])
    out = median_filter(y)
    np.testing.assert_allclose(out[0], median_filter(y[:1])[0])
    np.testing.assert_allclose(out[1], 1 - median_filter(y[:1])[0])


# --- classification ----------------------------------------------------------------------------


def test_accuracy_and_confusion_matrix_by_hand():
    predicted = [0, 1, 2, 2, 1]
    labels = [0, 1, 1, 2, 0]
    assert accuracy(np.array(predicted), np.array(labels)) == pytest.approx(3 / 5)
    assert accuracy(torch.tensor(predicted), torch.tensor(labels)) == pytest.approx(3 / 5)
    # rows true class, columns predicted class
    expected = np.array([[1, 1, 0],    # true 0: predicted 0 once, 1 once
                         [0, 1, 1],    # true 1: predicted 1 once, 2 once
                         [0, 0, 1]])   # true 2: predicted 2 once
    cm = confusion_matrix(torch.tensor(predicted), torch.tensor(labels), n_classes=3)
    np.testing.assert_array_equal(cm, expected)
    cm10 = confusion_matrix(np.array(predicted), np.array(labels))
    assert cm10.shape == (10, 10) and cm10.sum() == 5
    np.testing.assert_array_equal(cm10[:3, :3], expected)


# --- denoising_scores --------------------------------------------------------------------------


def test_denoising_scores_keys_and_values():
    gen = torch.Generator().manual_seed(5)
    clean = torch.rand(4, 784, generator=gen)
    noisy = torch.where(torch.rand(4, 784, generator=gen) < 0.2, 1.0, clean)
    denoised = (clean + 0.05 * torch.randn(4, 784, generator=gen)).clamp(0, 1)
    train_mean = torch.rand(784, generator=gen)
    scores = denoising_scores(clean, noisy, denoised, train_mean)
    assert set(scores) == {
        "psnr_noisy", "psnr_denoised", "psnr_median", "psnr_adaptive_median", "psnr_mean_image",
        "ssim_noisy", "ssim_denoised", "ssim_median", "ssim_adaptive_median", "ssim_mean_image",
    }
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["psnr_noisy"] == psnr(clean, noisy)
    assert scores["psnr_denoised"] == psnr(clean, denoised)
    assert scores["psnr_median"] == psnr(clean, median_filter(noisy))
    assert scores["psnr_mean_image"] == psnr(clean, train_mean.expand(4, 784))
    assert scores["ssim_noisy"] == ssim(clean, noisy)
    assert scores["ssim_median"] == ssim(clean, median_filter(noisy))
