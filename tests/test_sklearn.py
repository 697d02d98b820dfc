"""sdae.sklearn: the scikit-learn estimators, checked by scikit-learn's own estimator checks,
used in Pipeline / GridSearchCV / cross_val_score on Fashion-MNIST and on load_digits, and
shown to run the command line's training code (bit-identical weights)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

import sdae.sklearn.autoencoder
import sdae.sklearn.checks
import sdae.sklearn.classifier
import sdae.sklearn.semi
from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.data.fashion_mnist import CLASS_NAMES
from sdae.data.protocols import stratified_indices
from sdae.nn.models import Autoencoder, StackedClassifier, seeded
from sdae.nn.noise import corrupt
from sdae.nn.training import finetune, pretrain_stack, train_autoencoder
from sdae.rng import Streams
from sdae.sklearn.autoencoder import DenoisingAutoencoder
from sdae.sklearn.classifier import StackedAutoencoderClassifier
from sdae.sklearn.semi import SemiSupervisedClassifier


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small matrices: one thread (torch's, and BLAS's for LogisticRegression) takes ~2 s
    where two take ~45 s on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    """load_digits, a non-image-like 64-feature data set, scaled into [0, 1] by / 16."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def fashion(fmnist, per_class: int, seed: int = 0, split: str = "train"):
    """``per_class`` real Fashion-MNIST images of each class: X ``[n, 784]`` in [0, 1], y."""
    images = getattr(fmnist, f"{split}_images")
    labels = getattr(fmnist, f"{split}_labels")
    idx = stratified_indices(labels, per_class, seed)
    return images[idx].reshape(len(idx), -1).astype(np.float32) / 255.0, labels[idx]


# --- scikit-learn's estimator checks -------------------------------------------------------

# Small and quick, and enough to pass check_classifiers_train (accuracy > 0.83 on blobs).
QUICK = [
    DenoisingAutoencoder(hidden=8, iterations=30),
    StackedAutoencoderClassifier(hidden_sizes=(8,), pretrain_iterations=30,
                                 finetune_iterations=100, finetune_optimizer="adam",
                                 lr_top=0.1, lr_body=0.01),
    # no flip: blobs' two features laid out as an image are no image to mirror
    SemiSupervisedClassifier(width=4, iterations=150, batch_size=16, unlabelled_ratio=1, lr=0.003,
                             ema=0.9, flip=False, graph_features="pca", graph_per_class=5,
                             random_state=0),
]  # fmt: skip

OUT_OF_RANGE = (
    "feeds X outside [0, 1] (blobs, 3 * uniform, ...), which the estimator refuses by design: "
    "the cross-entropy cost (paper eq. 2) needs X in [0, 1]; "
    "test_estimator_checks_in_unit_interval runs this check with X mapped into [0, 1]"
)
MINUS_ONE_CLASS = (
    "fits with the labels {-1, 1}, but -1 marks an unlabelled row (scikit-learn's "
    "semi-supervised convention; the check exempts sklearn's own semi-supervised "
    "classifiers by name), so only one class is labelled"
)
# Every check that fits or predicts on data above 1 (scikit-learn 1.9).
RANGE_CHECKS = (
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_estimators_dtypes",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_fit2d_1feature",
    "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
    "check_fit_idempotent", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_readonly_memmap_input",
)  # fmt: skip
RANGE_CHECKS_OF = {
    "DenoisingAutoencoder": ("check_transformer_data_not_an_array", "check_transformer_general",
                             "check_transformer_preserve_dtypes"),
    "StackedAutoencoderClassifier": ("check_classifier_data_not_an_array",
                                     "check_classifiers_train"),
    "SemiSupervisedClassifier": ("check_classifier_data_not_an_array",
                                 "check_classifiers_train"),
}  # fmt: skip


SEMI_SUPERVISED = ("StackedAutoencoderClassifier", "SemiSupervisedClassifier")


def refused_range(estimator) -> dict[str, str]:
    name = type(estimator).__name__
    failing = {check: OUT_OF_RANGE for check in (*RANGE_CHECKS, *RANGE_CHECKS_OF[name])}
    if name in SEMI_SUPERVISED:
        failing["check_classifiers_classes"] = MINUS_ONE_CLASS
    return failing


def minus_one_only(estimator) -> dict[str, str]:
    if type(estimator).__name__ in SEMI_SUPERVISED:
        return {"check_classifiers_classes": MINUS_ONE_CLASS}
    return {}


