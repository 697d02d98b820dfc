"""The flags of every ``sdae`` command (argparse), and the config they make.

Torch-free: ``sdae --help`` and a bad flag answer without loading the engine. Defaults shown
in ``--help`` are read from the config dataclasses, so the two cannot disagree; the flags map
onto a config through :data:`sdae.config.flags.FLAGS`.
"""

from __future__ import annotations

import argparse

from sdae import __version__
from sdae.cli.tool_parsers import add_data, add_denoise, add_encode, add_reproduce, common_flags
from sdae.config.checks import NOISE_LEVELS as NOISES
from sdae.config.checks import OPTIMIZERS, SCHEDULES
from sdae.config.classification import (
    AUTO_PAPER_MAX_LABELS,
    BASELINES,
    CNN_ARCHS,
    RECIPES,
    BaselineConfig,
    CnnSettings,
    LogregSettings,
    SaeConfig,
    SemiConfig,
)
from sdae.config.denoising import (
    CONV_TRAINING,
    DAE_MODELS,
    DEFAULT_PATCH,
    EVAL_CROP_VALUES,
    DaeConfig,
)
from sdae.config.flags import FLAGS, from_flags
from sdae.config.training import COSTS, FINETUNE_RECIPES, NOISE_STREAMS, PRECISIONS
from sdae.data.protocols import PROTOCOLS
from sdae.data.sources import SOURCES_HELP
from sdae.errors import SdaeError


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (plus where to look), not a usage dump."""

    def error(self, message: str):
        raise SdaeError(f"{message} (see `{self.prog} --help`)")



def _noise_stream(p) -> None:
    """--noise-stream and --precision: how an autoencoder's training computes."""
    p.add_argument("--precision", choices=PRECISIONS,
                   help="the matrix products' precision: auto, bf16 where this machine has "
                   "bf16 instructions and a probe of the first step measures them faster "
                   "(metrics.json says which), else fp32; or always fp32 / bf16 (default: "
                   "auto)")
    p.add_argument("--noise-stream", choices=NOISE_STREAMS,
                   help="the training noise's random numbers: fast16, 16 bits per pixel from a "
                   "fast generator (each probability exact to 2^-16), or torch, torch.rand as "
                   "sdae 0.1 drew them, to redo an old run bit for bit (default: fast16)")

def _add_dae(sub) -> None:

    d = DaeConfig()

    def default(field: str) -> str:
        return f"(default: mlp {getattr(d.train, field)}, conv {getattr(CONV_TRAINING, field)})"

    p = sub.add_parser(
        "dae", help="train the denoising autoencoder (paper §V.A)",
        description="Train the 784-256-784 denoising autoencoder (or, with --model conv, a "
        "convolutional one) on salt-and-pepper noise and measure PSNR/SSIM against the noisy "
        "input, a 3x3 median filter and an adaptive median filter. Writes config.json, "
        "metrics.json, cost.png, reconstructions.png and model.safetensors into --out.",
    )  # fmt: skip
    p.add_argument("--model", choices=DAE_MODELS, default=d.model,
                   help="mlp: the paper's 784-256-784 network; conv: a small U-Net that copies "
                   "the pixels impulse noise cannot have touched (default: %(default)s)")
    p.add_argument("--train-noise", default=d.train_noise, metavar="LEVEL[:HIGH]",
                   help="noise level while training, or a range LOW:HIGH such as 0.02:0.7: each "
                   "training image's level is then drawn uniformly in it every time it is "
                   "corrupted, for noise of unknown strength (default: %(default)s)")
    p.add_argument("--test-noise", type=float,
                   help="noise level of the test images (default: --train-noise, or the middle "
                   "of its range)")
    p.add_argument("--noise", choices=list(NOISES), default=d.noise,
                   help="kind of noise; salt-and-pepper is the paper's pseudo-code read with one "
                   "draw per pixel (P(0) = P(1) = level), salt-and-pepper-fresh with a fresh draw "
                   "per test; impulse's level is the density d, the share of pixels replaced "
                   "(P(0) = P(1) = d/2, so impulse 2p is salt-and-pepper p) (default: %(default)s)")
    p.add_argument("--hidden", type=int, default=d.hidden,
                   help="hidden units of the mlp (default: 256)")
    p.add_argument("--tied", action="store_true", help="tie the mlp's decoder weights to W^T")
    p.add_argument("--width", type=int, default=d.width,
                   help="channels of the conv model at full resolution (default: %(default)s)")
    p.add_argument("--prefill", action="store_true",
                   help="conv: start from the adaptive mean of the clean pixels around each "
                   "suspect one and learn only the correction (the shipped photo denoiser's "
                   "choice)")
    p.add_argument("--optimizer", choices=OPTIMIZERS,
                   help=f"adam, or sgd for plain gradient descent {default('optimizer')}")
    p.add_argument("--lr", type=float, help=f"learning rate {default('lr')}")
    p.add_argument("--iterations", type=int, help=f"optimizer steps {default('iterations')}")
    p.add_argument("--batch-size", type=int,
                   help=f"images per step; 0 = the whole training set, as the paper "
                   f"{default('batch_size')}")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule {default('schedule')}")
    p.add_argument("--fixed-noise", action="store_true",
                   help="corrupt the training set once instead of afresh at every iteration")
    p.add_argument("--cost", choices=COSTS,
                   help="sum: equation (2), the cross-entropy summed over pixels; suspect-mean "
                   "(conv): its mean over each image's pixels at exactly 0 or 1, so that every "
                   "noise level weighs the same (default: sum)")
    _noise_stream(p)
    p.add_argument("--patch-size", type=int, metavar="P",
                   help=f"conv: train on random PxP crops of the training images, new ones at "
                   f"every step, and score on one seeded crop of each of up to "
                   f"{EVAL_CROP_VALUES // DEFAULT_PATCH**2} test images (at P = "
                   f"{DEFAULT_PATCH}; more when smaller); 0: whole images (default: "
                   f"{DEFAULT_PATCH} for conv on images larger than that, else 0)")
    _data_and_protocol(p, "")
    p.add_argument("--seed", type=int, default=d.seed, help="weights and noise seed (default: 0)")
    p.add_argument("--data-seed", type=int, default=d.data_seed,
                   help="seed of the stratified subsets (default: 0)")
    common_flags(p, out_default="runs/dae")


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        msg = f"{text!r} is not a comma-separated list of numbers"
        raise argparse.ArgumentTypeError(msg) from None


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        msg = f"{text!r} is not a comma-separated list of integers"
        raise argparse.ArgumentTypeError(msg) from None


