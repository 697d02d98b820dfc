"""The config tree: flags onto it, JSON round trips, old flat files, and checks up front."""
import json

import pytest

from sdae.config.classification import BaselineConfig, CnnSettings, SaeConfig
from sdae.config.denoising import DaeConfig
from sdae.config.flags import FLAGS, from_flags, load_config
from sdae.config.training import FINETUNE_RECIPES, AutoencoderTraining
from sdae.errors import SdaeError
from sdae.io.outputs import to_jsonable
from sdae.rng import check_seed

# config.json as sdae wrote it before the tree (flat: the command's flags)
OLD_DAE = {"train_noise": 0.1, "test_noise": 0.5, "noise": "salt-and-pepper", "hidden": 256,
           "tied": False, "optimizer": "adam", "lr": 0.001, "iterations": 20, "batch_size": 0,
           "fixed_noise": False, "protocol": "paper", "seed": 0, "data_seed": 0,
           "device": "cpu"}  # fmt: skip
OLD_SAE = {"arch": "784-300-100", "labels_per_class": "all", "finetune_recipe": "augmented",
           "lr_top": 0.2, "lr_body": 0.003, "finetune_iterations": 37500,
           "finetune_optimizer": "adam", "finetune_batch_size": 64,
           "finetune_schedule": "cosine", "input_dropout": 0.1, "augment": ["shift", "flip"],
           "protocol": "paper", "seed": 0, "labels_seed": 0, "data_seed": 0, "device": "cpu",
           "pretrain_lr": [0.01, 0.005], "pretrain_iterations": [1000, 1000],
           "pretrain_optimizer": "adam", "pretrain_batch_size": 0, "pretrain_noise": "masking",
           "pretrain_noise_level": 0.0, "sparsity_weight": 0.0, "sparsity_target": 0.05,
           "tied": False}  # fmt: skip
OLD_CNN = {"arch": "784-100", "labels_per_class": "all", "finetune_recipe": None,
           "lr_top": None, "lr_body": None, "finetune_iterations": None,
           "finetune_optimizer": None, "finetune_batch_size": None, "finetune_schedule": None,
           "input_dropout": None, "augment": None, "protocol": "paper", "seed": 0,
           "labels_seed": 0, "data_seed": 0, "device": "cpu", "model": "cnn", "k": 1, "c": 1.0,
           "cnn_lr": 0.001, "epochs": 2, "batch_size": 128}  # fmt: skip


def json_round_trip(config):
    return json.loads(json.dumps(to_jsonable(config)))


@pytest.mark.parametrize("command,flags", [
    ("dae", {}),
    ("dae", {"train_noise": 0.1, "noise": "masking", "test_noise": 0.9, "batch_size": 64}),
    ("sae", {"arch": "784-500-200-100", "labels_per_class": 1, "pretrain_lr": (0.1, 0.2, 0.3)}),
    ("sae", {"labels_per_class": "all", "augment": "flip", "tied": True}),
    ("baseline", {"model": "knn", "k": 3}),
    ("baseline", {"model": "logreg", "c": 0.5}),
    ("baseline", {"model": "mlp", "arch": "784-32", "lr_top": 0.1}),
    ("baseline", {"model": "cnn", "epochs": 2, "labels_per_class": "all"}),
])  # fmt: skip
def test_config_json_loads_back_to_an_equal_config(command, flags):
    config = from_flags(command, flags)
    assert load_config(command, json_round_trip(config)) == config


def test_flags_land_where_the_table_says():
    dae = from_flags("dae", {"train_noise": 0.1, "lr": 0.01, "test_noise": 0.2})
    assert dae.train.noise_level == 0.1 and dae.train.lr == 0.01 and dae.test_noise == 0.2
    sae = from_flags("sae", {"arch": "784-64-32", "pretrain_iterations": (5, 7),
                             "pretrain_noise_level": 0.1, "lr_body": 0.0})  # fmt: skip
    assert [t.iterations for t in sae.pretrain] == [5, 7]
    assert all(t.noise_level == 0.1 for t in sae.pretrain) and sae.finetune.lr_body == 0.0
    assert sae.sizes == (784, 64, 32) and sae.arch == "784-64-32"
    for command, table in FLAGS.items():  # every path of the table exists in the tree
        assert all("." in p or p in {f for f in from_flags(command, {}).__dataclass_fields__}
                   for p in table.values()), command  # fmt: skip


