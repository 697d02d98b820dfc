"""Input corruption: the paper's salt-and-pepper noise, and Vincent et al.'s other kinds.

Every function takes a clean batch ``x: [N, D]`` in [0, 1], a level, and a seeded
``torch.Generator``, and returns a new corrupted tensor of the same shape; ``x`` is unchanged.

Salt-and-pepper (paper §IV.B pseudo-code)::

    thres = 1 - prob
    if rnd < prob:   image[i][j] = 1
    elif rnd > thres: image[i][j] = 0

The pseudo-code is ambiguous about ``rnd``:

* ``salt-and-pepper`` (default, "one-draw" reading): one uniform draw per pixel serves both
  tests, so a pixel becomes 1 with probability p, 0 with probability p, and keeps its value
  with probability 1 - 2p. At p = 0.5 every pixel is replaced: the image carries no
  information and the best any denoiser can do is the mean image.
* ``salt-and-pepper-fresh`` ("fresh-draw" reading): each test draws anew, so a pixel becomes
  1 with probability p, 0 with probability (1 - p) p, and is kept with probability (1 - p)^2.
  At p = 0.5 a quarter of the pixels survive.

Also, as in Vincent et al. (2010, §4.2): ``masking`` sets each pixel to 0 with probability
``level``; ``gaussian`` adds N(0, level^2) noise and clips to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from sdae.settings import NOISE_LEVELS, check_noise  # noqa: F401  (importable from here)

NoiseFn = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


def _uniform(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    # Drawn on the generator's device, then moved, so a CPU generator works for CUDA data.
    return torch.rand(x.shape, generator=generator, device=generator.device).to(x.device)


def salt_and_pepper(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """One-draw reading of the paper's pseudo-code: P(1) = p, P(0) = p, P(kept) = 1 - 2p."""
    r = _uniform(x, generator)
    return x.masked_fill(r < p, 1.0).masked_fill_(r > 1.0 - p, 0.0)


def salt_and_pepper_fresh(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Fresh-draw reading: P(1) = p, P(0) = (1 - p) p, P(kept) = (1 - p)^2."""
    # both draws of an image are made together, so a batch's draws do not depend on how
    # the images are split into batches
    r = torch.rand((len(x), 2, *x.shape[1:]), generator=generator, device=generator.device)
    r1, r2 = r.to(x.device).unbind(1)
    return x.masked_fill(r2 > 1.0 - p, 0.0).masked_fill_(r1 < p, 1.0)


def masking(x: torch.Tensor, level: float, generator: torch.Generator) -> torch.Tensor:
    """Masking noise: each pixel set to 0 with probability ``level``."""
    return x.masked_fill(_uniform(x, generator) < level, 0.0)


def gaussian(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Additive isotropic Gaussian noise of standard deviation ``sigma``, clipped to [0, 1]."""
    z = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device)
    return (x + sigma * z).clamp_(0.0, 1.0)


# name -> (function, lowest level, highest level); the ranges live in sdae.settings
_FUNCTIONS: dict[str, NoiseFn] = {
    "salt-and-pepper": salt_and_pepper,
    "salt-and-pepper-fresh": salt_and_pepper_fresh,
    "masking": masking,
    "gaussian": gaussian,
}
NOISES: dict[str, tuple[NoiseFn, float, float]] = {
    name: (fn, *NOISE_LEVELS[name]) for name, fn in _FUNCTIONS.items()
}


def corrupt(x: torch.Tensor, kind: str, level: float, generator: torch.Generator) -> torch.Tensor:
    """Apply the noise ``kind`` at ``level`` to ``x: [N, D]``; level 0 returns ``x`` itself."""
    check_noise(kind, level)
    if level == 0:
        return x
    return NOISES[kind][0](x, level, generator)
