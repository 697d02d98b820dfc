"""Square crops of images: how the conv DAE trains on images larger than its patches
(``sdae dae --patch-size``) and the fixed crops it is then scored on.

Images come as ``x: [N, D]`` of ``shape`` ``(H, W)`` or ``(H, W, C)``, flattened row by row
with the channels last (``D = H W C``); a crop of side ``size`` is ``[size * size * C]``
in the same layout, so a batch of crops is again ``[N, D']`` for any model of sdae.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from sdae.errors import SdaeError
from sdae.nn.augment import image_shape


def crop_offsets(n: int, shape: Sequence[int], size: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``(top [n], left [n])``: where ``n`` crops of side ``size`` start, each position of
    the image equally likely (drawn on the generator's device: top first, then left)."""
    h, w, _ = image_shape(shape)
    if not 1 <= size <= min(h, w):
        raise SdaeError(f"a {size}x{size} crop does not fit in {h}x{w} images")
    dev = generator.device
    top = torch.randint(0, h - size + 1, (n,), generator=generator, device=dev)
    left = torch.randint(0, w - size + 1, (n,), generator=generator, device=dev)
    return top, left


def crop(x: torch.Tensor, shape: Sequence[int], size: int, top: torch.Tensor,
         left: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The ``size x size`` crop of image ``i`` of ``x`` whose top-left pixel is ``(top[i],
    left[i])``: ``[N, H W C] -> [N, size size C]``."""
    h, w, c = image_shape(shape)
    img = x.view(len(x), h, w, c)
    span = torch.arange(size, device=x.device)
    rows = (top.to(x.device)[:, None] + span)[:, :, None]  # [N, size, 1]
    cols = (left.to(x.device)[:, None] + span)[:, None, :]  # [N, 1, size]
    batch = torch.arange(len(x), device=x.device)[:, None, None]
    return img[batch, rows, cols].reshape(len(x), size * size * c)


def random_crops(shape: Sequence[int], size: int,
                 generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:  # fmt: skip
    """A training step's transform: one random ``size x size`` crop of each image, at a new
    position every time (``generator``'s draws). ``[B, H W C] -> [B, size size C]``."""

    def transform(x: torch.Tensor) -> torch.Tensor:
        return crop(x, shape, size, *crop_offsets(len(x), shape, size, generator))

    return transform


def fixed_crops(x: torch.Tensor, shape: Sequence[int], size: int, budget: int,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """One seeded crop of each of at most ``budget // (size size C)`` images of ``x``, evenly
    spaced through it (all of them if they fit): ``(indices [M], crops [M, size size C])``,
    a bounded set to score a model on."""
    c = image_shape(shape)[2]
    if not len(x):
        return torch.zeros(0, dtype=torch.long), x.new_zeros((0, size * size * c))
    m = max(1, min(len(x), budget // (size * size * c)))
    index = torch.linspace(0, len(x) - 1, m).round().long().unique()
    return index, crop(x[index.to(x.device)], shape, size,
                       *crop_offsets(len(index), shape, size, generator))  # fmt: skip
