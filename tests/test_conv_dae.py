"""The convolutional DAE (`sdae dae --model conv`): shapes, pass-through, save/load, config,
and a short real run that denoises."""

import json

import pytest
import torch

from sdae.config.denoising import CONV_TRAINING, DaeConfig
from sdae.config.flags import from_flags
from sdae.config.training import AutoencoderTraining
from sdae.errors import SdaeError
from sdae.io.checkpoints import describe, load_model, save_model
from sdae.nn.convnets import ConvAutoencoder, adaptive_mean
from sdae.nn.models import seeded
from sdae.nn.noise import corrupt
from sdae.nn.training import reconstruction_cost, train_autoencoder


def _batch(n=5, seed=0):
    """Images in (0, 1) with some exact 0s and 1s, as impulse noise leaves them."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 784, generator=g) * 0.8 + 0.1
    return corrupt(x, "salt-and-pepper", 0.2, g)


def test_shapes_and_range():
    with seeded(0):
        model = ConvAutoencoder(width=4)
    x = _batch()
    assert model(x).shape == (5, 784)
    z = model.reconstruct(x)
    assert z.shape == (5, 784) and z.min() >= 0 and z.max() <= 1


def test_passthrough_copies_every_pixel_noise_cannot_have_set():
    with seeded(0):
        model = ConvAutoencoder(width=4, passthrough=True)
    x = _batch()
    clean = (x > 0) & (x < 1)
    z = model.reconstruct(x)
    assert torch.equal(z[clean], x[clean])  # exactly, not approximately
    assert not torch.equal(z[~clean], x[~clean])  # suspect pixels are predicted
    # and their cost gives no gradient: a batch without suspect pixels trains nothing
    y = torch.rand(3, 784) * 0.8 + 0.1
    reconstruction_cost(model(y), y).backward()
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())


def test_without_passthrough_every_pixel_is_predicted():
    with seeded(0):
        model = ConvAutoencoder(width=4, passthrough=False)
    x = _batch()
    clean = (x > 0) & (x < 1)
    assert not torch.equal(model.reconstruct(x)[clean], x[clean])


def test_forward_matches_reconstruct():
    """The cost's logits and the image agree: sigmoid(forward) == reconstruct."""
    with seeded(1):
        model = ConvAutoencoder(width=4)
    x = _batch(seed=3)
    torch.testing.assert_close(torch.sigmoid(model(x)), model.reconstruct(x), atol=2e-6, rtol=0)


def test_save_and_load_give_the_same_model(tmp_path):
    with seeded(0):
        model = ConvAutoencoder(width=6, passthrough=False)
    path = save_model(tmp_path / "model.safetensors", model, DaeConfig(model="conv", width=6))
    loaded, config = load_model(path)
    assert isinstance(loaded, ConvAutoencoder)
    assert describe(loaded) == {"class": "ConvAutoencoder", "width": 6, "passthrough": False}
    assert config["model"] == "conv" and config["width"] == 6
    x = _batch()
    assert torch.equal(loaded.reconstruct(x), model.eval().reconstruct(x))


def test_conv_flags_take_the_conv_training_unless_told_otherwise():
    c = from_flags("dae", {"model": "conv"})
    assert c.model == "conv" and c.train == CONV_TRAINING
    c = from_flags("dae", {"model": "conv", "lr": 0.01, "train_noise": 0.1})
    assert c.train.lr == 0.01 and c.train.batch_size == CONV_TRAINING.batch_size
    assert c.train.noise_level == 0.1
    assert from_flags("dae", {}).train == DaeConfig().train  # the paper's MLP is unchanged
    assert DaeConfig(model="conv").passthrough
    assert not from_flags("dae", {"model": "conv", "noise": "gaussian"}).passthrough


@pytest.mark.parametrize(("flags", "message"), [
    ({"model": "resnet"}, "unknown --model 'resnet'"),
    ({"model": "conv", "tied": True}, "--tied is a setting of the MLP DAE"),
    ({"model": "conv", "width": 0}, "--width must be a whole number >= 1"),
    ({"model": "conv", "schedule": "step"}, "unknown --schedule 'step'"),
    ({"prefill": True}, "--prefill starts the conv DAE"),
    ({"model": "conv", "prefill": True, "noise": "gaussian"}, "--prefill starts the conv DAE"),
    ({"cost": "suspect-mean"}, "--cost suspect-mean averages"),
    ({"model": "conv", "cost": "mean"}, "unknown --cost .mean."),
])  # fmt: skip
def test_bad_conv_settings_are_one_line(flags, message):
    with pytest.raises(SdaeError, match=message):
        from_flags("dae", flags)