@parametrize_with_checks(QUICK, expected_failed_checks=refused_range, xfail_strict=True)
def test_estimator_checks(estimator, check):
    """The estimators as shipped; xfail_strict: each listed check really fails."""
    check(estimator)


@parametrize_with_checks(QUICK, expected_failed_checks=minus_one_only, xfail_strict=True)
def test_estimator_checks_in_unit_interval(estimator, check, monkeypatch):
    """Every check again, with non-negative X mapped into [0, 1) by x / (1 + x) where the
    estimators check its range (negative X is still refused, as ``positive_only`` says): the
    checks refused above then pass, so the range is the only reason they were refused."""
    refuse = sdae.sklearn.checks.unit_interval

    def squash(X, who):
        return refuse(X, who) if X.size and X.min() < 0 else X / (1 + X)

    monkeypatch.setattr(sdae.sklearn.autoencoder, "unit_interval", squash)
    monkeypatch.setattr(sdae.sklearn.classifier, "unit_interval", squash)
    monkeypatch.setattr(sdae.sklearn.semi, "unit_interval", squash)
    check(estimator)


# --- parameters, errors --------------------------------------------------------------------


def test_defaults_are_the_settings_defaults():
    """The classifier's fine-tuning defaults are the paper's recipe, Finetuning()."""
    dae = DenoisingAutoencoder()
    assert dae.training_settings() == AutoencoderTraining(lr=0.01, iterations=500,
                                                          noise_level=0.1)  # fmt: skip
    pretrain, tune = StackedAutoencoderClassifier().training_settings()
    assert tune == Finetuning()
    assert pretrain == AutoencoderTraining(lr=0.01, iterations=500, noise="masking")


def test_get_set_params_and_clone(digits):
    X, _ = digits
    dae = DenoisingAutoencoder(hidden=16, iterations=5, random_state=0)
    assert dae.get_params()["hidden"] == 16
    assert dae.set_params(hidden=8, noise="masking") is dae and dae.hidden == 8
    fitted = dae.fit(X[:50])
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and not hasattr(twin, "model_")
    clf = StackedAutoencoderClassifier(hidden_sizes=(20, 10), random_state=3)
    assert clone(clf).get_params() == clf.get_params()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"noise": "pink"}, "unknown noise 'pink'"),
        ({"noise_level": 0.7}, r"outside \[0.0, 0.5\] for salt-and-pepper"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"lr": -1.0}, "lr -1.0 must be a finite number above 0"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"iterations": 0}, "iterations must be a whole number >= 1"),
        ({"batch_size": -2}, "batch_size must be a whole number >= 0"),
        ({"hidden": 0}, "hidden must be a whole number >= 1"),
        ({"random_state": -1}, "random_state -1: a seed must be a whole number"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_dae_parameters_are_value_errors(digits, params, message):
    with pytest.raises(ValueError, match=message):
        DenoisingAutoencoder(**params).fit(digits[0][:20])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr_top": 0, "lr_body": 0}, "both 0: nothing would be trained"),
        ({"hidden_sizes": ()}, "hidden_sizes must be a non-empty sequence"),
        ({"hidden_sizes": (10, 0)}, "each hidden size must be a whole number >= 1"),
        ({"input_dropout": 1.0}, r"input dropout 1.0 must lie in \[0, 1\)"),
        ({"finetune_schedule": "step"}, "unknown finetune_schedule 'step'"),
    ],
)
def test_bad_classifier_parameters_are_value_errors(digits, params, message):
    X, y = digits
    with pytest.raises(ValueError, match=message):
        StackedAutoencoderClassifier(**params).fit(X[:20], y[:20])


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_missing_cuda_is_a_value_error_with_the_fix(digits):
    with pytest.raises(ValueError, match=r"^device 'cuda': CUDA is not available here; use cpu$"):
        DenoisingAutoencoder(device="cuda").fit(digits[0][:20])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fits_and_returns_numpy_on_the_cpu(digits):
    X, y = digits
    dae = DenoisingAutoencoder(hidden=16, iterations=20, device="cuda", random_state=0).fit(X)
    assert next(dae.model_.parameters()).is_cuda
    assert isinstance(dae.transform(X), np.ndarray) and dae.transform(X).shape == (len(X), 16)
    clf = StackedAutoencoderClassifier(hidden_sizes=(16,), pretrain_iterations=20,
                                       finetune_iterations=50, device="cuda",
                                       random_state=0).fit(X, y)  # fmt: skip
    assert isinstance(clf.predict_proba(X), np.ndarray) and set(clf.predict(X)) <= set(y)


