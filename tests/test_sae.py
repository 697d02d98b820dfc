import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sdae.cli import main
from sdae.config.checks import parse_arch
from sdae.config.classification import BaselineConfig, MlpSettings
from sdae.config.flags import from_flags
from sdae.config.training import AutoencoderTraining, Finetuning
from sdae.data.splits import Split, labelled_indices
from sdae.errors import SdaeError
from sdae.evaluation import predict
from sdae.io.checkpoints import load_model
from sdae.nn.models import StackedAutoencoder, StackedClassifier, seeded
from sdae.nn.training import finetune, pretrain_stack


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def small_stack(sizes=(784, 40, 20, 10)):
    with seeded(0):
        return StackedAutoencoder(sizes)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_stacked_encoder_is_composition_of_layers():
    stack = small_stack()
    x = torch.rand(5, 784, generator=gen())
    by_hand = stack.layers[2].encode(stack.layers[1].encode(stack.layers[0].encode(x)))
    torch.testing.assert_close(stack.encode(x), by_hand)
    torch.testing.assert_close(stack.encode(x, depth=1), stack.layers[0].encode(x))


def test_lower_layers_frozen_while_higher_layer_pretrains(monkeypatch):
    import sdae.nn.training

    stack = small_stack()
    x = torch.rand(64, 784, generator=gen())
    schedule = [AutoencoderTraining(lr=0.01, iterations=5, optimizer="sgd")] * 3
    seen = []
    original = sdae.nn.training.train_autoencoder

    def spy(layer, codes, settings, rng, **kw):
        k = list(stack.layers).index(layer)
        before = [snapshot(stack.layers[j]) for j in range(k)]
        history = original(layer, codes, settings, rng, **kw)
        after = [snapshot(stack.layers[j]) for j in range(k)]
        seen.append(all(all(torch.equal(b[n], a[n]) for n in b) for b, a in zip(before, after)))
        return history

    monkeypatch.setattr(sdae.nn.training, "train_autoencoder", spy)
    initial = snapshot(stack)
    histories = pretrain_stack(stack, x, schedule, 0)
    assert seen == [True, True, True] and len(histories) == 3
    assert all(not torch.equal(initial[k], v) for k, v in snapshot(stack).items())


def test_body_learning_rate_zero_trains_only_softmax():
    model = StackedClassifier.from_stack(small_stack())
    x, y = torch.rand(30, 784, generator=gen()), torch.arange(30) % 10
    body, head = snapshot(model.stack), snapshot(model.head)
    finetune(model, x, y, Finetuning(lr_top=0.5, lr_body=0.0, iterations=10), rng=0)
    assert all(torch.equal(body[k], v) for k, v in snapshot(model.stack).items())
    assert not torch.equal(head["weight"], model.head.weight)
    assert all(p.requires_grad for p in model.parameters())  # unfrozen afterwards


def test_labelled_draw_stratified_reproducible_and_bounded():
    pool = Split(torch.zeros(100, 784), torch.arange(100) % 10, np.arange(100))
    a = labelled_indices(pool, 3, labels_seed=1)
    assert np.bincount(pool.y.numpy()[a]).tolist() == [3] * 10
    np.testing.assert_array_equal(a, labelled_indices(pool, 3, labels_seed=1))
    assert not np.array_equal(a, labelled_indices(pool, 3, labels_seed=2))
    assert len(labelled_indices(pool, None, 0)) == 100
    with pytest.raises(SdaeError, match="more than the 10 images per class"):
        labelled_indices(pool, 11, 0)


def schedule(config):
    return [(t.lr, t.iterations) for t in config.pretrain]


def test_paper_schedules_are_the_defaults():
    a1 = from_flags("sae", {"arch": "784-500-200-100"})
    assert schedule(a1) == [(0.01, 1000), (0.005, 700), (0.02, 500)]
    assert schedule(from_flags("sae", {"arch": "784-300-100"})) == [(0.01, 1000), (0.005, 1000)]
    other = from_flags("sae", {"arch": "784-64-32", "pretrain_lr": (0.1,)})
    assert schedule(other) == [(0.1, 1000), (0.1, 1000)]
    per_layer = from_flags("sae", {"arch": "784-64-32", "pretrain_iterations": (5, 7)})
    assert schedule(per_layer) == [(0.01, 5), (0.01, 7)]


@pytest.mark.parametrize("arch,message", [
    ("784-abc", "sizes must be whole numbers"),
    ("784", "has one layer"),
    ("784-0", "at least 1"),
])
def test_bad_arch(arch, message):
    with pytest.raises(SdaeError, match=message):
        parse_arch(arch)


