"""Training loops: one autoencoder, greedy layer-wise pretraining, supervised fine-tuning.

Each function returns its cost history (one float per iteration) so that figures and
reports are drawn from what training actually did. Each loop is a plain ``for`` over a
:class:`~sdae.nn.loop.TrainingLoop`, which also splits every step over the ranks under
``torchrun`` (:mod:`sdae.nn.distributed`).

Readings of the paper fixed here (it does not say):

* **Cost**: the cross-entropy of equation (2) summed over the pixels of an image and averaged
  over the images of the batch. Full-batch gradient descent on it at lr 0.01 for 1000
  iterations ends at 253 / 256 / 277 for 784-500/300/100-784 on clean input, beside the
  paper's Tables I, IV, VII (256 / 260 / 313): the scale of the paper's costs fits this
  reading, a per-pixel mean would be ~784 times smaller.
* **Iteration**: one optimizer step. With ``batch_size=0`` (the paper's reading) every step
  sees the whole training set; otherwise one minibatch, epochs reshuffled by a seeded
  generator of its own (:mod:`sdae.rng`).
* **Corruption**: drawn afresh at every iteration (Vincent et al. 2010), unless
  ``fixed_noise`` corrupts the training set once, as the paper's "we manually added noise to
  our train data set" can also be read. With a range of levels (``noise_low``), each image's
  level is drawn anew each time it is corrupted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from sdae.config.checks import SCHEDULES, check_optimizer
from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.errors import SdaeError
from sdae.nn import precision
from sdae.nn.augment import GREY28, finetune_transform
from sdae.nn.loop import TrainingLoop, batch_indices
from sdae.nn.models import Autoencoder, StackedAutoencoder, StackedClassifier
from sdae.nn.noise import Buffers, corrupt, draw_levels, noise_generator
from sdae.rng import Streams, streams


def reconstruction_cost(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Equation (2) from logits: cross-entropy summed over pixels, averaged over images.

    ``logits, target: [N, D]`` -> scalar. Uses ``binary_cross_entropy_with_logits``, which
    never forms ``log(sigmoid(.))`` and so stays finite for large logits.
    """
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / target.shape[0]


def kl_sparsity(code: torch.Tensor, target: float) -> torch.Tensor:
    """``sum_j KL(target || rho_j)`` with ``rho_j`` the mean of unit j over the batch.

    ``code: [N, H]`` in (0, 1) -> scalar (UFLDL's sparse autoencoder penalty).
    """
    rho = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    t = target
    return (t * torch.log(t / rho) + (1 - t) * torch.log((1 - t) / (1 - rho))).sum()


def closed_form_step(model: Autoencoder, noisy: torch.Tensor, clean: torch.Tensor,
                     buffers: Buffers | None = None, dtype: torch.dtype = torch.float32):
    """Cost and gradients of the untied autoencoder, by hand instead of by autograd.

    With ``h = s(x~ W^T + b)``, ``z = h W'^T + b'`` and the cost of
    :func:`reconstruction_cost`: ``dC/dz = (s(z) - x) / N``, ``dC/dW' = dz^T h``,
    ``dC/dh = dz W'``, ``dC/da = dC/dh * h (1 - h)``, ``dC/dW = da^T x~``. Skipping autograd's
    graph is ~1.25x faster per minibatch step here; tests check it equals autograd.
    ``noisy, clean: [N, D]``; fills ``.grad`` of the four parameters, returns the cost.

    Every [N, D] and [N, H] intermediate is written into ``buffers`` (reused from step to
    step: a new 6000 x 784 tensor costs ~5 ms here); ``1/N`` is applied to the small
    gradients, not to the [N, D] ones. ``dtype`` bf16 rounds the five products' inputs to
    bfloat16 (:mod:`sdae.nn.precision`); biases, sigmoids, cost and gradients stay fp32.
    """
    enc, dec = model.encoder, model.decoder
    n, d = clean.shape
    b = buffers or Buffers()
    for p in (enc.weight, enc.bias, dec.weight, dec.bias):
        if p.grad is None:
            p.grad = torch.empty_like(p)
    with torch.no_grad():
        if dtype != torch.float32:
            return _low_precision_step(model, noisy, clean, b, dtype)

        def buf(name, shape):
            return b.get(name, shape, dtype=clean.dtype, device=clean.device)

        h = torch.addmm(enc.bias, noisy, enc.weight.t(), out=buf("h", (n, enc.out_features)))
        h.sigmoid_()
        z = torch.addmm(dec.bias, h, dec.weight.t(), out=buf("z", (n, d)))
        cost, dz = _cost_and_dz(z, clean, buf("zn", (n, d)))
        torch.mm(dz.t(), h, out=dec.weight.grad).div_(n)
        torch.sum(dz, 0, out=dec.bias.grad).div_(n)
        da = torch.mm(dz, dec.weight, out=buf("da", h.shape))
        _times_slope(da, h, buf("hh", h.shape)).div_(n)
        torch.mm(da.t(), noisy, out=enc.weight.grad)
        torch.sum(da, 0, out=enc.bias.grad)
    return cost / n