def test_out_of_range_x_is_refused_with_the_fix(digits):
    X, y = digits
    raw = X * 16  # load_digits as it comes: 0..16
    with pytest.raises(ValueError, match=r"Values above 1 .* must lie in \[0, 1\].*MinMaxScaler"):
        DenoisingAutoencoder(iterations=5).fit(raw)
    with pytest.raises(ValueError, match=r"Negative values in data .* \[-0.5, 0.5\]"):
        DenoisingAutoencoder(iterations=5).fit(X - 0.5)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        StackedAutoencoderClassifier(pretrain_iterations=5).fit(raw, y)
    dae = DenoisingAutoencoder(hidden=8, iterations=5, random_state=0).fit(X)
    clf = StackedAutoencoderClassifier(hidden_sizes=(8,), pretrain_iterations=5,
                                       finetune_iterations=5, random_state=0).fit(X, y)
    for method in (dae.transform, dae.denoise, dae.score, clf.predict, clf.predict_proba):
        with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
            method(raw[:5])
    with pytest.raises(ValueError, match="NaN"):
        dae.transform(np.full((2, 64), np.nan))


def test_rounding_errors_of_a_scaler_are_clipped_not_refused(digits):
    """MinMaxScaler() in float32 overshoots 1 by up to ~4e-6: clipped, into a copy."""
    X = digits[0][:50].astype(np.float32)
    off = X.copy()
    off[0, 0], off[1, 1] = 1 + 4e-6, -4e-6
    clipped = np.clip(off, 0, 1)
    dae = DenoisingAutoencoder(hidden=8, iterations=5, random_state=0).fit(off)
    ref = DenoisingAutoencoder(hidden=8, iterations=5, random_state=0).fit(clipped)
    np.testing.assert_array_equal(dae.transform(off), ref.transform(clipped))
    assert off[0, 0] > 1 and off[1, 1] < 0  # the caller's array is unchanged
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        dae.transform(X + 2e-5)


def test_no_labelled_rows_or_one_class_are_value_errors(digits):
    X, y = digits
    clf = StackedAutoencoderClassifier(pretrain_iterations=5, finetune_iterations=5)
    with pytest.raises(ValueError, match="y has no labelled rows"):
        clf.fit(X[:20], np.full(20, -1))
    with pytest.raises(ValueError, match="one class"):
        clf.fit(X[:20], np.where(np.arange(20) < 10, 3, -1))


# --- the same training code as the command line --------------------------------------------


def test_dae_weights_are_train_autoencoders(digits):
    """fit == sdae.nn.models.seeded + Autoencoder + sdae.nn.training.train_autoencoder with the
    stream names of `sdae dae` (experiments.train_dae): bit for bit."""
    X = digits[0][:300]
    dae = DenoisingAutoencoder(hidden=24, noise_level=0.2, lr=0.005, iterations=60,
                               batch_size=64, random_state=7).fit(X)  # fmt: skip
    with seeded(7):
        model = Autoencoder(64, 24)
    settings = AutoencoderTraining(lr=0.005, iterations=60, batch_size=64, noise_level=0.2)
    history = train_autoencoder(model, torch.from_numpy(X.astype(np.float32)), settings,
                                Streams(7, "train-", "cpu"))  # fmt: skip
    assert dae.loss_curve_ == history and dae.n_iter_ == 60 == len(history)
    for name, value in model.state_dict().items():
        assert torch.equal(dae.model_.state_dict()[name], value), name
    x = torch.from_numpy(X[:10].astype(np.float32))
    np.testing.assert_array_equal(dae.transform(X[:10].astype(np.float32)),
                                  model.encode(x).detach().numpy())  # fmt: skip


def test_classifier_weights_are_pretrain_stack_and_finetunes(digits):
    """fit == pretrain_stack on every row + finetune on the labelled rows, with the stream
    names of `sdae sae` (experiments.pretrain_model / finetune_model): bit for bit."""
    X, y = digits[0][:200], digits[1][:200].copy()
    y[::3] = -1
    clf = StackedAutoencoderClassifier(hidden_sizes=(32, 16), pretrain_iterations=40,
                                       finetune_iterations=60, random_state=5).fit(X, y)
    pre, tune = clf.training_settings()
    with seeded(5):
        model = StackedClassifier((64, 32, 16), False, 10)
    x = torch.from_numpy(X.astype(np.float32))
    histories = pretrain_stack(model.stack, x, [pre, pre], Streams(5, device="cpu"))
    keep = y != -1
    history = finetune(model, x[torch.from_numpy(keep)], torch.from_numpy(y[keep]), tune,
                       rng=Streams(5, "finetune-", "cpu"))  # fmt: skip
    assert clf.pretrain_loss_curves_ == histories and clf.loss_curve_ == history
    for name, value in model.state_dict().items():
        assert torch.equal(clf.model_.state_dict()[name], value), name


