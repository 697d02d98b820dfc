"""sdae.evaluation.adaptive_median_filter against worked examples and a brute-force reference."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdae import evaluation
from sdae.evaluation import adaptive_median_filter, denoising_scores, median_filter, psnr, ssim
from sdae.nn.noise import corrupt


def image(fill: float = 0.5) -> np.ndarray:
    """One 28x28 image of a constant value, to draw worked examples on."""
    return np.full((28, 28), fill, dtype=np.float64)


def filtered(*imgs: np.ndarray, max_size: int = 7) -> np.ndarray:
    """The filter on 28x28 images, back as ``[N, 28, 28]``."""
    out = adaptive_median_filter(np.stack(imgs).reshape(len(imgs), 784), max_size=max_size)
    assert out.shape == (len(imgs), 784) and out.dtype == np.float64
    return out.reshape(-1, 28, 28)


def reference(img: np.ndarray, max_size: int = 7) -> np.ndarray:
    """The contract, pixel by pixel with np.median: a 28x28 image -> 28x28."""
    out = img.copy()
    for i, j in zip(*np.nonzero((img == 0) | (img == 1))):
        for half in range(1, max_size // 2 + 1):
            window = img[max(i - half, 0) : i + half + 1, max(j - half, 0) : j + half + 1]
            trusted = window[(window != 0) & (window != 1)]
            if trusted.size:
                out[i, j] = np.median(trusted)
                break
        else:
            out[i, j] = np.median(window)  # the whole max_size window is suspect
    return out


# --- worked examples ---------------------------------------------------------------------------


def test_an_image_without_0_or_1_pixels_is_unchanged():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.01, 0.99, size=(3, 784))
    np.testing.assert_array_equal(adaptive_median_filter(x), x)
    t = torch.as_tensor(x, dtype=torch.float32)  # a float32 tensor works too, unchanged
    np.testing.assert_array_equal(adaptive_median_filter(t), t.numpy().astype(np.float64))


def test_a_single_salt_pixel_in_a_constant_image_takes_the_constant():
    img = image(0.5)
    img[5, 5] = 1.0
    np.testing.assert_array_equal(filtered(img)[0], image(0.5))


@pytest.mark.parametrize("neighbours,expected", [
    # 3x3 around (5,5), centre 1: the 0s are suspect and excluded
    ([[0.2, 0.0, 0.9], [0.4, 1.0, 0.0], [0.7, 0.3, 0.0]], 0.4),  # median of 0.2 .3 .4 .7 .9
    ([[0.2, 0.0, 0.9], [0.4, 1.0, 0.0], [0.7, 0.0, 0.0]], 0.55),  # (0.4 + 0.7) / 2, even count
    ([[1.0, 1.0, 0.1], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]], 0.1),  # one survivor
])  # fmt: skip
def test_hand_worked_3x3_windows(neighbours, expected):
    img = image(0.5)  # the 0.5s outside the 3x3 window must not count
    img[4:7, 4:7] = neighbours
    assert filtered(img)[0, 5, 5] == pytest.approx(expected, abs=1e-15)


def test_an_all_suspect_3x3_grows_to_5x5_and_no_further():
    img = image(0.5)  # the 7x7 ring is 0.5: a 7x7 median would give 0.5
    img[8:13, 8:13] = np.where(np.indices((5, 5)).sum(0) % 2, 0.0, 1.0)  # all suspect
    img[8, 8], img[8, 12], img[12, 10] = 0.2, 0.6, 0.9  # on the 5x5 ring of (10, 10)
    assert filtered(img)[0, 10, 10] == pytest.approx(0.6, abs=1e-15)


def test_a_corner_window_is_clipped_not_reflected_and_does_not_wrap():
    img = image(0.5)
    img[:, 27] = 0.95  # a flat-index wrap of (0, 0) or (27, 27) would pull these in
    img[0, 0], img[0, 1], img[1, 0], img[1, 1] = 1.0, 0.2, 0.6, 1.0
    img[27, 27], img[26, 27], img[27, 26], img[26, 26] = 0.0, 0.1, 0.3, 0.0
    out = filtered(img, image(0.99))[0]
    assert out[0, 0] == pytest.approx(0.4, abs=1e-15)  # (0.2 + 0.6) / 2 of 4 real pixels
    assert out[27, 27] == pytest.approx(0.2, abs=1e-15)  # (0.1 + 0.3) / 2


def test_an_edge_window_is_clipped_not_reflected():
    img = image(0.5)
    img[0:2, 4:7] = [[0.1, 0.0, 0.2], [0.7, 0.8, 0.9]]
    # clipped: median of 0.1 .2 .7 .8 .9 = 0.7; a reflected row 0 would give 0.2
    assert filtered(img)[0, 0, 5] == pytest.approx(0.7, abs=1e-15)


def test_true_black_pixels_are_replaced_by_the_nearest_trusted_values():
    """The filter's blind spot: a clean black pixel is suspect. Left half 0, right half 0.6."""
    img = image(0.6)
    img[:, :14] = 0.0
    out = filtered(img)[0]
    np.testing.assert_array_equal(out[:, 11:14], 0.6)  # a 0.6 column within 3 pixels
    np.testing.assert_array_equal(out[:, :11], 0.0)  # 7x7 window all 0: fallback median 0
    np.testing.assert_array_equal(out[:, 14:], 0.6)
    np.testing.assert_array_equal(filtered(img, max_size=3)[0, :, :13], 0.0)  # smaller reach


