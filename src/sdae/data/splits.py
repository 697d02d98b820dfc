"""The images a run trains and tests on, as tensors: a protocol's training and test sets
(:func:`protocol_splits`) and the labelled draw from the pool (:func:`labelled_indices`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from sdae.data.fashion_mnist import FILES, FashionMNIST, load_fashion_mnist
from sdae.data.protocols import PROTOCOLS, stratified_indices
from sdae.data.sources import Dataset, load_dataset
from sdae.errors import SdaeError


@dataclass(frozen=True)
class Split:
    """Images as float32 ``x: [N, D]`` in [0, 1] (``D = 784`` for Fashion-MNIST), labels
    ``y: [N]`` int64, and the indices ``index: [N]`` of the images in the original split;
    for a training set, the source's unlabelled images ``unlabelled: [U, D]`` if it has some
    (an image folder's ``unlabelled/``), which what learns without labels also reads."""

    x: torch.Tensor
    y: torch.Tensor
    index: np.ndarray
    unlabelled: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def pool(self) -> torch.Tensor:
        """``[N + U, D]``: the images, then the unlabelled ones: what pretraining, a DAE and
        ``sdae semi``'s unlabelled term learn from."""
        return self.x if self.unlabelled is None else torch.cat([self.x, self.unlabelled])

    def to(self, device: str | torch.device) -> Split:
        extra = None if self.unlabelled is None else self.unlabelled.to(device)
        return Split(self.x.to(device), self.y.to(device), self.index, extra)


def make_split(images: np.ndarray, labels: np.ndarray, index: np.ndarray | None = None) -> Split:
    if index is None:
        index = np.arange(len(labels))

    return Split(_pixels(images[index]), torch.from_numpy(labels[index].astype(np.int64)), index)


def _pixels(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W(, C)]`` -> float32 ``[N, D]`` in [0, 1]: one row per image, its
    pixels (and channels) in row-major order (784 for Fashion-MNIST)."""
    return torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)


def protocol_splits(data: FashionMNIST | Dataset, protocol: str,
                    seed: int) -> tuple[Split, Split]:  # fmt: skip
    """The training and test sets of a protocol: ``paper`` (600 / 60 images per class, drawn
    by ``seed``), ``full`` (every image: 60000 / 10000 of Fashion-MNIST) or ``mini`` (100 /
    30 per class, for previews), of Fashion-MNIST or any :class:`~sdae.data.sources.Dataset`
    whose classes have that many images."""
    if protocol not in PROTOCOLS:
        raise SdaeError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    n_train, n_test = PROTOCOLS[protocol]
    rng = np.random.default_rng(seed)
    train_seed, test_seed = (int(s) for s in rng.integers(0, 2**31, size=2))
    train_idx = test_idx = None
    if n_train is not None:
        fewest = min(np.bincount(data.train_labels).min() / n_train,
                     np.bincount(data.test_labels).min() / n_test)
        if fewest < 1:
            raise SdaeError(f"the {protocol} protocol takes {n_train} training and {n_test} test "
                            f"images per class, more than this data set has of some class; use "
                            "--protocol full, or mini")  # fmt: skip
        train_idx = stratified_indices(data.train_labels, n_train, train_seed)
        test_idx = stratified_indices(data.test_labels, n_test, test_seed)
    train = make_split(data.train_images, data.train_labels, train_idx)
    extra = getattr(data, "unlabelled_images", None)
    if extra is not None and len(extra):
        train = Split(train.x, train.y, train.index, _pixels(extra))
    return train, make_split(data.test_images, data.test_labels, test_idx)


def load_splits(protocol: str, data_seed: int, device: str, data_dir=None, download=True,
                source: str = "fashion-mnist", image_size=None) -> tuple[Split, Split]:
    """The protocol's training and test sets of ``source`` (an image folder's at
    ``image_size``) on ``device`` (``data_seed`` draws the subsets, and the digits' split)."""
    if source == "fashion-mnist":
        data = load_fashion_mnist(data_dir, download=download)
    elif source == "denoise-mix":  # reads Fashion-MNIST; built once per data seed
        data = load_dataset(source, data_dir=data_dir, download=download, data_seed=data_seed)
    else:
        data = cached_dataset(source, data_seed, image_size)
    train, test = protocol_splits(data, protocol, data_seed)
    return train.to(device), test.to(device)


def cached_dataset(source: str, data_seed: int = 0, image_size=None) -> Dataset:
    """:func:`~sdae.data.sources.load_dataset` once per process for each source: a reproduce
    run reads its data for every experiment."""
    return _cached(source, data_seed, None if image_size is None else tuple(image_size))


@functools.lru_cache(maxsize=2)
def _cached(source: str, data_seed: int, image_size: tuple[int, ...] | None) -> Dataset:
    return load_dataset(source, data_seed=data_seed, image_size=image_size)


def source_digests(source: str, data_seed: int = 0, image_size=None) -> dict[str, str]:
    """The SHA-256 of what ``source`` is read from, by file name: Fashion-MNIST's verified
    files, or the digests a user's source recorded when it was read."""
    if source == "fashion-mnist":
        return {name: digest for name, (digest, _) in FILES.items()}
    return dict(cached_dataset(source, data_seed, image_size).sha256)


def labelled_indices(pool: Split, labels_per_class: int | None, labels_seed: int) -> np.ndarray:
    """Positions in ``pool`` of the labelled images: ``labels_per_class`` of each class,
    drawn stratified by ``labels_seed`` (independent of the weights' seed), or all (None)."""
    if labels_per_class is None:
        return np.arange(len(pool))
    counts = np.bincount(pool.y.cpu().numpy())
    if labels_per_class > counts.min():
        raise SdaeError(
            f"--labels-per-class {labels_per_class} is more than the {int(counts.min())} "
            f"images per class in the {len(pool)}-image pool; ask for fewer, or use "
            "--protocol full"
        )
    return stratified_indices(pool.y.cpu().numpy(), labels_per_class, labels_seed)