def _data_and_protocol(p, data_note: str | None) -> None:
    """``--data`` (where the command reads other data sets: ``data_note`` is not None) and
    ``--protocol``, whose default follows the data."""
    if data_note is not None:
        p.add_argument("--data", metavar="SOURCE",
                       help=f"the data set, {data_note}{SOURCES_HELP} (default: fashion-mnist)")
        p.add_argument("--image-size", metavar="HxW",
                       help="the size an image folder's images are read at (default: their most "
                       "common size; others are resized, with a note)")
    p.add_argument("--protocol", choices=list(PROTOCOLS),
                   help="paper: 600/60 images per class; full: every image (60000/10000 of "
                   "Fashion-MNIST); mini: 100/30 per class, for quick looks (default: paper "
                   "for Fashion-MNIST, full for other data)")


def _labels_and_seeds(p, d) -> None:
    p.add_argument("--labels-per-class", default=d.labels_per_class, metavar="N",
                   help="labelled images per class for fine-tuning: 1, 5, 10, ... or 'all' "
                   "(default: %(default)s)")
    _data_and_protocol(p, "" if hasattr(d, "data") else None)
    p.add_argument("--seed", type=int, default=d.seed, help="weights seed (default: 0)")
    p.add_argument("--labels-seed", type=int, default=d.labels_seed,
                   help="seed of the labelled draw, separate from the weights (default: 0)")
    p.add_argument("--data-seed", type=int, default=d.data_seed,
                   help="seed of the stratified subsets (default: 0)")


def _finetuning(p) -> None:

    paper, aug = FINETUNE_RECIPES["paper"], FINETUNE_RECIPES["augmented"]

    def default(field: str) -> str:
        return (f"(recipe default: paper {getattr(paper, field)}, augmented "
                f"{getattr(aug, field)})")

    p.add_argument("--finetune-recipe", default="auto", metavar="{" + ",".join(RECIPES) + "}",
                   help=f"paper: Tables II-IX, full-batch gradient descent; augmented: minibatch "
                   f"Adam with shift/flip augmentation and input dropout, for many labels; auto: "
                   f"paper up to {AUTO_PAPER_MAX_LABELS} labels per class, else augmented (for "
                   f"few labels and the unlabelled pool, see `sdae semi`). The options below "
                   f"override the recipe (default: %(default)s)")
    p.add_argument("--lr-top", type=float,
                   help=f"learning rate of the softmax layer {default('lr_top')}")
    p.add_argument("--lr-body", type=float,
                   help=f"learning rate of the pretrained layers; 0 freezes them "
                   f"{default('lr_body')}")
    p.add_argument("--finetune-iterations", type=int,
                   help=f"optimizer steps {default('iterations')}")
    p.add_argument("--finetune-optimizer", choices=OPTIMIZERS,
                   help=f"sgd = plain gradient descent {default('optimizer')}")
    p.add_argument("--finetune-batch-size", type=int,
                   help=f"images per step; 0 = all labelled images {default('batch_size')}")
    p.add_argument("--finetune-schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule {default('schedule')}")
    p.add_argument("--input-dropout", type=float,
                   help=f"probability of zeroing each input pixel {default('input_dropout')}")
    p.add_argument("--augment", metavar="NAMES",
                   help="none, or a comma-separated list of shift (by up to 1 pixel) and flip "
                   "(left-right) (recipe default: paper none, augmented shift,flip)")