def _cost_and_dz(z: torch.Tensor, clean: torch.Tensor, tmp: torch.Tensor):
    """Equation (2) summed over the batch, and ``N * dC/dz = s(z) - x`` written into ``tmp``."""
    # cross-entropy from logits: sum softplus(z) - x z, softplus(z) = log(e^0 + e^z)
    zero = torch.zeros((), dtype=z.dtype, device=z.device)
    cost = torch.logaddexp(zero, z, out=tmp).sum() - torch.dot(clean.reshape(-1), z.reshape(-1))
    return cost, torch.sigmoid(z, out=tmp).sub_(clean)


def _times_slope(da: torch.Tensor, h: torch.Tensor, tmp: torch.Tensor) -> torch.Tensor:
    """``da *= h (1 - h)``, the sigmoid's slope, in place."""
    slope = torch.mul(h, h, out=tmp)
    return da.mul_(torch.sub(h, slope, out=slope))


def _low_precision_step(model: Autoencoder, noisy, clean, b: Buffers, dtype) -> torch.Tensor:
    """:func:`closed_form_step` with the products' inputs in ``dtype`` (bf16)."""
    enc, dec = model.encoder, model.decoder
    (n, d), hidden, dev = clean.shape, enc.out_features, clean.device

    def buf(name, shape, low=False):
        return b.get(name, shape, dtype=dtype if low else clean.dtype, device=dev)

    def low(t, name):  # t rounded to dtype, in a reused buffer
        return buf(name + "16", t.shape, low=True).copy_(t)

    x16, we16, wd16 = low(noisy, "x"), low(enc.weight, "we"), low(dec.weight, "wd")
    h = torch.add(torch.mm(x16, we16.t(), out=buf("a16", (n, hidden), low=True)), enc.bias,
                  out=buf("h", (n, hidden))).sigmoid_()  # fmt: skip
    h16 = low(h, "h")
    z = torch.add(torch.mm(h16, wd16.t(), out=buf("z16", (n, d), low=True)), dec.bias,
                  out=buf("z", (n, d)))  # fmt: skip
    cost, dz = _cost_and_dz(z, clean, buf("zn", (n, d)))
    dz16 = low(dz, "dz")
    dec.weight.grad.copy_(torch.mm(dz16.t(), h16)).div_(n)
    torch.sum(dz, 0, out=dec.bias.grad).div_(n)
    da = buf("da", (n, hidden)).copy_(torch.mm(dz16, wd16, out=buf("a16", (n, hidden),
                                                                     low=True)))  # fmt: skip
    _times_slope(da, h, buf("hh", h.shape)).div_(n)
    enc.weight.grad.copy_(torch.mm(low(da, "da").t(), x16))
    torch.sum(da, 0, out=enc.bias.grad)
    return cost / n


