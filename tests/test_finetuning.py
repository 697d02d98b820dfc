"""Fine-tuning recipes, the learning-rate schedule and the augmentations they use."""
import dataclasses
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from sdae.cli import main
from sdae.config.checks import parse_augment
from sdae.config.classification import AUTO_PAPER_MAX_LABELS
from sdae.config.flags import from_flags, load_config
from sdae.config.training import FINETUNE_RECIPES, Finetuning
from sdae.errors import SdaeError
from sdae.io.outputs import to_jsonable
from sdae.nn.augment import AUGMENTATIONS, augment, finetune_transform, flip, shift
from sdae.nn.models import StackedClassifier, seeded
from sdae.nn.training import finetune, train_classifier
from sdae.rng import Streams


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def images(n, seed=0, border=0):
    """``n`` random 28x28 images, flattened, whose outer ``border`` pixels are 0."""
    x = torch.rand(n, 28, 28, generator=gen(seed))
    if border:
        inside = torch.zeros(28, 28, dtype=torch.bool)
        inside[border:-border, border:-border] = True
        x = x * inside
    return x.reshape(n, 784)


def translated(img, dy, dx):
    """``img: [28, 28]`` moved by (dy, dx), zero-filled: the reference for ``shift``."""
    out = torch.zeros_like(img)
    h, w = img.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = img[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_flip_mirrors_about_half_the_images_and_nothing_else():
    x = images(400)
    out = flip(x, gen(1)).view(-1, 28, 28)
    img = x.view(-1, 28, 28)
    same = (out == img).flatten(1).all(1)
    mirrored = (out == img.flip(2)).flatten(1).all(1)
    assert bool((same ^ mirrored).all())  # each image: exactly one of the two
    assert abs(mirrored.float().mean().item() - 0.5) < 5 * math.sqrt(0.25 / 400)
    assert torch.equal(flip(x, gen(1)), flip(x, gen(1)))  # seeded


def test_shift_is_a_translation_by_at_most_one_pixel_and_covers_all_nine():
    x = images(300, border=1)
    out = shift(x, gen(2)).view(-1, 28, 28)
    seen = set()
    for img, moved in zip(x.view(-1, 28, 28), out):
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if torch.equal(moved, translated(img, dy, dx))]  # fmt: skip
        assert len(matches) == 1
        seen.add(matches[0])
    assert len(seen) == 9
    torch.testing.assert_close(out.sum((1, 2)), x.sum(1))  # empty border: no pixel lost


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_augment_keeps_shape_and_range(n, seed):
    x = images(n, seed)
    out = augment(x, ("shift", "flip"), gen(seed))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_parse_augment():
    assert parse_augment("none") == () == parse_augment("")
    assert parse_augment("shift, flip") == ("shift", "flip")
    assert parse_augment(["flip", "flip"]) == ("flip",)
    assert set(AUGMENTATIONS) == {"shift", "flip"}
    with pytest.raises(SdaeError, match="unknown augmentation 'rotate'"):
        parse_augment("shift,rotate")


def sae(**flags):
    return from_flags("sae", flags)


def test_auto_recipe_is_paper_for_the_papers_budgets_and_augmented_above():
    paper = FINETUNE_RECIPES["paper"]
    for labels in (1, 5, AUTO_PAPER_MAX_LABELS):
        config = sae(labels_per_class=labels)
        assert config.finetune_recipe == "paper" and config.finetune == paper
    for labels in (AUTO_PAPER_MAX_LABELS + 1, "all"):
        config = sae(labels_per_class=labels)
        assert config.finetune_recipe == "augmented"
        assert config.finetune == FINETUNE_RECIPES["augmented"]
    assert paper == Finetuning(lr_top=0.5, lr_body=0.001, iterations=2000, optimizer="sgd")


def test_given_fields_override_the_recipe_and_config_round_trips():
    config = sae(labels_per_class="all", lr_top=0.2, augment="none")
    ft = config.finetune
    assert ft.lr_top == 0.2 and ft.augment == () and ft.optimizer == "adam"
    assert sae(labels_per_class="all", finetune_recipe="paper").finetune.optimizer == "sgd"
    saved = json.loads(json.dumps(to_jsonable(config)))  # what config.json holds
    assert saved["finetune"]["lr_top"] == 0.2 and saved["labels_per_class"] is None
    assert load_config("sae", saved) == config
    mlp = from_flags("baseline", {"model": "mlp", "labels_per_class": "all"})
    assert mlp.settings.finetune == FINETUNE_RECIPES["augmented"]


@pytest.mark.parametrize("field,value,message", [
    ("finetune_recipe", "fancy", "unknown fine-tuning recipe 'fancy'"),
    ("finetune_schedule", "step", "unknown --finetune-schedule 'step'"),
    ("input_dropout", 1.0, "input dropout 1.0 must lie in [0, 1)"),
    ("augment", "blur", "unknown augmentation 'blur'"),
    ("finetune_batch_size", -1, "--finetune-batch-size must be a whole number >= 0"),
])  # fmt: skip
def test_bad_finetuning_settings(field, value, message):
    with pytest.raises(SdaeError, match=message.replace("[", r"\[").replace(")", r"\)")):
        sae(labels_per_class="all", **{field: value})