def _add_sae(sub) -> None:

    d = SaeConfig()
    p = sub.add_parser(
        "sae", help="stacked autoencoder: pretraining, softmax, fine-tuning (paper §V.B)",
        description="Greedy layer-wise pretraining of a stacked autoencoder on the unlabelled "
        "pool, a softmax layer on the deepest code, and fine-tuning with a few labels per class. "
        "Writes config.json, metrics.json, layer_costs.png, finetune_cost.png, confusion.png "
        "and model.safetensors into --out.",
    )  # fmt: skip
    p.add_argument("--arch",
                   help="layer sizes, the data's pixels first, e.g. 784-500-200-100 (default: "
                   "pixels-100, e.g. 784-100)")
    _labels_and_seeds(p, d)
    g = p.add_argument_group("pretraining (one value, or one per layer)")
    g.add_argument("--pretrain-lr", type=_floats, default=(), metavar="LR[,LR...]",
                   help="learning rates (default: the paper's: Tables I, IV, VII; else 0.01)")
    g.add_argument("--pretrain-iterations", type=_ints, default=(), metavar="N[,N...]",
                   help="iterations (default: the paper's; else 1000)")
    g.add_argument("--pretrain-optimizer", choices=OPTIMIZERS, default=d.pretrain[0].optimizer,
                   help="adam, or sgd for plain gradient descent, which lands near the paper's "
                   "pretraining costs but gives weaker features (default: %(default)s)")
    g.add_argument("--pretrain-batch-size", type=int, default=0, help="0 = full batch")
    g.add_argument("--pretrain-noise", choices=list(NOISES), default=d.pretrain[0].noise,
                   help="corruption of each layer's input: stacked *denoising* autoencoders "
                   "(default: %(default)s, at --pretrain-noise-level)")
    g.add_argument("--pretrain-noise-level", type=float, default=0.0,
                   help="corruption level; 0 = plain autoencoders as the paper (default: 0)")
    _noise_stream(g)
    g.add_argument("--sparsity-weight", type=float, default=0.0,
                   help="weight of the KL sparsity penalty; 0 = none (default: 0)")
    g.add_argument("--sparsity-target", type=float, default=d.pretrain[0].sparsity_target,
                   help="target mean activation of the sparsity penalty (default: 0.05)")
    g.add_argument("--tied", action="store_true", help="tie decoder weights to W^T")
    _finetuning(p.add_argument_group("fine-tuning"))
    common_flags(p, out_default="runs/sae")


def _add_baseline(sub) -> None:

    d, cnn = BaselineConfig(), CnnSettings()
    p = sub.add_parser(
        "baseline", help="KNN, logistic regression, MLP or CNN on the same labels (Table X)",
        description="A baseline classifier on the same labelled images an `sdae sae` run with "
        "the same seeds uses; writes the same metrics.json keys.",
    )  # fmt: skip
    p.add_argument("model", choices=BASELINES, help="which baseline")
    _labels_and_seeds(p, d)
    p.add_argument("--k", type=int, default=d.settings.k,
                   help="knn: neighbours (default: %(default)s)")
    p.add_argument("--c", type=float, default=LogregSettings().c,
                   help="logreg: inverse L2 strength (default: %(default)s)")
    p.add_argument("--arch",
                   help="mlp: layer sizes, the data's pixels first (default: pixels-100, e.g. "
                   "784-100)")
    _finetuning(p.add_argument_group("mlp training (as the SAE's fine-tuning)"))
    g = p.add_argument_group("cnn training")
    g.add_argument("--cnn-lr", type=float, default=cnn.lr,
                   help="Adam's (peak) learning rate (default: %(default)s)")
    g.add_argument("--epochs", type=int, default=cnn.epochs,
                   help="passes over the labels (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=cnn.batch_size,
                   help="minibatch size (default: %(default)s)")
    g.add_argument("--cnn-arch", choices=CNN_ARCHS, default=cnn.arch,
                   help="deep: 4 conv layers with batch norm; small: sdae's earlier 2-layer CNN "
                   "(default: %(default)s)")
    g.add_argument("--cnn-schedule", choices=SCHEDULES, default=cnn.schedule,
                   help="learning-rate schedule (default: %(default)s)")
    g.add_argument("--cnn-augment", metavar="NAMES", default=",".join(cnn.augment),
                   help="none, or a comma-separated list of shift, flip (default: %(default)s)")
    g.add_argument("--label-smoothing", type=float, default=cnn.label_smoothing,
                   help="cross-entropy label smoothing (default: %(default)s)")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="auto: bf16 autocast where this machine has bf16 instructions and a "
                   "probe of the first step measures it faster, else fp32 (default: auto)")
    common_flags(p, out_default="runs/baseline")


