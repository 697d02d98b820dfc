"""The convolutional networks: sdae's conv DAE (a small U-Net) and the CNN baselines of
Table X (:class:`SmallCNN`, :class:`DeepCNN`). Same interface as :mod:`sdae.nn.models`:
inputs ``[N, D]`` of images in [0, 1] of ``image_shape`` ``(H, W, C)`` (Fashion-MNIST's
``(28, 28, 1)`` by default; any ``H, W >= 8``), each flattened row by row with its channels
last (``D = H W C``, as a data set holds them); each network is built from the spec it keeps
(``model.spec``, :mod:`sdae.nn.spec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from sdae.errors import SdaeError
from sdae.nn.augment import GREY28, as_nchw, flat
from sdae.nn.spec import ModelSpec, register

MIN_SIDE = 8  # two 2x2 poolings leave at least 2x2
#: how far an output pixel of the U-Net sees, in pixels (sdae.nn.tiling explains the sum)
UNET_RADIUS = 23
#: the windows of the adaptive-mean prefill, smallest first
PREFILL_SIZES = (3, 5, 7)


def _shape_field():
    """The field the conv specs gained with images other than 28x28 grey: a checkpoint
    written before it has none (:func:`sdae.nn.spec.spec_dict` leaves it out at 28x28)."""
    return field(default=GREY28, metadata={"added": True})


class _ImageSpec(ModelSpec):
    """A spec with ``image_shape`` ``(H, W, C)``, checked: ``H, W >= 8``, ``C`` 1 to 4."""

    def __post_init__(self) -> None:
        super().__post_init__()
        shape = self.image_shape  # type: ignore[attr-defined]
        if len(shape) != 3 or min(shape[:2]) < MIN_SIDE or not 1 <= shape[2] <= 4:
            raise SdaeError(f"{type(self).model}: image_shape {list(shape)} must be (H, W, C) "
                            f"with H and W at least {MIN_SIDE} and 1 to 4 channels")


def _double_conv(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(n_out, n_out, 3, padding=1), nn.ReLU(inplace=True),
    )  # fmt: skip


@dataclass(frozen=True)
class ConvAutoencoderSpec(_ImageSpec):
    """:class:`ConvAutoencoder`'s shape: channels at full resolution, pixels copied or not,
    the images'."""

    width: int = 32
    passthrough: bool = True
    image_shape: tuple[int, ...] = _shape_field()
    prefill: bool = field(default=False, metadata={"added": True})


