"""sdae semi: FixMatch on the labelled images and the unlabelled pool."""

import json

import pytest
import torch

from sdae.config import SemiConfig, from_flags
from sdae.data import Split
from sdae.errors import SdaeError
from sdae.experiments import labelled_indices
from sdae.rng import Streams
from sdae.semi import cutout, fixmatch

TINY = SemiConfig(labels_per_class=2, iterations=6, batch_size=8, unlabelled_ratio=2, width=4,
                  protocol="mini")  # fmt: skip


def _data(paper_splits, n_pool=300):
    train, _ = paper_splits
    idx = torch.as_tensor(labelled_indices(train, 2, 0))
    return train.x[idx], train.y[idx], train.x[:n_pool]


def _predict(model, x):
    with torch.no_grad():
        return model(x).argmax(1)


def test_same_seeds_same_predictions_and_the_pool_matters(paper_splits):
    x_l, y_l, pool = _data(paper_splits)
    probe = paper_splits[1].x[:100]
    a, history = fixmatch(x_l, y_l, pool, TINY)
    b, _ = fixmatch(x_l, y_l, pool, TINY)
    assert len(history) == 6 and all(h == h for h in history)
    assert torch.equal(_predict(a, probe), _predict(b, probe))  # bit-identical on CPU
    # with the labelled images as the only "pool", the teacher's outputs change
    c, _ = fixmatch(x_l, y_l, x_l, TINY)
    assert not torch.equal(a(probe), c(probe))


def test_training_never_reads_the_test_images(paper_splits, monkeypatch, tmp_path):
    """run_semi with the test images replaced by NaN trains bit-identical weights: only the
    evaluation reads them (NaN anywhere in training would spread to every weight)."""
    from sdae.checkpoints import load_model
    from sdae.semi import run_semi

    train, test = paper_splits
    poisoned = Split(torch.full_like(test.x, float("nan")), test.y, test.index)
    config = SemiConfig(labels_per_class=2, iterations=3, batch_size=8, width=4)
    weights = []
    for k, t in enumerate((test, poisoned)):
        monkeypatch.setattr("sdae.experiments.load_splits", lambda *a, t=t, **kw: (train, t))
        run_semi(config, tmp_path / f"run{k}")
        weights.append(load_model(tmp_path / f"run{k}" / "model.safetensors")[0].state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not any(torch.isnan(v).any() for v in weights[1].values() if v.is_floating_point())


def test_cutout_blanks_one_clipped_square():
    x = torch.ones(50, 784)
    out = cutout(x, 12, torch.Generator().manual_seed(0))
    zeros = (out == 0).view(50, 28, 28).sum(dim=(1, 2))
    assert (zeros >= 7 * 7).all() and (zeros <= 13 * 13).all()  # 13x13, clipped at edges
    assert torch.equal(x, torch.ones(50, 784))  # the input is untouched


@pytest.mark.parametrize(("flags", "message"), [
    ({"threshold": 1.0}, r"--threshold 1.0 must lie in \(0, 1\)"),
    ({"threshold": 0.0}, r"--threshold 0.0 must lie in \(0, 1\)"),
    ({"ema": 1.0}, r"--ema 1.0 must lie in \[0, 1\)"),
    ({"labels_per_class": "all"}, "sdae semi needs a label budget"),
    ({"unlabelled_ratio": 0}, "--unlabelled-ratio must be a whole number >= 1"),
    ({"strong_noise": 0.7}, "--strong-noise 0.7 is outside"),
])  # fmt: skip
def test_bad_settings_are_one_line(flags, message):
    with pytest.raises(SdaeError, match=message):
        from_flags("semi", flags)


def test_cli_writes_the_sae_keys(tmp_path, fmnist):
    from sdae.cli import main

    out = tmp_path / "semi"
    assert main(["semi", "--labels-per-class", "1", "--iterations", "4", "--batch-size", "8",
                 "--width", "4", "--protocol", "mini", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("pretrain_final_costs", "finetune_final_cost", "train_accuracy",
                "test_accuracy", "train_seconds", "n_labelled"):  # fmt: skip
        assert key in metrics
    assert metrics["n_labelled"] == 10 and len(metrics["finetune_cost_history"]) == 4
    assert json.loads((out / "config.json").read_text())["threshold"] == 0.95
    assert Streams(0, "semi-").generator("weak").initial_seed() != \
        Streams(0, "semi-").generator("strong").initial_seed()  # fmt: skip