def _autograd_cost(model: nn.Module, noisy, clean, settings: AutoencoderTraining,
                   dtype: torch.dtype = torch.float32):  # fmt: skip
    """Equation (2) (plus the sparsity penalty, which needs the code of an
    :class:`Autoencoder`; any other model only maps ``[N, D]`` to logits), for autograd.
    ``dtype`` bf16: the model's products under bf16 autocast, the cost in fp32."""
    with precision.autocast(dtype, noisy.device):
        if settings.sparsity_weight:
            code = model.encode(noisy)
            logits = model.decode_logits(code)
        else:
            logits = model(noisy)
    logits = logits.float()
    if settings.sparsity_weight:
        return reconstruction_cost(logits, clean) + settings.sparsity_weight * kl_sparsity(
            code.float(), settings.sparsity_target)  # fmt: skip
    if settings.cost == "suspect-mean":
        return suspect_mean_cost(logits, clean, model.suspect(noisy))
    return reconstruction_cost(logits, clean)


def _probe_step(model: nn.Module, x: torch.Tensor, by_hand: bool):
    """For :func:`sdae.nn.precision.choose`: a piece of one training step at ``x``'s shape
    in a given dtype (a GEMM of the closed-form step; a forward and backward pass of any
    other model, :func:`sdae.nn.precision.forward_backward`)."""
    if not by_hand:
        return precision.forward_backward(model, x)

    def probe(dtype):
        a = x.to(dtype)
        w = model.encoder.weight.detach().to(dtype)
        return lambda: torch.mm(a, w.t())
    return probe


