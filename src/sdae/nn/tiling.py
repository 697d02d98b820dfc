"""A conv DAE (:class:`~sdae.nn.convnets.ConvAutoencoder`) on whole images at their own size:
:func:`denoise_image`, in overlapping tiles above a size so that memory stays bounded.

The U-Net is fully convolutional, so the size it was trained at (``image_shape``, 28x28 for
Fashion-MNIST) does not bind it: :meth:`~sdae.nn.convnets.ConvAutoencoder.denoise_nchw` runs
it on ``[N, C, H, W]`` images of any size. An image larger than ``tile`` x ``tile`` is cut
into cores of at most ``tile`` pixels a side, each run with ``overlap`` pixels of its
neighbours around it (a window), and only the core kept. Tiled and untiled results agree to
float rounding (about 1e-6) when

* ``overlap`` covers the network's receptive radius, :data:`RECEPTIVE_RADIUS` = 23 pixels: an
  output pixel depends on input pixels at most 23 rows or columns away (two 3x3 convolutions
  at full resolution, two at 1/2 and two at 1/4 on the way down, two at 1/2 and two at full
  on the way up: 2 + 4 + 8 + 4 + 2 = 20, plus up to 3 for where the pixel sits in its 4x4
  pooling cell; measured by the gradient of one output pixel in tests/test_tiling.py), so
  the zero padding at a window's edge never reaches its core (a model with the adaptive-mean
  prefill sees 3 pixels further, 26: ``model.receptive_radius``); and
* every window starts at a multiple of 4 (both poolings see the same 2x2 cells as on the
  whole image), which the cores and ``overlap`` (rounded up to multiples of 4) ensure. A
  window that ends at the image's edge is padded (edge repeated) as the whole image is.

Defaults: ``tile=512``, ``overlap=32`` (9 pixels more than the radius). Measured on 2 AMD
EPYC cores, width 32, a 6000x4000 grey image, whole process (image and output included):
windows of 576 pixels (512 + 2 x 32) 27-31 s and 0.90-0.97 GB peak RSS; of 816 (768 + 2 x 24)
28-32 s and 1.07 GB; of 1072 (1024 + 2 x 24) 30-31 s and 1.38 GB (two interleaved rounds
each): the same time within the machine's noise, though the 576 windows compute 27 % more
pixels than the image has, so the least memory decides.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import tqdm

from sdae.nn.convnets import UNET_RADIUS

RECEPTIVE_RADIUS = UNET_RADIUS  # pixels: how far an output pixel of the U-Net sees (above)
ALIGN = 4  # two 2x2 poolings: windows start at multiples of 4
TILE, OVERLAP = 512, 32  # the defaults: see the module's docstring


def spans(size: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """How one axis of ``size`` pixels is cut: ``(core_start, core_stop, window_start,
    window_stop)`` for each tile; cores of equal size (a multiple of 4, at most ``tile``)
    cover the axis, windows reach ``overlap`` further each way, clipped to the image."""
    n = math.ceil(size / tile)
    core = -(-math.ceil(size / n) // ALIGN) * ALIGN
    out = []
    for start in range(0, size, core):
        stop = min(start + core, size)
        out.append((start, stop, max(start - overlap, 0), min(stop + overlap, size)))
    return out


def _check(model, tile: int, overlap: int) -> tuple[int, int]:
    if not hasattr(model, "denoise_nchw"):
        raise TypeError(f"denoise_image needs a ConvAutoencoder, not a {type(model).__name__}")
    if tile < ALIGN:
        raise ValueError(f"tile must be at least {ALIGN} pixels, got {tile}")
    radius = model.receptive_radius
    if overlap < radius:
        raise ValueError(f"overlap {overlap} is less than the U-Net's receptive radius "
                         f"({radius} pixels): tiles would not match the whole image")
    return -(-tile // ALIGN) * ALIGN, -(-overlap // ALIGN) * ALIGN


def passes(model, channels: int) -> list[tuple[list[int], str]]:
    """How an image of ``channels`` colour channels goes through ``model`` (``C`` channels):
    ``(channels of the image, how)`` for each pass. ``C == channels``: one pass, "direct";
    a grey model (``C = 1``): one pass per channel, "per channel"; a grey image through a
    ``C``-channel model: its grey in every channel, the output their mean, "grey in every
    channel". Anything else is a ValueError."""
    c = model.image_shape[2]
    if c == channels:
        return [(list(range(channels)), "direct")]
    if c == 1:
        return [([k], "per channel") for k in range(channels)]
    if channels == 1:
        return [([0] * c, "grey in every channel")]
    raise ValueError(f"the model denoises {c}-channel images, not {channels}-channel ones")


