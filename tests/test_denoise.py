"""`sdae denoise`: a user's own images through a trained DAE run, end to end."""

import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from sdae.cli import main
from sdae.config.denoising import DaeConfig
from sdae.config.training import AutoencoderTraining
from sdae.io.checkpoints import save_model
from sdae.io.outputs import write_json
from sdae.nn.models import Autoencoder, StackedClassifier


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, fmnist):
    """A small MLP DAE trained briefly on real images, saved as `sdae dae` saves a run."""
    from sdae.data.splits import protocol_splits
    from sdae.runs.dae import train_dae

    train = AutoencoderTraining(lr=0.01, iterations=40, batch_size=100, noise_level=0.3)
    config = DaeConfig(hidden=32, train=train, protocol="mini")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: 0.1 s, against 7 s on two busy shared cores
    try:
        model, _, _ = train_dae(config, protocol_splits(fmnist, "mini", 0)[0])
    finally:
        torch.set_num_threads(threads)
    folder = tmp_path_factory.mktemp("dae")
    write_json(folder / "config.json", config)
    save_model(folder / "model.safetensors", model, config)
    return folder


@pytest.fixture(scope="module")
def garments(fmnist):
    """Eight real test images, uint8 [8, 28, 28]: light garments on black."""
    return fmnist.test_images[:8]


