"""Model specs: every model is built from the frozen spec it keeps, a checkpoint stores it in
the format earlier versions wrote, and a new model is one class and its spec."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from sdae.errors import SdaeError
from sdae.io.checkpoints import build, describe, load_model, save_model
from sdae.nn import spec as spec_module
from sdae.nn.convnets import (
    ConvAutoencoder,
    ConvAutoencoderSpec,
    DeepCNN,
    DeepCNNSpec,
    SmallCNN,
    SmallCNNSpec,
)
from sdae.nn.models import (
    Autoencoder,
    AutoencoderSpec,
    StackedAutoencoder,
    StackedAutoencoderSpec,
    StackedClassifier,
    StackedClassifierSpec,
    seeded,
)
from sdae.nn.spec import MODELS, ModelSpec, build_model, register

# one small spec of each model sdae registers
EXAMPLES = {
    "Autoencoder": [AutoencoderSpec(784, 16), AutoencoderSpec(30, 7, tied=True)],
    "StackedAutoencoder": [StackedAutoencoderSpec((784, 32, 16)),
                           StackedAutoencoderSpec((50, 8), tied=True)],
    "StackedClassifier": [StackedClassifierSpec((784, 32, 16)),
                          StackedClassifierSpec((40, 6), True, n_classes=3)],
    "ConvAutoencoder": [ConvAutoencoderSpec(4), ConvAutoencoderSpec(3, passthrough=False),
                        ConvAutoencoderSpec(2, image_shape=(9, 13, 3)),
                        ConvAutoencoderSpec(3, image_shape=(12, 8, 1), prefill=True)],
    "SmallCNN": [SmallCNNSpec(width=4), SmallCNNSpec(n_classes=5, width=2),
                 SmallCNNSpec(3, 2, (8, 12, 1))],
    "DeepCNN": [DeepCNNSpec(width=4), DeepCNNSpec(n_classes=3, width=2),
                DeepCNNSpec(4, 2, (10, 8, 3))],
}
CASES = [(name, i) for name, specs in EXAMPLES.items() for i in range(len(specs))]

# what sdae 0.1 wrote as sdae_model, key for key, and the constructor call that matches it
OLD_FORMAT = {
    '{"class": "Autoencoder", "n_in": 784, "n_hidden": 16, "tied": false}':
        lambda: Autoencoder(784, 16),
    '{"class": "Autoencoder", "n_in": 784, "n_hidden": 16, "tied": true}':
        lambda: Autoencoder(784, 16, tied=True),
    '{"class": "StackedAutoencoder", "sizes": [784, 32, 16], "tied": false}':
        lambda: StackedAutoencoder([784, 32, 16]),
    '{"class": "StackedClassifier", "sizes": [784, 32, 16], "tied": true, "n_classes": 10}':
        lambda: StackedClassifier([784, 32, 16], True),
    '{"class": "ConvAutoencoder", "width": 4, "passthrough": true}': lambda: ConvAutoencoder(4),
    '{"class": "SmallCNN", "n_classes": 10, "width": 4}': lambda: SmallCNN(width=4),
    '{"class": "DeepCNN", "n_classes": 10, "width": 4}': lambda: DeepCNN(width=4),
}  # fmt: skip


def randomized(model: nn.Module) -> nn.Module:
    """Every floating tensor random (a tied decoder bias starts at zero, batch-norm statistics
    at 0 and 1), so that equality means something."""
    with seeded(1), torch.no_grad():
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.randn_like(v))
    return model


def assert_same_tensors(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k, v in sa.items():
        assert torch.equal(sb[k], v) and sb[k].dtype == v.dtype, k


def test_every_registered_model_has_an_example():
    assert set(MODELS) == set(EXAMPLES)
    for name, (model_class, spec_class) in MODELS.items():
        assert model_class.__name__ == name and spec_class.model == name
        assert all(type(s) is spec_class for s in EXAMPLES[name])


@pytest.mark.parametrize(("name", "i"), CASES)
def test_spec_model_checkpoint_model_round_trip(tmp_path, name, i):
    spec = EXAMPLES[name][i]
    model = randomized(build_model(spec)).eval()
    assert type(model) is MODELS[name][0] and model.spec == spec
    again, config = load_model(save_model(tmp_path / "m.safetensors", model, {"run": name}))
    assert type(again) is type(model) and again.spec == spec and config == {"run": name}
    assert_same_tensors(model, again)
    stored = json.loads(json.dumps(spec.arguments()))
    if stored.get("image_shape") == [28, 28, 1]:  # added later: left out at its default
        del stored["image_shape"]
    if stored.get("prefill") is False:  # the same
        del stored["prefill"]
    assert describe(again) == {"class": name, **stored}
    assert build(describe(model)).spec == spec


@pytest.mark.parametrize(("name", "i"), CASES)
def test_the_constructor_and_the_spec_draw_the_same_weights(name, i):
    spec = EXAMPLES[name][i]
    with seeded(3):
        from_spec = build_model(spec)
    with seeded(3):
        from_constructor = MODELS[name][0](**spec.arguments())
    assert_same_tensors(from_spec, from_constructor)
    assert from_constructor.spec == spec


def test_the_classifier_draws_its_stack_then_its_head_as_before():
    """``StackedClassifier(sizes)`` is the former ``StackedClassifier(StackedAutoencoder(sizes))``:
    same seed, same weights, so results do not change."""
    with seeded(0):
        new = StackedClassifier((784, 30, 20), tied=True, n_classes=4)
    with seeded(0):
        old = StackedClassifier.from_stack(StackedAutoencoder((784, 30, 20), True), 4)
    assert_same_tensors(new, old)
    assert old.spec == new.spec == StackedClassifierSpec((784, 30, 20), True, 4)
    stack = StackedAutoencoder((20, 5))
    assert StackedClassifier.from_stack(stack).stack is stack
    with pytest.raises(TypeError, match=r"use StackedClassifier.from_stack\(stack\)"):
        StackedClassifier(stack)


@pytest.mark.parametrize("text", OLD_FORMAT)
def test_a_checkpoint_in_the_previous_format_still_loads(tmp_path, text):
    model = randomized(OLD_FORMAT[text]()).eval()
    assert json.dumps(describe(model)) == text  # save_model writes the same JSON as before
    path = tmp_path / "old.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"sdae_model": text, "sdae_config": '{"seed": 0}'})
    again, config = load_model(path)
    assert type(again) is type(model) and again.spec == model.spec and config == {"seed": 0}
    assert_same_tensors(model, again)


# --- checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Autoencoder(784, 0), "Autoencoder field 'n_hidden' must be a positive integer, "
                                  "not 0"),
    (lambda: Autoencoder(784.0, 16), "field 'n_in' must be a positive integer, not 784.0"),
    (lambda: Autoencoder(784, 16, tied=1), "Autoencoder field 'tied' must be true or false, "
                                           "not 1"),
    (lambda: StackedAutoencoder([784]), "StackedAutoencoder field 'sizes' must be a list of two "
                                        "or more positive integers, not [784]"),
    (lambda: StackedAutoencoder("784-100"), "not \"784-100\""),
    (lambda: StackedClassifier([784, 10], n_classes=True), "StackedClassifier field "
                                                           "'n_classes' must be a positive"),
    (lambda: ConvAutoencoder(passthrough="yes"), "ConvAutoencoder field 'passthrough' must be"),
    (lambda: SmallCNN(width=-1), "SmallCNN field 'width' must be a positive integer, not -1"),
    (lambda: DeepCNNSpec(n_classes=None), "DeepCNN field 'n_classes' must be a positive "
                                          "integer, not null"),
    (lambda: DeepCNN(image_shape=(7, 28, 1)), "DeepCNN: image_shape [7, 28, 1] must be (H, W, "
                                              "C) with H and W at least 8"),
    (lambda: ConvAutoencoderSpec(image_shape=(28, 28)), "image_shape [28, 28] must be"),
])  # fmt: skip
def test_a_bad_spec_is_one_line(make, message):
    with pytest.raises(SdaeError) as info:
        make()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_specs_are_frozen_and_normalised():
    spec = AutoencoderSpec(np.int64(784), np.int32(16))
    assert type(spec.n_in) is int and spec == AutoencoderSpec(784, 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.n_in = 3
    stack = StackedAutoencoder([np.int64(784), 32])
    assert stack.spec.sizes == (784, 32) == stack.sizes
    assert all(type(s) is int for s in stack.spec.sizes)
    assert describe(stack) == {"class": "StackedAutoencoder", "sizes": [784, 32], "tied": False}


# --- a new model -----------------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch):
    """sdae's registry, restored afterwards."""
    monkeypatch.setattr(spec_module, "MODELS", dict(spec_module.MODELS))
    return spec_module.MODELS


