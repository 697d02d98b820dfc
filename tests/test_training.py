import math

import pytest
import torch
from torch.nn import functional as F

from sdae.config.training import AutoencoderTraining
from sdae.errors import SdaeError
from sdae.evaluation import psnr
from sdae.nn.models import Autoencoder, seeded
from sdae.nn.noise import corrupt
from sdae.nn.training import kl_sparsity, reconstruction_cost, train_autoencoder
from sdae.rng import Streams


def test_reconstruction_cost_by_hand():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 3.0]])
    target = torch.tensor([[1.0, 0.0], [0.5, 1.0]])
    s = torch.sigmoid(logits)
    by_hand = -(target * s.log() + (1 - target) * (1 - s).log()).sum() / 2  # eq. (2), per image
    assert reconstruction_cost(logits, target).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_reconstruction_cost_stable_for_large_logits():
    logits = torch.tensor([[200.0, -200.0]])
    cost = reconstruction_cost(logits, torch.tensor([[0.0, 1.0]]))
    assert math.isfinite(cost.item()) and cost.item() == pytest.approx(400.0)


def test_sparsity_gradient_matches_finite_differences():
    code = torch.rand(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    code = (0.05 + 0.9 * code).requires_grad_()
    assert torch.autograd.gradcheck(lambda c: kl_sparsity(c, 0.1), (code,))


def test_sparsity_penalty_zero_at_target():
    assert kl_sparsity(torch.full((4, 3), 0.2), 0.2).item() == pytest.approx(0.0, abs=1e-7)
    assert kl_sparsity(torch.full((4, 3), 0.6), 0.2).item() > 0


def test_one_gradient_descent_step_by_hand():
    """A single plain-GD step equals W - lr * dCost/dW computed by hand for the tied-free AE."""
    torch.manual_seed(0)
    model = Autoencoder(4, 3).double()
    x = torch.rand(5, 4, dtype=torch.float64)
    w1, b1 = model.encoder.weight.detach().clone(), model.encoder.bias.detach().clone()
    w2, b2 = model.decoder.weight.detach().clone(), model.decoder.bias.detach().clone()
    h = torch.sigmoid(x @ w1.T + b1)
    dz = (torch.sigmoid(h @ w2.T + b2) - x) / len(x)  # d cost / d logits
    dh = (dz @ w2) * h * (1 - h)
    lr = 0.1
    settings = AutoencoderTraining(lr=lr, iterations=1, optimizer="sgd")
    train_autoencoder(model, x, settings, 0)
    torch.testing.assert_close(model.decoder.weight, w2 - lr * dz.T @ h)
    torch.testing.assert_close(model.decoder.bias, b2 - lr * dz.sum(0))
    torch.testing.assert_close(model.encoder.weight, w1 - lr * dh.T @ x)
    torch.testing.assert_close(model.encoder.bias, b1 - lr * dh.sum(0))


def test_tied_decoder_uses_encoder_transpose():
    model = Autoencoder(6, 2, tied=True)
    y = torch.rand(3, 2)
    expected = y @ model.encoder.weight + model.decoder_bias
    torch.testing.assert_close(model.decode_logits(y), expected)
    assert sum(p.numel() for p in model.parameters()) == 6 * 2 + 2 + 6


def test_nan_cost_is_a_clear_error():
    model = Autoencoder(784, 16)
    x = torch.rand(50, 784)
    expected = "cost became (nan|inf) at iteration .*lower the learning rate"
    with pytest.raises(SdaeError, match=expected):
        train_autoencoder(model, x, AutoencoderTraining(lr=1e37, iterations=50, optimizer="sgd"),
                          0)


def test_bad_settings_rejected():
    with pytest.raises(SdaeError, match="unknown optimizer"):
        AutoencoderTraining(optimizer="lbfgs")
    with pytest.raises(SdaeError, match="iterations must be a whole number >= 1"):
        AutoencoderTraining(iterations=0)
    with pytest.raises(SdaeError, match="lr nan must be a finite number"):
        AutoencoderTraining(lr=float("nan"))


def record_noise(monkeypatch):
    """Record every noisy batch the training loop builds (and which clean images it saw)."""
    import sdae.nn.training

    seen, original = [], sdae.nn.training.corrupt

    def spy(x, kind, level, generator):
        noisy = original(x, kind, level, generator)
        seen.append((x.clone(), noisy.clone()))
        return noisy

    monkeypatch.setattr(sdae.nn.training, "corrupt", spy)
    return seen


def test_fixed_noise_corrupts_each_image_once_and_the_same_way_at_every_step(monkeypatch):
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(1))
    s = AutoencoderTraining(lr=0.01, iterations=6, batch_size=16, noise_level=0.2, fixed_noise=True)
    seen = record_noise(monkeypatch)
    inputs = []
    with seeded(3):
        m = Autoencoder(784, 8)
    m.encoder.register_forward_pre_hook(lambda mod, args: inputs.append(args[0].clone()))
    monkeypatch.setattr("sdae.nn.training.Autoencoder", type(None))  # take the autograd path
    train_autoencoder(m, x, s, 4)
    assert len(seen) == 1 and torch.equal(seen[0][0], x)  # the whole set, corrupted once
    fixed = seen[0][1]
    assert (fixed != x).float().mean() > 0.3  # and really corrupted (p = 0.2 each way)
    for batch in inputs:  # every step's input is a row of the one corruption
        rows = (batch[:, None, :] == fixed[None, :, :]).all(dim=2)
        assert rows.any(dim=1).all()
    assert len(inputs) == 6