def adaptive_mean(img: torch.Tensor, suspect: torch.Tensor) -> torch.Tensor:
    """The adaptive-mean estimate of every pixel of ``img: [N, C, H, W]`` from its clean
    neighbours (``suspect``: bool, same shape, the pixels impulse noise may have set): the
    mean of the pixels not suspect in the smallest of the 3x3, 5x5, 7x7 windows around it
    (each channel alone; outside the image counts as suspect) that holds any, else 0.5.
    The switching median's idea with a mean, which a network then refines."""
    known = (~suspect).to(img.dtype)
    both = torch.cat([img * known, known], 1)
    est = torch.full_like(img, 0.5)
    c = img.shape[1]
    for k in reversed(PREFILL_SIZES):  # the smaller window wins where it has any
        sums = F.avg_pool2d(both, k, stride=1, padding=k // 2)  # both / k^2: the ratio holds
        total, count = sums[:, :c], sums[:, c:]
        est = torch.where(count > 0, total / count.clamp_min(1e-12), est)
    return est


@register(ConvAutoencoderSpec)
class ConvAutoencoder(nn.Module):
    """A convolutional denoising autoencoder: a two-level U-Net (Ronneberger et al., 2015),
    28 -> 14 -> 7 and back on 28x28 images, with skip connections; ``width`` channels at
    full resolution, doubling at each level. Images whose sides are not multiples of 4 are
    padded (edge pixels repeated) to the next multiple and cropped back.

    Same interface as :class:`Autoencoder`: ``forward`` maps ``x: [N, D]`` in [0, 1] to
    reconstruction logits ``[N, D]`` (trained with the same cross-entropy, equation 2) and
    ``reconstruct`` to the image. Colour images: each channel has its own suspect channel
    and output; the network sees all of them together.

    Impulse noise (salt-and-pepper, masking) sets a pixel to exactly 0 or 1, so a pixel
    strictly between them is certainly clean. The network sees that as a second input
    channel ("suspect": the pixel is 0 or 1), and with ``passthrough=True`` (sdae's choice
    for those noises) it predicts only the suspect pixels and copies the others, as a
    switching median filter does. With ``passthrough=False`` (Gaussian noise, which moves
    every pixel) it predicts every pixel. Inputs whose noise was smeared (e.g. by JPEG
    compression) have few exact 0/1 pixels and are then mostly copied, not denoised.

    ``prefill=True`` (sdae's blind photo denoiser) gives the network a third input per
    channel, :func:`adaptive_mean` (the mean of the clean pixels nearby), and adds the
    network's output to that estimate's logit: the untrained model (its last layer starts
    at zero) is the adaptive-mean filter, and training learns only the correction. It
    reaches 3 pixels further (:attr:`receptive_radius`).
    """

    def __init__(self, width: int = 32, passthrough: bool = True,
                 image_shape: tuple[int, ...] = GREY28, prefill: bool = False) -> None:  # fmt: skip
        super().__init__()
        spec = self.spec = ConvAutoencoderSpec(width, passthrough, image_shape, prefill)
        self.width, self.passthrough = spec.width, spec.passthrough
        self.image_shape, self.prefill = spec.image_shape, spec.prefill
        w, c = spec.width, spec.image_shape[2]
        self.enc1, self.enc2, self.bottom = (
            _double_conv((3 if prefill else 2) * c, w),
            _double_conv(w, 2 * w),
            _double_conv(2 * w, 4 * w),
        )
        self.up2, self.dec2 = (
            nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2),
            _double_conv(4 * w, 2 * w),
        )
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), _double_conv(2 * w, w)
        self.head = nn.Conv2d(w, c, 1)
        if prefill:  # start as the adaptive mean
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def receptive_radius(self) -> int:
        """How many pixels away an output pixel's inputs may lie (the prefill's 7x7 window
        adds 3 to the U-Net's)."""
        return UNET_RADIUS + (max(PREFILL_SIZES) // 2 if self.prefill else 0)

    @staticmethod
    def suspect(x: torch.Tensor) -> torch.Tensor:
        """``x: [N, D]`` -> bool ``[N, D]``: the pixels impulse noise may have set."""
        return (x == 0) | (x == 1)

    def _net_logits(self, x: torch.Tensor, suspect: torch.Tensor) -> torch.Tensor:
        shape = self.image_shape
        return flat(self._body(as_nchw(x, shape), as_nchw(suspect, shape)))

    def _body(self, pixels: torch.Tensor, suspect: torch.Tensor,
              channels_last: bool = False) -> torch.Tensor:  # fmt: skip
        """The U-Net on ``pixels: [N, C, H, W]`` and their ``suspect`` flags (bool, same
        shape), given as ``2 C`` channels (pixels, then flags; with :attr:`prefill`, then
        the adaptive mean), padded to multiples of 4 (edge pixels repeated) and cropped
        back: logits ``[N, C, H, W]``."""
        parts = [pixels, suspect.to(pixels.dtype)]
        if self.prefill:
            parts.append(adaptive_mean(pixels, suspect))
        img = torch.cat(parts, 1)
        if channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        logits = self._unet(img)
        if self.prefill:
            logits = logits + torch.logit(parts[2].clamp(1 / 1024, 1 - 1 / 1024))
        return logits

    def _unet(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        pad = (0, -w % 4, 0, -h % 4)
        if any(pad):
            img = F.pad(img, pad, mode="replicate")
        e1 = self.enc1(img)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)[:, :, :h, :w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits ``[N, D]``; a copied pixel's logit is ``logit(x)``, so its
        cost is the least possible and gives no gradient."""
        suspect = self.suspect(x)
        logits = self._net_logits(x, suspect)
        if not self.passthrough:
            return logits
        return torch.where(suspect, logits, torch.logit(x.clamp(1e-6, 1 - 1e-6)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The denoised images ``[N, D]`` in [0, 1]: copied pixels exactly as given."""
        suspect = self.suspect(x)
        z = torch.sigmoid(self._net_logits(x, suspect))
        return torch.where(suspect, z, x) if self.passthrough else z

    @torch.no_grad()
    def denoise_nchw(self, img: torch.Tensor) -> torch.Tensor:
        """The denoised images ``[N, C, H, W]`` in [0, 1] of ``img: [N, C, H, W]`` in [0, 1]
        of any size (``C`` the model's channels): the fully convolutional network run at the
        images' own size, whatever ``image_shape`` it was trained at (:meth:`reconstruct`'s
        result for images of that shape). Copied pixels exactly as given."""
        if img.dim() != 4 or img.shape[1] != self.image_shape[2]:
            raise ValueError(f"expected a [N, {self.image_shape[2]}, H, W] batch, got "
                             f"{list(img.shape)}")  # fmt: skip
        suspect = self.suspect(img)
        # channels-last convolutions: ~1.8x faster on CPU here
        z = torch.sigmoid(self._body(img, suspect, channels_last=img.device.type == "cpu"))
        return torch.where(suspect, z, img) if self.passthrough else z


@dataclass(frozen=True)
class SmallCNNSpec(_ImageSpec):
    """:class:`SmallCNN`'s shape: classes, channels of the first convolution, the images'."""

    n_classes: int = 10
    width: int = 32
    image_shape: tuple[int, ...] = _shape_field()


@register(SmallCNNSpec)
class SmallCNN(nn.Module):
    """Two 3x3 conv blocks and a dense layer: the CNN baseline of Table X.

    Input ``[N, D]`` (viewed as ``[N, C, H, W]``), output logits ``[N, n_classes]``.
    """

    def __init__(self, n_classes: int = 10, width: int = 32,
                 image_shape: tuple[int, ...] = GREY28) -> None:  # fmt: skip
        super().__init__()
        spec = self.spec = SmallCNNSpec(n_classes, width, image_shape)
        (h, w_img, c), w = spec.image_shape, spec.width
        self.features = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * w * (h // 4) * (w_img // 4), 128),
            nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, spec.n_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, D]`` -> class logits ``[N, n_classes]``."""
        return self.classifier(self.features(as_nchw(x, self.spec.image_shape)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class indices ``[N]``."""
        return self(x).argmax(dim=1)


def _conv_bn(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out),
            nn.ReLU(inplace=True)]  # fmt: skip


@dataclass(frozen=True)
class DeepCNNSpec(_ImageSpec):
    """:class:`DeepCNN`'s shape: classes, channels of the first block, the images'."""

    n_classes: int = 10
    width: int = 32
    image_shape: tuple[int, ...] = _shape_field()


@register(DeepCNNSpec)
class DeepCNN(nn.Module):
    """The CNN baseline of Table X, strong enough to stand beside the paper's 93.43 %: two
    blocks of two 3x3 convolutions with batch normalisation (``width`` then ``2 width``
    channels), each followed by 2x2 max pooling, then a dense layer of 256 with dropout.

    Input ``[N, D]`` (viewed as ``[N, C, H, W]``), output logits ``[N, n_classes]``. Its
    convolutions run in channels-last memory (``to_channels_last``): ~1.25x faster here.
    """

    def __init__(self, n_classes: int = 10, width: int = 32,
                 image_shape: tuple[int, ...] = GREY28) -> None:  # fmt: skip
        super().__init__()
        spec = self.spec = DeepCNNSpec(n_classes, width, image_shape)
        (h, w_img, c), w = spec.image_shape, spec.width
        self.features = nn.Sequential(
            *_conv_bn(c, w), *_conv_bn(w, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), *_conv_bn(2 * w, 2 * w), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * w * (h // 4) * (w_img // 4), 256),
            nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(256, spec.n_classes),
        )  # fmt: skip

    def to_channels_last(self) -> DeepCNN:
        return self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, D]`` -> class logits ``[N, n_classes]``."""
        return self.classifier(self.features(as_nchw(x, self.spec.image_shape)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class indices ``[N]``."""
        return self(x).argmax(dim=1)
