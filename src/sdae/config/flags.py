"""The command line onto the config trees: one table per command (:data:`FLAGS`, an argparse
dest -> the path of the setting it sets, e.g. ``pretrain_lr -> pretrain[].lr``), applied by
:func:`from_flags` after the defaults that depend on other settings (the paper's pretraining
for the architecture, the recipe for the label budget, the protocol the budget is checked
on). A :class:`~sdae.errors.SettingError` raised on the way is renamed to the flag the user
typed. :func:`load_config` reads a ``config.json`` back: the tree, or the flat form written
before the tree existed, which holds exactly these flags and so loads through the same table.
:func:`format_config` is the tree as printed at the start of a run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sdae.config.checks import (
    parse_arch,
    parse_augment,
    parse_labels,
    parse_noise_level,
    pool_per_class,
    semi_counts,
)
from sdae.config.classification import (
    BASELINES,
    BaselineConfig,
    CnnSettings,
    KnnSettings,
    MlpSettings,
    SaeConfig,
    SemiConfig,
    paper_pretraining,
    resolve_recipe,
)
from sdae.config.denoising import CONV_TRAINING, DaeConfig, RobustConfig, default_patch
from sdae.config.training import FINETUNE_RECIPES
from sdae.config.tree import apply, from_json, has_path, to_jsonable
from sdae.data.sizes import parse_image_size
from sdae.data.sources import BUILTIN, FASHION_FACTS, source_facts
from sdae.errors import SdaeError, SettingError


def format_config(config) -> str:
    """The tree as indented JSON, for printing at the start of a run."""
    return f"{type(config).__name__} {json.dumps(to_jsonable(config), indent=2)}"


#: what a CNN config written before ``arch`` existed ran: the small CNN, plain Adam
LEGACY_CNN = {"arch": "small", "schedule": "constant", "augment": [], "label_smoothing": 0.0}


#: the settings an old flat config.json ran with where today's defaults differ
LEGACY_FLAGS = {"noise_stream": "torch", "precision": "fp32"}


CONFIGS = {"dae": DaeConfig, "sae": SaeConfig, "baseline": BaselineConfig,
           "robust": RobustConfig, "semi": SemiConfig}  # fmt: skip


# The command line onto the tree: flag (argparse dest) -> path of the setting it sets.
_RUN = {"protocol": "protocol", "seed": "seed", "data_seed": "data_seed", "device": "device"}


_LABELS = {"labels_per_class": "labels_per_class", "labels_seed": "labels_seed"}


_FINETUNE = {
    "lr_top": "lr_top", "lr_body": "lr_body", "finetune_iterations": "iterations",
    "finetune_optimizer": "optimizer", "finetune_batch_size": "batch_size",
    "finetune_schedule": "schedule", "input_dropout": "input_dropout", "augment": "augment",
}  # fmt: skip


FLAGS: dict[str, dict[str, str]] = {
    "dae": {
        "data": "data", "image_size": "image_size", "model": "model", "hidden": "hidden",
        "tied": "tied", "width": "width", "prefill": "prefill",
        "test_noise": "test_noise", "schedule": "train.schedule",
        "train_noise": "train.noise_level", "noise": "train.noise",
        "optimizer": "train.optimizer", "lr": "train.lr", "iterations": "train.iterations",
        "batch_size": "train.batch_size", "fixed_noise": "train.fixed_noise",
        "cost": "train.cost", "noise_stream": "train.noise_stream", "patch_size": "patch_size",
        "precision": "train.precision", **_RUN,
    },
    "sae": {
        "data": "data", "image_size": "image_size", "arch": "sizes", "tied": "tied", **_LABELS,
        "finetune_recipe": "finetune_recipe",
        **{flag: f"finetune.{f}" for flag, f in _FINETUNE.items()},
        "pretrain_lr": "pretrain[].lr", "pretrain_iterations": "pretrain[].iterations",
        "pretrain_optimizer": "pretrain[].optimizer",
        "pretrain_batch_size": "pretrain[].batch_size", "pretrain_noise": "pretrain[].noise",
        "pretrain_noise_level": "pretrain[].noise_level",
        "sparsity_weight": "pretrain[].sparsity_weight",
        "noise_stream": "pretrain[].noise_stream", "precision": "pretrain[].precision",
        "sparsity_target": "pretrain[].sparsity_target", **_RUN,
    },
    "semi": {
        **{f: f for f in ("labels_per_class", "labels_seed", "width", "iterations", "lr",
                          "batch_size", "unlabelled_ratio", "threshold", "ema",
                          "strong_noise", "graph_per_class", "graph_features",
                          "graph_neighbors", "graph_alpha", "graph_components",
                          "graph_pretrain_iterations", "flip", "data", "image_size",
                          "precision", "align", "rounds", "round_per_class",
                          "round_labels")},
        **_RUN,
    },
    "baseline": {
        "data": "data", "image_size": "image_size", "model": "model", **_LABELS,
        "k": "settings.k", "c": "settings.c",
        "cnn_lr": "settings.lr", "epochs": "settings.epochs", "batch_size": "settings.batch_size",
        "cnn_arch": "settings.arch", "cnn_schedule": "settings.schedule",
        "cnn_augment": "settings.augment", "label_smoothing": "settings.label_smoothing",
        "precision": "settings.precision",
        "arch": "settings.sizes", "finetune_recipe": "settings.finetune_recipe",
        **{flag: f"settings.finetune.{f}" for flag, f in _FINETUNE.items()}, **_RUN,
    },
}  # fmt: skip


# flags whose text needs parsing into the tree's type
_PARSE = {"arch": parse_arch, "labels_per_class": parse_labels, "augment": parse_augment,
          "cnn_augment": parse_augment, "image_size": parse_image_size,
          "train_noise": parse_noise_level}  # fmt: skip


def range_middle(low: float, high: float) -> float:
    """What a DAE trained on the levels ``low:high`` is tested at unless told: the middle
    (rounded to 6 decimals, so that 0.02:0.7 gives 0.36, not 0.36000000000000004)."""
    return round((low + high) / 2, 6)


def _base(command: str, given: dict[str, object]):
    """The defaults that depend on other settings: the paper's pretraining for the
    architecture, the recipe for the label budget, the baseline's own settings."""
    labels = given.get("labels_per_class", 5)
    data = given.get("data", "fashion-mnist")
    # what the label budget is checked on: the paper's subsets of Fashion-MNIST, else all of it
    run = {"protocol": given.get("protocol", "paper" if data == "fashion-mnist" else "full"),
           "data_seed": given.get("data_seed", 0)}  # fmt: skip
    size = given.get("image_size")
    fashion = data == "fashion-mnist"
    facts = FASHION_FACTS if fashion else source_facts(data, run["data_seed"], size)
    if command == "semi":  # a mirrored digit is another digit, or none
        counts = {}  # label counts in proportion to the pool (a bad budget fails below)
        if isinstance(labels, int):
            counts = semi_counts(pool_per_class(run["protocol"], facts), labels)
        return SemiConfig(flip=data != "digits", data=data, image_size=size,
                          labels_per_class=labels, **counts, **run)  # fmt: skip
    run.update(data=data, image_size=size)
    if command == "dae":
        if given.get("model") != "conv":
            return DaeConfig(**run)
        return DaeConfig(model="conv", train=CONV_TRAINING, **run,
                         patch_size=default_patch("conv", facts))  # fmt: skip
    sizes = given.get("arch", (facts.n_features, 100))
    recipe = resolve_recipe(given.get("finetune_recipe") or "auto", labels)
    if command == "sae":
        return SaeConfig(sizes=sizes, pretrain=paper_pretraining(sizes), labels_per_class=labels,
                         finetune_recipe=recipe, finetune=FINETUNE_RECIPES[recipe], **run)
    model = given.get("model", "knn")
    if model == "mlp":
        settings = MlpSettings(sizes, recipe, FINETUNE_RECIPES[recipe])
    else:
        settings = BASELINES.get(model, KnnSettings)()
    return BaselineConfig(model=model, settings=settings, labels_per_class=labels, **run)


