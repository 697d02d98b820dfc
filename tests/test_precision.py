"""Mixed precision (sdae.nn.precision): the bf16 closed-form step against the fp32 one and
autograd, the run-time choice, and what a run records."""

import json
import time

import pytest
import torch

from sdae.config.flags import from_flags
from sdae.config.training import AutoencoderTraining
from sdae.config.tree import from_json, to_jsonable
from sdae.errors import SdaeError
from sdae.nn import precision
from sdae.nn.convnets import ConvAutoencoder
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.training import closed_form_step, train_autoencoder


def _grads(model):
    return {k: p.grad.clone() for k, p in model.named_parameters()}


def test_bf16_closed_form_step_is_the_fp32_step_to_bf16_rounding():
    """Two code paths: the bf16 products give the fp32 step's cost and gradients to within
    bf16's rounding (8 bits of mantissa: ~0.4 % per input, sums accumulated in fp32)."""
    gen = torch.Generator().manual_seed(0)
    noisy, clean = torch.rand(300, 784, generator=gen), torch.rand(300, 784, generator=gen)
    with seeded(0):
        model = Autoencoder(784, 64)
    cost32 = closed_form_step(model, noisy, clean)
    g32 = _grads(model)
    cost16 = closed_form_step(model, noisy, clean, dtype=torch.bfloat16)
    g16 = _grads(model)
    assert abs(cost16 - cost32) / cost32 < 2e-3
    for k in g32:  # the gradient as a whole: relative error of its norm
        err = (g16[k] - g32[k]).norm() / g32[k].norm()
        assert err < 0.02, (k, float(err))
        assert g16[k].dtype == torch.float32


def test_choose_is_explicit_or_measured(monkeypatch):
    monkeypatch.setattr(precision, "_CHOSEN", {})
    never = lambda dtype: pytest.fail("an explicit precision is not measured")  # noqa: E731
    assert precision.choose("fp32", "cpu", "k", never) == torch.float32
    assert precision.choose("bf16", "cpu", "k", never) == torch.bfloat16
    calls = []

    def probe(dtype):  # fp32 takes 20 ms, bf16 1 ms
        calls.append(dtype)
        return lambda: time.sleep(0.02 if dtype == torch.float32 else 0.001)

    monkeypatch.setattr(precision, "native_bf16", lambda device: True)
    assert precision.choose("auto", "cpu", "fast", probe) == torch.bfloat16
    assert precision.choose("auto", "cpu", "fast", never) == torch.bfloat16  # kept
    slow = lambda dtype: lambda: time.sleep(0.001 if dtype == torch.float32 else 0.02)  # noqa
    assert precision.choose("auto", "cpu", "slow", slow) == torch.float32
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    assert precision.choose("auto", "cpu", "other", probe) == torch.float32  # not native


def test_the_probe_interleaves_so_load_arriving_mid_probe_does_not_flip_it():
    """bf16 twice as fast, and from the fifth call on everything 10x slower (another job
    starts): timed one precision after the other, bf16 would be timed under load only and
    lose; interleaved, each has a quiet round and bf16 wins."""
    calls = []

    def probe(dtype):
        def run():
            calls.append(dtype)
            load = 10 if len(calls) > 4 else 1
            time.sleep(load * (0.01 if dtype == torch.float32 else 0.005))
        return run

    assert precision.bf16_is_faster(probe, "cpu", rounds=3)
    assert calls[:4] == [torch.float32, torch.bfloat16] * 2  # warm-ups, then round one


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.delenv("SDAE_NO_BF16")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert precision.native_bf16("cpu")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx2"}))
    assert not precision.native_bf16("cpu")
    monkeypatch.setenv("SDAE_NO_BF16", "1")
    monkeypatch.setattr(precision, "_cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert not precision.native_bf16("cpu")


@pytest.mark.parametrize("setting", ["fp32", "bf16"])
def test_training_records_its_precision_and_learns(setting):
    x = torch.rand(200, 784, generator=torch.Generator().manual_seed(3))
    with seeded(0):
        model = Autoencoder(784, 32)
    s = AutoencoderTraining(iterations=30, noise_level=0.2, lr=0.01, precision=setting)
    history = train_autoencoder(model, x, s, 0)
    assert history.precision == setting and history[-1] < history[0]


def test_conv_dae_trains_under_bf16_autocast():
    x = torch.rand(16, 784, generator=torch.Generator().manual_seed(4))
    with seeded(0):
        model = ConvAutoencoder(width=8)
    s = AutoencoderTraining(iterations=6, noise_level=0.2, batch_size=8, precision="bf16")
    history = train_autoencoder(model, x, s, 0)
    assert history.precision == "bf16" and all(torch.isfinite(torch.tensor(history)))
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_the_setting_is_checked_and_old_configs_read_as_fp32():
    with pytest.raises(SdaeError, match="precision 'fp16'"):
        AutoencoderTraining(precision="fp16")
    old = {k: v for k, v in to_jsonable(AutoencoderTraining()).items() if k != "precision"}
    assert from_json(AutoencoderTraining, old).precision == "fp32"
    assert AutoencoderTraining().precision == "auto"


def test_a_run_records_the_precision_it_chose_and_the_config_its_setting(tmp_path, fmnist):
    from sdae.cli import main

    out = tmp_path / "run"
    small = ["--iterations", "5", "--hidden", "16", "--batch-size", "500", "--quiet"]
    assert main(["dae", "--precision", "bf16", "--noise-stream", "torch", "--out", str(out),
                 *small]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert metrics["precision"] == "bf16" and config["train"]["precision"] == "bf16"
    assert config["train"]["noise_stream"] == "torch"


def test_the_precision_flag_reaches_every_training_it_names():
    sae = from_flags("sae", {"precision": "fp32"})
    assert {t.precision for t in sae.pretrain} == {"fp32"}
    assert from_flags("baseline", {"model": "cnn", "precision": "bf16"}).settings.precision \
        == "bf16"  # fmt: skip
    with pytest.raises(SdaeError, match="--precision 'half'"):
        from_flags("dae", {"precision": "half"})
