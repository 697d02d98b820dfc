"""scikit-learn estimators over sdae's training loops: a denoising autoencoder (a transformer)
and a semi-supervised stacked-autoencoder classifier.

Both call the training code the command line runs (:func:`sdae.training.train_autoencoder`,
:func:`sdae.training.pretrain_stack`, :func:`sdae.training.finetune`), with the same settings
(:class:`sdae.settings.AutoencoderTraining`, :class:`sdae.settings.Finetuning`), the same
models (:mod:`sdae.models`, weights drawn by :func:`sdae.models.seeded`) and the same named
random streams (:class:`sdae.rng.Streams`): an integer ``random_state`` is a ``--seed``, and
gives the weights ``sdae dae`` / ``sdae sae`` would give on the same data and settings.

::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.linear_model import LogisticRegression
    from sdae.sklearn import DenoisingAutoencoder, StackedAutoencoderClassifier

    pipe = make_pipeline(MinMaxScaler(clip=True), DenoisingAutoencoder(hidden=64),
                         LogisticRegression(max_iter=1000))
    pipe.fit(X_train, y_train).score(X_test, y_test)

    # y == -1 marks unlabelled rows: pretraining sees every row, fine-tuning the labelled ones
    clf = StackedAutoencoderClassifier(hidden_sizes=(100,), random_state=0).fit(X, y)

**Inputs.** ``X`` is ``[n_samples, n_features]`` of numbers in [0, 1] (pixels / 255, or any
features scaled to that range): the reconstruction cost is the cross-entropy of the paper's
equation (2), which treats every feature as the probability of a Bernoulli variable. Values
outside [0, 1] are refused with a ``ValueError``; scale them first, e.g. with
``sklearn.preprocessing.MinMaxScaler(clip=True)`` in a ``Pipeline`` (``clip=True`` keeps rows
unseen in ``fit`` inside [0, 1] too). Only rounding errors, values at most
``UNIT_TOLERANCE`` (1e-5) outside the range, are clipped into it (a copy; ``X`` is never
changed). NaN and infinity are refused.
Computation runs in float32 on ``device``; results come back as numpy arrays on the CPU.

**Parameters** are stored unchanged by ``__init__`` and checked by ``fit``: a bad value raises
``ValueError`` with the same one-line message the command line prints for it.

Needs scikit-learn >= 1.6 (``validate_data`` and ``__sklearn_tags__``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import sklearn
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # scikit-learn < 1.6
    raise ImportError(
        f"sdae.sklearn needs scikit-learn >= 1.6 (found {sklearn.__version__}); "
        "upgrade it: pip install -U 'scikit-learn>=1.6'"
    ) from exc

from sdae.devices import check_device
from sdae.errors import SdaeError
from sdae.models import Autoencoder, StackedAutoencoder, StackedClassifier, seeded
from sdae.rng import Streams, check_seed
from sdae.settings import AutoencoderTraining, Finetuning
from sdae.training import finetune, pretrain_stack, reconstruction_cost, train_autoencoder

__all__ = ["DenoisingAutoencoder", "StackedAutoencoderClassifier"]

#: rows per forward pass when transforming / predicting (bounds the memory of large inputs)
PREDICT_BATCH = 8192
_SEED_DRAW = 2**31  # a seed drawn for random_state=None / a RandomState lies in [0, 2**31)
#: how far outside [0, 1] a value may lie and be clipped as a rounding error (MinMaxScaler
#: in float32 overshoots 1 by up to ~4e-6) instead of refused
UNIT_TOLERANCE = 1e-5


@contextmanager
def _as_value_error() -> Iterator[None]:
    """sdae's own one-line errors (bad settings, a diverging cost) as the ``ValueError``
    scikit-learn's conventions and checks expect, message unchanged."""
    try:
        yield
    except SdaeError as exc:
        raise ValueError(str(exc)) from exc


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, not {value!r}")
    return int(value)


def _check_float(value, name: str) -> float:
    """A real number (the settings check its range, with the command line's message)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def _seed(random_state) -> int:
    """The sdae seed of a fit: an int is used as it is (a ``--seed``); None or a
    ``RandomState`` draws one from that generator (None: numpy's global one)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        with _as_value_error():
            check_seed(int(random_state), "random_state")
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(_SEED_DRAW))
    raise ValueError(f"random_state must be None, a whole number from 0 to 2**63 - 1 or a "
                     f"numpy RandomState, not {random_state!r}")  # fmt: skip


def _device(device) -> str:
    with _as_value_error():
        check_device(device)
    return device


