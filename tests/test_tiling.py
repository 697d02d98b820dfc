"""sdae.nn.tiling: the conv DAE on whole images of any size, in overlapping tiles that give
the untiled result (ConvAutoencoder.denoise_nchw underneath)."""

import numpy as np
import pytest
import torch
from torch import nn

from sdae.nn.convnets import ConvAutoencoder, adaptive_mean
from sdae.nn.tiling import RECEPTIVE_RADIUS, denoise_image, denoise_images


def tiny(width=2, passthrough=True, channels=1, seed=0, prefill=False):
    """A random-weight conv DAE, its weights doubled so that its output varies with the input
    (PyTorch's initialisation fades through ten layers to a nearly constant output; the
    prefill's zero last layer is drawn at random too)."""
    torch.manual_seed(seed)
    model = ConvAutoencoder(width, passthrough, (28, 28, channels), prefill).eval()
    with torch.no_grad():
        if prefill:
            nn.init.normal_(model.head.weight)
        for p in model.parameters():
            p.mul_(2.0)
    return model


def photo(h, w, channels=0, seed=0):
    """A float image in [0, 1] with 10 % of its pixels at exactly 0 or 1."""
    rng = np.random.default_rng(seed)
    img = rng.uniform(0.05, 0.95, (h, w, channels) if channels else (h, w)).astype(np.float32)
    img[rng.random(img.shape) < 0.05] = 0.0
    img[rng.random(img.shape) < 0.05] = 1.0
    return img


pytestmark = pytest.mark.usefixtures("one_thread")

def test_the_receptive_radius_is_what_the_tiling_assumes():
    """The gradient of single output pixels of the U-Net (its ReLUs made linear, so that no
    dependency hides behind a zero) reaches exactly RECEPTIVE_RADIUS pixels away."""
    model = tiny()
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.ReLU):
                setattr(module, name, nn.Identity())
    reach = 0
    for p in range(96, 100):  # every position in a 4x4 pooling cell
        x = torch.rand(1, 2, 200, 200, requires_grad=True)
        model._unet(x)[0, 0, p, p].backward()
        rows = (x.grad[0].abs().sum(0).sum(1) > 0).nonzero()[:, 0]
        reach = max(reach, p - int(rows.min()), int(rows.max()) - p)
    assert reach == RECEPTIVE_RADIUS == 23


def test_the_prefill_reaches_three_pixels_further():
    """The adaptive mean falls back to its 7x7 window where the 3x3 and 5x5 hold no clean
    pixel: an output pixel then depends on pixels 3 away, which the tiling must cover."""
    img = torch.rand(1, 1, 15, 15, requires_grad=True)
    suspect = torch.ones(1, 1, 15, 15, dtype=torch.bool)
    suspect[0, 0, 4, 10] = suspect[0, 0, 7, 4] = False  # 3 away from (7, 7), at the ring
    adaptive_mean(img, suspect)[0, 0, 7, 7].backward()
    reached = img.grad[0, 0].nonzero().tolist()
    assert sorted(reached) == [[4, 10], [7, 4]]
    assert tiny(prefill=True).receptive_radius == RECEPTIVE_RADIUS + 3


@pytest.mark.parametrize("passthrough,prefill", [(True, False), (False, False), (True, True)])
def test_tiled_and_untiled_agree(passthrough, prefill):
    model = tiny(passthrough=passthrough, prefill=prefill)
    img = photo(150, 203)
    whole = denoise_image(model, img, tile=1024)
    radius = model.receptive_radius
    for tile, overlap in ((40, radius), (64, radius + 1), (100, 40)):
        np.testing.assert_allclose(denoise_image(model, img, tile=tile, overlap=overlap), whole,
                                   atol=1e-5)  # fmt: skip
    with pytest.raises(ValueError, match="receptive radius"):
        denoise_image(model, img, tile=40, overlap=radius - 1)


def test_an_overlap_under_the_receptive_radius_would_differ(monkeypatch):
    """The radius is needed: windows 20 pixels wider than their cores give other results."""
    monkeypatch.setattr(ConvAutoencoder, "receptive_radius", 0)
    model = tiny(passthrough=False)
    img = photo(96, 96)
    short = denoise_image(model, img, tile=32, overlap=20)
    assert np.abs(short - denoise_image(model, img, tile=1024)).max() > 1e-5


def test_the_nchw_entry_point_is_reconstruct_at_the_training_size():
    model = tiny(passthrough=False)
    x = torch.rand(3, 784)
    x[x < 0.1] = 0.0
    nchw = model.denoise_nchw(x.view(3, 1, 28, 28))
    np.testing.assert_allclose(nchw.reshape(3, -1), model.reconstruct(x), atol=1e-6)
    stack = denoise_images(model, x.view(3, 28, 28).numpy())
    np.testing.assert_allclose(stack.reshape(3, -1), model.reconstruct(x), atol=1e-6)


def test_grey_model_on_colour_is_per_channel_and_colour_model_direct():
    rgb = photo(40, 52, channels=3)
    grey, colour = tiny(), tiny(channels=3)
    out = denoise_image(grey, rgb, tile=32, overlap=24)
    for k in range(3):
        np.testing.assert_allclose(out[..., k], denoise_image(grey, rgb[..., k]), atol=1e-6)
    assert denoise_image(colour, rgb).shape == rgb.shape
    assert denoise_image(colour, rgb[..., 0]).shape == (40, 52)
    with pytest.raises(ValueError, match="3-channel images, not 2"):
        denoise_image(colour, rgb[..., :2])


