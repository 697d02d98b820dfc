""":class:`SemiSupervisedClassifier`: ``sdae semi`` (label spreading on the pool, then
FixMatch rounds with an EMA teacher on a CNN, :mod:`sdae.nn.semi`) as a scikit-learn
classifier on image arrays, ``y == -1`` marking unlabelled rows.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from sdae.config.checks import MIN_CONV_SIDE, semi_counts
from sdae.config.classification import SemiTraining
from sdae.nn.semi import self_training
from sdae.sklearn.checks import (
    as_value_error,
    check_bool,
    check_float,
    check_int,
    device_of,
    run_batches,
    seed_of,
    to_tensor,
    unit_interval,
    validate_data,
)

#: the recipe's parameters: whole numbers, real numbers, flags and words, as SemiTraining's
INTS = ("width", "iterations", "batch_size", "unlabelled_ratio", "graph_per_class",
        "graph_neighbors", "graph_components", "graph_pretrain_iterations", "rounds",
        "round_per_class")  # fmt: skip
FLOATS = ("lr", "threshold", "ema", "strong_noise", "graph_alpha")
FLAGS = ("flip", "align")
WORDS = ("graph_features", "round_labels", "precision")
#: the counts that may be "auto": in proportion to the pool (sdae semi's defaults)
AUTO = ("graph_per_class", "round_per_class")


def image_layout(n_features: int, image_shape) -> tuple[tuple[int, ...], int]:
    """``((H, W) or (H, W, C), cell)``: how a row of ``n_features`` values is an image.
    ``image_shape`` given: it, once checked against ``n_features`` (cell 1). None: a square
    image where ``n_features`` is a square of a side >= 8 (784 -> 28 x 28); else features
    that are no image: laid out row by row on the smallest square grid that holds them,
    each value filling a ``cell`` x ``cell`` block (zeros after the last), ``cell`` the
    least that makes the image 8 x 8 or more, so that a shift or a cutout of the
    augmentations leaves most of each value."""
    if image_shape is not None:
        try:
            shape = tuple(check_int(s, "each side of image_shape", 1) for s in image_shape)
        except TypeError:
            shape = ()
        if len(shape) not in (2, 3) or math.prod(shape) != n_features:
            raise ValueError(f"image_shape {image_shape!r} must be (H, W) or (H, W, C) with "
                             f"H*W*C = {n_features}, the values in a row of X")  # fmt: skip
        if min(shape[:2]) < MIN_CONV_SIDE or (len(shape) == 3 and shape[2] > 4):
            raise ValueError(f"image_shape {shape}: the CNN takes images of at least "
                             f"{MIN_CONV_SIDE}x{MIN_CONV_SIDE} with 1 to 4 channels")  # fmt: skip
        return shape, 1
    cells = math.isqrt(n_features - 1) + 1 if n_features > 1 else 1
    cell = -(-MIN_CONV_SIDE // cells)
    return (cells * cell, cells * cell), cell


def lay_out(X: np.ndarray, shape: tuple[int, ...], cell: int) -> np.ndarray:
    """Rows ``X: [n, D]`` as the flattened images of :func:`image_layout`: ``[n, H*W*C]``."""
    if cell == 1 and X.shape[1] == math.prod(shape):
        return X
    cells = shape[0] // cell
    grid = np.pad(X, ((0, 0), (0, cells * cells - X.shape[1]))).reshape(len(X), cells, cells)
    return grid.repeat(cell, axis=1).repeat(cell, axis=2).reshape(len(X), -1)


class SemiSupervisedClassifier(ClassifierMixin, BaseEstimator):
    """``sdae semi`` as a scikit-learn classifier: few labelled images and many unlabelled
    ones (``y == -1``), in scikit-learn's semi-supervised convention.

    ``fit(X, y)`` labels the most confident unlabelled rows of each class by label
    spreading over a k-NN graph (of the codes of a 784-100-style stack pretrained on every
    row, or of PCA), then trains a CNN (:class:`sdae.nn.convnets.DeepCNN`) by FixMatch with
    an EMA teacher on the labelled rows and every row as the pool, ``rounds`` times
    (:func:`sdae.nn.semi.self_training`; the recipe :class:`sdae.config.SemiTraining`,
    whose fields are this estimator's parameters, defaults included but for the two label
    counts, which follow the pool).

    ``X``: images ``[n, H, W]`` (or ``[n, H, W, C]``), or rows ``[n, H*W*C]`` with
    ``image_shape=(H, W[, C])``; rows of a square size (784) are square images by default.
    Values in [0, 1] (pixels / 255). Rows of another size are laid out on a square grid of
    side >= 8 (:func:`image_layout`), so any features run, as images they are not.

    Parameters
    ----------
    image_shape : tuple of int or None, default=None
    width, iterations, lr, batch_size, unlabelled_ratio, threshold, ema, strong_noise,
    flip, graph_per_class, graph_features, graph_neighbors, graph_alpha, graph_components,
    graph_pretrain_iterations, align, rounds, round_per_class, round_labels, precision
        The recipe (:class:`sdae.config.SemiTraining`; ``sdae semi``'s flags of those names).
        ``graph_per_class`` and ``round_per_class`` ``"auto"``: as ``sdae semi``'s, a
        twelfth and a half of the rows per class (``len(X) / n_classes``; 50 and 300 for
        6000 rows of 10 classes).
    random_state : int, RandomState or None, default=None
        An int is ``sdae semi``'s ``--seed``; None draws a seed at each fit.
    device : str, default="cpu"
    verbose : bool, default=False

    Attributes
    ----------
    model_ : sdae.nn.convnets.DeepCNN
        The last round's teacher, in eval mode.
    classes_ : ndarray of shape (n_classes,)
    image_shape_ : tuple of int
        The image each row is (after :func:`image_layout`).
    loss_curve_ : list of float
        The cost of every FixMatch step, round after round.
    graph_labels_ : ndarray of shape (n_added,)
        Row indices of ``X`` the graph labelled before training (their labels in
        ``graph_classes_``).
    n_labelled_ : int
    n_iter_ : int
    n_features_in_ : int
    """

    def __init__(self, image_shape=None, *, width=16, iterations=1800, lr=0.002,
                 batch_size=64, unlabelled_ratio=3, threshold=0.95, ema=0.99,
                 strong_noise=0.15, flip=True, graph_per_class="auto", graph_features="sae+hog",
                 graph_neighbors=20, graph_alpha=0.9, graph_components=50,
                 graph_pretrain_iterations=1000, align=True, rounds=2,
                 round_per_class="auto", round_labels="graph", precision="auto",
                 random_state=None, device="cpu", verbose=False):  # fmt: skip
        self.image_shape = image_shape
        self.width, self.iterations, self.lr = width, iterations, lr
        self.batch_size, self.unlabelled_ratio = batch_size, unlabelled_ratio
        self.threshold, self.ema, self.strong_noise, self.flip = threshold, ema, strong_noise, flip
        self.graph_per_class, self.graph_features = graph_per_class, graph_features
        self.graph_neighbors, self.graph_alpha = graph_neighbors, graph_alpha
        self.graph_components = graph_components
        self.graph_pretrain_iterations = graph_pretrain_iterations
        self.align, self.rounds, self.round_per_class = align, rounds, round_per_class
        self.round_labels = round_labels
        self.precision = precision
        self.random_state, self.device, self.verbose = random_state, device, verbose

    def training_settings(self, seed: int = 0, pool_per_class: int = 600,
                          labels_per_class: int = 1) -> SemiTraining:  # fmt: skip
        """The recipe these parameters make for a pool of ``pool_per_class`` rows per class
        with ``labels_per_class`` labelled (what ``graph_per_class`` and ``round_per_class``
        ``"auto"`` become: :func:`sdae.config.checks.semi_counts`; the defaults, a
        pool like the paper protocol's, give its 50 and 300); a bad value raises
        ``ValueError``."""
        counts = semi_counts(pool_per_class, labels_per_class)
        values = {n: counts[n] if n in AUTO and getattr(self, n) == "auto"
                  else check_int(getattr(self, n), n, 0) for n in INTS}  # fmt: skip
        values.update({n: check_float(getattr(self, n), n) for n in FLOATS})
        values.update({n: check_bool(getattr(self, n), n) for n in FLAGS})
        values.update({n: getattr(self, n) for n in WORDS})
        with as_value_error():
            return SemiTraining(**values, seed=seed)

    @staticmethod
    def _flat(X):
        """``(X as rows [n, D], the image shape it came in or None)``: images flattened
        (nested lists of images too)."""
        if isinstance(X, (list, tuple)):
            X = np.asarray(X)
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) > 2:
            return np.asarray(X).reshape(len(X), -1), tuple(shape[1:])
        return X, None

    def fit(self, X, y):
        """Train on the rows of ``X`` whose label in ``y`` is not ``-1`` and on every row as
        the unlabelled pool. Returns the fitted estimator."""
        seed = seed_of(self.random_state)
        self.training_settings(seed)  # a bad parameter fails before the data is read
        device, verbose = device_of(self.device), check_bool(self.verbose, "verbose")
        X, given = self._flat(X)
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        labelled = np.asarray(y != -1, dtype=bool).reshape(len(y))
        if not labelled.any():
            raise ValueError("y has no labelled rows (every label is -1, the mark of an "
                             "unlabelled row); label some rows to train on")  # fmt: skip
        check_classification_targets(y[labelled])
        X = unit_interval(X, type(self).__name__)
        shape = given if self.image_shape is None else self.image_shape
        self.image_shape_, self.cell_ = image_layout(X.shape[1], shape)
        self.classes_ = np.unique(y[labelled])
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class ({self.classes_[0]!r}) among its labelled rows; "
                             "a classifier needs at least 2 classes")  # fmt: skip
        pool = to_tensor(lay_out(X, self.image_shape_, self.cell_), device)
        where = np.flatnonzero(labelled)
        fewest = int(np.unique(y[labelled], return_counts=True)[1].min())
        settings = self.training_settings(seed, len(X) // len(self.classes_), fewest)
        with as_value_error():
            model, history, rounds = self_training(
                pool, where, np.searchsorted(self.classes_, y[labelled]), settings,
                shape=self.image_shape_, n_classes=len(self.classes_), progress=verbose)
        self.model_ = model.eval()
        self.loss_curve_ = list(history)
        self.graph_labels_ = rounds[0]["positions"]
        self.graph_classes_ = self.classes_[rounds[0]["labels"]]
        self.n_labelled_, self.n_iter_ = len(where), len(history)
        return self

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, self._flat(X)[0], dtype=(np.float64, np.float32), reset=False)
        X = lay_out(unit_interval(X, type(self).__name__), self.image_shape_, self.cell_)
        # float64: a float32 convolution's rounding depends on the batch it is given, and a
        # row's probabilities must not (check_methods_subset_invariance)
        model = copy.deepcopy(self.model_).to(torch.float64)
        return run_batches(model, X, self.device, np.float64)

    def predict_proba(self, X):
        """Class probabilities ``[n_samples, n_classes]`` (columns as ``classes_``)."""
        logits = self._logits(X)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The most probable label of each row (or image) of ``X``: ``[n_samples]``."""
        best = np.argmax(self._logits(X), axis=1)  # checks the fit first
        return self.classes_[best]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the rows of ``X`` whose label in ``y`` is not ``-1`` (an unlabelled row
        has no label to be right about), as ``GridSearchCV`` scores a fold with unlabelled
        rows; every row labelled: scikit-learn's accuracy."""
        y = np.asarray(y)
        keep = np.asarray(y != -1, dtype=bool).reshape(len(y))
        if keep.all():
            return super().score(X, y, sample_weight)
        if not keep.any():
            raise ValueError("y has no labelled rows (every label is -1): nothing to score")
        X, _ = self._flat(X)
        weight = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return super().score(_rows_at(X, keep), y[keep], weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # in fact [0, 1], as the other estimators
        return tags


def _rows_at(X, keep: np.ndarray):
    """The rows of ``X`` (an array or a DataFrame) where ``keep``."""
    return X.iloc[keep] if hasattr(X, "iloc") else np.asarray(X)[keep]