def _add_semi(sub) -> None:

    d = SemiConfig()
    p = sub.add_parser(
        "semi", help="semi-supervised: few labels plus the unlabelled pool (FixMatch)",
        description="Train a CNN on the labelled images an `sdae sae` run with the same seeds "
        "uses and on the protocol's whole unlabelled training pool (never the test images), "
        "by label spreading then FixMatch with an EMA teacher: a graph over the pool first "
        "labels its most confident images per class, then pool images the teacher labels "
        "confidently must keep that label under strong corruption (salt-and-pepper, cutout, "
        "shifts). Writes the files and metrics.json keys of `sdae sae`.",
    )  # fmt: skip
    _labels_and_seeds(p, d)
    g = p.add_argument_group("training")
    for flag, kind, text in (
        ("--width", int, "channels of the CNN's first block"),
        ("--iterations", int, "optimizer steps"),
        ("--lr", float, "Adam learning rate (cosine decay)"),
        ("--batch-size", int, "labelled images per step"),
        ("--unlabelled-ratio", int, "pool images per labelled image in a step"),
        ("--threshold", float, "teacher confidence from which a pool image counts, in (0, 1)"),
        ("--ema", float, "teacher's moving-average decay, in [0, 1)"),
        ("--strong-noise", float, "salt-and-pepper level of the strong view"),
        ("--graph-per-class", int, "pool images per class labelled by label spreading before "
         "training, the most confident ones (0: plain FixMatch; default a twelfth of a "
         "class's pool images: 50 on the paper protocol, 500 on full)"),
        ("--graph-features", str, "what the graph is built on: sae (the 784-100 stack "
         "pretrained on the pool), pca (of the pixels) or sae+hog (the stack's codes beside "
         "the principal components of the images' HOG)"),
        ("--graph-pretrain-iterations", int, "pretraining steps of the 784-100 stack whose "
         "codes the graph is built on (Table VII: 1000)"),
        ("--graph-neighbors", int, "neighbours of each pool image in label spreading's graph"),
        ("--graph-alpha", float, "label spreading's clamping, in (0, 1)"),
        ("--graph-components", int, "PCA dimensions the graph is built in (pca; HOG's in "
         "sae+hog)"),
        ("--rounds", int, "rounds of FixMatch; each after the first starts afresh with the "
         "pool images the previous round's teacher is surest of as extra labels"),
        ("--round-per-class", int, "pool images per class a round takes from the previous "
         "round's teacher (default half of a class's pool images: 300 on the paper "
         "protocol, 3000 on full)"),
        ("--round-labels", str, "how a round labels them: teacher (its predictions) or graph "
         "(label spreading from the given labels on its last hidden layer)"),
    ):  # fmt: skip
        dest = flag[2:].replace("-", "_")
        # the label counts' defaults follow the pool (from_flags): none given here
        default = None if dest in ("graph_per_class", "round_per_class") else getattr(d, dest)
        g.add_argument(flag, type=kind, default=default,
                       help=text + ("" if default is None else " (default: %(default)s)"))
    g.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help="mirror images left-right in the weak and strong views (default: on, "
                   "but off for digits, where a mirror changes what an image means)")
    g.add_argument("--align", action=argparse.BooleanOptionalAction, default=d.align,
                   help="distribution alignment: scale the teacher's predictions towards "
                   "balanced classes before thresholding (default: %(default)s)")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="auto: bf16 autocast where this machine has bf16 instructions and a "
                   "probe of the first step measures it faster, else fp32 (default: auto)")
    common_flags(p, out_default="runs/semi")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sdae",
        description="Denoising and stacked autoencoders on Fashion-MNIST, after Yaramsetty et "
        "al. Every run writes its config, metrics, figures and weights into one folder.",
    )
    parser.add_argument("--version", action="version", version=f"sdae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in (add_data, _add_dae, add_denoise, _add_sae, _add_baseline, _add_semi,
                add_encode, add_reproduce):
        add(sub)
    return parser


def config_from_args(args: argparse.Namespace):
    """The run's config from the parsed flags (every check made here, naming the flag), or
    None for a command that takes no config (``data``, ``denoise``, ``reproduce``)."""
    if args.command not in FLAGS:
        return None
    table = FLAGS[args.command]
    return from_flags(args.command, {k: v for k, v in vars(args).items() if k in table})
