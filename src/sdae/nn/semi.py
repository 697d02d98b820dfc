"""Semi-supervised classification (``sdae semi``): the few labelled images and the unlabelled
pool together (:func:`self_training`), in three steps.

1. **Graph labels** (:func:`graph_labels`). The paper's 784-100 stack is pretrained on the
   pool as ``sdae sae`` pretrains it (:func:`sae_codes`); its codes beside the principal
   components of the images' HOG (:func:`graph_features`) make a 20-NN graph over the pool,
   and label spreading (Zhou et al., 2004) carries the labels over it; the images of each
   class the graph is surest of (``graph_per_class``: ``sdae semi`` takes a twelfth of a
   class's pool, 50 on the paper protocol, 500 on the full one) join the labelled ones
   with the graph's label.
2. **FixMatch** (Sohn et al., 2020) with an EMA teacher (Tarvainen & Valpola, 2017)
   (:func:`fixmatch`). Each step takes ``B`` labelled images and ``unlabelled_ratio x B``
   images of the pool (the protocol's training images; never the test images). The
   labelled ones, weakly augmented (a shift of up to a pixel, a left-right flip), give the
   cross-entropy with their labels. The teacher, an exponential moving average of the
   student's weights, labels the weak view of each pool image, its predictions first
   scaled towards balanced classes (distribution alignment, Berthelot et al., 2020:
   :func:`_align`); where its confidence reaches ``threshold`` the student must give that
   label to a strong view: two shifts, a flip, the DAE's salt-and-pepper noise, a cutout.
3. **A second round**: label spreading from the given labels over the first teacher's last
   hidden layer (:func:`embed`) picks the pool images of each class it is surest of
   (``round_per_class``: half of a class's pool, 300 on the paper protocol); they join the
   given labels and FixMatch runs again from fresh weights.

Why: chosen on validation label draws 10 and 11, scored on the pool (docs/semi.md has the
table of attempts). Pool accuracy (%) at 1 label per class, draws 10 / 11, and 5 labels,
draw 10: sdae 0.2.0's recipe (steps 1-2 on the codes alone, no alignment) 58.0 / 61.3 /
66.4; with alignment 58.5 / 62.5 / 69.7; with the second round 64.6 / 67.9 / 71.6; with HOG
beside the codes 64.5 / - / 75.6. Twice the FixMatch steps instead of a second round: 59.1
(1 label, draw 10); a second round from the teacher's own predictions: 61.1. The counts as
shares of the pool (sdae 0.4.0), on the full protocol's validation draw 10, 1 / 5 labels:
fixed 50 / 300 gave 66.1 / 72.5, the shares (500 / 3000) 69.5 / 79.5.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import os
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from skimage.feature import hog
from sklearn.decomposition import PCA
from sklearn.semi_supervised import LabelSpreading
from torch.nn import functional as F

from sdae import __version__
from sdae.config.classification import SemiTraining, paper_pretraining
from sdae.data.cache import cached_array
from sdae.nn import distributed, precision
from sdae.nn.augment import GREY28, as_nchw, augment, flat, image_shape
from sdae.nn.convnets import DeepCNN
from sdae.nn.loop import History, TrainingLoop
from sdae.nn.models import StackedAutoencoder, seeded
from sdae.nn.noise import corrupt
from sdae.nn.training import pretrain_stack
from sdae.rng import Streams, derive_seed

CUTOUT = 12 / 28  # side of the square the strong view blanks, as a share of the image's


def cutout(x: torch.Tensor, size: int, generator: torch.Generator,
           shape: Sequence[int] = GREY28) -> torch.Tensor:  # fmt: skip
    """``x: [N, D]`` of images of ``shape`` with a ``size`` x ``size`` square (centre uniform
    over the image, clipped at its edges) set to 0 in each image, in every channel."""
    img = as_nchw(x, shape)
    n, _, h, w = img.shape
    # a square image draws both coordinates at once, as sdae drew them for 28x28 alone
    draws = [(h, 2)] if h == w else [(h, 1), (w, 1)]
    centre = torch.cat([torch.randint(0, side, (k, n, 1, 1), generator=generator,
                                      device=generator.device) for side, k in draws])  # fmt: skip
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    half = size // 2
    square = ((ys - centre[0].to(x.device)).abs() <= half) & \
        ((xs - centre[1].to(x.device)).abs() <= half)  # fmt: skip
    return flat(img.masked_fill(square[:, None], 0.0))


class Views:
    """The weak and strong views of images of ``shape``, each drawn from its own stream; the
    left-right flip only where ``flip`` (it changes what a digit or a letter means)."""

    def __init__(self, rng: Streams, strong_noise: float, shape: Sequence[int] = GREY28,
                 flip: bool = True) -> None:  # fmt: skip
        self.weak_gen, self.strong_gen = rng.generator("weak"), rng.generator("strong")
        self.strong_noise, self.shape = strong_noise, image_shape(shape)
        self.moves = ("shift", "flip") if flip else ("shift",)
        self.cutout = max(1, round(CUTOUT * min(self.shape[:2])))

    def weak(self, x: torch.Tensor) -> torch.Tensor:
        return augment(x, self.moves, self.weak_gen, self.shape)

    def strong(self, x: torch.Tensor) -> torch.Tensor:
        g = self.strong_gen
        x = augment(augment(x, self.moves, g, self.shape), ("shift",), g, self.shape)
        x = corrupt(x, "salt-and-pepper", self.strong_noise, g)
        return cutout(x, self.cutout, g, self.shape)


def sae_codes(pool: torch.Tensor, seed: int, iterations: int = 1000) -> np.ndarray:
    """``[P, 100]``: the codes of the paper's 784-100 stack (weights from ``seed``),
    pretrained on ``pool: [P, 784]`` with Table VII's schedule (``iterations`` steps, the
    paper's 1000 by default), as ``sdae sae`` pretrains it (same streams).

    They depend on the pool and the seed alone, not on the label draw, and take half of a
    run on the 60000-image pool (~7 of ~15 minutes on 2 cores): so they are kept on disk
    (:func:`sdae.data.cache.cached_array`, under a key of the pool's bytes, the seed, the
    steps, sdae's and torch's versions and the device) and a run on the same pool and seed
    reads them back. ``SDAE_NO_CODE_CACHE=1`` turns that off."""
    if os.environ.get("SDAE_NO_CODE_CACHE"):  # before the key: hashing the pool takes time
        return _pretrained_codes(pool, seed, iterations)
    key = "\0".join(map(str, (
        "sae_codes", __version__, torch.__version__, pool.device.type, seed, iterations,
        tuple(pool.shape), os.environ.get("SDAE_NO_BF16", ""),
        hashlib.sha256(np.ascontiguousarray(pool.detach().float().cpu().numpy())).hexdigest())))
    return cached_array("codes", key, lambda: _pretrained_codes(pool, seed, iterations),
                        (len(pool), 100))  # fmt: skip


def _pretrained_codes(pool: torch.Tensor, seed: int, iterations: int) -> np.ndarray:
    sizes = (pool.shape[1], 100)
    schedule = tuple(dataclasses.replace(t, iterations=iterations)
                     for t in paper_pretraining(sizes))  # fmt: skip
    with seeded(seed):
        stack = StackedAutoencoder(sizes).to(pool.device)
    pretrain_stack(stack, pool, schedule, Streams(seed, device=str(pool.device)))
    with torch.no_grad():
        return stack.encode(pool).cpu().numpy()


def hog_features(pool: torch.Tensor, shape: Sequence[int], components: int,
                 seed: int) -> np.ndarray:  # fmt: skip
    """``[P, components]``: histograms of oriented gradients (Dalal & Triggs, 2005;
    scikit-image's ``hog``: 9 orientations, cells of a seventh of the shorter side, at least
    2 pixels, blocks of 2 x 2 cells) of the images ``pool: [P, D]`` of ``shape``, reduced by
    PCA (seeded by ``seed``)."""
    h, w, c = image_shape(shape)
    cell = max(2, min(h, w) // 7)  # 4 x 4 pixels on 28 x 28
    images = pool.detach().float().cpu().numpy().reshape(len(pool), h, w, c)  # channels last
    rows = np.stack([hog(im, orientations=9, pixels_per_cell=(cell, cell),
                         cells_per_block=(2, 2), channel_axis=-1) for im in images])  # fmt: skip
    return PCA(min(components, *rows.shape), random_state=seed).fit_transform(rows)


def graph_features(pool: torch.Tensor, config: SemiTraining,
                   shape: Sequence[int] = GREY28) -> np.ndarray:  # fmt: skip
    """``[P, F]``: what the graph of :func:`graph_labels` joins pool images by, for
    ``config.graph_features``: ``sae`` the codes of :func:`sae_codes`; ``pca`` the
    ``graph_components`` principal components of the pixels; ``sae+hog`` the codes beside
    :func:`hog_features` (``graph_components`` of them), each scaled to a mean row norm of 1
    so that neither outweighs the other. On the paper protocol (label draws 10-14, not
    reported) the 50 images per class label spreading is surest of are right 74.0 / 86.7 /
    90.0 % of the time on ``sae`` and 76.4 / 90.8 / 93.1 % on ``sae+hog`` at 1 / 5 / 10
    labels per class (PCA-50: 71.9 / 82.1 / 85.9)."""
    c = config
    if c.graph_features == "pca":
        x = pool.detach().cpu().numpy()
        return PCA(min(c.graph_components, *x.shape), random_state=c.seed).fit_transform(x)
    codes = sae_codes(pool, c.seed, c.graph_pretrain_iterations)
    if c.graph_features == "sae":
        return codes
    parts = [codes, hog_features(pool, shape, c.graph_components, c.seed)]
    return np.hstack([p / max(np.linalg.norm(p, axis=1).mean(), 1e-12) for p in parts])


def graph_labels(pool: torch.Tensor, labelled: np.ndarray, labels: np.ndarray,
                 config: SemiTraining, shape: Sequence[int] = GREY28
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Label spreading (Zhou et al., 2004; scikit-learn's ``LabelSpreading``) over a
    ``config.graph_neighbors``-NN graph of ``pool: [P, D]`` (on the features of
    ``config.graph_features``: :func:`sae_codes` or PCA), from the labelled
    positions ``labelled: [L]`` with ``labels: [L]``. Returns ``(positions, labels)`` of the
    ``config.graph_per_class`` most confident other pool images of each class (the class the
    graph gives them), most confident first. The stack's weights and PCA are seeded by
    ``config.seed``; ``shape`` is the images' (for HOG)."""

    c = config
    if c.graph_per_class == 0 or len(pool) <= len(labelled):
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    return spread_labels(graph_features(pool, c, shape), labelled, labels, c, c.graph_per_class)


