"""sdae.sklearn.SemiSupervisedClassifier beyond scikit-learn's checks (those are run with the
other estimators', in test_sklearn.py): image arrays in both layouts, unlabelled rows, the
command line's recipe, and a GridSearchCV on Fashion-MNIST."""

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from threadpoolctl import threadpool_limits

import sdae.sklearn.semi
from sdae.config.classification import SemiTraining
from sdae.data.protocols import stratified_indices
from sdae.nn.semi import self_training
from sdae.sklearn.semi import SemiSupervisedClassifier, image_layout, lay_out


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


SMALL = dict(width=4, iterations=40, batch_size=16, unlabelled_ratio=1, graph_per_class=5,
             graph_pretrain_iterations=20, random_state=0)  # fmt: skip


def fashion_semi(fmnist, per_class=30, labelled_per_class=3, seed=0):
    """Fashion-MNIST training images ``[n, 28, 28]`` in [0, 1], their labels, and the labels
    with all but ``labelled_per_class`` per class set to -1."""
    idx = stratified_indices(fmnist.train_labels, per_class, seed)
    X = fmnist.train_images[idx].astype(np.float32) / 255.0
    y = fmnist.train_labels[idx].astype(np.int64)
    y_semi = np.full_like(y, -1)
    keep = stratified_indices(y, labelled_per_class, seed)
    y_semi[keep] = y[keep]
    return X, y, y_semi


@pytest.mark.parametrize(("n", "shape", "cell"), [(784, (28, 28), 1), (64, (8, 8), 1),
                                                  (2, (8, 8), 4), (10, (8, 8), 2),
                                                  (1, (8, 8), 8), (100, (10, 10), 1),
                                                  (101, (11, 11), 1)])  # fmt: skip
def test_image_layout_of_rows(n, shape, cell):
    assert image_layout(n, None) == (shape, cell)


def test_features_fill_their_blocks():
    """Two features on a 2 x 2 grid of 4 x 4 blocks (worked by hand): block (0, 0) is the
    first, (0, 1) the second, the second row of blocks zeros."""
    image = lay_out(np.array([[0.25, 0.75]]), (8, 8), 4).reshape(8, 8)
    np.testing.assert_array_equal(image[:4, :4], 0.25)
    np.testing.assert_array_equal(image[:4, 4:], 0.75)
    np.testing.assert_array_equal(image[4:], 0.0)
    rows = np.random.default_rng(0).random((3, 784))
    assert lay_out(rows, (28, 28), 1) is rows  # an image as it is


@pytest.mark.parametrize(("shape", "message"), [((27, 28), r"H\*W\*C = 784"),
                                                ((4, 196), "at least 8x8"),
                                                ((28, 4, 7), "1 to 4 channels")])  # fmt: skip
def test_bad_image_shape_is_a_value_error(shape, message):
    with pytest.raises(ValueError, match=message):
        image_layout(784, shape)