def test_a_new_model_saves_and_loads_with_no_change_to_checkpoints(tmp_path, registry):
    @dataclasses.dataclass(frozen=True)
    class BowtieSpec(ModelSpec):  # annotations not postponed here: types, not strings
        n_in: int
        sizes: tuple[int, ...] = (8, 4)
        bias: bool = True

    @register(BowtieSpec)
    class Bowtie(nn.Module):
        """``[N, n_in] -> [N, sizes[-1]]``: a chain of linear layers, a model sdae lacks."""

        def __init__(self, n_in: int, sizes=(8, 4), bias: bool = True) -> None:
            super().__init__()
            self.spec = BowtieSpec(n_in, sizes, bias)
            widths = (self.spec.n_in, *self.spec.sizes)
            self.layers = nn.Sequential(*(nn.Linear(a, b, bias=self.spec.bias)
                                          for a, b in zip(widths[:-1], widths[1:])))  # fmt: skip

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers(x)

    assert registry["Bowtie"] == (Bowtie, BowtieSpec) and "Bowtie" not in MODELS
    model = randomized(Bowtie(12, [6, 3], bias=False))
    path = save_model(tmp_path / "m.safetensors", model)
    assert describe(model) == {"class": "Bowtie", "n_in": 12, "sizes": [6, 3], "bias": False}
    again, _ = load_model(path)
    assert type(again) is Bowtie and again.spec == BowtieSpec(12, (6, 3), False)
    assert_same_tensors(model, again)
    x = torch.rand(2, 12)
    assert torch.equal(again(x), model(x))
    # and the checks of load_model apply to it as to sdae's models
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"sdae_model": json.dumps({**describe(model), "n_in": 13})})
    with pytest.raises(SdaeError, match=r"tensors do not match the Bowtie its sdae_model "
                                        r"metadata describes \(layers.0.weight is F32\[6, 12\]"):
        load_model(path)


