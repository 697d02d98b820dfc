"""Data parallelism (torch.distributed, gloo): two local processes give the one-process step
within float tolerance (the autoencoders, fine-tuning, FixMatch), ranks stay in step where
batch norm or dropout make them differ from one process, and under torchrun rank 0 alone
writes the outputs."""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp
from torch import distributed as dist
from torch import nn

from sdae.config.classification import SemiConfig
from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.nn import semi
from sdae.nn.convnets import DeepCNN, SmallCNN
from sdae.nn.distributed import shard
from sdae.nn.models import Autoencoder, StackedClassifier, seeded
from sdae.nn.training import finetune, train_autoencoder, train_classifier

# 7 labelled and 21 pool images a step: both split unevenly over two ranks (4 + 3, 11 + 10),
# so a term weighted by the wrong share would show. Threshold 0.01: every pool image counts
# (a softmax over 10 classes peaks at 0.1 or more), so no rounding flips one between runs.
SEMI = SemiConfig(labels_per_class=2, iterations=4, batch_size=7, unlabelled_ratio=3,
                  width=4, threshold=0.01, ema=0.5, protocol="mini")  # fmt: skip


class PlainCNN(DeepCNN):
    """The DeepCNN without batch norm and dropout, the two things that depend on which rows
    a rank holds: its two-process FixMatch equals one process up to float rounding."""

    def __init__(self, n_classes: int = 10, width: int = 32, image_shape=(28, 28, 1)) -> None:
        super().__init__(n_classes, width, image_shape)
        self.features = nn.Sequential(*[nn.Identity() if isinstance(m, nn.BatchNorm2d) else m
                                        for m in self.features])  # fmt: skip
        for m in self.classifier:
            if isinstance(m, nn.Dropout):
                m.p = 0.0


def _fixmatch(case: str) -> dict[str, torch.Tensor]:
    x, y = _data()
    original = semi.DeepCNN
    semi.DeepCNN = PlainCNN if case == "fixmatch" else DeepCNN
    try:
        teacher, history = semi.fixmatch(x[:20], y[:20], x, SEMI)
    finally:
        semi.DeepCNN = original
    return {**teacher.state_dict(), "history": torch.tensor(history)}


def _data(n=90, d=784, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g)
    return x, (x[:, :10].sum(1) * 2).long() % 10


def _train(case: str) -> dict[str, torch.Tensor]:
    """One small training, the same in every process; its final weights."""
    x, y = _data()
    if case.startswith("dae"):
        tied = case == "dae-minibatch"  # autograd path; the other takes the closed form
        with seeded(0):
            model = Autoencoder(784, 32, tied)
        settings = AutoencoderTraining(
            lr=0.01, iterations=4, optimizer="adam", noise="salt-and-pepper", noise_level=0.2,
            batch_size=32 if tied else 0, fixed_noise=not tied)
        train_autoencoder(model, x, settings, 0)
    elif case.startswith("fixmatch"):
        return _fixmatch(case)
    elif case == "finetune":
        with seeded(0):
            model = StackedClassifier((784, 30, 20))
        finetune(model, x, y, Finetuning(iterations=5), rng=1)
    else:  # a CNN with dropout: no equality with one process, but ranks stay in step
        with seeded(0):
            model = SmallCNN()
        train_classifier(model, x, y, [(list(model.parameters()), 1e-3)], iterations=3,
                         optimizer="adam", rng=2, batch_size=30)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _worker(rank: int, world: int, init: str, out: str, case: str) -> None:
    torch.set_num_threads(1)  # two ranks on two cores (the parent's setting is left alone)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
    try:
        torch.save(_train(case), os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _two_ranks(tmp_path, case):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path), case), nprocs=2)
    return [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]


@pytest.mark.parametrize("case", ["dae-full-batch", "dae-minibatch", "finetune", "fixmatch"])
def test_two_processes_equal_one(tmp_path, case):
    one = _train(case)
    for weights in _two_ranks(tmp_path, case):
        for k, v in one.items():
            torch.testing.assert_close(weights[k], v, rtol=1e-4, atol=1e-5, msg=k)
    assert not torch.equal(one[next(iter(one))], _untrained(case)[next(iter(one))])


def _untrained(case):
    with seeded(0 if case != "fixmatch" else SEMI.seed):
        if case.startswith("dae"):
            return Autoencoder(784, 32, case == "dae-minibatch").state_dict()
        if case == "fixmatch":
            return PlainCNN(width=SEMI.width).state_dict()
        return StackedClassifier((784, 30, 20)).state_dict()


@pytest.mark.parametrize("case", ["cnn", "fixmatch-batch-norm"])
def test_ranks_stay_in_step_with_dropout_and_batch_norm(tmp_path, case):
    """Each rank drops its own units and normalises its own rows, yet every rank ends with
    the same weights, the same running statistics (rank 0's) and the same cost history."""
    a, b = _two_ranks(tmp_path, case)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_shards_cover_the_rows_once():
    """One process: all rows. (The split over ranks is checked by the tests above, which
    would differ from one process if a row were lost or counted twice.)"""
    assert shard(7) == slice(0, 7)


def test_torchrun_rank0_writes_and_matches_one_process(tmp_path, fmnist):
    common = ["dae", "--protocol", "mini", "--iterations", "5", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = tmp_path / "two"
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                    "--master-port", "29517", "-m", "sdae", *common, "--out", str(two)],
                   check=True, env=env, capture_output=True, timeout=300)  # fmt: skip
    one = tmp_path / "one"
    subprocess.run([sys.executable, "-m", "sdae", *common, "--out", str(one)], check=True,
                   env=env, capture_output=True, timeout=300)  # fmt: skip
    m2 = json.loads((two / "metrics.json").read_text())
    m1 = json.loads((one / "metrics.json").read_text())
    assert m2["final_cost"] == pytest.approx(m1["final_cost"], rel=1e-4)
    assert m2["psnr_denoised"] == pytest.approx(m1["psnr_denoised"], abs=1e-3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # no rank-1 folder
