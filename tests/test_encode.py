"""`sdae encode`: the codes of a trained run for every image of a source, checked against
the model's own encoder (two code paths, one result)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sdae.cli import main
from sdae.data.sources import load_dataset
from sdae.io.checkpoints import load_model


@pytest.fixture(scope="module")
def sae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("encode") / "sae"
    assert main(["sae", "--data", "digits", "--arch", "64-20", "--labels-per-class", "5",
                 "--pretrain-iterations", "20", "--finetune-iterations", "20", "--quiet",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


def test_codes_of_every_image_train_then_test(sae_run, tmp_path, capsys):
    out = tmp_path / "codes.npz"
    assert main(["encode", "--model", str(sae_run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "codes of 1437 training, 360 test images of digits, 20 each" in printed
    z = np.load(out, allow_pickle=False)
    digits = load_dataset("digits")
    assert z["codes"].shape == (1797, 20) and z["codes"].dtype == np.float32
    np.testing.assert_array_equal(z["labels"], np.concatenate([digits.train_labels,
                                                               digits.test_labels]))
    assert (z["split"] == "train").sum() == 1437 and z["split"][-1] == "test"
    model, _ = load_model(sae_run / "model.safetensors")
    x = torch.from_numpy(digits.test_images.reshape(360, 64).astype(np.float32) / 255)
    with torch.no_grad():
        expected = model.stack.encode(x).numpy()
    np.testing.assert_allclose(z["codes"][1437:], expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("extra", "message"), [
    (["--data", "fashion-mnist"], "reads 64 values an image, and the images of fashion-mnist "
                                  "have 784"),
    (["--out", "codes.txt"], "give a file name ending in .npz"),
])  # fmt: skip
def test_mistakes_are_one_line_and_write_nothing(sae_run, tmp_path, capsys, monkeypatch,
                                                 extra, message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(["encode", "--model", str(sae_run), "--out", "codes.npz", *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_a_model_without_a_code_is_refused(tmp_path, capsys):
    from sdae.io.checkpoints import save_model
    from sdae.nn.convnets import SmallCNN

    (tmp_path / "cnn").mkdir()
    save_model(tmp_path / "cnn" / "model.safetensors", SmallCNN(width=2))
    assert main(["encode", "--model", str(tmp_path / "cnn"), "--out", "x.npz"]) == 2
    assert "holds a SmallCNN, which has no code layer" in capsys.readouterr().err
