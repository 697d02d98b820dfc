"""The networks: one-layer autoencoder, stacked autoencoder and softmax classifier on its code,
each built from the spec it keeps (``model.spec``, :mod:`sdae.nn.spec`).

Notation follows the paper (§II.A-C, §IV.B): an autoencoder maps x to y = s(W x + b) and
back to z = s(W' y + b'), s the logistic sigmoid. Decoders return *logits* (W' y + b') so that
the cross-entropy is computed stably from them; ``reconstruct`` applies the sigmoid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from sdae.nn.spec import ModelSpec, register


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw from ``seed`` (weights, dropout) without touching the global random state, on the
    CPU and on the current CUDA device."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class AutoencoderSpec(ModelSpec):
    """:class:`Autoencoder`'s shape: ``n_in -> n_hidden -> n_in``, W' tied to W^T or not."""

    n_in: int
    n_hidden: int
    tied: bool = False


@register(AutoencoderSpec)
class Autoencoder(nn.Module):
    """One sigmoid autoencoder ``n_in -> n_hidden -> n_in`` (paper §IV.B).

    ``tied=True`` uses W' = W^T (one weight matrix, two biases); the default, like the paper's
    four parameters W, W', b, b', unties them. Weights: PyTorch's default ``nn.Linear`` init.
    """

    def __init__(self, n_in: int, n_hidden: int, tied: bool = False) -> None:
        super().__init__()
        spec = self.spec = AutoencoderSpec(n_in, n_hidden, tied)
        self.n_in, self.n_hidden, self.tied = spec.n_in, spec.n_hidden, spec.tied
        self.encoder = nn.Linear(spec.n_in, spec.n_hidden)
        if spec.tied:
            self.decoder_bias = nn.Parameter(torch.zeros(spec.n_in))
        else:
            self.decoder = nn.Linear(spec.n_hidden, spec.n_in)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, n_in]`` -> code ``y = s(W x + b): [N, n_hidden]``."""
        return torch.sigmoid(self.encoder(x))

    def decode_logits(self, y: torch.Tensor) -> torch.Tensor:
        """``y: [N, n_hidden]`` -> logits ``W' y + b': [N, n_in]``."""
        if self.tied:
            return F.linear(y, self.encoder.weight.t(), self.decoder_bias)
        return self.decoder(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction logits ``[N, n_in]``; the reconstruction is their sigmoid."""
        return self.decode_logits(self.encode(x))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``z = s(W' s(W x + b) + b')``, ``[N, n_in]`` in (0, 1)."""
        return torch.sigmoid(self(x))


@dataclass(frozen=True)
class StackedAutoencoderSpec(ModelSpec):
    """:class:`StackedAutoencoder`'s shape: the code sizes ``(784, ..., n)``, tied or not."""

    sizes: tuple[int, ...]
    tied: bool = False


@register(StackedAutoencoderSpec)
class StackedAutoencoder(nn.Module):
    """Autoencoders stacked as in paper §II.C: layer k encodes the code of layer k - 1.

    ``sizes = (784, 500, 200, 100)`` makes three autoencoders 784-500-784, 500-200-500 and
    200-100-200. Encoding runs the encoders in order (equations 3-4); decoding runs the
    decoders in reverse order (equations 5-6).
    """

    def __init__(self, sizes: Sequence[int], tied: bool = False) -> None:
        super().__init__()
        spec = self.spec = StackedAutoencoderSpec(sizes, tied)
        self.sizes = spec.sizes
        self.layers = nn.ModuleList(
            Autoencoder(a, b, spec.tied) for a, b in zip(spec.sizes[:-1], spec.sizes[1:])
        )

    def encode(self, x: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """``x: [N, sizes[0]]`` -> the code ``a(depth)`` of the first ``depth`` layers
        (all by default): ``[N, sizes[depth]]``."""
        for layer in self.layers[:depth]:
            x = layer.encode(x)
        return x

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Encode through every layer, decode back in reverse order: ``[N, sizes[0]]``."""
        y = self.encode(x)
        for layer in reversed(self.layers):
            y = torch.sigmoid(layer.decode_logits(y))
        return y


@dataclass(frozen=True)
class StackedClassifierSpec(ModelSpec):
    """:class:`StackedClassifier`'s shape: its stack's sizes and ties, and the classes."""

    sizes: tuple[int, ...]
    tied: bool = False
    n_classes: int = 10


@register(StackedClassifierSpec)
class StackedClassifier(nn.Module):
    """Stacked encoders with a softmax layer on the deepest code ``a(n)`` (paper Fig. 4).

    ``StackedClassifier(sizes, tied, n_classes)`` draws the stack's weights, then the softmax
    layer's; :meth:`from_stack` puts a softmax layer on a stack built (and pretrained) before.
    ``forward`` returns class logits ``[N, n_classes]``; the softmax is in the cross-entropy.
    """

    def __init__(self, sizes: Sequence[int], tied: bool = False, n_classes: int = 10) -> None:
        if isinstance(sizes, StackedAutoencoder):
            raise TypeError("StackedClassifier takes (sizes, tied, n_classes); to put a softmax "
                            "layer on a built stack use StackedClassifier.from_stack(stack)")
        super().__init__()
        spec = self.spec = StackedClassifierSpec(sizes, tied, n_classes)
        self.stack = StackedAutoencoder(spec.sizes, spec.tied)
        self.head = nn.Linear(spec.sizes[-1], spec.n_classes)

    @classmethod
    def from_stack(cls, stack: StackedAutoencoder, n_classes: int = 10) -> StackedClassifier:
        """A softmax layer (its weights drawn now) on ``stack``, which the model then holds."""
        spec = StackedClassifierSpec(stack.spec.sizes, stack.spec.tied, n_classes)
        model = cls.__new__(cls)
        nn.Module.__init__(model)
        model.spec, model.stack = spec, stack
        model.head = nn.Linear(spec.sizes[-1], spec.n_classes)
        return model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: [N, sizes[0]]`` -> class logits ``[N, n_classes]``."""
        return self.head(self.stack.encode(x))

    def body_parameters(self) -> list[nn.Parameter]:
        """The encoders' weights and biases (decoders take no part in classification)."""
        return [p for layer in self.stack.layers for p in layer.encoder.parameters()]

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Class indices ``[N]``."""
        return self(x).argmax(dim=1)
