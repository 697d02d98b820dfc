"""``--image-size HxW``: the one size an image folder's images are read at. Torch- and
Pillow-free, so that the command line checks it before anything heavy loads."""

from __future__ import annotations

import re

from sdae.errors import SdaeError

MAX_SIDE = 4096  # of --image-size, and of the images' common size when none is asked
SIZE_HELP = f"give HxW (such as 28x28) or one side (28), each side from 1 to {MAX_SIDE}"


def parse_image_size(text: str) -> tuple[int, int]:
    """``"28x20"`` -> ``(28, 20)`` (height, width); ``"28"`` -> ``(28, 28)``. Anything else,
    a side of 0 or one above :data:`MAX_SIDE` is one :class:`SdaeError` line."""
    found = re.fullmatch(r"\s*([0-9]{1,9})\s*(?:[xX×]\s*([0-9]{1,9})\s*)?", str(text))
    if not found:
        raise SdaeError(f"--image-size {text}: not a size; {SIZE_HELP}")
    h, w = int(found[1]), int(found[2] or found[1])
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise SdaeError(f"--image-size {text}: {h}x{w} is out of range; {SIZE_HELP}")
    return h, w
