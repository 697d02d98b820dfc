"""The GPU path: every training command on ``--device cuda``, with the data, the random
streams and the weights on the GPU, and no host-device synchronisation inside a training
step (torch's sync debug mode turns one into an error). Skipped where there is no GPU."""

import json

import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device on this machine")

TINY = ["--protocol", "mini", "--quiet", "--device", "cuda"]


@pytest.mark.parametrize("argv", [
    ["dae", "--iterations", "30"],
    ["dae", "--model", "conv", "--width", "8", "--iterations", "30"],
    ["sae", "--arch", "784-100", "--pretrain-iterations", "30", "--finetune-iterations", "30"],
    ["baseline", "mlp", "--finetune-iterations", "30"],
    ["baseline", "cnn", "--labels-per-class", "all", "--epochs", "1"],
    ["semi", "--labels-per-class", "1", "--iterations", "30", "--width", "4"],
])  # fmt: skip
def test_each_command_runs_on_cuda(argv, tmp_path, fmnist):
    from sdae.cli import main
    from sdae.io.checkpoints import load_model

    out = tmp_path / "run"
    assert main([*argv, *TINY, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "config.json").read_text())["device"] == "cuda"
    assert all(v == v for v in metrics.values() if isinstance(v, float))
    model, _ = load_model(out / "model.safetensors", "cuda")
    assert next(model.parameters()).device.type == "cuda"


def _syncs(fn) -> int:
    """How many synchronising CUDA calls ``fn()`` makes (torch's sync debug mode)."""
    import warnings

    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.parametrize("what", ["dae-full-batch", "dae-minibatch", "finetune"])
def test_training_steps_never_wait_for_the_host(what, monkeypatch):
    """The same training for 10 and for 40 steps makes the same number of synchronising
    calls (the set-up and the returned history): none is made per step. The progress bar's
    NaN check, the one deliberate sync, is switched off here."""
    from sdae.config.training import AutoencoderTraining, Finetuning
    from sdae.nn.models import Autoencoder, StackedClassifier
    from sdae.nn.training import finetune, train_autoencoder

    monkeypatch.setattr("sdae.nn.loop.Progress.update", lambda *a, **k: None)
    x = torch.rand(256, 784, device="cuda")
    y = torch.randint(0, 10, (256,), device="cuda")

    def run(steps):
        if what == "finetune":
            clf = StackedClassifier((784, 32)).cuda()
            return lambda: finetune(clf, x, y, Finetuning(iterations=steps), rng=0)
        settings = AutoencoderTraining(iterations=steps, noise_level=0.1,
                                       batch_size=64 if what == "dae-minibatch" else 0)
        return lambda: train_autoencoder(Autoencoder(784, 64).cuda(), x, settings, 0)

    run(3)()  # warm-up: lazy initialisation may synchronise once
    assert _syncs(run(10)) == _syncs(run(40))


def test_cuda_and_cpu_train_the_same_network_closely():
    from sdae.config.training import AutoencoderTraining
    from sdae.nn.models import Autoencoder, seeded
    from sdae.nn.training import train_autoencoder

    x = torch.rand(128, 784, generator=torch.Generator().manual_seed(0))
    costs = {}
    for device in ("cpu", "cuda"):
        with seeded(0):
            model = Autoencoder(784, 32).to(device)
        costs[device] = train_autoencoder(model, x.to(device),
                                          AutoencoderTraining(iterations=20, noise_level=0.0), 0)
    # no noise: the two devices differ only by float rounding
    assert costs["cuda"] == pytest.approx(costs["cpu"], rel=1e-3)
