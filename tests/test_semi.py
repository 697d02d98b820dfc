"""sdae semi: FixMatch on the labelled images and the unlabelled pool."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from sdae.config.classification import SemiConfig
from sdae.config.flags import from_flags
from sdae.data.splits import Split, labelled_indices
from sdae.errors import SdaeError
from sdae.nn.semi import (
    _align,
    cutout,
    embed,
    fixmatch,
    graph_labels,
    sae_codes,
    self_training,
    surest_per_class,
)
from sdae.rng import Streams, derive_seed

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
    from sdae.io.checkpoints import load_model
    from sdae.runs.semi import run_semi

    train, test = paper_splits
    poisoned = Split(torch.full_like(test.x, float("nan")), test.y, test.index)
    config = SemiConfig(labels_per_class=2, iterations=3, batch_size=8, width=4,
                        graph_features="pca")  # the sae features: see the next test
    weights = []
    for k, t in enumerate((test, poisoned)):
        monkeypatch.setattr("sdae.runs.common.load_splits", lambda *a, t=t, **kw: (train, t))
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


@pytest.mark.parametrize(("flags", "graph", "round_"), [
    ({"protocol": "paper"}, 50, 300),  # the paper protocol's counts, chosen there, unchanged
    ({"protocol": "full"}, 500, 3000),  # the same shares of its 6000 per class
    ({"protocol": "mini", "labels_per_class": 10}, 8, 50),
    ({"protocol": "mini", "labels_per_class": 95}, 5, 50),  # no more than the draw leaves
    ({"protocol": "full", "graph_per_class": 7, "round_per_class": 9}, 7, 9),  # as asked
])  # fmt: skip
def test_the_label_counts_follow_the_pool_unless_given(flags, graph, round_):
    config = from_flags("semi", flags)
    assert (config.graph_per_class, config.round_per_class) == (graph, round_)


@pytest.mark.parametrize(("flags", "message"), [
    ({"threshold": 1.0}, r"--threshold 1.0 must lie in \(0, 1\)"),
    ({"threshold": 0.0}, r"--threshold 0.0 must lie in \(0, 1\)"),
    ({"ema": 1.0}, r"--ema 1.0 must lie in \[0, 1\)"),
    ({"labels_per_class": "all"}, "sdae semi needs a label budget"),
    ({"unlabelled_ratio": 0}, "--unlabelled-ratio must be a whole number >= 1"),
    ({"strong_noise": 0.7}, "--strong-noise 0.7 is outside"),
    ({"graph_alpha": 1.0}, r"--graph-alpha 1.0 must lie in \(0, 1\)"),
    ({"graph_per_class": -1}, "--graph-per-class must be a whole number >= 0"),
    ({"graph_neighbors": 0}, "--graph-neighbors must be a whole number >= 1"),
    ({"graph_features": "raw"}, "--graph-features 'raw': choose one of sae, pca"),
    ({"graph_pretrain_iterations": 0}, "--graph-pretrain-iterations must be a whole number"),
    ({"rounds": 0}, "--rounds must be a whole number >= 1"),
    ({"round_per_class": 0}, "--round-per-class must be a whole number >= 1"),
    ({"round_labels": "vote"}, "--round-labels 'vote': choose one of teacher, graph"),
    ({"precision": "fp16"}, "--precision"),
])  # fmt: skip
def test_bad_settings_are_one_line(flags, message):
    with pytest.raises(SdaeError, match=message):
        from_flags("semi", flags)


def test_cli_writes_the_sae_keys(tmp_path, fmnist):
    from sdae.cli import main

    out = tmp_path / "semi"
    assert main(["semi", "--labels-per-class", "1", "--iterations", "4", "--batch-size", "8",
                 "--width", "4", "--protocol", "mini", "--graph-pretrain-iterations", "200",
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("pretrain_final_costs", "finetune_final_cost", "train_accuracy",
                "test_accuracy", "train_seconds", "n_labelled"):  # fmt: skip
        assert key in metrics
    # two rounds of 4 steps (the recipe's default)
    assert metrics["n_labelled"] == 10 and len(metrics["finetune_cost_history"]) == 8
    assert len(metrics["round_label_accuracy"]) == 1 and 0 < metrics["round_label_accuracy"][0]
    # mini pool, 100 per class: up to a twelfth of it, 8, of each class the graph predicts
    assert 10 * 6 <= metrics["graph_labelled"] <= 10 * 8
    assert 0.1 < metrics["graph_label_accuracy"] <= 1.0
    config = json.loads((out / "config.json").read_text())
    assert config["threshold"] == 0.95 and config["graph_pretrain_iterations"] == 200
    assert Streams(0, "semi-").generator("weak").initial_seed() != \
        Streams(0, "semi-").generator("strong").initial_seed()  # fmt: skip


def _blobs(n=40, seed=0):
    """Two well-separated clusters in [0, 1]^20 (class 3 low, class 7 high), shuffled."""
    g = np.random.default_rng(seed)
    x = np.concatenate([g.uniform(0.0, 0.3, (n, 20)), g.uniform(0.7, 1.0, (n, 20))])
    y = np.repeat([3, 7], n)
    order = g.permutation(2 * n)
    return torch.as_tensor(x[order], dtype=torch.float32), y[order]


def test_graph_labels_pick_the_most_confident_of_each_class_never_the_labelled():
    x, y = _blobs()
    labelled = np.array([int(np.flatnonzero(y == 3)[0]), int(np.flatnonzero(y == 7)[0])])
    config = SemiConfig(graph_per_class=12, graph_components=5, graph_neighbors=5,
                        graph_features="pca")
    positions, labels = graph_labels(x, labelled, y[labelled], config)
    assert len(positions) == 24 and len(set(positions)) == 24
    assert not set(positions) & set(labelled)
    assert np.array_equal(labels, y[positions])  # clean clusters: every graph label right
    assert sorted(np.unique(labels)) == [3, 7] and (labels == 3).sum() == 12
    # the same call gives the same answer; none asked, none given
    again = graph_labels(x, labelled, y[labelled], config)
    assert np.array_equal(again[0], positions)
    none = graph_labels(x, labelled, y[labelled], SemiConfig(graph_per_class=0))
    assert len(none[0]) == len(none[1]) == 0


def test_graph_labels_follow_the_pool_not_the_labels_alone():
    """Moving the pool's images moves the graph's labels: the pool is used."""
    x, y = _blobs()
    labelled = np.array([int(np.flatnonzero(y == 3)[0]), int(np.flatnonzero(y == 7)[0])])
    config = SemiConfig(graph_per_class=30, graph_components=5, graph_neighbors=5,
                        graph_features="pca")
    a = graph_labels(x, labelled, y[labelled], config)
    shuffled = x.clone()
    others = np.setdiff1d(np.arange(len(x)), labelled)
    shuffled[others] = x[np.random.default_rng(1).permutation(others)]
    b = graph_labels(shuffled, labelled, y[labelled], config)
    assert not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]))


def test_sae_semi_recipe_points_to_sdae_semi(capsys):
    from sdae.cli import main

    assert main(["sae", "--finetune-recipe", "semi", "--out", "/nonexistent/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run `sdae semi`" in err


def test_the_graphs_sae_codes_are_those_of_sdae_sae_pretraining(paper_splits):
    """Two code paths, one stack: the codes the graph is built on equal those of the 784-100
    stack `sdae sae` pretrains with the same seed on the same pool; and they are not the
    codes of an untrained stack."""
    from sdae.nn.models import StackedAutoencoder, seeded
    from sdae.runs.sae import pretrain_model

    train, _ = paper_splits
    pool = Split(train.x[:200], train.y[:200], train.index[:200])
    codes = sae_codes(pool.x, seed=3)
    model, _ = pretrain_model(from_flags("sae", {"arch": "784-100", "seed": 3}), pool)
    with torch.no_grad():
        expected = model.stack.encode(pool.x).numpy()
        with seeded(3):
            untrained = StackedAutoencoder((784, 100)).encode(pool.x).numpy()
    assert codes.shape == (200, 100)
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(codes, untrained, atol=1e-3)


def test_the_graphs_codes_are_kept_on_disk_for_the_same_pool_and_seed(monkeypatch, tmp_path):
    """The codes are the same for every label draw: a second run on the same pool and seed
    reads them back (equal to what it would compute) instead of pretraining again; another
    seed, another pool or a corrupt file computes them; SDAE_NO_CODE_CACHE never reads."""
    import sdae.nn.semi as semi

    monkeypatch.setenv("SDAE_CACHE_DIR", str(tmp_path))
    pool = torch.rand(60, 784, generator=torch.Generator().manual_seed(0))
    calls = []
    compute = semi._pretrained_codes
    monkeypatch.setattr(semi, "_pretrained_codes", lambda *a: calls.append(a) or compute(*a))
    first = sae_codes(pool, seed=1, iterations=5)
    files = list((tmp_path / "codes").glob("*.npy"))
    assert len(calls) == 1 and len(files) == 1
    again = sae_codes(pool, seed=1, iterations=5)
    assert len(calls) == 1 and again.dtype == np.float32
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(first, compute(pool, 1, 5))  # what it would compute
    sae_codes(pool, seed=2, iterations=5)
    sae_codes(pool.flip(0), seed=1, iterations=5)
    assert len(calls) == 3
    files[0].write_bytes(files[0].read_bytes()[:-8])  # a truncated file
    np.testing.assert_array_equal(sae_codes(pool, seed=1, iterations=5), first)
    assert len(calls) == 4
    monkeypatch.setenv("SDAE_NO_CODE_CACHE", "1")
    sae_codes(pool, seed=1, iterations=5)
    assert len(calls) == 5


def test_distribution_alignment_worked_by_hand():
    """Two classes, the running mean starting uniform: mean of the batch (0.7, 0.3), running
    mean 0.99 * 0.5 + 0.01 * (0.7, 0.3) = (0.502, 0.498); each row divided by it and
    renormalised, so the class the teacher over-predicts loses a little."""
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    aligned, seen = _align(probs, torch.tensor([0.5, 0.5]), 1.0)
    torch.testing.assert_close(seen, torch.tensor([0.502, 0.498]))
    want = probs / seen
    torch.testing.assert_close(aligned, want / want.sum(1, keepdim=True))
    assert aligned[0, 0] < 0.5 and torch.allclose(aligned.sum(1), torch.ones(2))


def test_surest_per_class_worked_by_hand():
    dist = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.95, 0.05], [0.3, 0.7]])
    positions, labels = surest_per_class(dist, np.array([3, 7]), np.array([3]),
                                         np.array([3, 7]), 2)  # fmt: skip
    # class 3: rows 0 (0.9) and 1 (0.6), row 3 is labelled; class 7: rows 2 (0.8), 4 (0.7)
    assert positions.tolist() == [0, 1, 2, 4] and labels.tolist() == [3, 3, 7, 7]


@pytest.mark.parametrize("round_labels", ["teacher", "graph"])
def test_a_second_round_starts_afresh_with_the_teachers_surest_images(paper_splits,
                                                                       round_labels):  # fmt: skip
    train, _ = paper_splits
    pool = train.x[:300]
    labelled = labelled_indices(Split(pool, train.y[:300], None), 2, 0)
    labels = train.y[:300].numpy()[labelled]
    config = TINY.training
    two = dataclasses.replace(config, rounds=2, round_per_class=7, round_labels=round_labels,
                              graph_per_class=5, graph_features="pca")  # fmt: skip
    model, history, rounds = self_training(pool, labelled, labels, two)
    assert len(history) == 2 * config.iterations and len(rounds) == 2
    second = rounds[1]
    assert not set(second["positions"]) & set(labelled)
    assert len(second["positions"]) <= 7 * 10 and set(second["labels"]) <= set(range(10))
    # the last round is FixMatch on those labels, from the seed of round 1
    again, _ = fixmatch(pool[np.concatenate([labelled, second["positions"]])],
                        torch.as_tensor(np.concatenate([labels, second["labels"]])), pool,
                        dataclasses.replace(two, seed=derive_seed(two.seed, "round1")))
    probe = paper_splits[1].x[:50]
    torch.testing.assert_close(_predict(model, probe), _predict(again, probe), rtol=0, atol=0)
    assert embed(model, probe).shape == (50, 256)


def test_a_config_from_before_the_rounds_reads_as_it_ran():
    """A config.json of sdae 0.2.0's `sdae semi` has no precision, align or rounds: it ran
    in fp32, one round, no alignment, whatever today's defaults are."""
    from sdae.config.flags import load_config

    old = {k: v for k, v in json.loads(json.dumps(dataclasses.asdict(SemiConfig())))
           .items() if k not in ("precision", "align", "rounds", "round_per_class",
                                 "round_labels")}  # fmt: skip
    config = load_config("semi", old)
    assert (config.precision, config.align, config.rounds) == ("fp32", False, 1)