def test_arch_starts_with_the_datas_pixels():
    with pytest.raises(SdaeError, match="--arch 100-50 must start with 784, the values of one "
                       r"28x28 image of fashion-mnist \(e.g. 784-50\)"):
        from_flags("sae", {"arch": "100-50"})


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "sdae", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args,message", [
    (["sae", "--arch", "784-abc"], "sizes must be whole numbers"),
    (["sae", "--arch", "784"], "has one layer"),
    (["sae", "--arch", "28-10"], "must start with 784"),
    (["sae", "--labels-per-class", "601", "--pretrain-iterations", "1"],
     "more than the 600 images per class"),
    (["sae", "--labels-per-class", "many"], "give a whole number >= 1 or 'all'"),
    (["sae", "--pretrain-lr", "0.1,0.2"], "2 values for 1 layers"),
    (["baseline", "svm"], "invalid choice: 'svm'"),
    (["sae", "--arch", "784-20", "--pretrain-lr", "1e38", "--pretrain-iterations", "30"],
     "the cost became"),
])
def test_bad_input_one_line(args, message, fmnist, tmp_path):
    proc = run_cli(*args, "--quiet", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "x" / "metrics.json").exists()


def test_short_sae_run_beats_chance_and_reloads(tmp_path, fmnist):
    out = tmp_path / "sae"
    args = ["sae", "--arch", "784-64", "--labels-per-class", "10", "--pretrain-iterations",
            "60", "--pretrain-optimizer", "adam", "--pretrain-lr", "0.003",
            "--finetune-iterations", "300", "--out", str(out), "--quiet"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.45  # chance is 0.10
    assert len(metrics["pretrain_final_costs"]) == 1
    for name in ("config.json", "layer_costs.png", "finetune_cost.png", "confusion.png",
                 "model.safetensors"):
        assert (out / name).stat().st_size > 0, name
    model, config = load_model(out / "model.safetensors")
    assert config["sizes"] == [784, 64] and isinstance(model, StackedClassifier)
    from sdae.data.fashion_mnist import load_fashion_mnist
    from sdae.data.splits import protocol_splits

    _, test = protocol_splits(load_fashion_mnist(download=False), "paper", config["data_seed"])
    accuracy = (predict(model, test.x) == test.y).float().mean().item()
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)  # same count of 600


@pytest.mark.parametrize("model,extra", [
    ("knn", []),
    ("logreg", []),
    ("mlp", ["--arch", "784-32", "--finetune-iterations", "50"]),
    ("cnn", ["--epochs", "30", "--batch-size", "25"]),  # 60 steps: batch norm needs some
])
def test_baselines_run_with_sae_keys(model, extra, tmp_path, fmnist):
    out = tmp_path / model
    assert main(["baseline", model, "--labels-per-class", "5", "--out", str(out), "--quiet",
                 *extra]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("pretrain_final_costs", "finetune_final_cost", "train_accuracy",
                "test_accuracy", "train_seconds"):
        assert key in metrics
    assert metrics["n_labelled"] == 50 and metrics["test_accuracy"] > 0.25


def test_baseline_config_rejects_unknown_model():
    with pytest.raises(SdaeError, match="unknown baseline 'svm'"):
        BaselineConfig(model="svm")


def test_library_api_round_trip(tmp_path):
    """Pretrain, fine-tune, encode new images, save, reload: no CLI involved."""
    import sdae

    x = torch.rand(80, 784, generator=gen(1))
    y = torch.arange(80) % 10
    with seeded(0):
        model = sdae.StackedClassifier([784, 32, 16])
    histories = sdae.pretrain_stack(model.stack, x, [sdae.AutoencoderTraining(lr=0.01,
                                    iterations=5)] * 2, 0)  # fmt: skip
    assert [len(h) for h in histories] == [5, 5]
    settings = sdae.Finetuning(lr_top=0.5, lr_body=0.01, iterations=5)
    sdae.finetune(model, x, y, settings, rng=0)
    assert model.stack.encode(x[:3]).shape == (3, 16)
    config = sdae.SaeConfig(sizes=(784, 32, 16), pretrain=(sdae.AutoencoderTraining(),) * 2)
    sdae.save_model(tmp_path / "m.safetensors", model, config)
    again, saved = sdae.load_model(tmp_path / "m.safetensors")
    assert sdae.load_config("sae", saved) == config
    torch.testing.assert_close(again(x), model.eval()(x))


def test_baseline_config_validates_its_settings():
    with pytest.raises(SdaeError, match="--lr-body -1.0 must be a finite number >= 0"):
        from_flags("baseline", {"model": "mlp", "lr_body": -1.0})
    with pytest.raises(SdaeError, match="has one layer"):
        from_flags("baseline", {"model": "mlp", "arch": "784"})
    with pytest.raises(SdaeError, match="baseline cnn takes CnnSettings, not MlpSettings"):
        BaselineConfig(model="cnn", settings=MlpSettings())


def test_cnn_training_does_not_depend_on_the_global_random_state():
    from sdae.config.classification import CnnSettings
    from sdae.runs.baseline import fit_cnn

    x, y = torch.rand(40, 784, generator=gen(4)), torch.arange(40) % 10
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # dropout used to draw from here
        settings = CnnSettings(lr=0.01, epochs=2, batch_size=10)  # deep, augmented
        model, history = fit_cnn(x, y, settings, seed=0, rng=0)
        runs.append((history, model.predict(x)))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
