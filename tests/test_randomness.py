"""Randomness as documented: named, independent streams, and bit-identical reruns."""
import json

import pytest
import torch
from safetensors.torch import load_file

import sdae.nn.augment
import sdae.nn.training
from sdae.config.flags import from_flags
from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.nn.models import Autoencoder, StackedAutoencoder, StackedClassifier, seeded
from sdae.nn.training import finetune, pretrain_stack
from sdae.rng import Streams, derive_seed
from sdae.runs.sae import run_sae


def record(monkeypatch, name, module=sdae.nn.training):
    """Record the arguments and result of ``module.<name>`` at every call."""
    calls, original = [], getattr(module, name)

    def spy(x, *args, **kwargs):
        out = original(x, *args, **kwargs)
        calls.append((x.clone(), out.clone()))
        return out

    monkeypatch.setattr(module, name, spy)
    return calls


def data(n=12, d=784, seed=0):
    return torch.rand(n, d, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("stream", ["fast16", "torch"])
@pytest.mark.parametrize("noise", ["salt-and-pepper", "salt-and-pepper-fresh", "masking"])
def test_batch_size_does_not_change_the_noise_of_an_image_order(monkeypatch, noise, stream):
    x, seen = data(d=783), {}  # 783 pixels: a batch's draws are no whole number of words
    for batch, iterations in ((4, 6), (6, 4)):  # two epochs of 12 images each way
        calls = record(monkeypatch, "corrupt")
        with seeded(0):
            model = Autoencoder(783, 8)
        s = AutoencoderTraining(iterations=iterations, batch_size=batch, noise=noise,
                                noise_level=0.3, noise_stream=stream)  # fmt: skip
        sdae.nn.training.train_autoencoder(model, x, s, Streams(5, "train-"))
        seen[batch] = (torch.cat([c for c, _ in calls]), torch.cat([n for _, n in calls]))
        monkeypatch.undo()
    assert torch.equal(seen[4][0], seen[6][0])  # the same images in the same order ...
    assert torch.equal(seen[4][1], seen[6][1])  # ... got exactly the same noise
    assert not torch.equal(seen[4][0], seen[4][1])


def layer_masks(monkeypatch, iterations_layer1):
    calls = record(monkeypatch, "corrupt")
    with seeded(0):
        stack = StackedAutoencoder((784, 20, 10))
    schedule = [AutoencoderTraining(lr=0.01, iterations=n, noise="masking", noise_level=0.3)
                for n in (iterations_layer1, 3)]  # fmt: skip
    pretrain_stack(stack, data(), schedule, Streams(1))
    monkeypatch.undo()
    # codes are sigmoids, never exactly 0: a 0 after corruption is the mask
    return [noisy == 0 for x, noisy in calls if x.shape[1] == 20]


def test_layer_one_iterations_do_not_change_layer_two_noise(monkeypatch):
    short, long = layer_masks(monkeypatch, 2), layer_masks(monkeypatch, 9)
    assert len(short) == len(long) == 3
    assert all(torch.equal(a, b) for a, b in zip(short, long))
    assert 0.2 < short[0].float().mean() < 0.4


def test_input_dropout_does_not_change_minibatches_or_augmentation(monkeypatch):
    x, y = data(30), torch.arange(30) % 10
    runs = []
    for dropout in (0.1, 0.4):
        calls = record(monkeypatch, "augment", sdae.nn.augment)
        with seeded(0):
            model = StackedClassifier((784, 6))
        s = Finetuning(iterations=6, batch_size=8, augment=("flip",), input_dropout=dropout)
        finetune(model, x, y, s, rng=Streams(2, "finetune-"))
        runs.append(calls)
        monkeypatch.undo()
    for (xa, fa), (xb, fb) in zip(*runs):
        assert torch.equal(xa, xb) and torch.equal(fa, fb)


def test_streams_are_independent_and_named():
    a, b = Streams(0).generator("train-noise"), Streams(0).generator("test-noise")
    assert not torch.equal(torch.rand(8, generator=a), torch.rand(8, generator=b))
    assert Streams(0, "train-").generator("noise").initial_seed() == derive_seed(0, "train-noise")
    assert Streams(0).sub("pretrain1-").prefix == "pretrain1-"


def test_same_seeds_give_bit_identical_runs(tmp_path, fmnist):
    config = from_flags("sae", {"arch": "784-24", "protocol": "mini", "labels_per_class": 3,
                                "pretrain_iterations": (15,), "pretrain_batch_size": 50,
                                "pretrain_noise_level": 0.2, "finetune_iterations": 20,
                                "finetune_batch_size": 10, "augment": "shift,flip",
                                "input_dropout": 0.1, "seed": 7, "labels_seed": 3})  # fmt: skip
    for name in ("a", "b"):
        run_sae(config, tmp_path / name)
    metrics = [json.loads((tmp_path / n / "metrics.json").read_text()) for n in "ab"]
    for m in metrics:
        m.pop("train_seconds")
    assert metrics[0] == metrics[1]
    weights = [load_file(tmp_path / n / "model.safetensors") for n in "ab"]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
