"""Denoise, then classify (sdae.reproduce.robustness) and its place in `sdae reproduce`."""

import torch

from sdae.config.denoising import RobustConfig
from sdae.evaluation import accuracy, median_filter, predict
from sdae.nn.convnets import SmallCNN
from sdae.nn.models import seeded
from sdae.reproduce.robustness import denoisers, evaluate


class _Identity(torch.nn.Module):
    def reconstruct(self, x):
        return x

    def forward(self, x):
        return torch.logit(x.clamp(1e-6, 1 - 1e-6))


def test_level_zero_raw_is_the_clean_accuracy_and_levels_share_one_draw(paper_splits):
    _, test = paper_splits
    x, y = test.x[:200], test.y[:200]
    with seeded(0):
        cnn = SmallCNN(width=4).eval()
    inputs = denoisers(_Identity(), _Identity())
    config = RobustConfig(levels=(0.0, 0.2))
    result = evaluate(config, {"cnn": cnn}, inputs, x, y)
    acc = result["accuracy"]["cnn"]
    assert result["levels"] == [0.0, 0.2] and set(acc) == set(inputs)
    assert acc["noisy"][0] == accuracy(predict(cnn, x), y)  # p = 0: the clean images
    # an identity "DAE" sees the same corrupted images as the raw input
    assert acc["mlp_dae"] == acc["noisy"] == acc["conv_dae"]
    noisy = inputs["median"](x)  # the median filter at p = 0 changes clean images
    assert acc["median"][0] == accuracy(predict(cnn, noisy), y)
    torch.testing.assert_close(noisy, torch.as_tensor(median_filter(x), dtype=torch.float32))
    assert evaluate(config, {"cnn": cnn}, inputs, x, y) == result  # seeded


def test_reproduce_runs_denoise_then_classify(smoke):
    out, doc = smoke
    r = doc["experiments"]["denoise-classify-seed0"]
    acc = r["metrics"]["accuracy"]
    assert set(acc) == {"cnn", "sae"}
    assert set(acc["cnn"]) == {"noisy", "median", "adaptive_median", "mlp_dae", "conv_dae"}
    assert all(len(v) == 6 for by in acc.values() for v in by.values())
    assert (out / "experiments" / "denoise-classify-seed0" / "accuracy.png").stat().st_size
    rows = doc["tables"]["robust"]["rows"]
    assert len(rows) == 10 and rows[0]["p=0"]["ours"] == 100 * acc["cnn"]["noisy"][0]
    assert rows[0]["fields"] == {"classifier": "cnn", "input": "noisy"}
    assert "fig013_accuracy.png" in " ".join(doc["figures"].values())
    conv = [row for row in doc["tables"]["DAE"]["rows"] if row["fields"]["model"] == "conv"]
    assert len(conv) == 7 and all(row["psnr_adaptive_median"]["ours"] for row in conv)
    for name in ("dae-conv-train0.3-seed0", "dae-train0.3-seed0",
                 "finetune-arch3-l10-top0.5-body0.001-seed0"):  # fmt: skip
        assert (out / "experiments" / name / "model.safetensors").exists()