def test_bad_recipe_is_the_command_lines_error(fmnist):
    X, _, y = fashion_semi(fmnist, 5, 1)
    for params, message in (({"threshold": 1.5}, r"--threshold 1.5 must lie in \(0, 1\)"),
                            ({"graph_features": "hog"}, "choose one of sae, pca"),
                            ({"rounds": 0}, "rounds must be a whole number >= 1"),
                            ({"align": "yes"}, "align must be True or False")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            SemiSupervisedClassifier(**params).fit(X, y)


def test_images_and_rows_with_image_shape_are_one_model(fmnist):
    """[n, 28, 28], [n, 784] (square: 28 x 28 by default), [n, 784] with image_shape and
    nested lists of images give the same weights and predictions: one code path."""
    X, _, y = fashion_semi(fmnist)
    fits = [SemiSupervisedClassifier(**SMALL).fit(X, y),
            SemiSupervisedClassifier(**SMALL).fit(X.reshape(len(X), -1), y),
            SemiSupervisedClassifier((28, 28), **SMALL).fit(X.reshape(len(X), -1), y),
            SemiSupervisedClassifier(**SMALL).fit(X.tolist(), y.tolist())]
    assert all(f.image_shape_ == (28, 28) for f in fits)
    first = fits[0].model_.state_dict()
    for other in fits[1:]:
        for key, value in other.model_.state_dict().items():
            torch.testing.assert_close(value, first[key], rtol=0, atol=0)
    np.testing.assert_array_equal(fits[0].predict_proba(X[:20]),
                                  fits[2].predict_proba(X[:20].reshape(20, -1)))
    np.testing.assert_array_equal(fits[0].predict(X[:20]), fits[3].predict(X[:20].tolist()))


def test_fit_is_sdae_semis_training(fmnist, monkeypatch):
    """fit hands self_training every row as the pool, the labelled rows' positions and their
    classes, and the recipe of its parameters with random_state as the seed."""
    X, y_true, y = fashion_semi(fmnist)
    seen = {}

    def spy(pool, labelled, labels, config, **kw):
        seen.update(pool=pool.clone(), labelled=labelled, labels=labels, config=config, **kw)
        return self_training(pool, labelled, labels, config, **kw)

    monkeypatch.setattr(sdae.sklearn.semi, "self_training", spy)
    clf = SemiSupervisedClassifier(**SMALL).fit(X, y)
    np.testing.assert_array_equal(seen["pool"].numpy(), X.reshape(len(X), -1))
    np.testing.assert_array_equal(seen["labelled"], np.flatnonzero(y != -1))
    np.testing.assert_array_equal(seen["labels"], y_true[y != -1])
    # round_per_class "auto": half of the 30 rows per class
    assert seen["config"] == SemiTraining(**{k: v for k, v in SMALL.items()
                                             if k != "random_state"}, round_per_class=15,
                                          seed=0)  # fmt: skip
    assert seen["shape"] == (28, 28) and seen["n_classes"] == 10
    # two rounds (the recipe's default) of 40 steps
    assert clf.n_labelled_ == 30 and clf.n_iter_ == 80 and len(clf.loss_curve_) == 80
    # the graph labels only rows that were unlabelled
    assert (y[clf.graph_labels_] == -1).all() and len(clf.graph_classes_) == len(
        clf.graph_labels_)


def test_score_skips_unlabelled_rows(fmnist):
    X, y_true, y = fashion_semi(fmnist)
    clf = SemiSupervisedClassifier(**SMALL).fit(X, y)
    right = clf.predict(X) == y_true
    assert clf.score(X, y) == pytest.approx(right[y != -1].mean())
    assert clf.score(X, y_true) == pytest.approx(right.mean())
    with pytest.raises(ValueError, match="no labelled rows"):
        clf.score(X, np.full_like(y, -1))


def test_grid_search_on_fashion_mnist(fmnist):
    """GridSearchCV over one setting (graph labels per class: 0 = plain FixMatch, or 20) on
    400 Fashion-MNIST images, 5 labelled per class; folds scored on their labelled rows."""
    X, _, y = fashion_semi(fmnist, 40, 5)
    base = SemiSupervisedClassifier(width=8, iterations=150, batch_size=32,
                                    graph_pretrain_iterations=100, random_state=0)  # fmt: skip
    search = GridSearchCV(base, {"graph_per_class": [0, 20]},
                          cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and (scores > 0.3).all()  # chance: 0.1
    assert search.best_estimator_.n_features_in_ == 784


def test_defaults_are_the_recipes():
    """The estimator's defaults are sdae semi's recipe: SemiTraining() on a pool of 600 rows
    per class (the paper protocol's), its label counts in proportion on others (sdae semi
    --protocol full's 500 and 3000 on 6000 per class), numbers as given."""
    assert SemiSupervisedClassifier().training_settings(seed=0) == SemiTraining()
    full = SemiSupervisedClassifier().training_settings(0, 6000, 5)
    assert full == dataclasses.replace(SemiTraining(), graph_per_class=500, round_per_class=3000)
    given = SemiSupervisedClassifier(graph_per_class=7, round_per_class=9)
    assert (given.training_settings(0, 6000).graph_per_class,
            given.training_settings(0, 6000).round_per_class) == (7, 9)  # fmt: skip


def test_auto_counts_follow_the_rows_given_to_fit(fmnist, monkeypatch):
    """fit's pool is every row: 30 per class, 3 of them labelled, make the counts of a pool of
    30 per class (a twelfth: 2; half: 15)."""
    seen = []

    def spy(pool, where, labels, settings, **kw):
        seen.append(settings)
        raise RuntimeError("stop")  # the settings are all this test needs

    monkeypatch.setattr(sdae.sklearn.semi, "self_training", spy)
    X, _, y = fashion_semi(fmnist, 30, 3)
    with pytest.raises(RuntimeError, match="stop"):
        SemiSupervisedClassifier(random_state=0).fit(X, y)
    assert (seen[0].graph_per_class, seen[0].round_per_class) == (2, 15)
