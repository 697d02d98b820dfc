""":class:`StackedAutoencoderClassifier`: the stacked autoencoder with a softmax layer as a
semi-supervised scikit-learn classifier (``y == -1`` marks unlabelled rows), trained by the
loops ``sdae sae`` runs.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.nn.models import StackedClassifier, seeded
from sdae.nn.training import finetune, pretrain_stack
from sdae.rng import Streams
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


class StackedAutoencoderClassifier(ClassifierMixin, BaseEstimator):
    """A stacked autoencoder with a softmax layer (paper §II.C, §IV.C, §V.B), trained the
    way ``sdae sae`` trains it, semi-supervised in scikit-learn's convention: rows whose
    label is ``-1`` are unlabelled.

    ``fit`` builds ``n_features -> hidden_sizes[0] -> ... -> hidden_sizes[-1] -> softmax``,
    then

    1. pretrains the encoders greedily, layer by layer, on **every** row of ``X``, labelled
       or not (:func:`sdae.nn.training.pretrain_stack`): layer k is an autoencoder trained on the
       codes of layers 1..k-1, with the ``pretrain_*`` settings and the ``noise`` corruption;
    2. fine-tunes the whole network by backpropagation of the softmax cross-entropy on the
       **labelled** rows only (:func:`sdae.nn.training.finetune`), with the learning rate
       ``lr_top`` for the softmax layer and ``lr_body`` for the encoders (0 freezes them).

    The fine-tuning defaults are the paper's recipe (:class:`sdae.config.training.Finetuning`:
    2000 full-batch gradient-descent steps at Table IX's 0.5 / 0.001); pretraining defaults
    to Adam at 0.01 without corruption, full batch, as ``sdae sae`` (500 steps here).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(100,)
        Sizes of the encoders, input side first: ``(300, 100)`` makes ``n_features-300-100``.
    tied : bool, default=False
        Tied weights ``W' = W^T`` in the pretrained autoencoders.
    noise : str, default="masking"
        Pretraining corruption (see :class:`DenoisingAutoencoder`).
    noise_level : float, default=0.0
        Pretraining corruption level; 0 pretrains plain autoencoders (as ``sdae sae``).
    pretrain_optimizer : {"adam", "sgd"}, default="adam"
    pretrain_lr : float, default=0.01
    pretrain_iterations : int, default=500
        Optimizer steps per layer.
    pretrain_batch_size : int, default=0
        Rows per pretraining step; 0 means full batch. Every layer uses the same settings.
    lr_top : float, default=0.5
        Fine-tuning learning rate of the softmax layer.
    lr_body : float, default=0.001
        Fine-tuning learning rate of the encoders (0 freezes the pretrained features).
    finetune_optimizer : {"sgd", "adam"}, default="sgd"
    finetune_iterations : int, default=2000
    finetune_batch_size : int, default=0
        Labelled rows per fine-tuning step; 0 means full batch.
    finetune_schedule : {"constant", "cosine", "onecycle"}, default="constant"
    input_dropout : float, default=0.0
        Masking noise on the fine-tuning inputs, in [0, 1).
    random_state : int, RandomState or None, default=None
        An int is sdae's ``--seed``: the weights, the streams ``pretrain<k>-noise`` /
        ``-batches`` and ``finetune-batches`` / ``-dropout``. None draws a seed at each fit.
    device : str, default="cpu"
        ``cpu``, ``cuda`` or ``cuda:N``; no silent fallback.
    verbose : bool, default=False
        Show progress bars with the costs.

    Attributes
    ----------
    model_ : sdae.nn.models.StackedClassifier
        The fine-tuned network, in eval mode, on ``device``.
    classes_ : ndarray of shape (n_classes,)
        The labels of the labelled rows (``np.unique(y[y != -1])``), any comparable type.
    loss_curve_ : list of float
        The fine-tuning cost (softmax cross-entropy) of every iteration.
    pretrain_loss_curves_ : list of list of float
        The pretraining cost of every iteration, one list per layer.
    n_labelled_ : int
        Labelled rows fine-tuned on.
    n_iter_ : int
        Fine-tuning steps taken.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names seen in ``fit``, when ``X`` had string column names.
    """

    def __init__(
        self,
        hidden_sizes=(100,),
        *,
        tied=False,
        noise="masking",
        noise_level=0.0,
        pretrain_optimizer="adam",
        pretrain_lr=0.01,
        pretrain_iterations=500,
        pretrain_batch_size=0,
        lr_top=0.5,
        lr_body=0.001,
        finetune_optimizer="sgd",
        finetune_iterations=2000,
        finetune_batch_size=0,
        finetune_schedule="constant",
        input_dropout=0.0,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.hidden_sizes = hidden_sizes
        self.tied = tied
        self.noise = noise
        self.noise_level = noise_level
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_lr = pretrain_lr
        self.pretrain_iterations = pretrain_iterations
        self.pretrain_batch_size = pretrain_batch_size
        self.lr_top = lr_top
        self.lr_body = lr_body
        self.finetune_optimizer = finetune_optimizer
        self.finetune_iterations = finetune_iterations
        self.finetune_batch_size = finetune_batch_size
        self.finetune_schedule = finetune_schedule
        self.input_dropout = input_dropout
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def training_settings(self) -> tuple[AutoencoderTraining, Finetuning]:
        """The pretraining settings (one per layer, all equal) and the fine-tuning
        settings these parameters make; a bad value raises ``ValueError``."""
        pretrain_names = {"lr": "pretrain_lr", "iterations": "pretrain_iterations",
                          "optimizer": "pretrain_optimizer", "batch_size": "pretrain_batch_size"}
        with as_value_error(pretrain_names):
            pretrain = AutoencoderTraining(
                lr=check_float(self.pretrain_lr, "pretrain_lr"),
                iterations=check_int(self.pretrain_iterations, "pretrain_iterations", 1),
                optimizer=self.pretrain_optimizer,
                batch_size=check_int(self.pretrain_batch_size, "pretrain_batch_size", 0),
                noise=self.noise,
                noise_level=check_float(self.noise_level, "noise_level"),
            )
        tune_names = {"iterations": "finetune_iterations", "optimizer": "finetune_optimizer",
                      "batch_size": "finetune_batch_size", "schedule": "finetune_schedule"}
        with as_value_error(tune_names):
            tune = Finetuning(
                lr_top=check_float(self.lr_top, "lr_top"),
                lr_body=check_float(self.lr_body, "lr_body"),
                iterations=check_int(self.finetune_iterations, "finetune_iterations", 1),
                optimizer=self.finetune_optimizer,
                batch_size=check_int(self.finetune_batch_size, "finetune_batch_size", 0),
                schedule=self.finetune_schedule,
                input_dropout=check_float(self.input_dropout, "input_dropout"),
            )
        return pretrain, tune

    def _sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(check_int(s, "each hidden size", 1) for s in sizes)
        except TypeError:
            sizes = ()
        if not sizes:
            raise ValueError(f"hidden_sizes must be a non-empty sequence of whole numbers >= 1 "
                             f"(e.g. (300, 100)), not {self.hidden_sizes!r}")  # fmt: skip
        return sizes

    def fit(self, X, y):
        """Pretrain on every row of ``X: [n_samples, n_features]`` (in [0, 1]), fine-tune on
        the rows whose label ``y: [n_samples]`` is not ``-1``.

        ``-1`` marks an unlabelled row in a numeric ``y``, or in an object-dtype ``y`` that
        mixes labels of other types (strings) with ``-1``, as in
        :class:`sklearn.semi_supervised.SelfTrainingClassifier`; a ``y`` of numpy's string
        dtype has no unlabelled rows. At least two classes must be labelled.
        Returns the fitted estimator.
        """
        pretrain, tune = self.training_settings()
        sizes, tied = self._sizes(), check_bool(self.tied, "tied")
        device, seed = device_of(self.device), seed_of(self.random_state)
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        labelled = np.asarray(y != -1, dtype=bool).reshape(len(y))
        if not labelled.any():
            raise ValueError("y has no labelled rows (every label is -1, the mark of an "
                             "unlabelled row); label some rows to fine-tune on")  # fmt: skip
        y_lab = y[labelled]
        check_classification_targets(y_lab)
        X = unit_interval(X, type(self).__name__)
        self.classes_ = np.unique(y_lab)
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class ({self.classes_[0]!r}) among its labelled rows; "
                             "a classifier needs at least 2 classes")  # fmt: skip
        with seeded(seed):  # as sdae.runs.sae.pretrain_model
            model = StackedClassifier((X.shape[1], *sizes), tied, len(self.classes_))
        model.to(device)
        x = to_tensor(X, device)
        with as_value_error():
            histories = pretrain_stack(model.stack, x, [pretrain] * len(sizes),
                                       Streams(seed, device=device),
                                       progress=bool(self.verbose))  # fmt: skip
            idx = torch.as_tensor(np.flatnonzero(labelled), device=device)
            targets = torch.as_tensor(np.searchsorted(self.classes_, y_lab), device=device)
            history = finetune(model, x[idx], targets, tune,
                               rng=Streams(seed, "finetune-", device),
                               progress=bool(self.verbose))  # fmt: skip
        self.model_ = model.eval()
        self.pretrain_loss_curves_ = histories
        self.loss_curve_ = history
        self.n_labelled_ = int(labelled.sum())
        self.n_iter_ = tune.iterations
        return self

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        X = unit_interval(X, type(self).__name__)
        # in float64: a float32 product's rounding depends on how many rows it is given (BLAS
        # picks its kernel by size), and the probabilities must not depend on the batch
        # (scikit-learn's check_methods_subset_invariance, 1e-7)
        model = copy.deepcopy(self.model_).double()
        return run_batches(model, X, self.device, np.float64)

    def predict_proba(self, X):
        """Class probabilities ``[n_samples, n_classes]`` (the softmax layer; columns in the
        order of ``classes_``), rows summing to 1."""
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`, computed stably."""
        logits = self._logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """The most probable label of each row of ``X``: ``[n_samples]``, from ``classes_``."""
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # in fact [0, 1]: see the module's docstring
        return tags
