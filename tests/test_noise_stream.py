"""The fast16 noise stream (sdae.nn.noise.Bits16): exact probabilities, a reference worked in
numpy from the same bits, seeding, and the config that names it."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sdae.cli.parser import build_parser
from sdae.config.flags import from_flags, load_config
from sdae.config.training import AutoencoderTraining
from sdae.config.tree import from_json, to_jsonable
from sdae.errors import SdaeError
from sdae.nn.noise import Bits16, corrupt, noise_generator
from sdae.rng import Streams, derive_seed

N = 200_000
TOL = 5 * (0.25 / N) ** 0.5  # 5 standard deviations of a proportion from N draws


class EveryValue(Bits16):
    """Draws each of the 65536 int16 values exactly once per 65536 pixels (shuffled)."""

    def draw(self, shape):
        n = int(np.prod(shape))
        assert n % 65536 == 0
        values = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).repeat(n // 65536)
        return values[torch.randperm(n, generator=torch.Generator().manual_seed(0))].view(shape)


def gray(n=N):
    return torch.full((1, n), 0.5)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.0, 0.5))
def test_one_draw_probabilities_are_exact_to_2_16(p):
    """Over all 65536 values of u, salt and pepper each take exactly round(p * 65536)."""
    out = corrupt(gray(65536), "salt-and-pepper", p, EveryValue(0))
    k = round(p * 65536)
    assert int((out == 1).sum()) == k and int((out == 0).sum()) == k
    assert abs(k / 65536 - p) <= 2**-17


@settings(max_examples=40, deadline=None)
@given(d=st.floats(0.0, 1.0))
def test_impulse_and_masking_probabilities_are_exact(d):
    k = round(d / 2 * 65536)
    out = corrupt(gray(65536), "impulse", d, EveryValue(0))
    assert int((out == 1).sum()) == k and int((out == 0).sum()) == k
    masked = corrupt(gray(65536), "masking", d, EveryValue(0))
    assert int((masked == 0).sum()) == round(d * 65536)


def reference_salt_and_pepper(x: np.ndarray, p: float, seed: int) -> np.ndarray:
    """The one-draw reading worked directly from SFC64's words: 4 pixels per 64-bit word,
    lowest 16 bits first, each read as int16 s and u = s + 32768 (the top bit flipped);
    u < k is salt, u >= 65536 - k pepper."""
    words = np.random.SFC64(seed).random_raw(-(-x.size // 4))
    u = (words.view(np.uint16)[: x.size] ^ 0x8000).reshape(x.shape).astype(np.int64)
    k = round(p * 65536)
    return np.where(u < k, 1.0, np.where(u >= 65536 - k, 0.0, x)).astype(np.float32)


@pytest.mark.parametrize("p,shape", [(0.3, (7, 13)), (0.1, (600, 784)), (0.5, (3, 5))])
def test_salt_and_pepper_matches_a_reference_from_the_same_bits(p, shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    out = corrupt(x, "salt-and-pepper", p, Bits16(42))
    assert np.array_equal(out.numpy(), reference_salt_and_pepper(x.numpy(), p, 42))


@settings(max_examples=15, deadline=None)
@given(p=st.floats(0.0, 0.5), seed=st.integers(0, 2**63 - 1))
def test_fresh_draw_statistics(p, seed):
    out = corrupt(gray(), "salt-and-pepper-fresh", p, Bits16(seed))
    assert abs((out == 1).float().mean().item() - p) < TOL
    assert abs((out == 0).float().mean().item() - (1 - p) * p) < TOL
    assert abs((out == 0.5).float().mean().item() - (1 - p) ** 2) < TOL


def test_gaussian_from_the_fast_stream():
    out = corrupt(gray(), "gaussian", 0.1, Bits16(3))
    assert abs((out - 0.5).std().item() - 0.1) < 0.002
    assert abs((out - 0.5).mean().item()) < 0.002


@pytest.mark.parametrize("kind", ["salt-and-pepper", "salt-and-pepper-fresh", "impulse",
                                  "masking"])  # fmt: skip
def test_one_level_per_image_equals_the_one_level(kind):
    x = torch.rand(50, 40, generator=torch.Generator().manual_seed(2))
    one = corrupt(x, kind, 0.25, Bits16(9))
    each = corrupt(x, kind, torch.full((50, 1), 0.25), Bits16(9))
    assert torch.equal(one, each)


def test_per_image_levels_reach_their_own_density():
    levels = torch.tensor([[0.0], [0.2], [1.0]])
    out = corrupt(torch.full((3, 65536), 0.5), "impulse", levels, Bits16(5))
    replaced = (out != 0.5).float().mean(1)
    assert replaced[0] == 0 and abs(replaced[1] - 0.2) < 0.01 and replaced[2] == 1


def test_streams_are_seeded_named_and_advance():
    x = gray(4096)
    a = corrupt(x, "impulse", 0.5, noise_generator(Streams(0), "noise", "fast16"))
    b = corrupt(x, "impulse", 0.5, noise_generator(Streams(0), "noise", "fast16"))
    c = corrupt(x, "impulse", 0.5, noise_generator(Streams(0), "other", "fast16"))
    assert torch.equal(a, b) and not torch.equal(a, c)
    gen = Bits16(derive_seed(0, "noise"))
    first, second = corrupt(x, "impulse", 0.5, gen), corrupt(x, "impulse", 0.5, gen)
    assert torch.equal(first, a) and not torch.equal(first, second)
    assert isinstance(noise_generator(Streams(0), "noise", "torch"), torch.Generator)


def test_the_config_names_the_stream_and_old_configs_read_as_torch():
    assert AutoencoderTraining().noise_stream == "fast16"
    old = {k: v for k, v in to_jsonable(AutoencoderTraining()).items() if k != "noise_stream"}
    assert from_json(AutoencoderTraining, old).noise_stream == "torch"
    with pytest.raises(SdaeError, match="--noise-stream 'mt'"):
        from_flags("dae", {"noise_stream": "mt"})
    args = build_parser().parse_args(["dae", "--noise-stream", "torch"])
    assert from_flags("dae", {"noise_stream": args.noise_stream}).train.noise_stream == "torch"
    sae = load_config("sae", to_jsonable(from_flags("sae", {"noise_stream": "torch"})))
    assert {s.noise_stream for s in sae.pretrain} == {"torch"}


def test_drawn_levels_are_not_read_back_but_given_levels_are_checked():
    """Levels from draw_levels (a checked range) skip the check that reads them back from
    the device; levels a caller gives are checked."""
    x = gray(64).expand(2, 64).clone()
    wild = torch.tensor([[0.2], [0.9]])  # 0.9 is outside salt-and-pepper's [0, 0.5]
    with pytest.raises(SdaeError, match="is outside \\[0.0, 0.5\\] for salt-and-pepper"):
        corrupt(x, "salt-and-pepper", wild, Bits16(0))
    assert corrupt(x, "salt-and-pepper", wild, Bits16(0), drawn=True).shape == x.shape