def suspect_mean_cost(logits: torch.Tensor, target: torch.Tensor,
                      suspect: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The cross-entropy of equation (2) averaged over each image's ``suspect`` pixels (an
    image without any counts 0), then over images: ``logits, target, suspect: [N, D]`` ->
    scalar (``--cost suspect-mean``)."""
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    per_image = (ce * suspect).sum(1) / suspect.sum(1).clamp_min(1)
    return per_image.mean()


def train_autoencoder(
    model: Autoencoder,
    x: torch.Tensor,
    settings: AutoencoderTraining,
    rng: Streams | int,
    *,
    desc: str = "autoencoder",
    progress: bool = False,
    transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> list[float]:
    """Train ``model`` to reconstruct the clean ``x: [N, D]`` from its corruption.

    Minimises :func:`reconstruction_cost` (plus the sparsity penalty if asked) between the
    reconstruction of the corrupted input and the *clean* input (paper §IV.B). The noise
    comes from ``rng``'s stream ``noise``, the minibatch order from its stream ``batches``
    (a seed gives ``Streams(seed)``): the noise drawn for a given order of images does not
    depend on the batch size. With a range of levels (``settings.noise_low``) each image's
    level comes from the stream ``noise-levels``, so the pixels' draws are those of one
    level and still do not depend on the batch size. ``transform`` (``[B, D] -> [B, D']``,
    e.g. random crops; not with ``fixed_noise``) makes each step's clean images from its
    rows of ``x``. Returns the cost of every iteration.
    The untied, non-sparse case (the paper's) takes :func:`closed_form_step`.
    """
    s, rng = settings, streams(rng, device=str(x.device))
    if transform is not None and s.fixed_noise:
        raise SdaeError("fixed noise corrupts the training images once, whole; it cannot be "
                        "used with a transform of each step's images (such as random crops)")
    noise_gen = noise_generator(rng, "noise", s.noise_stream)
    batch_gen = rng.generator("batches")
    level_gen = None if s.noise_low is None else rng.generator("noise-levels")

    def level(n: int):  # the level of each of n images, or the one level
        return s.noise_level if level_gen is None else draw_levels(n, s.noise_low,
                                                                   s.noise_level, level_gen)

    by_hand = isinstance(model, Autoencoder) and not model.tied and not s.sparsity_weight
    fixed = corrupt(x, s.noise, level(len(x)), noise_gen) if s.fixed_noise else None
    batches = batch_indices(len(x), s.batch_size, batch_gen)
    dtype = None  # chosen at the first step, on its own batch (:func:`_precision`)
    loop = TrainingLoop([(list(model.parameters()), s.lr)], s.optimizer,
                        iterations=s.iterations, schedule=s.schedule, desc=desc,
                        progress=progress, lr_hint=f"lower the learning rate (now {s.lr})",
                        buffers=model.buffers())  # fmt: skip
    buffers = Buffers()  # one set of step-sized tensors for the whole run
    model.train()
    with loop:
        for i, idx in zip(range(s.iterations), batches):
            clean = x if idx is None else x[idx]
            if transform is not None:
                clean = transform(clean)
            if fixed is not None:
                noisy = fixed if idx is None else fixed[idx]
            else:
                noisy = corrupt(clean, s.noise, level(len(clean)), noise_gen, buffers,
                                drawn=level_gen is not None)  # fmt: skip
            mine = loop.shard(len(clean))  # under torchrun, this rank's rows of the step
            clean, noisy = clean[mine.rows], noisy[mine.rows]
            if dtype is None:
                dtype = _precision(model, noisy, s.precision, by_hand)
                loop.precision = precision.name(dtype)
            if by_hand:  # writes the gradients itself, in place: nothing to zero
                cost = closed_form_step(model, noisy, clean, buffers, dtype)
            else:
                loop.zero_grad()
                cost = _autograd_cost(model, noisy, clean, s, dtype)
                cost.backward()
            loop.step(i, cost, mine.share)
    return loop.history


def _precision(model, batch: torch.Tensor, setting: str, by_hand: bool) -> torch.dtype:
    """The products' dtype for ``setting`` (:func:`sdae.nn.precision.choose`), probed on a
    step's ``batch`` (no random draw: the run's streams are the same whatever it chooses)."""
    key = ("autoencoder", type(model).__name__, by_hand, tuple(batch.shape),
           tuple(p.shape for p in model.parameters()))  # fmt: skip
    return precision.choose(setting, batch.device, key, _probe_step(model, batch, by_hand))


def pretrain_stack(
    stack: StackedAutoencoder,
    x: torch.Tensor,
    schedule: Sequence[AutoencoderTraining],
    rng: Streams | int,
    *,
    progress: bool = False,
) -> list[list[float]]:
    """Greedy layer-wise pretraining (paper §IV.C): layer k learns to reconstruct the codes
    of layers 1..k-1, which stay frozen. ``x: [N, sizes[0]]``; one schedule per layer.
    Layer k draws from its own streams ``pretrain<k>-noise`` / ``-batches`` of ``rng``, so
    one layer's settings never change another layer's randomness.

    Returns one cost history per layer (Fig. 12).
    """
    rng = streams(rng, device=str(x.device))
    if len(schedule) != len(stack.layers):
        raise SdaeError(f"{len(stack.layers)} layers but {len(schedule)} training schedules")
    histories = []
    for k, (layer, settings) in enumerate(zip(stack.layers, schedule)):
        with torch.no_grad():  # codes of the frozen lower layers: no graph through them
            codes = stack.encode(x, depth=k)
        name = f"pretrain {layer.n_in}-{layer.n_hidden}-{layer.n_in}"
        histories.append(train_autoencoder(layer, codes, settings, rng.sub(f"pretrain{k}-"),
                                           desc=name, progress=progress))  # fmt: skip
    return histories


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    groups: Sequence[tuple[list[nn.Parameter], float]],
    *,
    iterations: int,
    optimizer: str,
    rng: Streams | int,
    batch_size: int = 0,
    schedule: str = "constant",
    transform=None,
    label_smoothing: float = 0.0,
    desc: str = "fine-tune",
    progress: bool = False,
    precision_setting: str = "fp32",
) -> list[float]:
    """Minimise the softmax cross-entropy (mean over images) of ``model(x)`` against the
    labels ``y: [N]``, with one learning rate per parameter group. Parameters in no group,
    or in a group with learning rate 0, do not change. ``transform`` (``[B, D] -> [B, D]``)
    is applied to each step's images; ``schedule="cosine"`` decays every rate to 0 over the
    ``iterations``. The minibatch order comes from ``rng``'s stream ``batches``.
    ``precision_setting`` (``fp32`` | ``auto`` | ``bf16``) runs the model under bf16 autocast
    where chosen (:mod:`sdae.nn.precision`, probed on the first step's batch). Returns the
    cost of every iteration. Every setting is checked before any parameter is touched.
    """
    if schedule not in SCHEDULES:
        raise SdaeError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    check_optimizer(optimizer, None, iterations, batch_size)
    trained = [p for ps, lr in groups if lr > 0 for p in ps]
    if not trained:
        raise SdaeError("every learning rate is 0: nothing would be trained")
    ids = {id(p) for p in trained}
    frozen = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    batches = batch_indices(len(x), batch_size,
                            streams(rng, device=str(x.device)).generator("batches"))
    try:
        for p in frozen:  # frozen parameters need no gradient at all: cheaper and exact
            p.requires_grad_(False)
        with TrainingLoop([(ps, lr) for ps, lr in groups if lr > 0], optimizer,
                          iterations=iterations, schedule=schedule, desc=desc,
                          progress=progress, lr_hint="lower the learning rates",
                          buffers=model.buffers()) as loop:  # fmt: skip
            model.train()
            dtype = None  # chosen at the first step, on its batch
            for i, idx in zip(range(iterations), batches):
                xb, yb = (x, y) if idx is None else (x[idx], y[idx])
                if transform is not None:
                    xb = transform(xb)
                mine = loop.shard(len(xb))  # under torchrun, this rank's rows of the step
                if dtype is None:
                    dtype = _precision(model, xb[mine.rows], precision_setting, False)
                    loop.precision = precision.name(dtype)
                loop.zero_grad()
                with precision.autocast(dtype, xb.device):
                    logits = model(xb[mine.rows])
                cost = F.cross_entropy(logits.float(), yb[mine.rows],
                                       label_smoothing=label_smoothing)  # fmt: skip
                cost.backward()
                loop.step(i, cost, mine.share)
    finally:
        for p in frozen:
            p.requires_grad_(True)
    model.eval()
    return loop.history


def finetune(
    model: StackedClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    settings: Finetuning | None = None,
    *,
    rng: Streams | int = 0,
    progress: bool = False,
    shape: tuple[int, ...] = GREY28,
) -> list[float]:
    """Fine-tune the whole stack by backpropagation (paper §IV.C, Tables II-IX) with one
    learning rate for the softmax layer (``settings.lr_top``) and one for the pretrained
    encoders (``settings.lr_body``; 0 freezes them). ``x: [N, D]`` (images of ``shape``
    ``(H, W, C)``, which the augmentations need), ``y: [N]``.
    ``settings`` defaults to the paper's recipe. Minibatch order, augmentation and input
    dropout come from ``rng``'s streams ``batches``, ``augment`` and ``dropout``.
    Returns the cost of every iteration."""
    s, rng = settings or Finetuning(), streams(rng, device=str(x.device))
    return train_classifier(
        model, x, y,
        [(list(model.head.parameters()), s.lr_top), (model.body_parameters(), s.lr_body)],
        iterations=s.iterations, optimizer=s.optimizer, rng=rng,
        batch_size=s.batch_size, schedule=s.schedule, transform=finetune_transform(s, rng, shape),
        progress=progress,
    )  # fmt: skip