def test_register_refuses_a_model_it_could_not_rebuild(registry):
    @dataclasses.dataclass(frozen=True)
    class Loose:  # no ModelSpec: nothing would check its fields
        n: int

    class Bare(ModelSpec):  # no dataclass of its own: its fields are not the spec's
        n: int

    @dataclasses.dataclass(frozen=True)
    class Rated(ModelSpec):
        rate: float

    @dataclasses.dataclass(frozen=True)
    class Width(ModelSpec):
        width: int

    def model(name="Net", **methods):
        return type(name, (nn.Module,), methods)

    for spec_class in (Loose, Bare):
        with pytest.raises(TypeError, match="Net's spec must be a frozen dataclass subclassing"):
            register(spec_class)(model(__init__=lambda self, n: None))
    with pytest.raises(TypeError, match=r"Rated fields \['rate'\] are not int, bool"):
        register(Rated)(model(__init__=lambda self, rate: None))
    with pytest.raises(TypeError, match=r"Net\(\) does not take its spec's fields \['width'\]"):
        register(Width)(model(__init__=lambda self, size: None))
    with pytest.raises(TypeError, match="SmallCNN or its spec Width is already registered"):
        register(Width)(model("SmallCNN", __init__=lambda self, width: None))
    with pytest.raises(TypeError, match="Net or its spec AutoencoderSpec is already registered"):
        register(AutoencoderSpec)(model(__init__=Autoencoder.__init__))
    assert registry == MODELS
    with pytest.raises(TypeError, match="cannot describe Linear: it has no registered spec"):
        describe(nn.Linear(2, 2))