def _unit_interval(X: np.ndarray, who: str) -> np.ndarray:
    """``X``, once checked to lie in [0, 1], the range the cross-entropy cost (paper eq. 2)
    is defined on; otherwise a ``ValueError`` telling how to scale it. Rounding errors of a
    scaler (up to ``UNIT_TOLERANCE`` outside the range) are clipped, into a copy."""
    if X.size == 0:
        return X
    low, high = float(X.min()), float(X.max())
    if low < -UNIT_TOLERANCE or high > 1.0 + UNIT_TOLERANCE:
        what = "Negative values in data" if low < 0.0 else "Values above 1 in data"
        raise ValueError(
            f"{what} passed to {who}: X lies in [{low:.4g}, {high:.4g}] but must lie in "
            "[0, 1] (the cross-entropy cost, paper eq. 2, needs it); scale it first, e.g. with "
            "sklearn.preprocessing.MinMaxScaler(clip=True) in a Pipeline, or pixels / 255"
        )
    return np.clip(X, 0.0, 1.0) if low < 0.0 or high > 1.0 else X


def _run(fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray, device: str) -> np.ndarray:
    """``fn`` over the rows of ``X`` in float32 on ``device``, ``PREDICT_BATCH`` rows at a
    time; the result as a numpy array on the CPU."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(X), PREDICT_BATCH):
            xb = np.ascontiguousarray(X[start : start + PREDICT_BATCH], dtype=np.float32)
            parts.append(fn(torch.from_numpy(xb).to(device)).cpu().numpy())
    return np.concatenate(parts)


def _tensor(X: np.ndarray, device: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)


class DenoisingAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A denoising autoencoder ``n_features -> hidden -> n_features`` (paper §IV.A-B) as a
    scikit-learn transformer: ``transform`` gives the codes, ``denoise`` the reconstruction.

    ``fit`` trains with :func:`sdae.training.train_autoencoder`, the loop ``sdae dae`` runs:
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
    noise : {"salt-and-pepper", "salt-and-pepper-fresh", "masking", "gaussian"}, \
default="salt-and-pepper"
        The training corruption (:mod:`sdae.noise`): salt-and-pepper sets a feature to 1 or
        to 0, each with probability ``noise_level`` (paper §IV.B); masking sets it to 0;
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
        An int is sdae's ``--seed``: it draws the weights (:func:`sdae.models.seeded`) and
        the streams ``train-noise`` / ``train-batches``; the same int gives bit-identical
        results on the CPU. None draws a seed from numpy's global generator at each fit.
    device : str, default="cpu"
        ``cpu``, ``cuda`` or ``cuda:N``; a CUDA device that is not there is a ``ValueError``
        (no silent fallback to the CPU).
    verbose : bool, default=False
        Show a progress bar with the cost.

    Attributes
    ----------
    model_ : sdae.models.Autoencoder
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
        """The :class:`sdae.settings.AutoencoderTraining` these parameters make (validated:
        a bad value raises ``ValueError``)."""
        with _as_value_error():
            return AutoencoderTraining(
                lr=_check_float(self.lr, "lr"),
                iterations=_check_int(self.iterations, "iterations", 1),
                optimizer=self.optimizer,
                batch_size=_check_int(self.batch_size, "batch_size", 0),
                noise=self.noise,
                noise_level=_check_float(self.noise_level, "noise_level"),
                fixed_noise=_check_bool(self.fixed_noise, "fixed_noise"),
                sparsity_target=_check_float(self.sparsity_target, "sparsity_target"),
                sparsity_weight=_check_float(self.sparsity_weight, "sparsity_weight"),
                schedule=self.schedule,
            )

    def fit(self, X, y=None):
        """Train on ``X: [n_samples, n_features]`` in [0, 1]; ``y`` is ignored.

        Returns the fitted estimator.
        """
        settings = self.training_settings()
        hidden = _check_int(self.hidden, "hidden", 1)
        tied = _check_bool(self.tied, "tied")
        device, seed = _device(self.device), _seed(self.random_state)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        X = _unit_interval(X, type(self).__name__)
        with seeded(seed):  # as sdae.experiments.build_dae
            model = Autoencoder(X.shape[1], hidden, tied)
        model.to(device)
        with _as_value_error():
            history = train_autoencoder(model, _tensor(X, device), settings,
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
        return _unit_interval(X, type(self).__name__)

    def transform(self, X):
        """The codes ``y = s(W x + b)`` of the clean ``X: [n_samples, n_features]``:
        ``[n_samples, hidden]`` in (0, 1), in ``X``'s float dtype."""
        X = self._input(X)
        return _run(self.model_.encode, X, self.device).astype(X.dtype, copy=False)

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

        return _run(decode, codes, self.device).astype(codes.dtype, copy=False)

    def denoise(self, X):
        """The reconstruction ``z = s(W' s(W x + b) + b')`` of ``X: [n_samples,
        n_features]`` in [0, 1] (noisy or not): ``[n_samples, n_features]`` in (0, 1).
        Equal to ``inverse_transform(transform(X))``."""
        X = self._input(X)
        return _run(self.model_.reconstruct, X, self.device).astype(X.dtype, copy=False)

    def score(self, X, y=None):
        """Minus the mean reconstruction cost of the clean ``X`` (equation 2: cross-entropy
        summed over features, averaged over rows; no corruption): higher is better, 0 is a
        perfect reconstruction of 0/1 data. ``y`` is ignored."""
        X = self._input(X)
        x = _tensor(X, self.device)
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