# --- behaviour -----------------------------------------------------------------------------


def test_dae_outputs(digits):
    X = digits[0].astype(np.float32)
    dae = DenoisingAutoencoder(hidden=20, iterations=50, random_state=0).fit(X)
    codes = dae.transform(X)
    assert codes.shape == (len(X), 20) and codes.dtype == np.float32
    assert ((codes > 0) & (codes < 1)).all()
    assert dae.transform(X.astype(np.float64)).dtype == np.float64
    np.testing.assert_allclose(dae.inverse_transform(codes), dae.denoise(X), atol=1e-6)
    assert dae.denoise(X).shape == X.shape
    assert dae.n_features_in_ == 64 and len(dae.loss_curve_) == 50
    assert list(dae.get_feature_names_out()[:2]) == ["denoisingautoencoder0",
                                                     "denoisingautoencoder1"]  # fmt: skip
    # score: minus the mean cost of equation 2 on the clean rows
    z = dae.denoise(X).astype(np.float64)
    by_hand = -(X * np.log(z) + (1 - X) * np.log(1 - z)).sum(axis=1).mean()
    assert dae.score(X) == pytest.approx(-by_hand, rel=1e-4)
    with pytest.raises(ValueError, match="expects codes of 20"):
        dae.inverse_transform(X)


def test_same_random_state_same_results(digits):
    X, y = digits[0][:300], digits[1][:300]
    params = dict(hidden_sizes=(16,), pretrain_iterations=30, finetune_iterations=50,
                  pretrain_batch_size=50, noise_level=0.2)  # fmt: skip
    a = StackedAutoencoderClassifier(random_state=1, **params).fit(X, y).predict_proba(X)
    b = StackedAutoencoderClassifier(random_state=1, **params).fit(X, y).predict_proba(X)
    c = StackedAutoencoderClassifier(random_state=2, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    d1 = DenoisingAutoencoder(hidden=8, iterations=20, random_state=4).fit(X).transform(X)
    d2 = DenoisingAutoencoder(hidden=8, iterations=20, random_state=4).fit(X).transform(X)
    np.testing.assert_array_equal(d1, d2)
    rs = np.random.RandomState(0)
    d3 = DenoisingAutoencoder(hidden=8, iterations=20, random_state=rs).fit(X).transform(X)
    assert not np.allclose(d1, d3)


def test_probabilities(digits):
    X, y = digits
    clf = StackedAutoencoderClassifier(hidden_sizes=(32,), pretrain_iterations=50,
                                       finetune_iterations=200, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), atol=1e-9)
    assert clf.score(X, y) > 0.7  # chance: 0.1 (measured: 0.78)


# --- Pipeline, GridSearchCV, cross_val_score -----------------------------------------------


