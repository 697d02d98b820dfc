"""The ``sdae`` command: a thin layer that builds a config, calls the library and prints.

User mistakes (:class:`SdaeError`, bad arguments) print one line, ``sdae: error: ...``, on
stderr and exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from sdae import __version__
from sdae.errors import SdaeError
from sdae.noise import NOISES
from sdae.training import OPTIMIZERS


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (plus where to look), not a usage dump."""

    def error(self, message: str):
        raise SdaeError(f"{message} (see `{self.prog} --help`)")


def _common(p: argparse.ArgumentParser, out_default: str | None = None) -> None:
    g = p.add_argument_group("data, device and output")
    g.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files "
                   "(default: $SDAE_DATA, ~/.cache/sdae/fashion-mnist, Debian's package)")
    g.add_argument("--no-download", action="store_true",
                   help="never download the data; fail if it is not found")
    if out_default is not None:
        g.add_argument("--out", default=out_default, help="output folder (default: %(default)s)")
        g.add_argument("--overwrite", action="store_true",
                       help="replace the results of a finished run in --out")
        g.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
        g.add_argument("--quiet", action="store_true", help="no config, no progress bars")


def _add_data(sub) -> None:
    p = sub.add_parser("data", help="find, verify and describe Fashion-MNIST",
                       description="Find Fashion-MNIST (downloading it if needed), verify every "
                       "file by SHA-256, and print where it is, the split sizes and class counts.")
    _common(p)
    p.set_defaults(func=_cmd_data)


def _add_dae(sub) -> None:
    from sdae.config import DaeConfig

    d = DaeConfig()
    p = sub.add_parser(
        "dae", help="train the denoising autoencoder (paper §V.A)",
        description="Train the 784-256-784 denoising autoencoder on salt-and-pepper noise and "
        "measure PSNR/SSIM against the noisy input and a 3x3 median filter. Writes config.json, "
        "metrics.json, cost.png, reconstructions.png and model.safetensors into --out.",
    )  # fmt: skip
    p.add_argument("--train-noise", type=float, default=d.train_noise,
                   help="noise level while training (default: %(default)s)")
    p.add_argument("--test-noise", type=float, default=d.test_noise,
                   help="noise level of the test images (default: %(default)s)")
    p.add_argument("--noise", choices=list(NOISES), default=d.noise,
                   help="kind of noise; salt-and-pepper is the paper's pseudo-code read with one "
                   "draw per pixel, salt-and-pepper-fresh with a fresh draw per test "
                   "(default: %(default)s)")
    p.add_argument("--hidden", type=int, default=d.hidden, help="hidden units (default: 256)")
    p.add_argument("--tied", action="store_true", help="tie decoder weights to W^T")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer,
                   help="adam, or sgd for plain gradient descent (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d.lr, help="learning rate (default: %(default)s)")
    p.add_argument("--iterations", type=int, default=d.iterations,
                   help="optimizer steps (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size,
                   help="images per step; 0 = the whole training set, as the paper (default: 0)")
    p.add_argument("--fixed-noise", action="store_true",
                   help="corrupt the training set once instead of afresh at every iteration")
    p.add_argument("--protocol", choices=["paper", "full"], default=d.protocol,
                   help="paper: 600/60 images per class; full: 60000/10000 (default: paper)")
    p.add_argument("--seed", type=int, default=d.seed, help="weights and noise seed (default: 0)")
    p.add_argument("--data-seed", type=int, default=d.data_seed,
                   help="seed of the stratified subsets (default: 0)")
    _common(p, out_default="runs/dae")
    p.set_defaults(func=_cmd_dae, config_cls=DaeConfig)


def _config_from(args, cls):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in names})


def _cmd_data(args) -> int:
    import numpy as np

    from sdae.data import CLASS_NAMES, load_fashion_mnist

    data = load_fashion_mnist(args.data_dir, download=not args.no_download)
    print(f"Fashion-MNIST at {data.source} (all files verified by SHA-256)")
    print(f"train: {len(data.train_labels)} images   test: {len(data.test_labels)} images")
    train = np.bincount(data.train_labels, minlength=10)
    test = np.bincount(data.test_labels, minlength=10)
    print(f"{'class':<16}{'train':>7}{'test':>7}")
    for c, name in enumerate(CLASS_NAMES):
        print(f"{c} {name:<14}{train[c]:>7}{test[c]:>7}")
    return 0


def _start(args, config) -> None:
    from sdae.config import format_config

    if not args.quiet:
        print(format_config(config), flush=True)


def _cmd_dae(args) -> int:
    from sdae.experiments import run_dae

    config = _config_from(args, args.config_cls)
    _start(args, config)
    m = run_dae(config, args.out, data_dir=args.data_dir, progress=not args.quiet,
                overwrite=args.overwrite, download=not args.no_download)  # fmt: skip
    print(f"final cost {m['final_cost']:.2f}  trained in {m['train_seconds']:.1f} s")
    print(f"PSNR dB  noisy {m['psnr_noisy']:.2f}  median {m['psnr_median']:.2f}  "
          f"denoised {m['psnr_denoised']:.2f}  mean image {m['psnr_mean_image']:.2f}")
    print(f"SSIM     noisy {m['ssim_noisy']:.3f}  median {m['ssim_median']:.3f}  "
          f"denoised {m['ssim_denoised']:.3f}")
    print(f"results in {Path(args.out).resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sdae",
        description="Denoising and stacked autoencoders on Fashion-MNIST, after Yaramsetty et "
        "al. Every run writes its config, metrics, figures and weights into one folder.",
    )
    parser.add_argument("--version", action="version", version=f"sdae {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for add in (_add_data, _add_dae):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SdaeError as exc:
        print(f"sdae: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sdae: interrupted; finished files are intact, unfinished ones were not written",
              file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
