""":class:`DenoisingAutoencoder`: the paper's DAE as a scikit-learn transformer, trained by
the loop ``sdae dae`` runs (:func:`sdae.nn.training.train_autoencoder`).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_array, check_is_fitted

from sdae.config.training import AutoencoderTraining
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.training import reconstruction_cost, train_autoencoder
from sdae.rng import Streams
from sdae.sklearn.checks import (
    PREDICT_BATCH,
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


class DenoisingAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A denoising autoencoder ``n_features -> hidden -> n_features`` (paper §IV.A-B) as a
    scikit-learn transformer: ``transform`` gives the codes, ``denoise`` the reconstruction.

    ``fit`` trains with :func:`sdae.nn.training.train_autoencoder`, the loop ``sdae dae`` runs:
    each iteration corrupts the clean rows with ``noise`` at ``noise_level`` (drawn afresh, or
    once with ``fixed_noise``) and takes one optimizer step on the cross-entropy (paper
    equation 2, summed over features, averaged over rows) between the reconstruction
    ``z = s(W' s(W x~ + b) + b')`` of the corrupted rows and the *clean* rows.

    Parameters
    ----------
    hidden : int, default=256
        Hidden units: the length of the codes.
    tied : bool, default=False
        ``W' = W^T`` (one weight matrix) instead of the paper's separate ``W, W'``.
    noise : {"salt-and-pepper", "salt-and-pepper-fresh", "impulse", "masking", "gaussian"}, \
default="salt-and-pepper"
        The training corruption (:mod:`sdae.nn.noise`): salt-and-pepper sets a feature to 1 or
        to 0, each with probability ``noise_level`` (paper §IV.B); impulse replaces it with
        probability ``noise_level`` (the density), by 0 or 1 alike; masking sets it to 0;
        gaussian adds N(0, noise_level^2) and clips to [0, 1].
    noise_level : float, default=0.1
        In [0, 0.5] for salt-and-pepper, [0, 1] otherwise; 0 trains a plain autoencoder.
    fixed_noise : bool, default=False
        Corrupt the training rows once instead of at every iteration.
    optimizer : {"adam", "sgd"}, default="adam"
        ``sgd`` is plain gradient descent (the paper's).
    lr : float, default=0.01
        Learning rate.
    iterations : int, default=500
        Optimizer steps (one step sees one minibatch, or every row with ``batch_size=0``).
    batch_size : int, default=0
        Rows per step; 0 means full batch.
    schedule : {"constant", "cosine", "onecycle"}, default="constant"
        Learning-rate schedule over the ``iterations``.
    sparsity_weight : float, default=0.0
        Weight of the KL sparsity penalty on the mean code (0: none).
    sparsity_target : float, default=0.05
        Target mean activation of the sparsity penalty, in (0, 1).
    random_state : int, RandomState or None, default=None
        An int is sdae's ``--seed``: it draws the weights (:func:`sdae.nn.models.seeded`) and
        the streams ``train-noise`` / ``train-batches``; the same int gives bit-identical
        results on the CPU. None draws a seed from numpy's global generator at each fit.
    device : str, default="cpu"
        ``cpu``, ``cuda`` or ``cuda:N``; a CUDA device that is not there is a ``ValueError``
        (no silent fallback to the CPU).
    verbose : bool, default=False
        Show a progress bar with the cost.

    Attributes
    ----------
    model_ : sdae.nn.models.Autoencoder
        The trained network, in eval mode, on ``device``.
    loss_curve_ : list of float
        The training cost of every iteration (on the corrupted input).
    n_iter_ : int
        Optimizer steps taken.
    n_features_in_ : int
        Features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit``, when ``X`` had string column names.
    """

    def __init__(
        self,
        hidden=256,
        *,
        tied=False,
        noise="salt-and-pepper",
        noise_level=0.1,
        fixed_noise=False,
        optimizer="adam",
        lr=0.01,
        iterations=500,
        batch_size=0,
        schedule="constant",
        sparsity_weight=0.0,
        sparsity_target=0.05,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.hidden = hidden
        self.tied = tied
        self.noise = noise
        self.noise_level = noise_level
        self.fixed_noise = fixed_noise
        self.optimizer = optimizer
        self.lr = lr
        self.iterations = iterations
        self.batch_size = batch_size
        self.schedule = schedule
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def training_settings(self) -> AutoencoderTraining:
        """The :class:`sdae.config.training.AutoencoderTraining` these parameters make (validated:
        a bad value raises ``ValueError``)."""
        with as_value_error():
            return AutoencoderTraining(
                lr=check_float(self.lr, "lr"),
                iterations=check_int(self.iterations, "iterations", 1),
                optimizer=self.optimizer,
                batch_size=check_int(self.batch_size, "batch_size", 0),
                noise=self.noise,
                noise_level=check_float(self.noise_level, "noise_level"),
                fixed_noise=check_bool(self.fixed_noise, "fixed_noise"),
                sparsity_target=check_float(self.sparsity_target, "sparsity_target"),
                sparsity_weight=check_float(self.sparsity_weight, "sparsity_weight"),
                schedule=self.schedule,
            )

    def fit(self, X, y=None):
        """Train on ``X: [n_samples, n_features]`` in [0, 1]; ``y`` is ignored.

        Returns the fitted estimator.
        """
        settings = self.training_settings()
        hidden = check_int(self.hidden, "hidden", 1)
        tied = check_bool(self.tied, "tied")
        device, seed = device_of(self.device), seed_of(self.random_state)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        X = unit_interval(X, type(self).__name__)
        with seeded(seed):  # as sdae.runs.build_dae
            model = Autoencoder(X.shape[1], hidden, tied)
        model.to(device)
        with as_value_error():
            history = train_autoencoder(model, to_tensor(X, device), settings,
                                        Streams(seed, "train-", device),
                                        desc=f"DAE {X.shape[1]}-{hidden}",
                                        progress=bool(self.verbose))  # fmt: skip
        self.model_ = model.eval()
        self.loss_curve_ = history
        self.n_iter_ = settings.iterations
        return self

    @property
    def _n_features_out(self) -> int:  # for get_feature_names_out
        return self.model_.n_hidden

    def _input(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        return unit_interval(X, type(self).__name__)

    def transform(self, X):
        """The codes ``y = s(W x + b)`` of the clean ``X: [n_samples, n_features]``:
        ``[n_samples, hidden]`` in (0, 1), in ``X``'s float dtype."""
        X = self._input(X)
        return run_batches(self.model_.encode, X, self.device).astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Decode codes ``X: [n_samples, hidden]`` (from :meth:`transform`) into
        reconstructions ``s(W' y + b'): [n_samples, n_features]`` in (0, 1)."""
        check_is_fitted(self)
        codes = check_array(X, dtype=(np.float64, np.float32))
        if codes.shape[1] != self.model_.n_hidden:
            raise ValueError(f"X has {codes.shape[1]} features, but inverse_transform expects "
                             f"codes of {self.model_.n_hidden} (the hidden units)")  # fmt: skip

        def decode(c):
            return torch.sigmoid(self.model_.decode_logits(c))

        return run_batches(decode, codes, self.device).astype(codes.dtype, copy=False)

    def denoise(self, X):
        """The reconstruction ``z = s(W' s(W x + b) + b')`` of ``X: [n_samples,
        n_features]`` in [0, 1] (noisy or not): ``[n_samples, n_features]`` in (0, 1).
        Equal to ``inverse_transform(transform(X))``."""
        X = self._input(X)
        return run_batches(self.model_.reconstruct, X, self.device).astype(X.dtype, copy=False)

    def score(self, X, y=None):
        """Minus the mean reconstruction cost of the clean ``X`` (equation 2: cross-entropy
        summed over features, averaged over rows; no corruption): higher is better, 0 is a
        perfect reconstruction of 0/1 data. ``y`` is ignored."""
        X = self._input(X)
        x = to_tensor(X, self.device)
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(x), PREDICT_BATCH):
                xb = x[start : start + PREDICT_BATCH]
                total += float(reconstruction_cost(self.model_(xb), xb)) * len(xb)
        return -total / len(x)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # in fact [0, 1]: see the module's docstring
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