def test_pipeline_on_digits_beats_chance_widely():
    """MinMaxScaler -> DenoisingAutoencoder -> LogisticRegression on load_digits as it comes
    (0..16): ~0.97 test accuracy against 0.1 by chance (measured)."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=0)  # fmt: skip
    pipe = Pipeline([
        ("scale", MinMaxScaler(clip=True)),
        ("dae", DenoisingAutoencoder(hidden=64, iterations=300, random_state=0)),
        ("logreg", LogisticRegression(max_iter=2000)),
    ])  # fmt: skip
    assert pipe.fit(X_train, y_train).score(X_test, y_test) > 0.9


def test_grid_search_over_hidden_on_digits(digits):
    X, y = digits
    pipe = Pipeline([
        ("dae", DenoisingAutoencoder(iterations=300, random_state=0)),
        ("logreg", LogisticRegression(max_iter=2000)),
    ])  # fmt: skip
    search = GridSearchCV(pipe, {"dae__hidden": [8, 64]}, cv=3).fit(X, y)
    # measured: 8 hidden units ~0.75, 64 ~0.93
    assert search.best_params_ == {"dae__hidden": 64}
    assert search.best_score_ > 0.85
    assert search.best_estimator_.named_steps["dae"].n_features_in_ == 64
    # the DAE alone, scored by its own score(): more units reconstruct better
    alone = GridSearchCV(DenoisingAutoencoder(iterations=300, random_state=0),
                         {"hidden": [4, 32]}, cv=3).fit(X)  # fmt: skip
    assert alone.best_params_ == {"hidden": 32}
    assert (alone.cv_results_["mean_test_score"] < 0).all()


def test_cross_val_score_on_fashion_mnist(fmnist):
    """Real Fashion-MNIST, 50 images per class: ~0.73 mean accuracy (measured), chance 0.1."""
    X, y = fashion(fmnist, 50)
    clf = StackedAutoencoderClassifier(hidden_sizes=(100,), pretrain_iterations=100,
                                       finetune_iterations=300, random_state=0)  # fmt: skip
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.6


def test_dae_denoises_fashion_mnist(fmnist):
    X, _ = fashion(fmnist, 50)
    clean, _ = fashion(fmnist, 10, split="test")
    dae = DenoisingAutoencoder(hidden=128, iterations=200, random_state=0).fit(X)
    noisy = corrupt(torch.from_numpy(clean), "salt-and-pepper", 0.1,
                    torch.Generator().manual_seed(0)).numpy()  # fmt: skip
    denoised = dae.denoise(noisy)
    assert ((denoised - clean) ** 2).mean() < 0.5 * ((noisy - clean) ** 2).mean()
    assert dae.score(clean) > dae.score(noisy)


def test_unlabelled_rows_pretrain_but_are_never_labels(fmnist, monkeypatch):
    """y == -1 rows: pretraining sees all 500 rows, fine-tuning the 50 labelled ones with
    their own labels; dropping the unlabelled rows changes the model."""
    X, y = fashion(fmnist, 50)
    X_test, y_test = fashion(fmnist, 20, split="test")
    y_semi = y.astype(np.int64)
    labelled = stratified_indices(y, 5, seed=1)
    y_semi[np.setdiff1d(np.arange(len(y)), labelled)] = -1
    seen = {}

    def spy_pretrain(stack, x, schedule, rng, **kw):
        seen["pretrain"] = x.clone()
        return pretrain_stack(stack, x, schedule, rng, **kw)

    def spy_finetune(model, x, targets, settings, **kw):
        seen["finetune"] = (x.clone(), targets.clone())
        return finetune(model, x, targets, settings, **kw)

    monkeypatch.setattr(sdae.sklearn.classifier, "pretrain_stack", spy_pretrain)
    monkeypatch.setattr(sdae.sklearn.classifier, "finetune", spy_finetune)
    params = dict(hidden_sizes=(100,), pretrain_iterations=100, finetune_iterations=300,
                  random_state=0)  # fmt: skip
    semi = StackedAutoencoderClassifier(**params).fit(X, y_semi)
    np.testing.assert_array_equal(seen["pretrain"].numpy(), X)
    x_tuned, targets = seen["finetune"]
    np.testing.assert_array_equal(x_tuned.numpy(), X[labelled])
    np.testing.assert_array_equal(targets.numpy(), y[labelled])  # classes 0..9 are indices
    assert list(semi.classes_) == list(range(10)) and semi.n_labelled_ == 50

    only = StackedAutoencoderClassifier(**params).fit(X[labelled], y[labelled])
    np.testing.assert_array_equal(seen["pretrain"].numpy(), X[labelled])
    assert not np.allclose(semi.predict_proba(X_test), only.predict_proba(X_test))
    assert semi.score(X_test, y_test) > 0.4 and only.score(X_test, y_test) > 0.3  # chance 0.1


def test_string_labels_round_trip(fmnist):
    X, y = fashion(fmnist, 30)
    names = np.array(CLASS_NAMES)[y]  # numpy string dtype: every row labelled
    clf = StackedAutoencoderClassifier(hidden_sizes=(64,), pretrain_iterations=60,
                                       finetune_iterations=200, random_state=0).fit(X, names)
    assert list(clf.classes_) == sorted(CLASS_NAMES)
    pred = clf.predict(X)
    assert pred.dtype == names.dtype and set(pred) <= set(CLASS_NAMES)
    assert clf.score(X, names) > 0.6
    # object dtype mixing names with -1: the -1 rows are unlabelled (as SelfTrainingClassifier)
    semi = names.astype(object)
    semi[::2] = -1
    half = clone(clf).fit(X, semi)
    assert list(half.classes_) == sorted(CLASS_NAMES) and half.n_labelled_ == len(X) // 2
    assert set(half.predict(X)) <= set(CLASS_NAMES)
