"""The flags of the commands that train nothing: ``data``, ``denoise``, ``encode`` and
``reproduce`` (the training commands' are in :mod:`sdae.cli.parser`). Torch-free."""

from __future__ import annotations

import argparse

from sdae.data.sources import SOURCES_HELP
from sdae.reproduce.presets import PRESETS


def common_flags(p: argparse.ArgumentParser, out_default: str | None = None) -> None:
    """The flags every command that reads data shares: where the data is, and for a run its
    output folder, device and quietness."""
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


def add_data(sub) -> None:
    p = sub.add_parser("data", help="find, verify and describe a data set (Fashion-MNIST, "
                       "digits, your own IDX folder, image folder or .npz)",
                       description="Find Fashion-MNIST (downloading it if needed) and verify every "
                       "file by SHA-256, or read another source (--data); print where it is, the "
                       "SHA-256 of the files read, the split sizes, the image size and the class "
                       "counts.")  # fmt: skip
    p.add_argument("--data", default="fashion-mnist", metavar="SOURCE",
                   help=f"the data set: {SOURCES_HELP} (default: %(default)s)")
    p.add_argument("--image-size", metavar="HxW",
                   help="an image folder's images resized to H x W pixels (such as 28x28, or 28 "
                   "for a square; default: their most common size)")  # fmt: skip
    p.add_argument("--data-seed", type=int, default=0,
                   help="seed of the digits' stratified 80/20 split and of denoise-mix's "
                   "patches and split (default: 0)")
    common_flags(p)