def test_fallback_for_all_zero_and_all_one_images():
    np.testing.assert_array_equal(filtered(image(0.0))[0], 0.0)
    np.testing.assert_array_equal(filtered(image(1.0))[0], 1.0)


def test_fallback_on_a_checkerboard_is_the_plain_window_median():
    board = (np.indices((28, 28)).sum(0) % 2).astype(np.float64)
    out = filtered(board)[0]
    assert out[0, 0] == 0.5  # clipped 4x4 window: 8 zeros, 8 ones
    assert out[0, 1] == 0.5  # 4x5
    assert out[1, 1] == 0.0  # 5x5: 13 zeros (the centre's colour), 12 ones
    assert out[2, 2] == 0.5  # 6x6
    assert out[14, 14] == board[14, 14] == 0.0 and out[14, 15] == board[14, 15] == 1.0  # 7x7
    side = np.minimum(np.arange(28), 3) + np.minimum(27 - np.arange(28), 3) + 1
    even = (side[:, None] * side[None, :]) % 2 == 0
    np.testing.assert_array_equal(out, np.where(even, 0.5, board))


def test_salt_and_pepper_03_beats_the_noisy_input_and_the_3x3_median():
    clean = torch.rand(20, 784, generator=torch.Generator().manual_seed(1)) * 0.8 + 0.1
    noisy = corrupt(clean, "salt-and-pepper", 0.3, torch.Generator().manual_seed(0))
    out = adaptive_median_filter(noisy)
    p_noisy, p_median, p_adaptive = (
        psnr(clean, noisy), psnr(clean, median_filter(noisy)), psnr(clean, out)
    )  # fmt: skip
    assert p_adaptive > p_noisy and p_adaptive > p_median, (p_noisy, p_median, p_adaptive)
    kept = ((noisy != 0) & (noisy != 1)).numpy()
    assert 0.3 < kept.mean() < 0.5  # about 1 - 2 p of the pixels survive
    np.testing.assert_array_equal(out[kept], noisy.numpy().astype(np.float64)[kept])
    assert ((out > 0) & (out < 1)).all()  # clean in (0, 1): every impulse was replaced


def test_matches_the_reference_across_chunks(monkeypatch):
    clean = torch.rand(5, 784, generator=torch.Generator().manual_seed(2))
    clean[:, :300] = 0.0  # some black background, as in Fashion-MNIST
    noisy = corrupt(clean, "salt-and-pepper", 0.3, torch.Generator().manual_seed(3)).numpy()
    whole = adaptive_median_filter(noisy)
    monkeypatch.setattr(evaluation, "_ADAPTIVE_CHUNK", 2)
    np.testing.assert_array_equal(adaptive_median_filter(noisy), whole)
    expected = np.stack([reference(x.astype(np.float64).reshape(28, 28)) for x in noisy])
    np.testing.assert_array_equal(whole, expected.reshape(5, 784))


def test_empty_batch_and_bad_window_sizes():
    assert adaptive_median_filter(np.zeros((0, 784))).shape == (0, 784)
    for size in (1, 2, 4, 6):
        with pytest.raises(ValueError, match="odd"):
            adaptive_median_filter(np.zeros((1, 784)), max_size=size)


pixels = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0, width=32))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, (2, 784), elements=pixels), st.sampled_from([3, 5, 7]))
def test_property_non_suspect_kept_range_shape_and_reference(x, max_size):
    out = adaptive_median_filter(x, max_size=max_size)
    assert out.shape == x.shape and out.dtype == np.float64
    assert ((out >= 0) & (out <= 1)).all()
    kept = (x != 0) & (x != 1)
    np.testing.assert_array_equal(out[kept], x[kept].astype(np.float64))
    for img, got in zip(x.astype(np.float64), out):
        np.testing.assert_array_equal(got, reference(img.reshape(28, 28), max_size).ravel())


# --- denoising_scores --------------------------------------------------------------------------


def test_denoising_scores_has_the_adaptive_median_keys_after_the_median_ones():
    gen = torch.Generator().manual_seed(5)
    clean = torch.rand(4, 784, generator=gen)
    noisy = corrupt(clean, "salt-and-pepper", 0.2, gen)
    denoised = (clean + 0.05 * torch.randn(4, 784, generator=gen)).clamp(0, 1)
    scores = denoising_scores(clean, noisy, denoised, torch.rand(784, generator=gen))
    assert list(scores) == [
        "psnr_noisy", "psnr_denoised", "psnr_median", "psnr_adaptive_median", "psnr_mean_image",
        "ssim_noisy", "ssim_denoised", "ssim_median", "ssim_adaptive_median", "ssim_mean_image",
    ]  # fmt: skip
    adaptive = adaptive_median_filter(noisy)
    assert scores["psnr_adaptive_median"] == psnr(clean, adaptive)
    assert scores["ssim_adaptive_median"] == ssim(clean, adaptive)
    assert isinstance(scores["psnr_adaptive_median"], float)