def denoise(capsys, run_dir, out, *args):
    """Run `sdae denoise ARGS --model RUN_DIR --out OUT`: (exit code, stdout, stderr lines)."""
    code = main(["denoise", *map(str, args), "--model", str(run_dir), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def png(path, pixels):
    Image.fromarray(pixels).save(path)
    return path


def test_png_and_jpeg_keep_their_size_and_get_a_sheet(tmp_path, run_dir, garments, capsys):
    a, b = png(tmp_path / "a.png", garments[0]), png(tmp_path / "b.jpg", garments[1])
    code, stdout, stderr = denoise(capsys, run_dir, tmp_path / "out", a, b)
    assert (code, stderr) == (0, [])
    out = tmp_path / "out"
    for name in ("a.png", "b.png"):
        with Image.open(out / name) as img:
            assert (img.mode, img.size) == ("L", (28, 28))
        assert f"wrote {out / name}" in stdout
    assert not np.array_equal(np.asarray(Image.open(out / "a.png")), garments[0])
    assert f"sheet in {out / 'sheet.png'}" in stdout and (out / "sheet.png").stat().st_size > 0
    summary = json.loads((out / "denoise.json").read_text())
    assert summary["model"] == str(run_dir.resolve()) and summary["model_class"] == "Autoencoder"
    assert (summary["noise"], summary["noise_level"]) == ("salt-and-pepper", 0.3)
    assert (summary["add_noise"], summary["seed"], summary["device"]) == (0.0, 0, "cpu")
    assert [f["outputs"] for f in summary["files"]] == [["a.png"], ["b.png"]]
    assert summary["failed"] == 0 and all(f["error"] is None for f in summary["files"])


def test_colour_png_is_converted_with_a_note(tmp_path, run_dir, garments, capsys):
    rgb = np.stack([garments[0], garments[0] // 2, garments[0]], axis=-1)
    path = png(tmp_path / "colour.png", rgb)
    code, _, stderr = denoise(capsys, run_dir, tmp_path / "out", path)
    assert code == 0
    assert stderr == [f"sdae: note: {path} is in colour; converted to grayscale"]
    assert Image.open(tmp_path / "out" / "colour.png").mode == "L"


def test_npy_keeps_shape_and_dtype(tmp_path, run_dir, garments, capsys):
    np.save(tmp_path / "one.npy", garments[0])
    np.save(tmp_path / "many.npy", garments[:5] / 255.0)  # float64 in [0, 1]
    code, _, stderr = denoise(capsys, run_dir, tmp_path / "out", tmp_path / "one.npy",
                              tmp_path / "many.npy")  # fmt: skip
    assert (code, stderr) == (0, [])
    one, many = np.load(tmp_path / "out" / "one.npy"), np.load(tmp_path / "out" / "many.npy")
    assert (one.dtype, one.shape) == (np.uint8, (28, 28))
    assert (many.dtype, many.shape) == (np.float32, (5, 28, 28))
    assert 0 < many.min() and many.max() < 1
    assert Image.open(tmp_path / "out" / "one.png").size == (28, 28)
    assert Image.open(tmp_path / "out" / "many.png").size == (5 * 28, 28)  # one row


def test_the_mlp_refuses_other_sizes_and_denoises_the_rest(tmp_path, run_dir, garments, capsys):
    big = png(tmp_path / "big.png", np.kron(garments[2], np.ones((2, 3), np.uint8)))  # 84x56
    good = png(tmp_path / "good.png", garments[0])
    np.save(tmp_path / "arr.npy", np.zeros((2, 30, 30), np.uint8))
    code, _, stderr = denoise(capsys, run_dir, tmp_path / "out", big, good, tmp_path / "arr.npy")
    assert code == 1
    why = ("the MLP DAE denoises 28x28 images only: drop --model to use the conv photo "
           "denoiser that ships with sdae, or train one (sdae dae --model conv)")
    assert stderr == [f"sdae: error: {big} is 84x56; {why}",
                      f"sdae: error: {tmp_path / 'arr.npy'} is 30x30; {why}"]
    assert Image.open(tmp_path / "out" / "good.png").size == (28, 28)
    assert not (tmp_path / "out" / "big.png").exists()


def test_sixteen_bit_png_stays_sixteen_bit(tmp_path, run_dir, garments, capsys):
    path = png(tmp_path / "deep.png", garments[3].astype(np.uint16) * 257)
    assert denoise(capsys, run_dir, tmp_path / "out", path)[0] == 0
    with Image.open(tmp_path / "out" / "deep.png") as img:
        assert img.mode == "I;16" and np.asarray(img).max() > 255


def _broken(tmp_path, kind, pixels):
    path = tmp_path / {"truncated": "t.png", "text": "t.png", "npz": "t.npy"}.get(kind, "t.npy")
    if kind == "truncated":
        data = png(path, pixels).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "text":
        path.write_text("not an image")
    elif kind == "npz":
        with open(path, "wb") as f:
            np.savez(f, x=np.zeros((28, 28), np.uint8))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"x": 1}))
    elif kind != "missing":
        bad = {"shape": np.zeros((2, 3, 28, 28), np.uint8), "dtype": np.zeros((28, 28), np.int64),
               "range": np.full((28, 28), 2.0), "nan": np.full((28, 28), np.nan),
               "objects": np.array([None] * 4, dtype=object)}[kind]  # fmt: skip
        np.save(path, bad, allow_pickle=True)
    return path


@pytest.mark.parametrize("kind,message", [
    ("missing", "no such file"),
    ("truncated", "broken or truncated image"),
    ("text", "not an image"),
    ("npz", "an .npz archive"),
    ("pickle", "not a valid .npy file"),
    ("objects", "not a valid .npy file"),
    ("shape", "a .npy array of uint8 [2, 3, 28, 28]; give uint8 (0-255) or float (0-1) images "
              "of shape [H, W] or [N, H, W]"),
    ("dtype", "a .npy array of int64 [28, 28]"),
    ("range", "float images must be in [0, 1] (white 1, black 0), found values from 2 to 2"),
    ("nan", "found NaN"),
])  # fmt: skip
def test_unreadable_file_is_one_line_and_the_rest_is_written(
    tmp_path, run_dir, garments, capsys, kind, message
):
    good, bad = png(tmp_path / "good.png", garments[0]), _broken(tmp_path, kind, garments[1])
    code, _, stderr = denoise(capsys, run_dir, tmp_path / "out", bad, good)
    assert code == 1
    assert len(stderr) == 1 and stderr[0].startswith(f"sdae: error: {bad}: "), stderr
    assert message in stderr[0]
    assert Image.open(tmp_path / "out" / "good.png").size == (28, 28)
    summary = json.loads((tmp_path / "out" / "denoise.json").read_text())
    assert summary["failed"] == 1 and summary["files"][0]["error"] == stderr[0][13:]


def _not_a_dae(tmp_path, kind):
    folder = tmp_path / "run"
    if kind == "file":
        folder.write_text("x")
    elif kind != "missing":
        folder.mkdir()
    models = {"classifier": StackedClassifier((784, 20)),
              "autoencoder-100": Autoencoder(100, 10)}  # fmt: skip
    if kind in models:
        save_model(folder / "model.safetensors", models[kind], {"protocol": "paper"})
    return folder


@pytest.mark.parametrize("kind,message", [
    ("missing", "does not exist; give the --out folder of an `sdae dae` run"),
    ("file", "is a file, not a run folder"),
    ("empty", "holds no model.safetensors; give the --out folder of an `sdae dae` run"),
    ("classifier", "holds a StackedClassifier, not a denoising autoencoder"),
    ("autoencoder-100", "holds an Autoencoder of 100 inputs, not a denoising autoencoder"),
])  # fmt: skip
def test_not_a_dae_run_is_refused_before_any_write(tmp_path, garments, capsys, kind, message):
    folder, good = _not_a_dae(tmp_path, kind), png(tmp_path / "good.png", garments[0])
    code, stdout, stderr = denoise(capsys, folder, tmp_path / "out", good)
    assert (code, stdout) == (2, "")
    assert len(stderr) == 1 and stderr[0].startswith(f"sdae: error: --model {folder} ")
    assert message in stderr[0]
    assert not (tmp_path / "out").exists()


def test_add_noise_writes_the_noisy_images_and_is_seeded(tmp_path, run_dir, garments, capsys):
    path = png(tmp_path / "a.png", garments[0])

    def noisy(seed, out):
        code, _, stderr = denoise(capsys, run_dir, tmp_path / out, path, "--add-noise", 0.3,
                                  "--seed", seed)  # fmt: skip
        assert (code, stderr) == (0, [])
        assert json.loads((tmp_path / out / "denoise.json").read_text())["add_noise"] == 0.3
        return np.asarray(Image.open(tmp_path / out / "a-noisy.png"))

    first = noisy(0, "first")
    hit = first != garments[0]
    assert 0.2 < hit.mean() < 0.6 and set(np.unique(first[hit])) <= {0, 255}
    assert np.array_equal(noisy(0, "again"), first)
    assert not np.array_equal(noisy(1, "other"), first)


def test_add_noise_beyond_the_run_noise_range_is_refused(tmp_path, run_dir, garments, capsys):
    path = png(tmp_path / "a.png", garments[0])
    code, _, stderr = denoise(capsys, run_dir, tmp_path / "out", path, "--add-noise", 0.7)
    assert code == 2
    assert stderr == ["sdae: error: --add-noise 0.7 is outside [0.0, 0.5] for salt-and-pepper "
                      "noise"]  # fmt: skip
    assert not (tmp_path / "out").exists()


def test_denoised_is_closer_to_the_clean_images_than_the_noisy_ones(
    tmp_path, run_dir, garments, capsys
):
    clean = garments / np.float32(255)
    np.save(tmp_path / "clean.npy", clean)
    code, _, _ = denoise(capsys, run_dir, tmp_path / "out", tmp_path / "clean.npy",
                         "--add-noise", 0.3)  # fmt: skip
    assert code == 0
    denoised = np.load(tmp_path / "out" / "clean.npy")
    grid = np.asarray(Image.open(tmp_path / "out" / "clean-noisy.png")) / 255  # [28, 8 * 28]
    noisy = grid.reshape(28, 8, 28).transpose(1, 0, 2)
    error = {k: ((v - clean) ** 2).mean(axis=(1, 2)) for k, v in
             {"noisy": noisy, "denoised": denoised}.items()}  # fmt: skip
    assert (error["denoised"] < error["noisy"]).all(), error


def test_out_is_checked_like_the_other_commands(tmp_path, run_dir, garments, capsys):
    path, out = png(tmp_path / "a.png", garments[0]), tmp_path / "out"
    assert denoise(capsys, run_dir, out, path)[0] == 0
    (out / "extra.txt").write_text("from the first run")
    code, _, stderr = denoise(capsys, run_dir, out, path)
    assert code == 2 and stderr == [f"sdae: error: {out} already holds a finished denoise output; "
                                    "pass --overwrite or another --out"]  # fmt: skip
    assert denoise(capsys, run_dir, out, path, "--overwrite")[0] == 0
    assert not (out / "extra.txt").exists()  # replaced whole, never mixed
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's")
    for target in (mine, run_dir, path):
        code, _, stderr = denoise(capsys, run_dir, target, path, "--overwrite")
        assert code == 2 and len(stderr) == 1 and f"--out {target.absolute()} is" in stderr[0]
    assert (mine / "notes.txt").read_text() == "the user's"
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "model.safetensors"]