def tiny_model():
    with seeded(0):
        return StackedClassifier((784, 6))


def test_cosine_schedule_equals_gradient_descent_with_cosine_rates_by_hand():
    x, y = images(20, seed=3), torch.arange(20) % 10
    model, by_hand = tiny_model(), tiny_model()
    settings_ = Finetuning(lr_top=0.3, lr_body=0.1, iterations=4, schedule="cosine")
    finetune(model, x, y, settings_, rng=0)
    head, body = list(by_hand.head.parameters()), by_hand.body_parameters()
    for i in range(4):
        factor = (1 + math.cos(math.pi * i / 4)) / 2
        cost = F.cross_entropy(by_hand(x), y)
        grads = torch.autograd.grad(cost, head + body)
        rates = [0.3] * len(head) + [0.1] * len(body)
        with torch.no_grad():
            for p, g, lr in zip(head + body, grads, rates):
                p -= lr * factor * g
    for a, b in zip(model.parameters(), by_hand.parameters()):
        torch.testing.assert_close(a, b)


def test_transform_sees_every_minibatch_and_input_dropout_masks():
    x, y = images(30), torch.arange(30) % 10
    shapes = []

    def spy(xb):
        shapes.append(tuple(xb.shape))
        return xb

    model = tiny_model()
    train_classifier(model, x, y, [(list(model.parameters()), 0.1)], iterations=5,
                     optimizer="sgd", rng=0, batch_size=8, transform=spy)  # fmt: skip
    assert shapes == [(8, 784), (8, 784), (8, 784), (6, 784), (8, 784)]
    masked = finetune_transform(Finetuning(input_dropout=0.25), Streams(0))(torch.ones(200, 784))
    assert abs((masked == 0).float().mean().item() - 0.25) < 0.01
    assert finetune_transform(Finetuning(), Streams(0)) is None  # paper recipe: inputs untouched


def test_sae_cli_with_all_labels_uses_the_augmented_recipe(tmp_path, fmnist):
    out = tmp_path / "sae"
    args = ["sae", "--arch", "784-32", "--labels-per-class", "all", "--protocol", "mini",
            "--pretrain-iterations", "40", "--finetune-iterations", "300", "--out", str(out),
            "--quiet"]  # fmt: skip
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    ft = config["finetune"]
    assert config["finetune_recipe"] == "augmented" and ft["augment"] == ["shift", "flip"]
    assert ft["iterations"] == 300 and ft["optimizer"] == "adam"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5 and len(metrics["finetune_cost_history"]) == 300


def test_replace_keeps_a_resolved_recipe():
    """``dataclasses.replace`` passes the settings on, so the recipe stays fixed."""
    paper = sae(labels_per_class=5)
    assert dataclasses.replace(paper, labels_per_class=None).finetune.optimizer == "sgd"


def test_baselines_hold_only_the_settings_they_use():
    cnn = from_flags("baseline", {"model": "cnn", "labels_per_class": "all", "k": 3,
                                  "lr_top": 0.1, "epochs": 2})  # fmt: skip
    saved = json.loads(json.dumps(to_jsonable(cnn)))
    assert saved["settings"] == {"lr": 0.003, "epochs": 2, "batch_size": 128, "arch": "deep",
                                 "schedule": "onecycle", "augment": ["shift", "flip"],
                                 "label_smoothing": 0.1, "precision": "auto"}  # fmt: skip
    assert load_config("baseline", saved) == cnn
    mlp = from_flags("baseline", {"model": "mlp", "labels_per_class": 5})
    assert mlp.settings.finetune_recipe == "paper" and mlp.settings.arch == "784-100"


def test_train_classifier_rejects_an_unknown_schedule_and_leaves_parameters_trainable():
    model = tiny_model()
    head = list(model.head.parameters())
    with pytest.raises(SdaeError, match="unknown schedule 'linear'; choose one of constant"):
        train_classifier(model, images(4), torch.arange(4), [(head, 0.1)],
                         iterations=1, optimizer="sgd", rng=0, schedule="linear")
    assert all(p.requires_grad for p in model.parameters())


def test_both_learning_rates_zero_are_refused_before_any_training():
    with pytest.raises(SdaeError, match="--lr-top and --lr-body are both 0"):
        sae(lr_top=0.0, lr_body=0.0)


def test_bad_augment_on_the_command_line_is_one_line(tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["sae", "--labels-per-class", "all", "--augment", "blur", "--out", str(out),
                 "--quiet"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sdae: error: unknown augmentation 'blur'; use none, or a comma-separated "
                   "list of flip, shift"]  # fmt: skip
    assert not out.exists()


def test_import_sdae_loads_no_heavy_module_until_used():
    import subprocess
    import sys

    code = ("import sys, sdae; heavy = {'torch', 'sklearn', 'matplotlib'} & set(sys.modules); "
            "assert not heavy, heavy; sdae.SaeConfig; assert 'torch' not in sys.modules; "
            "sdae.Autoencoder; assert 'torch' in sys.modules; "
            "assert 'Finetuning' in dir(sdae)\n"
            "try:\n    sdae.nope\nexcept AttributeError as e:\n    print(e)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "module 'sdae' has no attribute 'nope'"
