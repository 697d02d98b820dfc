"""The CNN baseline of Table X: the deep CNN, its recipe's settings and schedule."""

import pytest
import torch

from sdae.config.classification import CnnSettings
from sdae.config.flags import from_flags
from sdae.errors import SdaeError
from sdae.nn.convnets import DeepCNN
from sdae.nn.models import seeded


def test_deep_cnn_shapes_and_channels_last_give_the_same_logits():
    with seeded(0):
        model = DeepCNN(width=4).eval()
    x = torch.rand(6, 784)
    out = model(x)
    assert out.shape == (6, 10) and model.predict(x).shape == (6,)
    torch.testing.assert_close(model.to_channels_last()(x), out, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("flags", "message"), [
    ({"cnn_arch": "resnet"}, "unknown --cnn-arch 'resnet'"),
    ({"label_smoothing": 1.0}, "--label-smoothing 1.0 must lie in"),
    ({"cnn_augment": "rotate"}, "unknown augmentation 'rotate'"),
    ({"cnn_schedule": "step"}, "unknown --cnn-schedule 'step'"),
])  # fmt: skip
def test_bad_cnn_settings_are_one_line(flags, message):
    with pytest.raises(SdaeError, match=message):
        from_flags("baseline", {"model": "cnn", **flags})


def test_the_default_is_the_measured_recipe():
    s = from_flags("baseline", {"model": "cnn", "labels_per_class": "all"}).settings
    assert s == CnnSettings()
    assert (s.arch, s.schedule, s.augment, s.epochs) == ("deep", "onecycle", ("shift", "flip"), 8)


def test_a_short_deep_cnn_run_learns(paper_splits):
    from sdae.runs.baseline import fit_cnn

    train, test = paper_splits
    settings = CnnSettings(epochs=2, batch_size=64)
    model, history = fit_cnn(train.x[:2000], train.y[:2000], settings, seed=0, rng=0)
    assert len(history) == 2 * 32 and history[-1] < history[0]
    assert (model.predict(test.x) == test.y).float().mean() > 0.6