class StackedAutoencoderClassifier(ClassifierMixin, BaseEstimator):
    """A stacked autoencoder with a softmax layer (paper §II.C, §IV.C, §V.B), trained the
    way ``sdae sae`` trains it, semi-supervised in scikit-learn's convention: rows whose
    label is ``-1`` are unlabelled.

    ``fit`` builds ``n_features -> hidden_sizes[0] -> ... -> hidden_sizes[-1] -> softmax``,
    then

    1. pretrains the encoders greedily, layer by layer, on **every** row of ``X``, labelled
       or not (:func:`sdae.training.pretrain_stack`): layer k is an autoencoder trained on the
       codes of layers 1..k-1, with the ``pretrain_*`` settings and the ``noise`` corruption;
    2. fine-tunes the whole network by backpropagation of the softmax cross-entropy on the
       **labelled** rows only (:func:`sdae.training.finetune`), with the learning rate
       ``lr_top`` for the softmax layer and ``lr_body`` for the encoders (0 freezes them).

    The fine-tuning defaults are the paper's recipe (:class:`sdae.settings.Finetuning`:
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
    model_ : sdae.models.StackedClassifier
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
        with _as_value_error():
            pretrain = AutoencoderTraining(
                lr=_check_float(self.pretrain_lr, "pretrain_lr"),
                iterations=_check_int(self.pretrain_iterations, "pretrain_iterations", 1),
                optimizer=self.pretrain_optimizer,
                batch_size=_check_int(self.pretrain_batch_size, "pretrain_batch_size", 0),
                noise=self.noise,
                noise_level=_check_float(self.noise_level, "noise_level"),
            )
            tune = Finetuning(
                lr_top=_check_float(self.lr_top, "lr_top"),
                lr_body=_check_float(self.lr_body, "lr_body"),
                iterations=_check_int(self.finetune_iterations, "finetune_iterations", 1),
                optimizer=self.finetune_optimizer,
                batch_size=_check_int(self.finetune_batch_size, "finetune_batch_size", 0),
                schedule=self.finetune_schedule,
                input_dropout=_check_float(self.input_dropout, "input_dropout"),
            )
        return pretrain, tune

    def _sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = tuple(_check_int(s, "each hidden size", 1) for s in sizes)
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
        sizes, tied = self._sizes(), _check_bool(self.tied, "tied")
        device, seed = _device(self.device), _seed(self.random_state)
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        labelled = np.asarray(y != -1, dtype=bool).reshape(len(y))
        if not labelled.any():
            raise ValueError("y has no labelled rows (every label is -1, the mark of an "
                             "unlabelled row); label some rows to fine-tune on")  # fmt: skip
        y_lab = y[labelled]
        check_classification_targets(y_lab)
        X = _unit_interval(X, type(self).__name__)
        self.classes_ = np.unique(y_lab)
        if len(self.classes_) < 2:
            raise ValueError(f"y has one class ({self.classes_[0]!r}) among its labelled rows; "
                             "a classifier needs at least 2 classes")  # fmt: skip
        with seeded(seed):  # as sdae.experiments.pretrain_model
            model = StackedClassifier(StackedAutoencoder((X.shape[1], *sizes), tied),
                                      len(self.classes_))  # fmt: skip
        model.to(device)
        x = _tensor(X, device)
        with _as_value_error():
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
        X = _unit_interval(X, type(self).__name__)
        return _run(self.model_, X, self.device).astype(np.float64)

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
