"""`sdae denoise` at native resolution (issue 19): conv models on whole images of any size,
tiled; colour, alpha, 16-bit and EXIF; --add-noise and --reference with the classical
references; every bad input as one line while the other files are denoised."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from sdae import evaluation
from sdae.cli import main
from sdae.io.checkpoints import save_model
from sdae.nn.convnets import ConvAutoencoder
from sdae.nn.tiling import denoise_image
from sdae.runs import references
from sdae.runs.references import reference_scores

CONFIG = {"noise": "salt-and-pepper", "train_noise": 0.3}


def tiny(width=2, passthrough=True, channels=1, seed=0):
    """A random-weight conv DAE, its weights doubled so that its output varies with the input
    (PyTorch's initialisation fades through ten layers to a nearly constant output)."""
    torch.manual_seed(seed)
    model = ConvAutoencoder(width, passthrough, (28, 28, channels)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    return model


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    """A width-2 conv DAE with random weights, saved as `sdae dae` saves a run."""
    folder = tmp_path_factory.mktemp("conv")
    save_model(folder / "model.safetensors", tiny(), CONFIG)
    return folder


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conv3")
    save_model(folder / "model.safetensors", tiny(channels=3), CONFIG)
    return folder


def photo(h, w, channels=0, seed=0, impulses=0.1):
    """A smooth uint8 picture with some exact 0 / 255 pixels (what the DAE replaces)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = 128 + 80 * np.sin(x / 7.0)[..., None] * np.cos(y / 5.0)[..., None] * np.ones(
        max(channels, 1))
    img = np.clip(img + rng.normal(0, 8, img.shape), 1, 254)
    hit = rng.random(img.shape) < impulses
    img[hit] = np.where(rng.random(img.shape) < 0.5, 0, 255)[hit]
    img = img.astype(np.uint8)
    return img if channels else img[..., 0]


def run(capsys, model, out, *args):
    """`sdae denoise ARGS --model MODEL --out OUT`: (exit code, stdout, stderr lines)."""
    code = main(["denoise", *map(str, args), "--model", str(model), "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def summary(out):
    return json.loads((out / "denoise.json").read_text())


# --- the command -------------------------------------------------------------------------------


def test_native_size_is_kept_for_odd_sizes(tmp_path, grey_run, capsys):
    img = photo(53, 37)  # 37 wide, 53 high
    Image.fromarray(img).save(tmp_path / "odd.png")
    np.save(tmp_path / "stack.npy", np.stack([photo(13, 9, seed=s) for s in range(3)]))
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "odd.png",
                          tmp_path / "stack.npy")  # fmt: skip
    assert (code, stderr) == (0, [])
    with Image.open(tmp_path / "out" / "odd.png") as out:
        assert (out.mode, out.size) == ("L", (37, 53))
        got = np.asarray(out)
    expected = denoise_image(tiny(), img.astype(np.float32) / 255)
    np.testing.assert_array_equal(got, np.round(expected * 255).astype(np.uint8))
    kept = (img != 0) & (img != 255)
    np.testing.assert_array_equal(got[kept], img[kept])  # passthrough: clean pixels copied
    stack = np.load(tmp_path / "out" / "stack.npy")
    assert (stack.dtype, stack.shape) == (np.uint8, (3, 13, 9))
    assert summary(tmp_path / "out")["files"][0]["size"] == [37, 53]


def test_colour_alpha_and_palette(tmp_path, grey_run, colour_run, capsys):
    rgba = np.dstack([photo(30, 41, channels=3), np.arange(30 * 41).reshape(30, 41) % 256])
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(tmp_path / "rgba.png")
    pal = Image.fromarray(photo(24, 20)).convert("P")
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pal.png", transparency=int(np.asarray(pal)[0, 0]))
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "rgba.png",
                          tmp_path / "pal.png")  # fmt: skip
    assert code == 0
    assert stderr == [
        f"sdae: note: {tmp_path / 'rgba.png'} is in colour; the grey model denoises each "
        "channel on its own",
        f"sdae: note: {tmp_path / 'pal.png'} is a palette image; read as RGBA",
        f"sdae: note: {tmp_path / 'pal.png'} is in colour; the grey model denoises each "
        "channel on its own",
    ]  # fmt: skip
    with Image.open(tmp_path / "out" / "rgba.png") as out:
        assert (out.mode, out.size) == ("RGBA", (41, 30))
        got = np.asarray(out)
    np.testing.assert_array_equal(got[..., 3], rgba[..., 3])  # alpha copied, untouched
    per_channel = denoise_image(tiny(), rgba[..., :3].astype(np.float32) / 255)
    np.testing.assert_array_equal(got[..., :3], np.round(per_channel * 255).astype(np.uint8))
    with Image.open(tmp_path / "out" / "pal.png") as out:
        assert (out.mode, out.size) == ("RGBA", (20, 24))
        assert np.asarray(out)[0, 0, 3] == 0  # the transparent colour stays transparent
    code, _, stderr = run(capsys, colour_run, tmp_path / "c", tmp_path / "rgba.png")
    assert (code, stderr) == (0, [])
    assert Image.open(tmp_path / "c" / "rgba.png").mode == "RGBA"


def test_sixteen_bit_round_trip(tmp_path, grey_run, capsys):
    img = (photo(20, 30).astype(np.uint16) * 257 + 3).clip(0, 65535)
    img[img == 3] = 0  # pepper stays exactly 0
    img[img > 65535 - 300] = 65535
    Image.fromarray(img).save(tmp_path / "deep.png")
    assert run(capsys, grey_run, tmp_path / "out", tmp_path / "deep.png")[0] == 0
    with Image.open(tmp_path / "out" / "deep.png") as out:
        assert (out.mode, out.size) == ("I;16", (30, 20))
        got = np.asarray(out)
    kept = (img != 0) & (img != 65535)
    np.testing.assert_array_equal(got[kept], img[kept])  # every 16-bit level kept
    assert len(np.unique(got[kept] % 257)) > 1


def test_exif_orientation_is_applied_and_written_upright(tmp_path, grey_run, capsys):
    stored = photo(24, 40)  # stored 40 wide; orientation 6: turn 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "turned.jpg", exif=exif, quality=100)
    assert run(capsys, grey_run, tmp_path / "out", tmp_path / "turned.jpg")[0] == 0
    with Image.open(tmp_path / "out" / "turned.png") as out:
        assert out.size == (24, 40) and 0x0112 not in out.getexif()


def test_add_noise_corrupts_the_full_size_image_and_scores_it(tmp_path, grey_run, capsys):
    clean = photo(45, 70, impulses=0.0)
    Image.fromarray(clean).save(tmp_path / "a.png")
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "a.png",
                          "--add-noise", 0.2, "--seed", 3)  # fmt: skip
    assert (code, stderr) == (0, [])
    with Image.open(tmp_path / "out" / "a-noisy.png") as noisy_png:
        assert noisy_png.size == (70, 45)
        noisy = np.asarray(noisy_png)
    hit = noisy != clean
    assert 0.3 < hit.mean() < 0.5 and set(np.unique(noisy[hit])) <= {0, 255}
    scores = summary(tmp_path / "out")["files"][0]["scores"]
    assert set(scores) == {"psnr", "ssim"}
    assert set(scores["psnr"]) == {"noisy", "median", "adaptive_median", "sdae"}
    denoised = np.asarray(Image.open(tmp_path / "out" / "a.png")) / 255
    assert scores["psnr"]["noisy"] == pytest.approx(
        evaluation.psnr(clean.reshape(1, -1) / 255, noisy.reshape(1, -1) / 255, (45, 70)),
        abs=1e-4)  # fmt: skip
    assert scores["psnr"]["sdae"] == pytest.approx(
        evaluation.psnr(clean.reshape(1, -1) / 255, denoised.reshape(1, -1), (45, 70)),
        abs=0.05)  # fmt: skip  (denoised: from the 8-bit PNG)
    assert (tmp_path / "out" / "sheet.png").stat().st_size > 0


def test_reference_scores_against_the_reference(tmp_path, grey_run, capsys):
    clean = photo(33, 47, impulses=0.0)
    noisy = photo(33, 47, impulses=0.15)
    Image.fromarray(clean).save(tmp_path / "clean.png")
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "noisy.png",
                          "--reference", tmp_path / "clean.png")  # fmt: skip
    assert (code, stderr) == (0, [])
    s = summary(tmp_path / "out")
    assert s["reference"] == str((tmp_path / "clean.png").resolve())
    denoised = denoise_image(tiny(), noisy.astype(np.float32) / 255)
    expected = reference_scores(clean / np.float32(255), noisy / np.float32(255), denoised)
    for m in ("psnr", "ssim"):
        for k, v in expected[m].items():
            assert s["files"][0]["scores"][m][k] == pytest.approx(v, rel=1e-6), (m, k)
    assert expected["psnr"]["noisy"] < expected["psnr"]["adaptive_median"]
    # a reference of another size: one line, nothing written
    Image.fromarray(clean[:, :40]).save(tmp_path / "small.png")
    code, _, stderr = run(capsys, grey_run, tmp_path / "o2", tmp_path / "noisy.png",
                          "--reference", tmp_path / "small.png")  # fmt: skip
    assert code == 1 and stderr[0] == (
        f"sdae: error: {tmp_path / 'noisy.png'} is 47x33 but --reference "
        f"{tmp_path / 'small.png'} is 40x33; give the clean version of the same image")
    code, _, stderr = run(capsys, grey_run, tmp_path / "o3", tmp_path / "noisy.png",
                          tmp_path / "clean.png", "--reference", tmp_path / "clean.png")
    assert code == 2 and "give one input file with it, not 2" in stderr[0]


def test_references_by_strips_equal_the_whole_image_scores(monkeypatch):
    rng = np.random.default_rng(1)
    for shape in ((61, 45), (40, 37, 3)):
        clean = rng.random(shape).astype(np.float32)
        noisy = clean.copy()
        r = rng.random(shape)
        noisy[r < 0.1], noisy[r > 0.9] = 0.0, 1.0
        denoised = np.clip(clean + rng.normal(0, 0.05, shape), 0, 1).astype(np.float32)
        monkeypatch.setattr(references, "STRIP_PIXELS", 300)  # strips of a few rows
        got = reference_scores(clean, noisy, denoised)
        flat = noisy.reshape(1, -1)
        want = {"noisy": noisy, "sdae": denoised,
                "median": evaluation.median_filter(flat, shape=shape),
                "adaptive_median": evaluation.adaptive_median_filter(flat, shape=shape)}
        for name, img in want.items():
            assert got["psnr"][name] == pytest.approx(
                evaluation.psnr(clean.reshape(1, -1), img, shape), abs=1e-4)
            assert got["ssim"][name] == pytest.approx(
                evaluation.ssim(clean.reshape(1, -1), img, shape), abs=1e-5)


# --- bad inputs --------------------------------------------------------------------------------


def _bad(tmp_path, kind):
    path = tmp_path / f"{kind}.png"
    if kind == "bomb":
        Image.fromarray(photo(40, 40)).save(path)
    elif kind == "tiny":
        Image.fromarray(np.full((1, 1), 7, np.uint8)).save(path)
    elif kind == "long":
        Image.fromarray(np.full((10, 100_000), 7, np.uint8)).save(path)
    elif kind == "truncated":
        Image.fromarray(photo(40, 40)).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "folder":
        path.mkdir()
    elif kind == "frames":
        path = tmp_path / "frames.gif"
        frames = [Image.fromarray(photo(16, 16, seed=s)) for s in range(3)]
        frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


@pytest.mark.parametrize("kind,message", [
    ("bomb", "refused as a possible decompression bomb (Image size (1600 pixels) exceeds limit "
             "of 1000 pixels"),
    ("tiny", "is 1x1, under 8 pixels a side: too small for the conv DAE (its two 2x2 "
             "poolings); give a larger image"),
    ("long", "is 100000x10 pixels, over sdae's limit (at most 30000 pixels a side and 200 MP); "
             "cut it into parts or shrink it"),
    ("truncated", ": broken or truncated image ("),
    ("folder", ": is a folder; give image or .npy files"),
    ("frames", ": a multi-frame image (3 frames); save the frame you want as PNG"),
])  # fmt: skip
def test_bad_input_is_one_line_and_the_others_are_denoised(
    tmp_path, grey_run, capsys, monkeypatch, kind, message
):
    if kind == "bomb":
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1600 pixels: a warning
    good, bad = tmp_path / "good.png", _bad(tmp_path, kind)
    Image.fromarray(photo(20, 20)).save(good)
    out = tmp_path / "out"
    code, _, stderr = run(capsys, grey_run, out, bad, good)
    assert code == 1 and len(stderr) == 1, stderr
    assert stderr[0].startswith(f"sdae: error: {bad}") and message in stderr[0], stderr
    assert summary(out)["failed"] == 1 and (out / "good.png").is_file()
    # the corrected re-run may use the same --out
    assert run(capsys, grey_run, out, good)[0] == 0 and summary(out)["failed"] == 0


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path, grey_run, capsys):
    Image.fromarray(photo(24, 32, channels=3)).convert("CMYK").save(tmp_path / "c.jpg")
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "c.jpg")
    assert code == 0 and stderr[0] == f"sdae: note: {tmp_path / 'c.jpg'} is CMYK; converted to RGB"
    with Image.open(tmp_path / "out" / "c.png") as out:
        assert (out.mode, out.size) == ("RGB", (32, 24))


def test_a_stack_of_small_arrays_is_refused_below_8_pixels(tmp_path, grey_run, capsys):
    np.save(tmp_path / "small.npy", np.zeros((2, 5, 9), np.uint8))
    np.save(tmp_path / "ok.npy", np.zeros((8, 8), np.uint8))
    code, _, stderr = run(capsys, grey_run, tmp_path / "out", tmp_path / "small.npy",
                          tmp_path / "ok.npy")  # fmt: skip
    assert code == 1 and stderr == [f"sdae: error: {tmp_path / 'small.npy'} is 9x5, under 8 "
                                    "pixels a side: too small for the conv DAE (its two 2x2 "
                                    "poolings); give a larger image"]  # fmt: skip
    assert np.load(tmp_path / "out" / "ok.npy").shape == (8, 8)