def spread_labels(features: np.ndarray, labelled: np.ndarray, labels: np.ndarray,
                  config: SemiTraining, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Label spreading over a ``config.graph_neighbors``-NN graph of ``features: [P, F]``
    from ``labels: [L]`` at ``labelled: [L]``: :func:`surest_per_class` of its result."""
    target = np.full(len(features), -1)
    target[labelled] = labels
    spread = LabelSpreading(kernel="knn", alpha=config.graph_alpha, max_iter=200,
                            n_neighbors=min(config.graph_neighbors, len(features) - 1))
    with warnings.catch_warnings():  # "max_iter reached" is no error for our use
        warnings.simplefilter("ignore")
        dist = np.nan_to_num(spread.fit(features, target).label_distributions_)
    return surest_per_class(dist, spread.classes_, labelled, np.unique(labels), per_class)


def surest_per_class(dist: np.ndarray, classes: np.ndarray, labelled: np.ndarray,
                     wanted: np.ndarray, per_class: int
                     ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``(positions, labels)`` of the ``per_class`` pool images of each class in ``wanted``
    that ``dist: [P, K]`` (a distribution over ``classes: [K]`` for each pool image) is
    surest of, most confident first; the ``labelled`` positions are never picked."""
    best = classes[dist.argmax(1)]
    confidence = dist.max(1).astype(np.float64)
    confidence[labelled] = -1.0  # already labelled: never picked again
    picked = []
    for k in wanted:
        mine = np.flatnonzero((best == k) & (confidence >= 0))
        picked.append(mine[np.argsort(-confidence[mine], kind="stable")[:per_class]])
    positions = np.concatenate(picked)
    return positions, best[positions]


ALIGN_DECAY = 0.99  # the running mean of the teacher's predictions: ~100 steps


def _align(probs: torch.Tensor, seen: torch.Tensor, share: float
           ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Distribution alignment (Berthelot et al., ReMixMatch, 2020): ``probs: [U, K]``, the
    teacher's predictions on the step's pool images, times the wanted class distribution
    (uniform: the labelled draw is stratified) over ``seen: [K]``, the running mean of its
    predictions, renormalised. Returns ``(aligned probs, the updated running mean)``; under
    torchrun the batch mean is the whole step's (``share``: this rank's share of its rows)."""
    mean = distributed.reduce_cost(probs.mean(0), share)
    seen = ALIGN_DECAY * seen + (1 - ALIGN_DECAY) * mean
    aligned = probs / seen.clamp_min(1e-6)
    return aligned / aligned.sum(1, keepdim=True), seen


def _update_teacher(teacher: DeepCNN, student: DeepCNN, decay: float) -> None:
    with torch.no_grad():
        for t, s in zip(teacher.parameters(), student.parameters()):
            t.mul_(decay).add_(s.detach(), alpha=1 - decay)
        for t, s in zip(teacher.buffers(), student.buffers()):  # batch-norm statistics
            t.copy_(s)


def fixmatch(x_l: torch.Tensor, y_l: torch.Tensor, pool: torch.Tensor, config: SemiTraining,
             *, shape: Sequence[int] = GREY28, n_classes: int = 10, progress: bool = False
             ) -> tuple[DeepCNN, list[float]]:  # fmt: skip
    """Train on labelled ``x_l: [L, D]``, ``y_l: [L]`` (classes ``0 .. n_classes - 1``) and
    the unlabelled ``pool: [P, D]``, images of ``shape`` (``D = H W C``). Returns ``(the
    teacher in eval mode, cost of every step)``; the cost is the labelled cross-entropy (mean
    over the ``B`` labelled images) plus the masked pool term (mean over the
    ``unlabelled_ratio x B`` pool images). Randomness: weights from
    ``config.seed``; streams ``semi-labelled`` / ``-pool`` (which images), ``-weak`` /
    ``-strong`` (views), ``-dropout``.

    Under ``torchrun`` every rank draws the whole step's images and views, then takes its
    contiguous share of the labelled and of the pool images (:class:`TrainingLoop`): each
    term is its mean over those rows times their share of the term's rows, so the ranks'
    costs and gradients sum to the whole step's. Batch normalisation normalises each rank's
    own share (rank 0's running statistics are then every rank's: :mod:`.distributed`) and
    dropout draws from a stream of each rank's (``semi-dropout@rank<k>``): with them, one
    process and N differ by more than rounding (without them, by rounding alone: tested).
    The teacher's update, from the same student and statistics, is the same on every rank.
    """
    c, rng = config, Streams(config.seed, "semi-", str(pool.device))
    with seeded(c.seed):
        student = DeepCNN(n_classes, c.width, image_shape(shape)).to_channels_last()
        student = student.to(pool.device)
    teacher = copy.deepcopy(student).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    views, pick_l, pick_u = Views(rng, c.strong_noise, shape, c.flip), rng.generator("labelled"), \
        rng.generator("pool")  # fmt: skip
    n_u = c.unlabelled_ratio * c.batch_size
    seen = torch.full((n_classes,), 1.0 / n_classes, device=pool.device)  # for c.align
    loop = TrainingLoop([(list(student.parameters()), c.lr)], "adam", iterations=c.iterations,
                        schedule="cosine", desc="FixMatch", progress=progress,
                        lr_hint="lower --lr", buffers=student.buffers())  # fmt: skip

    def draw():  # this rank's share of one step's labelled images, labels and pool views
        li = torch.randint(0, len(x_l), (c.batch_size,), generator=pick_l, device=pick_l.device)
        ui = torch.randint(0, len(pool), (n_u,), generator=pick_u, device=pick_u.device)
        xb, yb, ub = views.weak(x_l[li]), y_l[li], pool[ui]
        weak, strong = views.weak(ub), views.strong(ub)
        lab, unl = loop.shard(len(xb)), loop.shard(n_u)  # this rank's rows of each
        return xb[lab.rows], yb[lab.rows], weak[unl.rows], strong[unl.rows], lab, unl

    with seeded(derive_seed(rng.seed, distributed.per_rank("semi-dropout"))), loop:
        steps = (draw() for _ in range(c.iterations))
        first = next(steps)  # the products' precision, probed on the first step's images
        probe = torch.cat([first[0], first[3]])
        dtype = precision.choose(c.precision, probe.device, ("semi", c.width, probe.shape),
                                 precision.forward_backward(student, probe))  # fmt: skip
        loop.precision = precision.name(dtype)
        for i, (xb, yb, weak, strong, lab, unl) in enumerate(itertools.chain([first], steps)):
            both = torch.cat([xb, strong])
            with torch.no_grad(), precision.autocast(dtype, both.device):
                probs = F.softmax(teacher(weak).float(), 1)
            if c.align:
                probs, seen = _align(probs, seen, unl.share)
            confidence, pseudo = probs.max(1)
            student.train()
            loop.zero_grad()
            with precision.autocast(dtype, both.device):
                logits = student(both).float()
            unlabelled = F.cross_entropy(logits[len(xb):], pseudo, reduction="none")
            # each mean weighted by its share (1.0 in one process): the ranks' costs sum
            cost = lab.share * F.cross_entropy(logits[: len(xb)], yb) + \
                unl.share * (unlabelled * (confidence >= c.threshold)).mean()  # fmt: skip
            cost.backward()
            loop.step(i, cost)  # already weighted: the ranks' gradients are summed
            _update_teacher(teacher, student, c.ema)
    return teacher.eval(), loop.history


def predict_proba(model: torch.nn.Module, x: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """``[N, K]``: ``model``'s class probabilities on ``x: [N, D]``, in eval mode."""
    model.eval()
    with torch.no_grad():
        return torch.cat([F.softmax(model(x[i:i + batch]).float(), 1)
                          for i in range(0, len(x), batch)])  # fmt: skip


def embed(model: DeepCNN, x: torch.Tensor, batch: int = 4096) -> np.ndarray:
    """``[N, 256]``: ``model``'s last hidden layer (after its ReLU) on ``x: [N, D]``, in
    eval mode."""
    model.eval()
    hidden = model.classifier[:-2]  # flatten, dropout, dense, ReLU
    with torch.no_grad():
        return torch.cat([hidden(model.features(as_nchw(x[i:i + batch], model.spec.image_shape)))
                          for i in range(0, len(x), batch)]).float().cpu().numpy()  # fmt: skip


def self_training(pool: torch.Tensor, labelled: np.ndarray, labels: np.ndarray,
                  config: SemiTraining, *, shape: Sequence[int] = GREY28, n_classes: int = 10,
                  progress: bool = False) -> tuple[DeepCNN, History, list[dict]]:  # fmt: skip
    """The whole of ``sdae semi`` on ``pool: [P, D]`` with the labels ``labels: [L]`` at
    positions ``labelled: [L]``: :func:`graph_labels`, then ``config.rounds`` rounds of
    :func:`fixmatch`. Each round after the first starts from fresh weights (its own seed,
    ``derive_seed(seed, "round<r>")``) and takes, beside the given labels, the
    ``config.round_per_class`` pool images of each class the previous round's teacher is
    surest of, with its label. Returns ``(the last teacher, the cost of every step of every
    round, one dict per round: positions and labels it added)``."""

    extra, extra_y = graph_labels(pool, labelled, labels, config, shape)
    rounds, costs, model, dtype = [], [], None, "fp32"
    for r in range(config.rounds):
        if r and config.round_labels == "graph":  # spread on the teacher's features
            extra, extra_y = spread_labels(embed(model, pool), labelled, labels, config,
                                           config.round_per_class)  # fmt: skip
        elif r:
            probs = predict_proba(model, pool).cpu().numpy()
            extra, extra_y = surest_per_class(probs, np.arange(n_classes), labelled,
                                              np.unique(labels), config.round_per_class)
        rounds.append({"positions": extra, "labels": extra_y})
        positions = torch.as_tensor(np.concatenate([labelled, extra]), device=pool.device)
        y = torch.as_tensor(np.concatenate([labels, extra_y]), device=pool.device)
        c = config if r == 0 else dataclasses.replace(
            config, seed=derive_seed(config.seed, f"round{r}"))  # fmt: skip
        model, history = fixmatch(pool[positions], y, pool, c, shape=shape,
                                  n_classes=n_classes, progress=progress)  # fmt: skip
        costs += list(history)
        dtype = getattr(history, "precision", dtype)
    return model, History(costs, dtype), rounds