def test_a_conv_model_trains_through_train_autoencoder():
    torch.manual_seed(0)
    x = _batch(64, seed=5)
    with seeded(0):
        model = ConvAutoencoder(width=4)
    s = AutoencoderTraining(lr=0.01, iterations=6, batch_size=32, schedule="cosine",
                            noise_level=0.1)  # fmt: skip
    before = [p.detach().clone() for p in model.parameters()]
    history = train_autoencoder(model, x, s, 0)
    assert len(history) == 6 and all(h == h for h in history)
    assert any(not torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_short_conv_run_beats_the_noisy_input(tmp_path, fmnist):
    from sdae.cli import main

    out = tmp_path / "conv"
    code = main(["dae", "--model", "conv", "--width", "8", "--iterations", "30",
                 "--protocol", "mini", "--train-noise", "0.2", "--test-noise", "0.2",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["psnr_denoised"] > m["psnr_noisy"] + 3
    assert {"psnr_adaptive_median", "ssim_adaptive_median"} <= set(m)
    assert len(m["cost_history"]) == 30
    model, config = load_model(out / "model.safetensors")
    assert isinstance(model, ConvAutoencoder) and config["model"] == "conv"
    assert (out / "reconstructions.png").stat().st_size > 0


def test_the_adaptive_mean_by_hand():
    """Each pixel's estimate: the mean of the clean pixels of its 3x3 window, else of its 5x5,
    else of its 7x7, else 0.5; the window's part outside the image counts as suspect."""
    img = torch.tensor([[0.2, 0.0, 0.6, 1.0, 1.0, 1.0, 1.0, 1.0]]).repeat(8, 1)[None, None]
    suspect = (img == 0) | (img == 1)
    est = adaptive_mean(img, suspect)[0, 0]
    assert est[3, 1] == pytest.approx(0.4)  # 3x3: three 0.2s and three 0.6s
    assert est[3, 4] == pytest.approx(0.6)  # 3x3 all suspect; 5x5 holds the 0.6 column
    assert est[3, 5] == pytest.approx(0.6)  # 5x5 all suspect: the 7x7 reaches column 2
    assert est[3, 6] == pytest.approx(0.5)  # nothing clean within 3 pixels
    assert est[0, 0] == pytest.approx(0.2)  # a corner: its window's clean pixels only


def test_an_untrained_prefill_model_is_the_adaptive_mean():
    with seeded(0):
        model = ConvAutoencoder(width=4, prefill=True)
    x = _batch()
    suspect = ConvAutoencoder.suspect(x)
    est = adaptive_mean(x.view(-1, 1, 28, 28), suspect.view(-1, 1, 28, 28)).reshape(5, 784)
    z = model.reconstruct(x)
    torch.testing.assert_close(z[suspect], est[suspect].clamp(1 / 1024, 1 - 1 / 1024))
    assert torch.equal(z[~suspect], x[~suspect])


def test_a_prefill_model_saves_its_prefill(tmp_path):
    with seeded(0):
        model = ConvAutoencoder(width=4, prefill=True)
    path = save_model(tmp_path / "model.safetensors", model)
    assert describe(model) == {"class": "ConvAutoencoder", "width": 4, "passthrough": True,
                               "prefill": True}  # fmt: skip
    loaded = load_model(path)[0]
    assert loaded.prefill and torch.equal(loaded.reconstruct(_batch()), model.reconstruct(_batch()))
    assert from_flags("dae", {"model": "conv", "prefill": True}).prefill


def test_the_suspect_mean_cost_by_hand():
    """Each image's cross-entropy averaged over its suspect pixels, then over images: the
    gradient of a suspect logit is (sigmoid(z) - x) / (n_i N), of any other 0."""
    from sdae.nn.training import suspect_mean_cost

    logits = torch.tensor([[0.0, 2.0, -1.0, 0.5], [1.0, 0.0, 0.0, 3.0]], requires_grad=True)
    target = torch.tensor([[0.5, 1.0, 0.0, 0.2], [0.3, 0.3, 0.3, 0.3]])
    suspect = torch.tensor([[True, True, False, False], [False, False, False, True]])
    cost = suspect_mean_cost(logits, target, suspect)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert cost.item() == pytest.approx(((ce[0, 0] + ce[0, 1]) / 2 + ce[1, 3]).item() / 2)
    cost.backward()
    want = torch.zeros(2, 4)
    want[0, :2] = (torch.sigmoid(logits[0, :2]) - target[0, :2]) / (2 * 2)
    want[1, 3] = (torch.sigmoid(logits[1, 3]) - target[1, 3]) / (1 * 2)
    torch.testing.assert_close(logits.grad, want.detach())
    # an image with nothing to predict adds 0, not a division by zero
    none = suspect_mean_cost(logits.detach(), target, torch.zeros(2, 4, dtype=torch.bool))
    assert none.item() == 0.0


def test_the_suspect_mean_cost_trains_a_conv_model():
    x = _batch(32, seed=2)
    with seeded(0):
        model = ConvAutoencoder(width=4, prefill=True)
    s = AutoencoderTraining(lr=0.01, iterations=4, batch_size=16, noise="impulse",
                            noise_level=0.5, noise_low=0.05, cost="suspect-mean")  # fmt: skip
    history = train_autoencoder(model, x, s, 0)
    assert len(history) == 4 and all(0 < h < 1 for h in history)  # a mean, not a sum
