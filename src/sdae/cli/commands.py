"""What each ``sdae`` command does with its checked config: run the library, print results.

Every function takes the parsed flags and the config :func:`sdae.cli.parser.config_from_args`
made (None for ``data``, ``denoise``, ``reproduce``) and returns the exit status. A run
command checks ``--out`` and finds the data *before* it prints its config, so a mistake
there is the one line of its error, not the config followed by it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

from sdae.cli.denoising import cmd_denoise
from sdae.config.flags import format_config
from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.sizes import parse_image_size
from sdae.data.sources import load_dataset
from sdae.devices import check_device
from sdae.io.outputs import check_out_dir
from sdae.nn import distributed
from sdae.reproduce.runner import reproduce
from sdae.rng import check_seed
from sdae.runs.baseline import run_baseline
from sdae.runs.dae import run_dae
from sdae.runs.encode import encode_source
from sdae.runs.sae import run_sae
from sdae.runs.semi import run_semi


def cmd_data(args, config=None) -> int:
    check_seed(args.data_seed, "--data-seed")
    size = None if args.image_size is None else parse_image_size(args.image_size)
    data = load_dataset(args.data, data_dir=args.data_dir, download=not args.no_download,
                        data_seed=args.data_seed, image_size=size)  # fmt: skip
    if data.name == "fashion-mnist":
        print(f"Fashion-MNIST at {data.source} (all files verified by SHA-256)")
    else:
        print(f"{data.name} from {data.source}")
    for name, digest in data.sha256.items():
        print(f"sha256 {digest}  {name}")
    unlabelled = data.unlabelled_images
    more = "" if unlabelled is None else f"   unlabelled: {len(unlabelled)} images"
    print(f"train: {len(data.train_labels)} images   test: {len(data.test_labels)} images{more}")
    kind = "colour" if len(data.image_shape) == 3 else "grey"
    print(f"images: {'x'.join(map(str, data.image_shape))}, {data.n_classes} classes ({kind})")
    train = np.bincount(data.train_labels, minlength=data.n_classes)
    test = np.bincount(data.test_labels, minlength=data.n_classes)
    index, width = len(str(data.n_classes - 1)), max(14, *(len(n) for n in data.class_names))
    print(f"{'class':<{index + 1 + width}}{'train':>7}{'test':>7}")
    for c, name in enumerate(data.class_names):
        print(f"{c:<{index}} {name:<{width}}{train[c]:>7}{test[c]:>7}")
    return 0


def _preflight(args, config) -> None:
    """Refuse an unusable ``--out`` and find (and verify) the data before anything is
    printed (Fashion-MNIST is cached, so the run does not read it twice; denoise-mix is built
    from it later; another source was read when the config was checked against it)."""
    check_out_dir(args.out, args.overwrite)
    if getattr(config, "data", "fashion-mnist") in ("fashion-mnist", "denoise-mix"):
        load_fashion_mnist(args.data_dir, download=not args.no_download)


@contextlib.contextmanager
def _parallel(args, config):
    """``(config on this process's device, the folder it writes)``, the config printed once.
    Under ``torchrun`` the process group is joined and rank 0 alone prints and writes
    ``--out`` (checked by every rank first, so a refused folder stops them all)."""
    _preflight(args, config)
    if not distributed.launched():
        _print_config(args, config)
        yield config, args.out
        return
    with distributed.data_parallel(config.device, args.out) as (device, folder):
        if not distributed.is_main():
            args.quiet = True
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (closed with the process)
        _print_config(args, config)
        yield dataclasses.replace(config, device=device), folder


def _print_config(args, config) -> None:
    if not args.quiet:
        print(format_config(config), flush=True)


def _run_options(args) -> dict:
    return {"data_dir": args.data_dir, "progress": not args.quiet, "overwrite": args.overwrite,
            "download": not args.no_download}  # fmt: skip


def cmd_dae(args, config) -> int:
    with _parallel(args, config) as (config, out):
        m = run_dae(config, out, **_run_options(args))
    print(f"final cost {m['final_cost']:.2f}  trained in {m['train_seconds']:.1f} s")
    if "test_crops" in m:
        print(f"scored on one {config.patch_size}x{config.patch_size} crop of each of "
              f"{m['test_crops']} test images")
    print(f"PSNR dB  noisy {m['psnr_noisy']:.2f}  median {m['psnr_median']:.2f}  adaptive "
          f"median {m['psnr_adaptive_median']:.2f}  denoised {m['psnr_denoised']:.2f}  "
          f"mean image {m['psnr_mean_image']:.2f}")
    print(f"SSIM     noisy {m['ssim_noisy']:.3f}  median {m['ssim_median']:.3f}  adaptive "
          f"median {m['ssim_adaptive_median']:.3f}  denoised {m['ssim_denoised']:.3f}")
    for level, p in m.get("psnr_by_level", {}).items():
        print(f"  at noise {level:<6} PSNR dB  median {p['psnr_median']:.2f}  adaptive median "
              f"{p['psnr_adaptive_median']:.2f}  denoised {p['psnr_denoised']:.2f}")
    print(f"results in {Path(args.out).resolve()}")
    return 0


def cmd_classify(args, config) -> int:
    """``sae``, ``baseline`` and ``semi``: they write the same metrics."""
    run = {"sae": run_sae, "semi": run_semi}.get(args.command, run_baseline)
    with _parallel(args, config) as (config, out):
        m = run(config, out, **_run_options(args))
    if m["pretrain_final_costs"]:
        costs = "  ".join(f"{c:.4g}" for c in m["pretrain_final_costs"])
        print(f"pretraining final costs  {costs}")
    if m["finetune_final_cost"] is not None:
        print(f"fine-tuning final cost   {m['finetune_final_cost']:.4g}")
    print(f"accuracy  train (pool of {m['n_train']}) {m['train_accuracy']:.4f}  "
          f"test ({m['n_test']}) {m['test_accuracy']:.4f}  trained in {m['train_seconds']:.1f} s")
    print(f"results in {Path(args.out).resolve()}")
    return 0


def cmd_encode(args, config=None) -> int:
    check_device(args.device)
    size = None if args.image_size is None else parse_image_size(args.image_size)
    s = encode_source(args.model, args.out, args.data, data_dir=args.data_dir,
                      device=args.device, overwrite=args.overwrite, image_size=size)  # fmt: skip
    extra = f" and {s['n_unlabelled']} unlabelled" if "n_unlabelled" in s else ""
    print(f"codes of {s['n_train']} training, {s['n_test']} test{extra} images of "
          f"{s['source']}, {s['code_size']} each, in {Path(args.out).resolve()}")
    return 0


def cmd_reproduce(args, config=None) -> int:
    doc = reproduce(args.preset, args.seeds, args.out, jobs=args.jobs, data_dir=args.data_dir,
                    quiet=args.quiet, device=args.device, data=args.data)  # fmt: skip
    for line in doc["summary"]:
        print(f"- {line}")
    out = Path(args.out).resolve()
    floor = doc.get("gemm_floor_seconds")
    if floor:
        print(f"floor {floor:.1f} s (the trainings' products alone, measured here: MLP "
              f"autoencoders' GEMMs, conv DAEs', CNN's and FixMatch students' passes); wall "
              f"time {doc['wall_seconds'] / floor:.2f}x the floor")
    print(f"wall time {doc['wall_seconds']:.1f} s; report in {out / 'report.md'} and "
          f"{out / 'report.html'}, every number in {out / 'results.json'}")
    return 0


COMMANDS = {"data": cmd_data, "dae": cmd_dae, "sae": cmd_classify, "baseline": cmd_classify,
            "semi": cmd_classify, "denoise": cmd_denoise, "encode": cmd_encode,
            "reproduce": cmd_reproduce}  # fmt: skip