def test_same_seed_same_costs():
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(1))
    s = AutoencoderTraining(lr=0.01, iterations=6, batch_size=16, noise_level=0.2)
    runs = []
    for _ in range(2):
        with seeded(3):
            m = Autoencoder(784, 8)
        runs.append(train_autoencoder(m, x, s, 4))
    assert runs[0] == runs[1] and len(runs[0]) == 6


def test_cost_decreases_on_real_data(paper_splits):
    train, _ = paper_splits
    x = train.x[:1000]
    with seeded(0):
        model = Autoencoder(784, 64)
    s = AutoencoderTraining(lr=0.01, iterations=60, batch_size=100, noise_level=0.1)
    history = train_autoencoder(model, x, s, 0)
    assert sum(history[-10:]) / 10 < 0.8 * sum(history[:10]) / 10


def test_short_run_beats_noisy_psnr(paper_splits):
    train, test = paper_splits
    with seeded(0):
        model = Autoencoder(784, 128)
    s = AutoencoderTraining(lr=0.003, iterations=150, batch_size=200, noise_level=0.1)
    train_autoencoder(model, train.x, s, 0)
    noisy = corrupt(test.x, "salt-and-pepper", 0.1, Streams(0).generator("test-noise"))
    model.eval()
    assert psnr(test.x, model.reconstruct(noisy)) > psnr(test.x, noisy) + 2.0


def test_bce_with_logits_matches_bceloss_on_sigmoid():
    """Two code paths: sdae's logits cost equals the tutorial's BCELoss(sigmoid) * pixels."""
    logits, target = torch.randn(8, 784), torch.rand(8, 784)
    tutorial = F.binary_cross_entropy(torch.sigmoid(logits), target) * 784
    torch.testing.assert_close(reconstruction_cost(logits, target), tutorial, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 7])
def test_closed_form_gradients_equal_autograd(n):
    """Two code paths: the hand-derived gradients equal autograd's, cost included."""
    from sdae.nn.training import closed_form_step

    torch.manual_seed(n)
    model = Autoencoder(784, 16).double()
    noisy, clean = torch.rand(n, 784, dtype=torch.float64), torch.rand(n, 784, dtype=torch.float64)
    cost = reconstruction_cost(model(noisy), clean)
    cost.backward()
    expected = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    by_hand = closed_form_step(model, noisy, clean)
    torch.testing.assert_close(by_hand, cost.detach())
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[k], msg=k)


def test_training_steps_equal_the_reference_step():
    """sdae's full-batch loop (buffers, noise by clamping, closed-form step, fused Adam)
    against the plain reference: the noise as the paper's pseudo-code writes it (two masked
    fills of the same uniform draws), autograd, torch.optim.Adam; five steps."""
    x = torch.rand(40, 784, generator=torch.Generator().manual_seed(2))
    settings = AutoencoderTraining(lr=0.01, iterations=5, noise_level=0.3, noise_stream="torch")
    with seeded(0):
        model = Autoencoder(784, 12)
    with seeded(0):
        reference = Autoencoder(784, 12)
    ours = train_autoencoder(model, x, settings, Streams(1, "train-"))
    gen = Streams(1, "train-").generator("noise")
    opt = torch.optim.Adam(reference.parameters(), lr=0.01)
    costs = []
    for _ in range(5):
        r = torch.rand(x.shape, generator=gen)
        noisy = x.masked_fill(r < 0.3, 1.0).masked_fill_(r > 0.7, 0.0)
        cost = reconstruction_cost(reference(noisy), x)
        opt.zero_grad()
        cost.backward()
        opt.step()
        costs.append(cost.item())
    assert ours == pytest.approx(costs, rel=1e-5)
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_sparse_and_tied_paths_train():
    x = torch.rand(32, 784, generator=torch.Generator().manual_seed(0))
    for model, weight in ((Autoencoder(784, 8, tied=True), 0.0), (Autoencoder(784, 8), 0.5)):
        s = AutoencoderTraining(lr=0.01, iterations=30, sparsity_weight=weight)
        h = train_autoencoder(model, x, s, 0)
        assert h[-1] < h[0]


# --- learning-rate schedules ---------------------------------------------------------------


def _rates(schedule: str, lr: float, steps: int) -> list[float]:
    """The learning rate each of ``steps`` optimizer steps uses under ``schedule``."""
    from sdae.nn.loop import lr_schedule

    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=lr)
    decay, used = lr_schedule(opt, schedule, steps), []
    for _ in range(steps):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        decay.step()
    return used


def test_cosine_schedule_rates_worked_by_hand():
    """Step k of T uses lr * (1 + cos(pi k / T)) / 2: the full rate first, ~0 last."""
    expected = [0.8 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)]
    assert _rates("cosine", 0.8, 4) == pytest.approx(expected)


def test_onecycle_warms_up_then_anneals():
    rates = _rates("onecycle", 0.003, 100)
    assert rates[0] == pytest.approx(0.003 / 25)
    assert max(rates) == pytest.approx(0.003, rel=1e-3) and rates.index(max(rates)) in (19, 20)
    assert rates[-1] < 1e-6


def test_constant_schedule_has_no_scheduler():
    from sdae.nn.loop import lr_schedule

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert lr_schedule(opt, "constant", 4) is None
