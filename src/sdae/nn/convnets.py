"""The convolutional networks: sdae's conv DAE (a small U-Net) and the CNN baselines of
Table X (:class:`SmallCNN`, :class:`DeepCNN`). Same interface as :mod:`sdae.nn.models`:
inputs ``[N, 784]`` of 28x28 images in [0, 1], flattened row by row; each network is built
from the spec it keeps (``model.spec``, :mod:`sdae.nn.spec`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from sdae.nn.spec import ModelSpec, register


def _double_conv(n_in: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(n_out, n_out, 3, padding=1), nn.ReLU(inplace=True),
    )  # fmt: skip


@dataclass(frozen=True)
class ConvAutoencoderSpec(ModelSpec):
    """:class:`ConvAutoencoder`'s shape: channels at full resolution, pixels copied or not."""

    width: int = 32
    passthrough: bool = True


@register(ConvAutoencoderSpec)
class ConvAutoencoder(nn.Module):
    """A convolutional denoising autoencoder: a two-level U-Net (Ronneberger et al., 2015)
    on 28x28 images, 28 -> 14 -> 7 and back, with skip connections; ``width`` channels at
    full resolution, doubling at each level.

    Same interface as :class:`Autoencoder`: ``forward`` maps ``x: [N, 784]`` in [0, 1] to
    reconstruction logits ``[N, 784]`` (trained with the same cross-entropy, equation 2) and
    ``reconstruct`` to the image.

    Impulse noise (salt-and-pepper, masking) sets a pixel to exactly 0 or 1, so a pixel
    strictly between them is certainly clean. The network sees that as a second input
    channel ("suspect": the pixel is 0 or 1), and with ``passthrough=True`` (sdae's choice
    for those noises) it predicts only the suspect pixels and copies the others, as a
    switching median filter does. With ``passthrough=False`` (Gaussian noise, which moves
    every pixel) it predicts every pixel. Inputs whose noise was smeared (e.g. by JPEG
    compression) have few exact 0/1 pixels and are then mostly copied, not denoised.
    """

    def __init__(self, width: int = 32, passthrough: bool = True) -> None:
        super().__init__()
        spec = self.spec = ConvAutoencoderSpec(width, passthrough)
        self.width, self.passthrough = spec.width, spec.passthrough
        w = spec.width
        self.enc1, self.enc2, self.bottom = (
            _double_conv(2, w),
            _double_conv(w, 2 * w),
            _double_conv(2 * w, 4 * w),
        )
        self.up2, self.dec2 = (
            nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2),
            _double_conv(4 * w, 2 * w),
        )
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), _double_conv(2 * w, w)
        self.head = nn.Conv2d(w, 1, 1)

    @staticmethod
    def suspect(x: torch.Tensor) -> torch.Tensor:
        """``x: [N, 784]`` -> bool ``[N, 784]``: the pixels impulse noise may have set."""
        return (x == 0) | (x == 1)

    def _net_logits(self, x: torch.Tensor, suspect: torch.Tensor) -> torch.Tensor:
        img = torch.stack([x, suspect.to(x.dtype)], 1).view(-1, 2, 28, 28)
        e1 = self.enc1(img)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        b = self.bottom(F.max_pool2d(e2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1).view(len(x), -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits ``[N, 784]``; a copied pixel's logit is ``logit(x)``, so its
        cost is the least possible and gives no gradient."""
        suspect = self.suspect(x)
        logits = self._net_logits(x, suspect)
        if not self.passthrough:
            return logits
        return torch.where(suspect, logits, torch.logit(x.clamp(1e-6, 1 - 1e-6)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The denoised images ``[N, 784]`` in [0, 1]: copied pixels exactly as given."""
        suspect = self.suspect(x)
        z = torch.sigmoid(self._net_logits(x, suspect))
        return torch.where(suspect, z, x) if self.passthrough else z


@dataclass(frozen=True)
class SmallCNNSpec(ModelSpec):
    """:class:`SmallCNN`'s shape: classes, and channels of the first convolution."""

    n_classes: int = 10
    width: int = 32


@register(SmallCNNSpec)
class SmallCNN(nn.Module):
    """Two 3x3 conv blocks and a dense layer: the CNN baseline of Table X.

    Input ``[N, 784]`` (reshaped to ``[N, 1, 28, 28]``), output logits ``[N, 10]``.
    """

    def __init__(self, n_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        spec = self.spec = SmallCNNSpec(n_classes, width)
        w = spec.width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * w * 49, 128), nn.ReLU(),
            nn.Dropout(0.25), nn.Linear(128, spec.n_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, 784]`` -> class logits ``[N, n_classes]``."""
        return self.classifier(self.features(x.view(-1, 1, 28, 28)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class indices ``[N]``."""
        return self(x).argmax(dim=1)


def _conv_bn(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out),
            nn.ReLU(inplace=True)]  # fmt: skip


@dataclass(frozen=True)
class DeepCNNSpec(ModelSpec):
    """:class:`DeepCNN`'s shape: classes, and channels of the first block."""

    n_classes: int = 10
    width: int = 32


@register(DeepCNNSpec)
class DeepCNN(nn.Module):
    """The CNN baseline of Table X, strong enough to stand beside the paper's 93.43 %: two
    blocks of two 3x3 convolutions with batch normalisation (``width`` then ``2 width``
    channels), each followed by 2x2 max pooling, then a dense layer of 256 with dropout.

    Input ``[N, 784]`` (viewed as ``[N, 1, 28, 28]``), output logits ``[N, 10]``. Its
    convolutions run in channels-last memory (``to_channels_last``): ~1.25x faster here.
    """

    def __init__(self, n_classes: int = 10, width: int = 32) -> None:
        super().__init__()
        spec = self.spec = DeepCNNSpec(n_classes, width)
        w = spec.width
        self.features = nn.Sequential(
            *_conv_bn(1, w), *_conv_bn(w, w), nn.MaxPool2d(2),
            *_conv_bn(w, 2 * w), *_conv_bn(2 * w, 2 * w), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(2 * w * 49, 256), nn.ReLU(inplace=True),
            nn.Dropout(0.3), nn.Linear(256, spec.n_classes),
        )  # fmt: skip

    def to_channels_last(self) -> DeepCNN:
        return self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, 784]`` -> class logits ``[N, n_classes]``."""
        return self.classifier(self.features(x.view(-1, 1, 28, 28)))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class indices ``[N]``."""
        return self(x).argmax(dim=1)