def add_reproduce(sub) -> None:

    p = sub.add_parser(
        "reproduce", help="re-run every experiment of the paper and write the report",
        description="Re-run the paper's DAE experiments 1-4 (Figs 5-11), the pretraining and "
        "fine-tuning of architectures 1-3 (Tables I-IX, Fig. 12), the ten-label experiment and "
        "Table X's baselines, for each seed; then write report.md, report.html (self-contained) "
        "and results.json into --out. The presets beyond, beyond-full and beyond-quick run the "
        "method ladder "
        "instead: at 1, 5 and 10 labels per class, over several label draws, the paper's recipe, "
        "the same network from random weights, logistic regression, 1-NN and sdae semi. "
        "Interrupted runs resume: run the same command again.",
    )  # fmt: skip
    p.add_argument("--preset", choices=list(PRESETS), default="quick",
                   help="paper: the paper's sizes, rates and iterations (about 12 minutes on 2 "
                   "cores with bf16, 40 without); quick: the same experiments, smaller (about a "
                   "minute); beyond: the method ladder over 5 label draws (about an hour on 2 "
                   "cores with bf16, 2 hours without, --jobs 2); beyond-full: the ladder on all "
                   "60000 training images and the 10000 test images (about 1.5 hours on 2 cores, "
                   "--jobs 2); beyond-quick: the ladder small (under 3 minutes); smoke, "
                   "ladder-smoke: seconds, for tests (default: %(default)s)")
    p.add_argument("--seeds", type=int, default=1,
                   help="seeds (weights and label draws) per experiment (default: 1)")
    p.add_argument("--jobs", type=int, default=1,
                   help="experiments run in parallel processes, threads shared out between them "
                   "(default: 1)")
    p.add_argument("--data", default="fashion-mnist", metavar="SOURCE",
                   help=f"the data set of the ladder's presets, beyond, beyond-full and "
                   f"beyond-quick (the paper's run on Fashion-MNIST): {SOURCES_HELP}; another "
                   "source runs on its full protocol (default: %(default)s)")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--out", default="runs/reproduce", help="output folder (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_denoise(sub) -> None:
    p = sub.add_parser(
        "denoise", help="remove impulse (salt-and-pepper) noise from your own images",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Remove impulse noise (pixels set to black or white) from your own images.\n"
        "Without --model, sdae's blind photo denoiser (installed with sdae: a conv DAE for any\n"
        "noise density from 0.02 to 0.7, trained on photographs, synthetic images and\n"
        "Fashion-MNIST) is used; --model takes the autoencoder of an `sdae dae` run instead,\n"
        "which knows its own data (Fashion-MNIST: light garments on a black background). A conv\n"
        "model (the shipped one, or sdae dae --model conv)\n"
        "denoises every image whole at its own size, never resized (in overlapping tiles above\n"
        "512x512); a grey model takes a colour image channel by channel; alpha is copied, 16-bit\n"
        "stays 16-bit, EXIF orientation is applied. The MLP model denoises 28x28 images only\n"
        "(colour converted to grey); other sizes are refused for that file. Reads PNG, JPEG\n"
        "(and the other formats Pillow opens; one frame) and .npy arrays [H, W] or [N, H, W] of\n"
        "uint8 (0-255) or float (0-1). Writes <name>.png (the input's size and mode; and\n"
        "<name>.npy for an array, same shape and dtype), sheet.png (input beside denoised, first\n"
        "16 images) and denoise.json into --out. With --add-noise or --reference, denoise.json\n"
        "and the sheet give the PSNR and SSIM of the noisy input, a 3x3 median, the adaptive\n"
        "median and sdae against the clean image.",
        epilog="example:\n"
        "  sdae denoise photo.png --out runs/denoised\n"
        "  sdae denoise photo.png --add-noise 0.3 --out runs/demo\n"
        "  sdae dae --model conv --out runs/conv\n"
        "  sdae denoise photo.png scans/*.jpg --model runs/conv --out runs/denoised\n"
        "  sdae denoise photo.png --model runs/conv --add-noise 0.1 --out runs/demo\n"
        "  sdae denoise noisy.png --reference clean.png --model runs/conv --out runs/scored\n\n"
        "exit status: 0 all denoised; 1 some file could not be read or denoised (the others\n"
        "are written); 2 bad arguments, model, --reference or --out (nothing written)",
    )  # fmt: skip
    p.add_argument("files", nargs="+", metavar="FILE", help="PNG, JPEG or .npy files")
    p.add_argument("--model", metavar="RUN_DIR",
                   help="the --out folder of an `sdae dae` run (holds model.safetensors) "
                   "(default: the blind photo denoiser that ships with sdae)")
    p.add_argument("--out", default="runs/denoised", help="output folder (default: %(default)s)")
    p.add_argument("--add-noise", type=float, default=0.0, metavar="P",
                   help="corrupt the images first (at full size) with the model's training noise "
                   "at level P (the shipped model's: impulse, P the share of pixels set to "
                   "black or white, 0 to 1; 0 to 0.5 for salt-and-pepper), to demonstrate and "
                   "score; also writes <name>-noisy.png (default: 0, none)")
    p.add_argument("--reference", metavar="CLEAN",
                   help="the clean version of the one FILE (same size): score the results "
                   "against it")
    p.add_argument("--seed", type=int, default=0, help="seed of --add-noise (default: 0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier `sdae denoise` output in --out")
    p.add_argument("--quiet", action="store_true",
                   help="print only notes, warnings and errors (no progress bar)")  # fmt: skip


def add_encode(sub) -> None:
    p = sub.add_parser(
        "encode", help="the hidden-layer codes of a trained dae or sae run, for every image",
        description="Write the codes of a trained `sdae dae` (MLP) or `sdae sae` run (the "
        "deepest code of its stack) for every image of a data set, training images then test "
        "images, into one .npz: codes [N, k] float32, labels [N], split [N] ('train' or "
        "'test').",
    )  # fmt: skip
    p.add_argument("--model", required=True, metavar="RUN_DIR",
                   help="the --out folder of an `sdae dae` (mlp) or `sdae sae` run")
    p.add_argument("--data", metavar="SOURCE",
                   help=f"the data set: {SOURCES_HELP} (default: the one the run trained on)")
    p.add_argument("--image-size", metavar="HxW",
                   help="the size an image folder's images are read at (default: the run's)")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="the .npz to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