def denoise_image(model, image: np.ndarray, *, tile: int = TILE, overlap: int = OVERLAP,
                  progress: bool = False) -> np.ndarray:  # fmt: skip
    """``image``: float ``[H, W]`` or ``[H, W, C]`` in [0, 1] (any ``H, W``; the U-Net
    pads to multiples of 4 itself) -> the denoised image, float32, same shape, never resized.

    ``model`` is a :class:`~sdae.nn.convnets.ConvAutoencoder` (on its own device, in eval
    mode) whose convolutional body runs on the image itself; the channels are matched as
    :func:`passes` says (a grey model denoises each channel of a colour image on its own).
    Above ``tile`` x ``tile`` pixels the image goes through in overlapping windows (see the
    module's docstring; ``overlap`` >= :data:`RECEPTIVE_RADIUS`), with a tqdm bar over them on
    stderr when ``progress`` and there is more than one. With ``passthrough`` a tile without
    a pixel at exactly 0 or 1 is copied: the network would return it unchanged.
    """
    tile, overlap = _check(model, tile, overlap)
    img = np.asarray(image, dtype=np.float32)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an [H, W] or [H, W, C] image, got shape {list(img.shape)}")
    hwc = img[..., None] if img.ndim == 2 else img
    (h, w, channels), todo = hwc.shape, passes(model, hwc.shape[2])
    out = np.empty((h, w, channels), np.float32)
    rows, cols = spans(h, tile, overlap), spans(w, tile, overlap)
    bar = tqdm(total=len(rows) * len(cols), desc="denoising", unit="tile", leave=False,
               disable=not progress or len(rows) * len(cols) < 2)  # fmt: skip
    with torch.inference_mode(), bar:
        for r0, r1, wr0, wr1 in rows:
            for c0, c1, wc0, wc1 in cols:
                core = hwc[r0:r1, c0:c1]
                if model.passthrough and not ((core == 0) | (core == 1)).any():
                    out[r0:r1, c0:c1] = core
                else:
                    y = _through(model, hwc[None, wr0:wr1, wc0:wc1], todo)[0]
                    out[r0:r1, c0:c1] = y[r0 - wr0 : r1 - wr0, c0 - wc0 : c1 - wc0]
                bar.update()
    return out[..., 0] if img.ndim == 2 else out


def denoise_images(model, images: np.ndarray, *, tile: int = TILE, overlap: int = OVERLAP,
                   progress: bool = False) -> np.ndarray:  # fmt: skip
    """:func:`denoise_image` of each image of ``images: [N, H, W]`` or ``[N, H, W, C]``;
    images of at most ``tile`` x ``tile`` pixels go through together, as many at a time as
    ``tile`` x ``tile`` pixels hold."""
    tile, overlap = _check(model, tile, overlap)
    imgs = np.asarray(images, dtype=np.float32)
    if imgs.ndim not in (3, 4):
        raise ValueError(f"expected [N, H, W] or [N, H, W, C] images, got {list(imgs.shape)}")
    n, h, w = imgs.shape[:3]
    if h * w > tile * tile:
        return np.stack([denoise_image(model, x, tile=tile, overlap=overlap, progress=progress)
                         for x in imgs]) if n else imgs.copy()  # fmt: skip
    nhwc = imgs[..., None] if imgs.ndim == 3 else imgs
    todo, batch = passes(model, nhwc.shape[3]), max(1, tile * tile // (h * w))
    with torch.inference_mode():
        parts = [_through(model, nhwc[i : i + batch], todo) for i in range(0, n, batch)]
    out = np.concatenate(parts) if parts else np.empty(nhwc.shape, np.float32)
    return out[..., 0] if imgs.ndim == 3 else out


def _through(model, block: np.ndarray, todo) -> np.ndarray:
    """``block: [B, h, w, k]`` through ``model`` as ``todo`` (:func:`passes`) says."""
    device = next(model.parameters()).device
    out = np.empty(block.shape, np.float32)
    for chans, how in todo:
        x = torch.from_numpy(np.ascontiguousarray(block[..., chans]))
        y = model.denoise_nchw(x.permute(0, 3, 1, 2).to(device))  # [B, C, h, w]
        if how == "grey in every channel":
            y = y.mean(1, keepdim=True)
        where = chans[:1] if how == "per channel" else slice(None)
        out[..., where] = y.permute(0, 2, 3, 1).float().cpu().numpy()
    return out