def test_old_flat_config_files_still_load():
    dae = load_config("dae", OLD_DAE)
    assert dae == from_flags("dae", {"train_noise": 0.1, "iterations": 20, "test_noise": 0.5,
                                     "noise_stream": "torch", "precision": "fp32"})  # fmt: skip
    sae = load_config("sae", OLD_SAE)
    assert sae.labels_per_class is None and sae.finetune.lr_top == 0.2
    assert sae.finetune.augment == ("shift", "flip") and len(sae.pretrain) == 2
    assert [t.lr for t in sae.pretrain] == [0.01, 0.005]
    cnn = load_config("baseline", OLD_CNN)
    # written before the deep CNN existed: it ran the small CNN with plain Adam
    assert cnn.settings == CnnSettings(lr=0.001, epochs=2, batch_size=128, arch="small",
                                       schedule="constant", augment=(), label_smoothing=0.0,
                                       precision="fp32")  # fmt: skip
    tree = {"model": "cnn", "settings": {"lr": 0.001, "epochs": 2, "batch_size": 128}}
    assert load_config("baseline", tree).settings == cnn.settings


@pytest.mark.parametrize("command,data,message", [
    ("dae", [1, 2], "expected an object of settings, got list"),
    ("dae", {"train": {"lr": "fast"}}, "train.lr: expected float, got 'fast'"),
    ("dae", {"hidden": 25.5}, "hidden: expected int, got 25.5"),
    ("dae", {"hidden": True}, "hidden: expected int, got True"),
    ("dae", {"train": [0.1]}, "train: expected an object of settings, got list"),
    ("sae", {"sizes": "784-100"}, "sizes: expected a list, got str"),
    ("sae", {"pretrain": [{"lr": 0.1, "speed": 3}]}, "pretrain[0].speed: not a setting"),
    ("sae", {"frobnicate": 1}, "'frobnicate' is not a setting of sdae sae"),
    ("baseline", {"model": "cnn", "settings": {"k": 1}}, "baseline cnn takes CnnSettings"),
])  # fmt: skip
def test_bad_config_json_is_one_clear_error(command, data, message):
    with pytest.raises(SdaeError, match=message.replace("[", r"\[")):
        load_config(command, data)


@pytest.mark.parametrize("seed", [0, 1, 2**63 - 1])
def test_seeds_in_range_are_accepted_everywhere(seed):
    for flag in ("seed", "data_seed"):
        assert getattr(from_flags("dae", {flag: seed}), flag) == seed
    assert from_flags("sae", {"labels_seed": seed}).labels_seed == seed
    assert from_flags("baseline", {"seed": seed, "model": "cnn"}).seed == seed


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64, 1.5, True, "3"])
def test_seeds_out_of_range_are_one_line(seed):
    with pytest.raises(SdaeError, match="a seed must be a whole number from 0 to 2\\*\\*63 - 1"):
        check_seed(seed, "--seed")
    with pytest.raises(SdaeError, match="--labels-seed"):
        from_flags("sae", {"labels_seed": seed})
    with pytest.raises(SdaeError, match="--data-seed"):
        DaeConfig(data_seed=seed)


@pytest.mark.parametrize("device,message", [
    ("tpu", "unknown device 'tpu'; use cpu, cuda or cuda:N"),
    ("cuda:x", "unknown device 'cuda:x'"),
    ("cpu:0", "unknown device 'cpu:0'"),
])  # fmt: skip
def test_devices_are_checked_when_the_config_is_made(device, message):
    with pytest.raises(SdaeError, match=message):
        from_flags("sae", {"device": device})


def test_configs_are_whole_on_creation():
    """Nothing is resolved later: what was given is what is stored and saved."""
    sae = SaeConfig()
    assert sae.finetune == FINETUNE_RECIPES["paper"] and sae.pretrain == (
        AutoencoderTraining(lr=0.01, iterations=1000, noise="masking"),)
    with pytest.raises(SdaeError, match="2 layers but 1 pretraining settings"):
        SaeConfig(sizes=(784, 30, 20))
    with pytest.raises(SdaeError, match="more than the 100 images per class in the mini"):
        from_flags("sae", {"protocol": "mini", "labels_per_class": 101})
    assert BaselineConfig().settings.k == 1