def test_hog_features_are_scikit_images_then_pca(paper_splits):
    """sae+hog's second half: scikit-image's HOG of each image (9 orientations, 4 x 4 cells
    on 28 x 28, 2 x 2 blocks), reduced by PCA; both halves scaled to a mean row norm of 1."""
    from skimage.feature import hog
    from sklearn.decomposition import PCA

    from sdae.nn.semi import graph_features, hog_features

    x = paper_splits[0].x[:120]
    rows = np.stack([hog(im.reshape(28, 28), orientations=9, pixels_per_cell=(4, 4),
                         cells_per_block=(2, 2)) for im in x.numpy()])  # fmt: skip
    np.testing.assert_allclose(hog_features(x, (28, 28, 1), 20, 0),
                               PCA(20, random_state=0).fit_transform(rows), atol=1e-5)
    both = graph_features(x, SemiConfig(graph_features="sae+hog", graph_components=20,
                                        graph_pretrain_iterations=5).training)  # fmt: skip
    assert both.shape == (120, 120)
    for half in (both[:, :100], both[:, 100:]):
        assert np.linalg.norm(half, axis=1).mean() == pytest.approx(1.0)
    assert hog_features(torch.rand(6, 16 * 16 * 3), (16, 16, 3), 4, 0).shape == (6, 4)  # RGB