def from_flags(command: str, flags: dict[str, object]):
    """The config of ``command`` (``dae``, ``sae``, ``baseline``) from flag values (argparse
    dests; None or an empty tuple means not given). Flags a baseline does not use (``--k``
    for a CNN) are left out of its config."""
    table = FLAGS[command]
    unknown = sorted(set(flags) - set(table))
    if unknown:
        raise SdaeError(f"{unknown[0]!r} is not a setting of sdae {command}")
    given = {k: _PARSE[k](v) if k in _PARSE else v for k, v in flags.items()
             if v is not None and v != ()}  # fmt: skip
    if given.get("data", "fashion-mnist") not in BUILTIN:  # a path: recorded as an absolute one
        given["data"] = str(Path(str(given["data"])).expanduser().absolute())
    names = {p: "--" + k.replace("_", "-") for k, p in table.items()}
    try:
        base = _base(command, given)
    except SettingError as exc:
        raise exc.renamed(names) from None
    if command == "dae":
        level = given.get("train_noise", base.train.noise_level)
        if "test_noise" not in given:  # test on the noise it was trained on
            given["test_noise"] = range_middle(*level) if isinstance(level, tuple) else level
    consumed = () if command in ("dae", "semi") else ("arch", "labels_per_class",
                                                      "finetune_recipe", "model", "protocol",
                                                      "data", "data_seed", "image_size")
    changes = {table[k]: v for k, v in given.items() if k not in consumed}
    changes = {p: v for p, v in changes.items() if has_path(base, p)}
    if isinstance(changes.get("train.noise_level"), tuple):  # a range: its top is the level
        changes["train.noise_low"], changes["train.noise_level"] = changes["train.noise_level"]
    return apply(base, changes, names)


#: the key of ``config.json`` beside the settings: the SHA-256 of the data files read
DIGESTS_KEY = "data_sha256"


def load_config(command: str, data: object):
    """A config from its ``config.json`` contents: the tree, or the flat form written before
    it (which holds the command's flags); the data's digests beside them are not settings."""
    cls = CONFIGS[command]
    if not isinstance(data, dict):
        raise SdaeError(f"config: expected an object of settings, got {type(data).__name__}")
    data = {k: v for k, v in data.items() if k != DIGESTS_KEY}
    if set(data) <= {f.name for f in dataclasses.fields(cls)}:
        settings = data.get("settings")
        cnn_fields = {f.name for f in dataclasses.fields(CnnSettings)}
        if command == "baseline" and data.get("model") == "cnn" and isinstance(settings, dict) \
                and "arch" not in settings and set(settings) <= cnn_fields:  # fmt: skip
            data = {**data, "settings": {**LEGACY_CNN, **settings}}
        return from_json(cls, data)
    flags = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    # written by sdae 0.1: the training noise from torch.rand, every product in fp32
    flags = {**{k: v for k, v in LEGACY_FLAGS.items() if k in FLAGS[command]}, **flags}
    if command == "baseline" and flags.get("model") == "cnn" and "cnn_arch" not in flags:
        flags.update({f"cnn_{k}" if k != "label_smoothing" else k: v
                      for k, v in LEGACY_CNN.items()})  # fmt: skip
        flags["cnn_augment"] = "none"
    return from_flags(command, flags)
