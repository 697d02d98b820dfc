"""Randomness: seeds checked once, and named, independent random streams derived from them.

A run draws from several streams: the weights, the minibatch order, the training noise,
the label draw, the augmentations, dropout and the test noise. Each gets its own generator,
seeded from the run's seed and the stream's name (:func:`derive_seed`), so drawing more of
one stream never shifts another: a larger batch size leaves the noise drawn for each image
unchanged, and more pretraining iterations of layer 1 leave layer 2's noise unchanged.

Stream names (prefix + name) used by sdae, all derived from ``--seed``:

=====================  ==========================================================
``train-noise``        the DAE's training noise (``train-batches``: its minibatch order;
                       ``train-noise-levels``: each image's level, from a range;
                       ``train-crops``: its random crops, with ``--patch-size``)
``pretrain<k>-noise``  layer k's corruption while pretraining (``-batches``: its order)
``finetune-batches``   fine-tuning minibatch order (``-augment``, ``-dropout``: the rest)
``cnn-batches``        the CNN baseline's minibatch order (``cnn-dropout``: its dropout)
``test-noise``         the noise on the test images (``test-crops``: where a patch-trained
                       DAE's test crops lie)
=====================  ==========================================================

The weights are drawn from ``--seed`` itself (:func:`sdae.nn.models.seeded`), the label draw
from ``--labels-seed`` and the paper's subsets from ``--data-seed`` (numpy generators).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sdae.errors import SdaeError

SEED_LIMIT = 2**63  # seeds are integers in [0, 2**63): every generator we use accepts them


def check_seed(seed: object, what: str = "seed") -> None:
    """Raise :class:`SdaeError` unless ``seed`` is an integer in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise SdaeError(f"{what} {seed!r}: a seed must be a whole number from 0 to 2**63 - 1")


def derive_seed(seed: int, stream: str) -> int:
    """An independent seed in [0, 2**63) for one named stream of a run (SHA-256 of both)."""
    digest = hashlib.sha256(f"{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class Streams:
    """The random streams of one part of a run: ``generator(name)`` is seeded by
    ``derive_seed(seed, prefix + name)``, a fresh ``torch.Generator`` on ``device``."""

    seed: int
    prefix: str = ""
    device: str = "cpu"

    def __post_init__(self) -> None:
        check_seed(self.seed)

    def generator(self, name: str):
        import torch  # here, so that checking a seed needs no torch

        gen = torch.Generator(device=self.device)
        return gen.manual_seed(derive_seed(self.seed, self.prefix + name))

    def sub(self, prefix: str) -> Streams:
        """The streams of a part of this part (e.g. one layer of a stack)."""
        return Streams(self.seed, self.prefix + prefix, self.device)


def streams(seed_or_streams: int | Streams, prefix: str = "", device: str = "cpu") -> Streams:
    """``Streams`` from a seed, or the given ``Streams`` unchanged (library convenience)."""
    if isinstance(seed_or_streams, Streams):
        return seed_or_streams
    return Streams(seed_or_streams, prefix, device)