def test_same_stems_get_distinct_names(tmp_path, run_dir, garments, capsys):
    files = [png(tmp_path / n, garments[0]) for n in ("a.png", "a.jpg", "sheet.png")]
    assert denoise(capsys, run_dir, tmp_path / "out", *files)[0] == 0
    summary = json.loads((tmp_path / "out" / "denoise.json").read_text())
    assert [f["outputs"] for f in summary["files"]] == [["a.png"], ["a-2.png"], ["sheet-2.png"]]
    assert summary["sheet"] == "sheet.png"


def test_help_says_what_the_model_expects(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["denoise", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "light garments on a black background" in text and "sdae denoise" in text


def test_nothing_readable_writes_nothing_and_a_corrected_rerun_is_accepted(
        tmp_path, run_dir, garments, capsys):  # fmt: skip
    """Issue 17: every file unreadable leaves --out as it was; a run whose denoise.json
    records failures does not block the corrected re-run."""
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["denoise", str(bad), "--model", str(run_dir), "--out", str(out)]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    good = png(tmp_path / "shirt.png", garments[0])
    assert main(["denoise", str(good), str(bad), "--model", str(run_dir), "--out", str(out)]) == 1
    assert json.loads((out / "denoise.json").read_text())["failed"] == 1
    capsys.readouterr()
    assert main(["denoise", str(good), "--model", str(run_dir), "--out", str(out)]) == 0
    assert json.loads((out / "denoise.json").read_text())["failed"] == 0
